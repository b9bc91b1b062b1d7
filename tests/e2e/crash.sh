#!/usr/bin/env bash
# kill -9 at any moment leaves the last committed state: an import killed
# half way leaves all of it or none of it, and the book opens as before.
. "$(dirname "$0")/lib.sh" "$@"
setup
"$KAM_SRC/bench/gen" --scale 1 --seed 3 --out "$T/csv" --today 2026-11-26 >/dev/null
kam import "$T/csv/teams.csv" "$T/csv/staff.csv" "$T/csv/clients.csv" "$T/csv/contracts.csv" >/dev/null
for delay in 0.05 0.15 0.3; do
  # the binary itself in the background (not the kam function, whose subshell
  # is what kill would reach while the import went on)
  "$KAM_BIN" --config "$CONFIG" --db "$BOOK" import "$T/csv/invoices.csv" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  n=$(kam eval 'return db.invoices:count()')
  check "killed after ${delay}s: all or nothing ($n invoices)" [ "$n" = 0 -o "$n" = 100000 ]
  check "killed after ${delay}s: the indexes agree" [ "$(kam eval 'return db.invoices:where{status = {"in", {"draft", "issued", "paid", "overdue", "disputed"}}}:count()')" = "$n" ]
  if [ "$n" = 100000 ]; then break; fi
done
expect_eq '1000' kam eval 'return db.clients:count()'
finish
