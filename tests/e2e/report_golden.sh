#!/usr/bin/env bash
# report_golden.sh — the reports of a pinned demo book (today and the clock
# fixed, so the book and its "as of" are the same each time) against the
# files in tests/e2e/golden/: the same book gives the same bytes, and any
# change to a page shows here as a diff a reviewer reads. After a change
# made on purpose: UPDATE_GOLDEN=1 bash tests/e2e/report_golden.sh KAM SRC.
. "$(dirname "$0")/lib.sh" "$@"
setup
GOLDEN=$KAM_SRC/tests/e2e/golden
export KAM_NOW=2026-11-26T18:00+07:00

expect_ok kam init --demo --force
expect_ok kam schedule run nightly

pages=(
  "executive.vi.html|executive --period 2026-Q4 --lang vi --format html"
  "executive.vi.md|executive --period 2026-Q4 --lang vi --format md"
  "executive.en.csv|executive --period 2026-Q4 --lang en --format csv"
  "account.CL-000002.en.md|account CL-000002 --period 2026-Q4 --lang en --format md"
  "team.vi.md|team --lang vi --format md"
)
for entry in "${pages[@]}"; do
  name=${entry%%|*}
  read -r -a args <<<"${entry#*|}"
  expect_ok kam report "${args[@]}" -o "$name"
  if [ -n "${UPDATE_GOLDEN:-}" ]; then
    cp "$name" "$GOLDEN/$name" && echo "updated: tests/e2e/golden/$name"
  elif cmp -s "$name" "$GOLDEN/$name"; then _pass
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: $name differs from tests/e2e/golden/$name (UPDATE_GOLDEN=1 after a change made on purpose):"
    diff "$GOLDEN/$name" "$name" | head -20
  fi
done

finish
