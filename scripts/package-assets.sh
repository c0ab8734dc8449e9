#!/usr/bin/env bash
# Generates what packages install beside the binary, from the binary itself:
# target/assets/framekit.1.gz (man page) and target/assets/completions/ (bash, zsh, fish,
# PowerShell). Usage: scripts/package-assets.sh [path/to/framekit]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/framekit}
out=target/assets
mkdir -p "$out/completions"
"$bin" man | gzip -9n > "$out/framekit.1.gz"
"$bin" completions bash > "$out/completions/framekit.bash"
"$bin" completions zsh > "$out/completions/_framekit"
"$bin" completions fish > "$out/completions/framekit.fish"
"$bin" completions powershell > "$out/completions/_framekit.ps1"
echo "package-assets: man page and completions in $out"
