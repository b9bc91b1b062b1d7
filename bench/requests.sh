#!/usr/bin/env bash
# bench/requests.sh: `kam requests --waiting-on-me` on a book of 100k requests.
#
#   bench/requests.sh [N] [RUNS]
#
# Makes the demo book, adds N requests (default 100.000; 1 % pending, spread
# over the four roles that sign, the rest decided), then times the whole
# `kam --as lan requests --waiting-on-me` (a team lead) and the same for minh (a
# director) with hyperfine (a loop of runs without it), beside `lua5.4 -e ''`.
# The answer comes from the (status, waiting_role) index. Environment:
# BUILD_DIR (default <repo>/build).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$top/build}
n=${1:-100000}
runs=${2:-50}
work=$(mktemp -d "${TMPDIR:-/tmp}/kam-requests.XXXXXX")
trap 'rm -rf "$work"' EXIT
kam=("$build/kam" --config "$top/config/kam.yaml" --db "$work/book.db")
"${kam[@]}" init --demo >/dev/null
"${kam[@]}" eval "
local kinds = {'scope_change', 'discount', 'budget_overrun', 'investment', 'hiring'}
local roles = {'team_lead', 'director', 'ceo', 'finance'}
local st = {'approved', 'rejected', 'withdrawn', 'superseded'}
local staff = db.staff:where{role = {'in', {'account_manager', 'account_executive', 'key_account_manager'}}}:ids()
kam.tx(function()
  for i = 1, $n do
    local pending = i % 100 == 0
    local role = roles[(i // 100) % 4 + 1]
    db.requests:insert{kind = kinds[i % 5 + 1], subject = string.format('CL-%06d', i % 50 + 1), amount = (i % 97) * 1000000,
      reason = 'bench', requested_by = staff[i % #staff + 1], status = pending and 'pending' or st[i % 4 + 1],
      chain = {role}, approvals = {}, step = 1, waiting_role = pending and role or '', raised = '2026-11-01'}
  end
end)" >/dev/null
echo "book: $("${kam[@]}" eval 'return db.requests:count()') requests, $("${kam[@]}" eval "return db.requests:where{status = 'pending'}:count()") pending"
for who in lan minh; do
  echo "  $who: $("${kam[@]}" --as "$who" requests --waiting-on-me | grep -c '^RQ-') waiting on them"
done
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 5 --runs "$runs" "lua5.4 -e ''" "${kam[*]} --as lan requests --waiting-on-me" \
    "${kam[*]} --as minh requests --waiting-on-me" 2>&1 | grep -E 'Benchmark|Time'
else
  for who in lan minh; do
    t0=$(date +%s%N)
    for _ in $(seq "$runs"); do "${kam[@]}" --as "$who" requests --waiting-on-me >/dev/null; done
    echo "  $who: $(( ($(date +%s%N) - t0) / runs / 1000 )) µs a run"
  done
fi
