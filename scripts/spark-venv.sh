#!/usr/bin/env bash
# Makes target/spark-venv with the pinned PySpark (python/requirements-spark.txt), once:
# a stamp holding the requirements' checksum says it is done. Needs python3 with venv and
# Java (Debian: default-jre-headless, which scripts/install-deps.sh installs).
# Prints the venv's python on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/spark-venv
requirements=python/requirements-spark.txt
stamp="$venv/.framekit-requirements"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$want" > "$stamp"
fi
echo "$PWD/$venv/bin/python"
