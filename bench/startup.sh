#!/usr/bin/env bash
# bench/startup.sh: what a whole kam process costs when the book is large.
#
#   bench/startup.sh BOOK [RUNS]
#
# 1. `kam eval 'return db.clients:count()'` against `lua5.4 -e ''`, side by
#    side (hyperfine when installed, else alternating runs), medians compared:
#    open, map, answer and exit must not grow with the book.
# 2. The time from starting `kam repl` on a terminal to its prompt, measured
#    through tests/e2e/ptydrive (built with the tests).
# BOOK: e.g. bench/gen --scale 100 --seed 1 --out DIR, then kam init and
# kam import DIR/{teams,staff,clients,contracts,invoices}.csv.
# Environment: BUILD_DIR (default <repo>/build).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
book=${1:?usage: bench/startup.sh BOOK [RUNS]}
runs=${2:-200}
kam=("$build/kam" --config "$top/config/kam.yaml" --db "$book")
[ -f "$book" ] || { echo "bench/startup.sh: $book: no such book" >&2; exit 2; }
"${kam[@]}" eval 'return db.clients:count()' >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "book: $book ($("${kam[@]}" eval 'return db.clients:count()') clients, $("${kam[@]}" eval 'return db.invoices:count()') invoices)"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 20 --runs "$runs" --export-json "${TMPDIR:-/tmp}/kam-startup.json" \
    "lua5.4 -e ''" "${kam[*]} eval 'return db.clients:count()'" >/dev/null 2>&1
  grep -o '"median": *[0-9.e+-]*' "${TMPDIR:-/tmp}/kam-startup.json" | awk '{ m[NR] = $2 } END {
    printf "lua5.4 -e \"\"                              median %.2f ms\n", m[1] * 1e3
    printf "kam eval \"return db.clients:count()\"     median %.2f ms  (%.1fx)\n", m[2] * 1e3, m[2] / m[1] }'
else
  : >"${TMPDIR:-/tmp}/kam-startup.l"; : >"${TMPDIR:-/tmp}/kam-startup.k"
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N); lua5.4 -e '' ; t1=$(date +%s%N)
    "${kam[@]}" eval 'return db.clients:count()' >/dev/null; t2=$(date +%s%N)
    echo $(( t1 - t0 )) >>"${TMPDIR:-/tmp}/kam-startup.l"; echo $(( t2 - t1 )) >>"${TMPDIR:-/tmp}/kam-startup.k"
  done
  l=$(median <"${TMPDIR:-/tmp}/kam-startup.l"); k=$(median <"${TMPDIR:-/tmp}/kam-startup.k")
  awk -v l="$l" -v k="$k" 'BEGIN {
    printf "lua5.4 -e \"\"                              median %.2f ms\n", l / 1e6
    printf "kam eval \"return db.clients:count()\"     median %.2f ms  (%.1fx)\n", k / 1e6, k / l }'
fi

pty=$build/tests/e2e/ptydrive
if [ -x "$pty" ]; then
  script=$(mktemp)
  printf 'expect kam> \nmark prompt\nsend .quit\\r\nexit 0\n' >"$script"
  for _ in $(seq 30); do
    KAM_HISTORY= TERM=xterm "$pty" "$script" -- "${kam[@]}" repl | awk '/^prompt/ { print $2 }'
  done | median | awk '{ printf "kam repl: prompt after                     median %.1f ms\n", $1 }'
  rm -f "$script"
else
  echo "kam repl: build the tests for $pty to time the prompt" >&2
fi
