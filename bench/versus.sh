#!/usr/bin/env bash
# bench/versus.sh: one kam command, two builds, side by side on the same book.
#
#   bench/versus.sh OLD_KAM NEW_KAM BOOK RUNS -- KAM_ARGS...
#
# Runs `KAM --config config/kam.yaml --db BOOK KAM_ARGS...` RUNS times for
# each build, alternating, with today pinned to the generator's 2026-11-26;
# prints each build's median wall seconds and its runs, and whether the two
# builds wrote the same bytes to standard output. E.g. the commit before a
# change built apart against this tree:
#   git worktree add /tmp/kam-old HEAD~3 && make -C /tmp/kam-old build
#   bench/versus.sh /tmp/kam-old/build/kam build/kam /tmp/kam-bench/s10/policy.db 5 -- \
#     policy eval health --format json
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -ge 5 && $5 == -- ]] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
old=$1 new=$2 book=$3 runs=$4
shift 5
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench/versus.sh: RUNS is a positive number" >&2; exit 2; }
for b in "$old" "$new"; do [[ -x $b ]] || { echo "bench/versus.sh: $b: not a program" >&2; exit 2; }; done
[[ -f $book ]] || { echo "bench/versus.sh: $book: no such book" >&2; exit 2; }
export KAM_TODAY=2026-11-26
work=$(mktemp -d "${TMPDIR:-/tmp}/kam-versus.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/old.t"; : >"$work/new.t"
for ((i = 0; i < runs; i++)); do
  for v in old new; do
    if [[ $v == old ]]; then bin=$old; else bin=$new; fi
    t0=$(date +%s%N)
    "$bin" --config "$top/config/kam.yaml" --db "$book" "$@" >"$work/$v.out" 2>"$work/$v.err" ||
      { echo "bench/versus.sh: $v failed: $(tail -n 1 "$work/$v.err")" >&2; exit 1; }
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >>"$work/$v.t"
  done
done
for v in old new; do
  sort -n "$work/$v.t" | awk -v v="$v" '{ t[NR] = $1 / 1e6 } END {
    m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "%s  median %.3f s  (", v, m; for (i = 1; i <= NR; i++) printf "%s%.3f", (i > 1 ? " " : ""), t[i]; print ")" }'
done
if cmp -s "$work/old.out" "$work/new.out"; then echo "output: the same"; else echo "output: differs"; fi
