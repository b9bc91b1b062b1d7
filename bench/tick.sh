#!/usr/bin/env bash
# bench/tick.sh: what the scheduler costs.
#
#   bench/tick.sh BOOK [RUNS]
#
# 1. `kam tick` when nothing is due, against `lua5.4 -e ''` (hyperfine when
#    installed, else alternating runs), medians compared: what cron or a
#    systemd timer pays every minute.
# 2. The nightly job of config/kam.yaml (overdue invoices, tiering and health
#    committed, alerts raised) run by hand on a copy of BOOK, 3 times, each on
#    a fresh copy: the seconds and what it did.
# BOOK: a book with the shipped schema, e.g. bench/access.sh's full.db
# (bench/gen --scale 10: 10k clients, 1M invoices). The nightly job acts as
# the book's first admin staff member (kam.yaml's owner is the demo's).
# Environment: BUILD_DIR (default <repo>/build).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
book=${1:?usage: bench/tick.sh BOOK [RUNS]}
runs=${2:-200}
[ -f "$book" ] || { echo "bench/tick.sh: $book: no such book" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kam-tick.XXXXXX")
trap 'rm -rf "$work"' EXIT

# a project of its own: the shipped config and scripts, the owner the book's admin
mkdir -p "$work/p"
cp -R "$top/config" "$top/scripts" "$top/rules" "$work/p/"
kam0=("$build/kam" --config "$work/p/config/kam.yaml" --db "$book")
admin=$("${kam0[@]}" eval 'return db.staff:where{role = "admin"}:first().id')
sed -i "s/owner: ST-000011/owner: $admin/" "$work/p/config/kam.yaml"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 1. a tick with nothing due: the schedules were seen now, the next is hours away
cp "$book" "$work/tick.db"
kamt=("$build/kam" --config "$work/p/config/kam.yaml" --db "$work/tick.db")
now=$(date +%s)
next=$(date -d 'today 12:00' +%s)   # noon: no shipped job is due then
"${kamt[@]}" tick --now "@$next" >/dev/null
cmd="${kamt[*]} tick --now @$((next + 60))"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/h.json" "lua5.4 -e ''" "$cmd" >/dev/null 2>&1
  grep -o '"median": *[0-9.e+-]*' "$work/h.json" | awk '{ m[NR] = $2 } END {
    printf "lua5.4 -e \"\"                  median %.2f ms\n", m[1] * 1e3
    printf "kam tick, nothing due         median %.2f ms  (%.1fx)\n", m[2] * 1e3, m[2] / m[1] }'
else
  : >"$work/l"; : >"$work/k"
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N); lua5.4 -e ''; t1=$(date +%s%N); $cmd >/dev/null; t2=$(date +%s%N)
    echo $((t1 - t0)) >>"$work/l"; echo $((t2 - t1)) >>"$work/k"
  done
  l=$(median <"$work/l"); k=$(median <"$work/k")
  awk -v l="$l" -v k="$k" 'BEGIN { printf "lua5.4 -e \"\"                  median %.2f ms\nkam tick, nothing due         median %.2f ms  (%.1fx)\n", l / 1e6, k / 1e6, k / l }'
fi
rm -f "$work/tick.db"*

# 2. the nightly job, by hand, on fresh copies of the book
: >"$work/n"
for r in 1 2 3; do
  cp "$book" "$work/night.db"
  t0=$(date +%s%N)
  "$build/kam" --config "$work/p/config/kam.yaml" --db "$work/night.db" schedule run nightly >"$work/night.out"
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 )) >>"$work/n"
  [ "$r" = 1 ] && sed 's/^/  /' "$work/night.out"
  rm -f "$work/night.db"*
done
echo "nightly (kam schedule run nightly), 3 fresh copies: median $(median <"$work/n") ms ($(paste -sd' ' "$work/n") ms)"
: "$now"
