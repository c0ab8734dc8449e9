#!/usr/bin/env bash
# GUI smoke test: starts the real framekit window under Xvfb on the bundled sample, steps a
# few frames with xdotool, saves a screenshot to target/gui-smoke.png, and fails unless the
# window drew the video frame (the viewer area must hold many distinct colours; an empty or
# black window has a handful).
# Usage: scripts/gui-smoke.sh [path/to/framekit]   (default: target/release/framekit)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/framekit}
sample=assets/sample.mp4
shot=target/gui-smoke.png
[ -x "$bin" ] || { echo "gui-smoke: $bin not built" >&2; exit 1; }
for tool in Xvfb xdotool import convert; do
  command -v "$tool" >/dev/null || { echo "gui-smoke: $tool missing (run scripts/install-deps.sh)" >&2; exit 1; }
done

display_number=99
while [ -e "/tmp/.X11-unix/X$display_number" ] || [ -e "/tmp/.X$display_number-lock" ]; do
  display_number=$((display_number + 1))
done
export DISPLAY=":$display_number"
unset WAYLAND_DISPLAY
Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
app_pid=""
log=$(mktemp)
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  kill "$xvfb_pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done

# A throwaway home keeps the smoke run from touching the user's recent-files list.
# The GPU display (a shader on Mesa's software GL here; `auto` would pick the CPU on it) unless
# FRAMEKIT_DISPLAY says otherwise.
XDG_DATA_HOME=$(mktemp -d) LIBGL_ALWAYS_SOFTWARE=1 FRAMEKIT_DISPLAY=${FRAMEKIT_DISPLAY:-gpu} \
  "$bin" "$sample" >"$log" 2>&1 &
app_pid=$!
window=""
for _ in $(seq 150); do
  window=$(xdotool search --name 'framekit$' 2>/dev/null | head -n 1 || true)
  [ -n "$window" ] && break
  kill -0 "$app_pid" 2>/dev/null || { echo "gui-smoke: the app exited early:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$window" ] || { echo "gui-smoke: no framekit window appeared" >&2; cat "$log" >&2; exit 1; }

sleep 3
xdotool windowfocus --sync "$window" 2>/dev/null || true
for _ in 1 2 3 4 5; do xdotool key --window "$window" Right; sleep 0.2; done
sleep 2
kill -0 "$app_pid" 2>/dev/null || { echo "gui-smoke: the app died while stepping:" >&2; cat "$log" >&2; exit 1; }
mkdir -p target
import -window root "$shot"

# The viewer sits left of the info panel, between the menu and the timeline.
colours=$(convert "$shot" -crop 700x380+60+60 +repage -format '%k' info:)
echo "gui-smoke: screenshot $shot, $colours distinct colours in the viewer"
if [ "$colours" -lt 500 ]; then
  echo "gui-smoke: the window never drew the frame (only $colours colours)" >&2
  cat "$log" >&2
  exit 1
fi
echo "gui-smoke: ok"
