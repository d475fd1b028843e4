#!/usr/bin/env bash
# Draws images/icon.png (128x128): a stack of 3x3 depthwise kernels, one per channel, beside a
# 1x1 pointwise column. Needs ImageMagick (`apt-get install -y imagemagick`).
set -euo pipefail
cd "$(dirname "$0")/.."
grid() { # x y colour: a 3x3 kernel of 11px cells with 3px gaps
  local x=$1 y=$2 c=$3 out=""
  for i in 0 1 2; do for j in 0 1 2; do
    local x0=$((x + i * 14)) y0=$((y + j * 14))
    out+=" -fill '$c' -draw \"roundrectangle $x0,$y0 $((x0 + 11)),$((y0 + 11)) 2,2\""
  done; done
  echo "$out"
}
cmd="convert -size 128x128 xc:none -fill '#1e2a3a' -draw 'roundrectangle 2,2 125,125 24,24'"
cmd+=" $(grid 30 18 '#2f6f73')"
cmd+=" $(grid 22 28 '#3fa7a3')"
cmd+=" $(grid 14 38 '#6fe0d2')"
for k in 0 1 2 3 4; do
  y=$((24 + k * 17))
  cmd+=" -fill '#f5a524' -draw \"roundrectangle 92,$y 105,$((y + 12)) 3,3\""
done
cmd+=" -stroke '#c9d4e0' -strokewidth 3 -draw 'line 70,64 84,64' -fill '#c9d4e0' -stroke none -draw 'polygon 84,58 90,64 84,70'"
cmd+=" -strip -depth 8 images/icon.png"
eval "$cmd"
echo "wrote images/icon.png"
