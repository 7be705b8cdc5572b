#!/bin/bash
# Renders a Learner HTML report to a PNG with headless Chromium (Debian package `chromium`), to check it in a real
# browser. Usage: scripts/render-report.sh report.html [out.png] [width] [height]
set -euo pipefail
in="${1:?usage: render-report.sh report.html [out.png] [width] [height]}"
out="${2:-${in%.html}.png}"
width="${3:-1280}"
height="${4:-4200}"
[ -f "$in" ] || { echo "render-report.sh: no such file: $in" >&2; exit 1; }
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$browser" ] || { echo "render-report.sh: no Chromium found; install it (apt-get install -y chromium)" >&2; exit 1; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$in")" 2>/dev/null
echo "$out"
