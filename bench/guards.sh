#!/usr/bin/env bash
# What the write guards cost an import: 1M spend rows (scale 10, 50 rows a
# project) into the same book, once with the shipped rules/ (spend_control
# watches every row) and once from a copy of the project without the guard
# files. The book is set up once (teams, staff, clients, contracts with their
# lines, projects) and copied for each run.
#   bench/guards.sh [SCALE] [ROUNDS]      (defaults: 10, 3; the best round counts)
set -euo pipefail
S=${1:-10}
ROUNDS=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
kam="$top/build/kam"
work=${BENCH_DIR:-/tmp/kam-bench}/guards-s$S
mkdir -p "$work"
[ -x "$kam" ] || { echo "bench: build kam first (make build)" >&2; exit 1; }
[ -f "$work/csv/spend.csv" ] || "$top/bench/gen" --scale "$S" --seed 1 --out "$work/csv" --today 2026-11-26 \
  --spend-per-project 50 >/dev/null

# the project without guards: config/, scripts/ and the policies of rules/
bare="$work/bare"
rm -rf "$bare" && mkdir -p "$bare/rules"
cp -R "$top/config" "$top/scripts" "$bare/"
cp -R "$top/rules/lib" "$bare/rules/"
for f in "$top"/rules/*.lua; do grep -q 'kind = "guard"' "$f" || cp "$f" "$bare/rules/"; done

export KAM_TODAY=2026-11-26
rm -f "$work/base.db"*
"$kam" --config "$bare/config/kam.yaml" --db "$work/base.db" init >/dev/null
"$kam" --config "$bare/config/kam.yaml" --db "$work/base.db" import "$work"/csv/{teams,staff,clients,contracts,projects}.csv >/dev/null

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
best() { sort -n | head -1; }
run() { # config → seconds of the spend import into a fresh copy of the book
  rm -f "$work/run.db"*
  cp "$work/base.db" "$work/run.db"
  secs "$kam" --config "$1" --db "$work/run.db" import --into spend "$work/csv/spend.csv"
}
rows=$(($(wc -l < "$work/csv/spend.csv") - 1))
t_bare=$(for _ in $(seq "$ROUNDS"); do run "$bare/config/kam.yaml"; done | best)
t_guard=$(for _ in $(seq "$ROUNDS"); do run "$top/config/kam.yaml"; done | best)
# invoices that bill no period: invoice_gate's only_if leaves them to C
run_inv() {
  rm -f "$work/inv.db"*
  cp "$work/base.db" "$work/inv.db"
  secs "$kam" --config "$1" --db "$work/inv.db" import "$work/csv/invoices.csv"
}
i_bare=$(for _ in $(seq "$ROUNDS"); do run_inv "$bare/config/kam.yaml"; done | best)
i_guard=$(for _ in $(seq "$ROUNDS"); do run_inv "$top/config/kam.yaml"; done | best)
rm -f "$work/inv.db"*
held=$("$kam" --config "$top/config/kam.yaml" --db "$work/run.db" eval 'return db.requests:where{kind = "budget_overrun"}:count()')
flagged=$("$kam" --config "$top/config/kam.yaml" --db "$work/run.db" eval 'return db.spend:where{flag = "wrong_line"}:count()')
printf 'spend import, %d rows at scale %s (best of %d)\n' "$rows" "$S" "$ROUNDS"
printf '  without guards                   %7.2f s\n' "$t_bare"
printf '  with rules/ (spend_control ...)  %7.2f s  (+%.1f %%)\n' "$t_guard" "$(echo "($t_guard / $t_bare - 1) * 100" | bc -l)"
printf '  held by the guard %s (a budget_overrun request each), flagged %s\n' "$held" "$flagged"
printf 'invoice import, %d rows that bill no period\n' "$(($(wc -l < "$work/csv/invoices.csv") - 1))"
printf '  without guards                   %7.2f s\n' "$i_bare"
printf '  with rules/ (invoice_gate ...)   %7.2f s  (%+.1f %%)\n' "$i_guard" "$(echo "($i_guard / $i_bare - 1) * 100" | bc -l)"
