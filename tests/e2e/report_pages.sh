#!/usr/bin/env bash
# report_pages.sh — every report on the demo book, in both languages, opened
# as a reader opens it: the file checked (report_check.py: no script, nothing
# fetched, SVG well-formed, the data block) and then in headless Chromium
# (report_browser.sh: a screenshot that is not blank, no console error, the
# "rendered" marker in the DOM). REPORT_PAGES=DIR keeps the screenshots.
. "$(dirname "$0")/lib.sh" "$@"
setup
HERE=$KAM_SRC/tests/e2e

expect_ok kam init --demo --force
expect_ok kam schedule run nightly
# the largest account, and one with an open escalation
BIG=$(kam --format json eval 'local best, id = -1 for c in db.clients:where{status = "active"}:each() do local r = db.invoices:where{client = c.id}:sum("amount") if r > best then best, id = r, c.id end end return id' | tr -d '"')
RISKY=$(kam --format json eval 'return db.risks:where{kind = "escalation", status = "open"}:first().client' | tr -d '"')

pages=()
for lang in vi en; do
  expect_ok kam report executive --period 2026-Q4 --lang "$lang" -o "executive.$lang.html"; pages+=("executive.$lang.html")
  expect_ok kam report team --lang "$lang" -o "team.$lang.html"; pages+=("team.$lang.html")
  for id in "$BIG" "$RISKY"; do
    expect_ok kam report account "$id" --period 2026-Q4 --lang "$lang" -o "account.$id.$lang.html"; pages+=("account.$id.$lang.html")
  done
done

out=${REPORT_PAGES:-$T/shots}
for p in "${pages[@]}"; do
  expect_out "ok: $p" python3 "$HERE/report_check.py" "$p"
  _run bash "$HERE/report_browser.sh" "$p" "$out/${p%.html}"
  if [ "$RC" -eq 0 ]; then _pass
  else _fail "$p in headless Chromium" "exit $RC (77: chromium-headless-shell is not installed: scripts/install-deps)"; fi
done

finish
