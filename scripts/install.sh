#!/usr/bin/env bash
# `make install PREFIX=...`: what the Debian package installs, for other distributions:
# the binary, desktop entry, icons, man page and completions under PREFIX (DESTDIR too).
# Usage: scripts/install.sh BIN PREFIX [--cli]   (--cli: no desktop entry or icons)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
prefix=$2
root="${DESTDIR:-}$prefix"
./scripts/package-assets.sh "$bin" >/dev/null
install -Dm755 "$bin" "$root/bin/framekit"
install -Dm644 target/assets/framekit.1.gz "$root/share/man/man1/framekit.1.gz"
install -Dm644 target/assets/completions/framekit.bash "$root/share/bash-completion/completions/framekit"
install -Dm644 target/assets/completions/_framekit "$root/share/zsh/site-functions/_framekit"
install -Dm644 target/assets/completions/framekit.fish "$root/share/fish/vendor_completions.d/framekit.fish"
if [ "${3:-}" != "--cli" ]; then
  install -Dm644 assets/framekit.desktop "$root/share/applications/framekit.desktop"
  install -Dm644 assets/icons/framekit.svg "$root/share/icons/hicolor/scalable/apps/framekit.svg"
  for size in 16 32 48 64 128 256 512; do
    install -Dm644 "assets/icons/framekit-$size.png" "$root/share/icons/hicolor/${size}x${size}/apps/framekit.png"
  done
fi
echo "install: framekit installed under $root"
