#!/usr/bin/env bash
# Bulk import, kam against sqlite3's .import of the same invoices.csv with the
# same five indexes (declared before the load, and built after it), and the
# size of each file that holds them (kam's book also holds the clients, staff
# and contracts the invoices refer to; sqlite's file the invoices alone).
#   bench/import.sh [SCALE]       (100 = 100k clients, 10M invoices)
set -euo pipefail
S=${1:-100}
top=$(cd "$(dirname "$0")/.." && pwd)
kam="$top/build/kam --config $top/config/kam.yaml"
work=${BENCH_DIR:-/tmp/kam-bench}/s$S
mkdir -p "$work"
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 is missing (scripts/install-deps bench)" >&2; exit 1; }
[ -f "$work/csv/invoices.csv" ] || "$top/bench/gen" --scale "$S" --seed 1 --out "$work/csv" --today 2026-11-26 >/dev/null
secs() { local t0=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $t0" | bc; }

rm -f "$work/kam.db"*
$kam --db "$work/kam.db" init >/dev/null
$kam --db "$work/kam.db" import "$work"/csv/{teams,staff,clients,contracts}.csv >/dev/null
t_kam=$(secs $kam --db "$work/kam.db" import "$work/csv/invoices.csv")

cols="id TEXT PRIMARY KEY, client TEXT, contract TEXT, amount INTEGER, tax INTEGER, issued TEXT, due TEXT, status TEXT, paid_date TEXT, note TEXT"
idx="CREATE INDEX i1 ON invoices(client, issued, amount, status, due, paid_date);
CREATE INDEX i2 ON invoices(status, due, amount, client);
CREATE INDEX i3 ON invoices(contract);
CREATE INDEX i4 ON invoices(issued);
CREATE INDEX i5 ON invoices(due);"
rm -f "$work/before.db" "$work/after.db"
t_before=$(secs sqlite3 "$work/before.db" "CREATE TABLE invoices($cols); $idx" ".mode csv" ".import --skip 1 $work/csv/invoices.csv invoices")
t_after=$(secs sqlite3 "$work/after.db" "CREATE TABLE invoices($cols);" ".mode csv" ".import --skip 1 $work/csv/invoices.csv invoices" "$idx")
rows=$(($(wc -l < "$work/csv/invoices.csv") - 1))
printf 'invoices: %d rows\n' "$rows"
printf '  kam import                              %7.1f s\n' "$t_kam"
printf '  sqlite3 .import, indexes declared first %7.1f s  (kam %.1fx faster)\n' "$t_before" "$(echo "$t_before / $t_kam" | bc -l)"
printf '  sqlite3 .import, then CREATE INDEX      %7.1f s  (kam %.1fx faster)\n' "$t_after" "$(echo "$t_after / $t_kam" | bc -l)"
# The book's size is what its pages hold, not the map it was given room in.
pages=$(mdb_stat -n -e "$work/kam.db" | awk '/Number of pages used/ {print $5}')
psize=$(mdb_stat -n -e "$work/kam.db" | awk '/Page size/ {print $3}')
b_kam=$((pages * psize)) b_sql=$(stat -c %s "$work/after.db")
printf '  size: kam book %.0f MB, sqlite3 file %.0f MB (kam %.2fx)\n' \
  "$(echo "$b_kam / 1000000" | bc -l)" "$(echo "$b_sql / 1000000" | bc -l)" "$(echo "$b_kam / $b_sql" | bc -l)"
