#!/usr/bin/env bash
# `make bench`'s Python part: the framekit module built in release into target/spark-venv,
# PyAV and decord (python/requirements-bench.txt) beside it, then
# bindings/python/bench/readers.py on a 1080p clip it makes once under target/bench, then
# bindings/python/bench/spark_paths.py (frames_df against frames_df_inprocess).
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(./scripts/spark-venv.sh | tail -n 1)
venv=$(dirname "$(dirname "$python")")
"$python" -m pip install --quiet --disable-pip-version-check -r python/requirements-module.txt \
  -r python/requirements-bench.txt
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --release --quiet \
  -m bindings/python/Cargo.toml
[ "${1:-}" = "--build-only" ] && exit 0
mkdir -p target/bench
"$python" bindings/python/bench/readers.py target/bench
# The Spark helper's two paths (needs the release binary: `make bench` builds it first).
if [ -x target/release/framekit ]; then
  "$python" bindings/python/bench/spark_paths.py target/bench "$PWD/target/release/framekit"
fi
