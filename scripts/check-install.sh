#!/usr/bin/env bash
# Checks everything `make deb` / `make install` ships, on the dev build (no release build in
# CI): completion scripts load, the man page renders with every subcommand, the desktop entry
# validates, and both Debian packages (framekit, framekit-cli) hold the right files and
# dependencies and give a binary that runs from a throw-away root (dpkg -x).
# Run by `make test` after `cargo test` (target/debug/framekit is the app build) and after
# scripts/check-headless.sh (target/debug/headless/framekit is the headless build).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-install: $*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin=target/debug/framekit
./scripts/package-assets.sh "$bin" >/dev/null

bash -n target/assets/completions/framekit.bash || fail "bash completion has syntax errors"
bash -c 'source target/assets/completions/framekit.bash && complete -p framekit' | grep -q -- '-F _framekit framekit' \
  || fail "sourcing the bash completion does not register it"
grep -q 'complete -c framekit' target/assets/completions/framekit.fish || fail "fish completion is empty"
grep -q '#compdef framekit' target/assets/completions/_framekit || fail "zsh completion is empty"

MANWIDTH=100 man -l target/assets/framekit.1.gz > "$work/man.txt" 2>/dev/null || fail "man -l cannot render the page"
for sub in probe frames encode decode transcode jobs completions man; do
  grep -q "FRAMEKIT ${sub^^}" "$work/man.txt" || fail "the man page has no section for '$sub'"
done
grep -q -- '--jsonl' "$work/man.txt" || fail "the man page misses frames --jsonl"

desktop-file-validate assets/framekit.desktop || fail "desktop-file-validate failed"

check_deb() { # deb, expected files..., then checks on Depends by the caller
  local deb=$1; shift
  dpkg-deb -c "$deb" | awk '{print $6}' > "$work/files"
  for file in "$@"; do
    grep -qx "$file" "$work/files" || fail "$(basename "$deb") lacks $file"
  done
}

cargo deb --profile dev --no-build --quiet --output "$work/framekit.deb" >/dev/null
check_deb "$work/framekit.deb" ./usr/bin/framekit ./usr/share/applications/framekit.desktop \
  ./usr/share/icons/hicolor/scalable/apps/framekit.svg ./usr/share/icons/hicolor/256x256/apps/framekit.png \
  ./usr/share/man/man1/framekit.1.gz ./usr/share/bash-completion/completions/framekit \
  ./usr/share/zsh/vendor-completions/_framekit ./usr/share/fish/vendor_completions.d/framekit.fish
depends=$(dpkg-deb -f "$work/framekit.deb" Depends)
for lib in libavcodec libavformat libswscale libavfilter libgl1 libxkbcommon-x11-0; do
  grep -q "$lib" <<<"$depends" || fail "framekit Depends lacks $lib: $depends"
done
grep -q -- '-dev' <<<"$depends" && fail "framekit depends on -dev packages: $depends"
mkdir "$work/root"
dpkg -x "$work/framekit.deb" "$work/root"
"$work/root/usr/bin/framekit" --version | grep -q "^framekit " || fail "the packaged binary does not run"

cargo deb --profile dev --no-build --quiet --variant cli --output "$work/framekit-cli.deb" >/dev/null
check_deb "$work/framekit-cli.deb" ./usr/bin/framekit ./usr/share/man/man1/framekit.1.gz \
  ./usr/share/bash-completion/completions/framekit
grep -q 'applications/framekit.desktop' "$work/files" && fail "framekit-cli ships a desktop entry"
[ "$(dpkg-deb -f "$work/framekit-cli.deb" Package)" = framekit-cli ] || fail "variant is not named framekit-cli"
depends=$(dpkg-deb -f "$work/framekit-cli.deb" Depends)
# libavfilter is loaded at run time (not a DT_NEEDED), so its package is named by hand: the
# one this build loads must be among them.
avfilter="libavfilter$(pkg-config --modversion libavfilter | cut -d. -f1)"
for lib in libavcodec "$avfilter"; do
  grep -q "$lib" <<<"$depends" || fail "framekit-cli Depends lacks $lib: $depends"
done
grep -qE 'libgl1|libxkbcommon|libx11|libwayland' <<<"$depends" && fail "framekit-cli depends on GUI libraries: $depends"
mkdir "$work/cli-root"
dpkg -x "$work/framekit-cli.deb" "$work/cli-root"
"$work/cli-root/usr/bin/framekit" --version | grep -q "^framekit " || fail "the packaged CLI does not run"
"$work/cli-root/usr/bin/framekit" probe assets/sample.mp4 | grep -q "frames            180" \
  || fail "the packaged CLI cannot probe the sample"
# libavfilter is not mapped at start (it costs ~35 ms a process) but loads when a graph is built.
readelf -d "$work/cli-root/usr/bin/framekit" | grep -q 'NEEDED.*libavfilter' \
  && fail "framekit links libavfilter at start; src/lazy_avfilter.rs should stand in for it"
"$work/cli-root/usr/bin/framekit" compare assets/sample.mp4 assets/sample.mp4 --ids 1 --json | grep -q '"psnr_y": *"inf"' \
  || fail "the packaged CLI cannot build a filter graph (compare)"

DESTDIR="$work/dest" ./scripts/install.sh "$bin" /usr/local >/dev/null
for file in bin/framekit share/applications/framekit.desktop share/man/man1/framekit.1.gz \
    share/icons/hicolor/512x512/apps/framekit.png share/bash-completion/completions/framekit; do
  [ -f "$work/dest/usr/local/$file" ] || fail "make install did not put $file in place"
done
echo "check-install: completions, man page, desktop entry, framekit and framekit-cli packages, make install OK"
