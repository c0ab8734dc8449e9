#!/usr/bin/env bash
# Regenerates assets/sample.mp4: 640x360, 30 fps, 6 s (180 frames), H.264 with B-frames and a
# GOP of 60, BT.709 tags, AAC stereo tone. Kept under 1 MB. Uses the ffmpeg command line
# (a development tool; framekit itself never runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/sample.mp4
tmp=assets/.sample.mp4.part
ffmpeg -nostdin -v error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=30:duration=6" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=6" \
  -vf "scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd+full_chroma_int,format=yuv420p" \
  -c:v libx264 -preset slow -crf 30 -bf 3 -g 60 -keyint_min 60 -sc_threshold 0 \
  -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv \
  -c:a aac -b:a 64k -ac 2 -movflags +faststart -f mp4 "$tmp"
mv "$tmp" "$out"
ls -l "$out"
