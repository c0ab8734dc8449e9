#!/usr/bin/env bash
# Builds the framekit Python module (bindings/python, PyO3 + maturin) into target/spark-venv
# and runs its pytest suite. The venv comes from scripts/spark-venv.sh (pinned PySpark,
# numpy); maturin and pytest are pinned in python/requirements-module.txt. `maturin develop`
# builds with cargo into this repository's target folder (the dev profile, like the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
python=$(./scripts/spark-venv.sh | tail -n 1)
venv=$(dirname "$(dirname "$python")")
stamp="$venv/.framekit-module-requirements"
want=$(sha256sum python/requirements-module.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$python" -m pip install --quiet --disable-pip-version-check -r python/requirements-module.txt
  echo "$want" > "$stamp"
fi
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --quiet \
  -m bindings/python/Cargo.toml
cargo build --locked --quiet
FRAMEKIT_BIN="$PWD/target/debug/framekit" "$python" -m pytest -q bindings/python/tests "$@"
