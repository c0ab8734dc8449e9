#!/usr/bin/env bash
# Hardware decoding on a machine with a GPU (or /dev/dri): builds framekit, says which device
# types FFmpeg has and which open, then on generated clips compares `frames --hwdec auto`
# against `--hwdec none` byte for byte and prints the time each took (PNG encoding included)
# and the decoder `probe` reports. Exits 1 when any frame differs. Needs cargo and the ffmpeg CLI (fixtures only).
#
#   scripts/device-hwdec-check.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
if [[ "${1:-}" == "--release" ]]; then
    cargo build --locked --release --bin framekit
    profile=release
else
    cargo build --locked --bin framekit
fi
bin="target/$profile/framekit"
work="${TMPDIR:-/tmp}/framekit-hwdec-check"
mkdir -p "$work"

echo "== devices"
"$bin" hwdec

clip() { # name, encoder arguments...
    local name=$1
    shift
    [[ -s "$work/$name" ]] || ffmpeg -nostdin -v error -y -f lavfi \
        -i testsrc2=size=1920x1080:rate=30:duration=3 "$@" "$work/$name"
    echo "$work/$name"
}
clips=(
    "$(clip h264_1080p.mp4 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 -bf 2)"
    "$(clip hevc10_1080p.mkv -c:v libx265 -preset ultrafast -x265-params log-level=error -pix_fmt yuv420p10le)"
    "$(clip hevc8_1080p.mp4 -c:v libx265 -preset ultrafast -x265-params log-level=error -pix_fmt yuv420p)"
)

# Every frame in order (sequential decode speed), then a few out of order (seeks).
ids="$(seq -s, 1 90),45,10,60"
status=0
for c in "${clips[@]}"; do
    echo "== $(basename "$c")"
    "$bin" probe --hwdec auto "$c" | grep -E '^(codec|pixel format|decoder)'
    for mode in none auto; do
        start=$(date +%s.%N)
        "$bin" frames "$c" --ids "$ids" --hwdec "$mode" >"$work/frames.$mode"
        end=$(date +%s.%N)
        printf '%-5s %d frames in %.2f s\n' "$mode" "$(tr '|' '\n' <"$work/frames.$mode" | wc -l)" \
            "$(echo "$end - $start" | bc)"
    done
    if cmp -s "$work/frames.none" "$work/frames.auto"; then
        echo "identical: yes"
    else
        echo "identical: NO"
        status=1
    fi
done
echo "== tests/hwdec.rs (byte-identical frames through the library too)"
cargo test --locked --test hwdec || status=1
exit $status
