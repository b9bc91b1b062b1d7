#!/usr/bin/env bash
# group() over a long index, read by several threads at once (core/grouppass.c):
# the same groups, to the last đồng and in the same types, as one thread reading
# it all; explain says how many threads read it; KAM_THREADS=1 and a group
# inside kam.tx (a write transaction only its own thread may read) take one.
. "$(dirname "$0")/lib.sh" "$@"
setup
# 350.000 invoices: enough for three threads of at least 100.000 index entries each
"$KAM_SRC/bench/gen" --scale 3.5 --seed 5 --out "$T/csv" --today 2026-11-26 >/dev/null
expect_ok kam import "$T"/csv/{teams,staff,clients,contracts,projects,spend,invoices}.csv

cat >"$T/groups.lua" <<'LUA'
-- every group of a few group() calls, one line each, keys sorted, with the Lua type of each value
local since = kam.months_ago(12)
local function dump(t, out, pre)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "table" then dump(v, out, pre .. tostring(k) .. "/")
    else out[#out + 1] = pre .. tostring(k) .. " = " .. tostring(v) .. " " .. (math.type(v) or type(v)) end
  end
end
local out = {}
for _, g in ipairs{
  function() return db.invoices:where{issued = {">=", since}}:group({"client", "status"}, "sum", "amount") end,
  function() return db.invoices:all():group("client", {n = "count", total = {"sum", "amount"}, last = {"max", "issued"}, first = {"min", "due"}}) end,
  function() return db.invoices:where{issued = {"between", "2025-01-01", "2025-06-30"}}:group("client", {n = "count", mean = {"avg", "amount"}}) end,
  function() return db.invoices:where{issued = {"<", "2025-01-01"}, status = {"~=", "draft"}}:group({"client", "status"}, "max", "paid_date") end,
  function() return db.invoices:all():group("status", "count") end,
  function() return db.spend:where{date = {">=", since}}:group("project.client", "sum", "amount") end,
} do
  local before = #out
  dump(g(), out, #out .. ": ")
  out[#out + 1] = string.format("(%d groups)", #out - before)
end
return table.concat(out, "\n")
LUA
groups() { KAM_THREADS=$1 kam run "$T/groups.lua" >"$T/groups.$1" 2>"$ERR"; }
groups 1 && groups 2 && groups 3
check "the groups read by one thread ($(wc -l <"$T/groups.1") lines)" [ "$(wc -l <"$T/groups.1")" -gt 10000 ]
check 'by two threads: the same groups, values and types' cmp -s "$T/groups.1" "$T/groups.2"
check 'by three threads: the same' cmp -s "$T/groups.1" "$T/groups.3"

EXPLAIN='return db.invoices:where{issued = {">=", kam.months_ago(12)}}:explain({"client", "status"}, "sum", "amount")'
KAM_THREADS=3 expect_eq 'group: one pass over index invoices.client.issued, shared among 3 threads' kam eval "$EXPLAIN"
KAM_THREADS=8 expect_eq 'group: one pass over index invoices.client.issued, shared among 3 threads' kam eval "$EXPLAIN"
KAM_THREADS=1 expect_eq 'group: one pass over index invoices.client.issued' kam eval "$EXPLAIN"
# a write transaction is its thread's alone
KAM_THREADS=3 expect_not 'threads' kam eval "local r kam.tx(function() r = (function() $EXPLAIN end)() end) return r"
# the same sums inside kam.tx as outside
KAM_THREADS=3 expect_eq "$(KAM_THREADS=3 kam eval 'local n = 0 for _, s in pairs(db.invoices:all():group("client", "sum", "amount")) do n = n + s end return n')" \
  kam eval 'local n = 0 kam.tx(function() for _, s in pairs(db.invoices:all():group("client", "sum", "amount")) do n = n + s end end) return n'
# a policy whose passes run past its budget: stopped with the limit named (the other threads
# stop with the first), nothing committed
tmp_project "$T/proj"
cat >"$T/proj/rules/passes.lua" <<'LUA'
return {name = "passes", subject = "clients", writes = "tier",
  decide = function(c, why)
    for i = 1, 1e6 do db.invoices:all():group({"client", "status"}, "sum", "amount") end
    return "D"
  end}
LUA
snapshot "$T/.before"
CLIENT=$(kam eval 'return db.clients:all():first().id')
KAM_THREADS=3 expect_fail 1 'stopped: it ran longer than' \
  "$KAM_BIN" --config "$T/proj/config/kam.yaml" --db "$BOOK" policy eval passes --id "$CLIENT" --commit
expect_unchanged "$T/.before" 'passes stopped by the budget'

# a KAM_THREADS that is no whole number of 1 or more: a usage error naming it, before anything is done
snapshot "$T/.before"
KAM_THREADS=abc expect_fail 2 'kam: KAM_THREADS: expected a whole number of threads, 1 or more (got "abc")' kam eval 'return 1'
KAM_THREADS=0 expect_fail 2 'KAM_THREADS' kam eval 'kam.tx(function() db.teams:update(db.teams:all():first().id, {name = "x"}) end)'
KAM_THREADS=-2 expect_fail 2 'KAM_THREADS' kam import "$T/csv/teams.csv"
expect_unchanged "$T/.before" 'a bad KAM_THREADS'
KAM_THREADS=12 expect_eq 'group: one pass over index invoices.client.issued, shared among 3 threads' kam eval "$EXPLAIN"
finish
