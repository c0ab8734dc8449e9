#!/usr/bin/env bash
# Installs the S3-protocol server the object-storage tests start on 127.0.0.1: s3s-fs (an S3
# server over a folder, from crates.io, pinned), into target/tools/bin. Idempotent: does
# nothing when the pinned version is already there. `make test` runs it before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.14.1
ROOT=target/tools
BIN="$ROOT/bin/s3s-fs"

if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q " $VERSION\$"; then
  echo "install-s3-server: s3s-fs $VERSION present"
  exit 0
fi
echo "install-s3-server: building s3s-fs $VERSION (crates.io) into $ROOT"
# A test server: built without optimisation, which halves its build on two cores and
# still serves the tests' objects quickly.
CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=false \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=64 CARGO_PROFILE_RELEASE_LTO=false \
  cargo install s3s-fs --version "$VERSION" --features binary --locked --root "$ROOT" --force
