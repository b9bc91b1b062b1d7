#!/usr/bin/env bash
# How long the reports take on a generated book: kam-gen's CSVs at SCALE
# (10: 10k clients, 1M invoices) imported, plans and risks added
# (bench/report_book.lua), the tiering policy committed (tier moves with
# their decisions), then each report timed, best of ROUNDS. The target: the
# executive report under 2 s at scale 10.
#   bench/report.sh [SCALE] [ROUNDS]      (defaults: 10, 3)
set -euo pipefail
S=${1:-10}
ROUNDS=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
kam="$top/build/kam"
work=${BENCH_DIR:-/tmp/kam-bench}/report-s$S
mkdir -p "$work"
[ -x "$kam" ] || { echo "bench: build kam first (make build)" >&2; exit 1; }
[ -x "$top/bench/gen" ] || { echo "bench: build bench/gen first (bench/run does)" >&2; exit 1; }
export KAM_TODAY=2026-11-26
[ -f "$work/csv/invoices.csv" ] || "$top/bench/gen" --scale "$S" --seed 1 --out "$work/csv" --today "$KAM_TODAY" >/dev/null
k() { "$kam" --config "$top/config/kam.yaml" --db "$work/book.db" "$@"; }
if [ ! -f "$work/book.db" ] || [ "$work/book.db" -ot "$top/bench/report_book.lua" ]; then
  rm -f "$work/book.db"*
  k init >/dev/null
  k import "$work"/csv/{teams,staff,clients,contracts,projects,spend,invoices,payments,opportunities,activities}.csv >/dev/null
  k run "$top/bench/report_book.lua" >/dev/null
  k policy eval tiering --commit >/dev/null
fi
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
best() { sort -n | head -1; }
big=$(k --format json eval 'local g = db.invoices:where{issued = {">=", "2026-01-01"}, status = {"~=", "draft"}}:group("client", "sum", "amount")
  local best, id = -1 for c, v in pairs(g) do if v > best or (v == best and c < id) then best, id = v, c end end return id' | tr -d '"')
time_of() { for _ in $(seq "$ROUNDS"); do secs k report "$@" -o "$work/out.page"; done | best; }
printf 'reports on a scale-%s book (%s clients, %s invoices), best of %d\n' "$S" \
  "$(k eval 'return db.clients:count()')" "$(k eval 'return db.invoices:count()')" "$ROUNDS"
printf '  executive --period 2026-Q4 (html)   %6.2f s  (%s)\n' "$(time_of executive --period 2026-Q4)" "$(du -k "$work/out.page" | cut -f1) KiB"
printf '  executive --period 2026-Q4 --format json  %6.2f s\n' "$(time_of executive --period 2026-Q4 --format json)"
printf '  executive --period 2026 (the year)  %6.2f s\n' "$(time_of executive --period 2026)"
printf '  account %s --period 2026-Q4   %6.2f s\n' "$big" "$(time_of account "$big" --period 2026-Q4)"
printf '  team                                %6.2f s\n' "$(time_of team)"
