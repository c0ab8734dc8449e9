#!/usr/bin/env bash
# Renders assets/icons/framekit.svg to the PNG sizes desktops use (committed; run again after
# editing the SVG). Needs rsvg-convert (Debian: librsvg2-bin).
set -euo pipefail
cd "$(dirname "$0")/../assets/icons"
for size in 16 32 48 64 128 256 512; do
  rsvg-convert -w "$size" -h "$size" framekit.svg -o "framekit-$size.png"
done
echo "make-icons: $(ls framekit-*.png | wc -l) PNGs"
