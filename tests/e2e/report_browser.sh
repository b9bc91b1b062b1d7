#!/bin/bash
# report_browser.sh FILE.html OUTDIR — open a kam report in headless Chromium
# as a reader would, and fail if the reader would see something wrong:
#
#   - Chromium must load it without a console message. A report has no
#     JavaScript, so the only messages are the browser's own: CSP violations
#     (an image, style or script the page tried to load or run), parse errors.
#     This headless shell logs every console level alike ("INFO:CONSOLE:N"),
#     so any CONSOLE line is a failure. The page must carry its CSP <meta>
#     (default-src 'none'), or loads from elsewhere would go unreported.
#   - the rendered DOM (--dump-dom) has the id="kam-rendered" marker;
#   - the screenshot (OUTDIR/page.png, 1240x1754, an A4 page at 150 dpi) is
#     not blank: report_check.py --png decodes it and wants > 1% of pixels
#     not the background colour and a few dozen colours.
#
# Leaves OUTDIR/page.png (to look at), OUTDIR/dom.html, OUTDIR/chromium.log.
# Prints "ok: FILE (N.Ns)" or one line per problem.
# Exit 0 ok, 1 problems, 2 usage, 77 chromium-headless-shell not installed
# (the caller decides whether that is a skip). REPORT_BROWSER_TIMEOUT (60)
# is the seconds Chromium may take.

set -u
if [ $# -ne 2 ]; then echo "usage: report_browser.sh FILE.html OUTDIR" >&2; exit 2; fi
file=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)

# The Debian package chromium-headless-shell; not on PATH everywhere.
chrome=$(command -v chromium-headless-shell 2>/dev/null ||
         dpkg -L chromium-headless-shell 2>/dev/null | grep -m1 'bin/chromium-headless-shell$')
if [ -z "$chrome" ] || [ ! -x "$chrome" ]; then
  echo "skip: chromium-headless-shell is not installed (apt-get install chromium-headless-shell)"
  exit 77
fi
if [ ! -r "$file" ]; then echo "$file: cannot read" ; exit 2; fi
mkdir -p "$out" || exit 2

# A fresh profile each run, so nothing is remembered between pages.
profile=$(mktemp -d "$out/profile.XXXXXX") || exit 2
trap 'rm -rf "$profile"' EXIT
url=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$file")
rm -f "$out/page.png"

# shellcheck disable=SC2054  # the comma is in --window-size=W,H, not a separator
flags=(
  --headless
  --no-sandbox                      # CI runs as root; the sandbox refuses root
  --disable-gpu
  --disable-dev-shm-usage           # small /dev/shm in containers
  --user-data-dir="$profile"
  --no-first-run --no-default-browser-check
  --disable-extensions --disable-sync --disable-breakpad
  --disable-background-networking --disable-component-update
  "--host-resolver-rules=MAP * ~NOTFOUND"   # no network, even if the CSP were missing
  --hide-scrollbars --mute-audio
  --force-device-scale-factor=1 --window-size=1240,1754
  --enable-logging=stderr --v=0     # console messages go to stderr as CONSOLE lines
  --screenshot="$out/page.png"
  --dump-dom                        # both in one run: the DOM on stdout
)
limit=${REPORT_BROWSER_TIMEOUT:-60}
start=$(date +%s%N)
# No D-Bus here: point the session bus nowhere (the system-bus errors it still
# logs are harmless). HOME in the profile so nothing is written elsewhere.
DBUS_SESSION_BUS_ADDRESS=disabled: HOME=$profile \
  timeout "$limit" "$chrome" "${flags[@]}" "$url" >"$out/dom.html" 2>"$out/chromium.log"
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))

problems=()
if [ $rc -eq 124 ]; then
  problems+=("chromium did not finish within $limit s")
elif [ $rc -ne 0 ]; then
  problems+=("chromium exited with $rc: $(grep -v dbus "$out/chromium.log" | tail -3 | tr '\n' ' ')")
fi

# Console messages: "[...:INFO:CONSOLE:5] "text", source: file:///... (5)".
while IFS= read -r line; do
  problems+=("console: ${line#*] }")
done < <(grep -E ':CONSOLE[:(]' "$out/chromium.log")

# The DOM checks look at real tags only: scripts (the kam-data JSON) are cut
# out, and Chromium writes < in text and attribute values as &lt;, so a "<"
# always opens a tag.
if [ -s "$out/dom.html" ]; then
  while IFS= read -r line; do problems+=("$line"); done < <(python3 - "$out/dom.html" <<'EOF_PY'
import re, sys
dom = re.sub(r"<script\b.*?</script>", "", open(sys.argv[1], encoding="utf-8").read(), flags=re.S)
if not re.search(r"<[a-z][^<>]*\sid=\"kam-rendered\"", dom):
    print('the rendered page has no element with id="kam-rendered"')
if not re.search(r"<meta [^<>]*http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'", dom, re.I):
    print("no CSP <meta> with default-src 'none': loads from elsewhere would go unreported")
EOF_PY
  )
else
  problems+=("--dump-dom gave nothing")
fi

if [ -s "$out/page.png" ]; then
  png=$(python3 "$here/report_check.py" --png "$out/page.png") || problems+=("${png#"$out/page.png: "}")
else
  problems+=("no screenshot written")
fi

secs=$(printf '%d.%01d' $((took / 1000)) $((took % 1000 / 100)))
if [ ${#problems[@]} -eq 0 ]; then
  echo "ok: $file (${secs}s; ${png#"ok: $out/page.png: "})"
  exit 0
fi
for p in "${problems[@]}"; do echo "$file: $p"; done
exit 1
