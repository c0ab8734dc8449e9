#!/usr/bin/env bash
# The headless build: `--no-default-features` must build a CLI without eframe, egui, arboard
# or rfd, lint clean, and work: probe, frames, decode, and a clear exit 2 when asked for the app.
# Run before `cargo test` in `make test` (both write target/debug/framekit; the test build
# puts the app build back).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

$CARGO build --no-default-features --locked
$CARGO clippy --no-default-features --lib --bins --locked -- -D warnings

gui_crates=$($CARGO tree --no-default-features -e normal,build --prefix none --locked | grep -cE '^(eframe|egui|egui-winit|arboard|rfd) ' || true)
if [ "$gui_crates" != "0" ]; then
  echo "check-headless: the headless build still pulls $gui_crates GUI crates:" >&2
  $CARGO tree --no-default-features -e normal,build --prefix none --locked | grep -E '^(eframe|egui|egui-winit|arboard|rfd) ' >&2
  exit 1
fi

bin=target/debug/framekit
# Kept for the framekit-cli package check (scripts/check-install.sh).
mkdir -p target/debug/headless
cp "$bin" target/debug/headless/framekit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" probe --json assets/sample.mp4 > "$work/probe.json"
grep -q '"kind":"video"' "$work/probe.json" || grep -q '"kind": "video"' "$work/probe.json" || {
  echo "check-headless: probe --json did not report a video" >&2; exit 1; }
"$bin" frames assets/sample.mp4 --ids 1,2 > "$work/frames.txt"
"$bin" decode - --out "$work/out" < "$work/frames.txt" > /dev/null
[ -f "$work/out/image_1.png" ] && [ -f "$work/out/image_2.png" ] || {
  echo "check-headless: frames | decode did not give two PNGs" >&2; exit 1; }

set +e
env -u DISPLAY -u WAYLAND_DISPLAY "$bin" 2> "$work/app.err"
code=$?
set -e
if [ "$code" != "2" ] || ! grep -q "no app" "$work/app.err"; then
  echo "check-headless: without a subcommand the headless build must exit 2 and say why (got $code: $(cat "$work/app.err"))" >&2
  exit 1
fi
echo "check-headless: headless build OK (no GUI crates; probe, frames, decode work; app request exits 2)"
