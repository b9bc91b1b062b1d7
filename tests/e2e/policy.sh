#!/usr/bin/env bash
# The policy engine: eval with reasons, commit, history, what-if, budgets,
# isolation between evaluations, kam test and kam check.
. "$(dirname "$0")/lib.sh" "$@"
setup
# a project of our own: the shipped config and scripts, and policies written here
tmp_project proj scripts
mkdir -p proj/rules/lib
printf 'limits: {memory_mb: 256, policy_memory_mb: 32}\n' >>proj/config/kam.yaml
CONFIG=$T/proj/config/kam.yaml
rm -f "$BOOK" "$BOOK-lock"
kam init --demo >/dev/null
cd proj
cat > rules/tiers.lua <<'LUA'
local T = {
  revenue = {                      -- 12-month revenue bands
    {tier = "A", min = 5e9},
    {tier = "B", min = 2e9, max = 5e9},
    {tier = "C", min = 5e8, max = 2e9},
    {tier = "D", max = 5e8},
  },
}
local P = {name = "tiers", subject = "clients", writes = "tier", thresholds = T,
           description = "tiers from 12-month revenue"}
function P.measure(c)
  return db.invoices:where{client = c.id, issued = {">=", kam.months_ago(12)}}:sum("amount")
end
function P.decide(c, why)
  local rev = P.measure(c)
  why("12-month revenue %s", kam.fmt.money(rev))
  for _, b in ipairs(T.revenue) do
    if (not b.min or rev >= b.min) and (not b.max or rev < b.max) then return b.tier end
  end
end
return P
LUA

expect_out 'tiers' kam policy list
expect_out 'description  tiers from 12-month revenue' kam policy show tiers
check 'show: the thresholds' grep -q '"tier":"B"' "$OUT"
expect_out 'tiers: 50 evaluated' kam policy eval tiers
check 'eval: nothing committed yet' grep -q 'not committed' "$OUT"
expect_out '12-month revenue' kam policy eval tiers --id CL-000007 --explain
expect_fail 1 'no clients CL-NOPE' kam policy eval tiers --id CL-NOPE

# commit: decisions stored, the tier written, and the audit shows the writes
snapshot "$T/before"
expect_out '50 decisions committed' kam policy eval tiers --commit
expect_eq 'B' kam eval 'return db.clients:get("CL-000007").tier'
expect_out '0 changed' kam policy eval tiers
expect_out 'first decision' kam policy history CL-000007

# scenario: B from 2 tỷ to 2,5 tỷ; what-if against the committed version
sed -i 's/{tier = "B", min = 2e9, max = 5e9}/{tier = "B", min = 2.5e9, max = 5e9}/; s/{tier = "C", min = 5e8, max = 2e9}/{tier = "C", min = 5e8, max = 2.5e9}/' rules/tiers.lua
expect_out 'B → C' kam policy whatif tiers --with rules/tiers.lua
check 'what-if: 7 clients move B → C' grep -Eq 'B → C +7 ' "$OUT"
check 'what-if: the money they carry' grep -q 'they carry 15\.' "$OUT"
check 'what-if: both lists of reasons' grep -q 'with the change:' "$OUT"
expect_ok kam --format json policy whatif tiers --with rules/tiers.lua
check 'what-if json: 7 changed' grep -q '"changed":7' "$OUT"
expect_eq 'B' kam eval 'return db.clients:get("CL-000007").tier'   # whatif writes nothing
expect_out 'sum of annual_budget' kam policy whatif tiers --with rules/tiers.lua --sum annual_budget
expect_out '7 changed' kam policy eval tiers --commit
expect_out 'the policy changed' kam policy history CL-000007 tiers
expect_eq 'C' kam eval 'return db.clients:get("CL-000007").tier'

# an error in one subject: named with its file:line, the run goes on
cat > rules/flaky.lua <<'LUA'
local P = {name = "flaky", subject = "clients"}
function P.decide(c, why)
  if c.id == "CL-000003" then error("no data for this one") end
  return "ok"
end
return P
LUA
expect_fail 1 'CL-000003' kam policy eval flaky
check 'the error has file:line' grep -q 'rules/flaky.lua:3: no data' "$ERR"
check 'the run went on' grep -q '50 evaluated, 49 changed, 1 failed' "$OUT"
expect_fail 1 'CL-000003' kam policy eval flaky --strict --commit
expect_eq '0' kam eval 'return #db.clients:where{id = "CL-000001"}:ids() - 1'

# each evaluation has its own environment: globals and locals do not leak
cat > rules/leaky.lua <<'LUA'
local P = {name = "leaky", subject = "clients"}
local seen = 0
function P.decide(c, why)
  seen = seen + 1
  counter = (counter or 0) + 1
  return seen * 100 + counter
end
return P
LUA
expect_ok kam --format csv policy eval leaky
check 'every evaluation starts from nothing' [ "$(grep -c ',101,' "$OUT")" -eq 50 ]

# runaway policies stop within a second or so, name policy and subject, commit nothing
cat > rules/loop.lua <<'LUA'
local P = {name = "loop", subject = "clients", writes = "tier"}
function P.decide(c, why)
  if c.id == "CL-000005" then while true do pcall(function() while true do end end) end end
  return "A"
end
return P
LUA
snapshot "$T/s1"
start=$(date +%s)
expect_fail 1 'policy loop, clients CL-000005' kam policy eval loop --commit
check 'a runaway policy is stopped quickly' [ $(( $(date +%s) - start )) -le 4 ]
check 'the error names the per-evaluation budget' grep -q 'limits.policy_seconds' "$ERR"
check 'nothing was committed' grep -q 'nothing was committed' "$ERR"
expect_unchanged "$T/s1" 'runaway policy'
cat > rules/bomb.lua <<'LUA'
local P = {name = "bomb", subject = "clients"}
function P.decide(c, why)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 100000) .. i end
  return #t
end
return P
LUA
expect_fail 1 'policy bomb, clients CL-000001: ' kam policy eval bomb --commit
check 'a memory bomb: stopped by the per-evaluation memory cap, which the error names' grep -q 'stopped: it used more than 32 MiB (limits.policy_memory_mb in kam.yaml)' "$ERR"
expect_unchanged "$T/s1" 'memory bomb'
cat > rules/deep.lua <<'LUA'
local P = {name = "deep", subject = "clients"}
local function f(n) return f(n + 1) + 1 end
function P.decide(c, why) return f(1) end
return P
LUA
expect_fail 1 'policy deep, clients CL-000001: ' kam policy eval deep --strict
# runaway recursion ends in Lua's stack limit, or the budget or memory cap first (slow builds)
check 'runaway recursion: a clear stop' grep -Eq 'stack overflow|stopped: it ran longer|stopped: it used more than|not enough memory' "$ERR"
rm rules/loop.lua rules/bomb.lua rules/deep.lua rules/flaky.lua rules/leaky.lua

# kam test: fixtures, decide, failures with file:line, exit codes
cat > rules/tiers_test.lua <<'LUA'
fixture{
  clients = {{id = "CL-1", name = "Sữa Đồng Xanh"}, {id = "CL-2"}},
  invoices = {{client = "CL-1", amount = 6e9, issued = kam.months_ago(2)},
              {client = "CL-2", amount = 6e8, issued = kam.months_ago(1)}},
}
test("6 tỷ is A", function()
  local t, why = decide("tiers", "CL-1")
  expect_eq(t, "A")
  expect_true(why[1]:find("6.000.000.000", 1, true))
end)
test("600 triệu is C", function() expect_eq(decide("tiers", "CL-2"), "C") end)
test("each test has a fresh book", function()
  kam.tx(function() db.clients:insert{id = "CL-3", name = "x"} end)
  expect_eq(db.clients:count(), 3)
end)
test("and it is fresh", function() expect_eq(db.clients:count(), 2) end)
test("a missing client", function() expect_error(function() decide("tiers", "CL-404") end, "no clients CL-404") end)
LUA
expect_out '5 passed, 0 failed' kam test
expect_out 'rules/tiers.lua:' kam test --coverage
check 'coverage: lines ran' grep -q 'lines ran' "$OUT"
cat > rules/fail_test.lua <<'LUA'
test("wrong on purpose", function() expect_eq(1 + 1, 3) end)
LUA
expect_fail 1 '' kam test
check 'a failure shows file:line, expected and actual' grep -q 'rules/fail_test.lua:1: expected 3, got 2' "$OUT"
check 'the last line counts' grep -q '^5 passed, 1 failed$' "$OUT"
rm rules/fail_test.lua

# kam check
expect_out '0 problems' kam check
cat > rules/bad.lua <<'LUA'
local T = {bands = {{tier = "A", min = 10}, {tier = "B", min = 4, max = 9}, {tier = "C", max = 5}}}
local P = {name = "bad", subject = "clients", thresholds = T}
function P.decide(client, why)
  total = 0
  if client.revenu > 3 then return "A" end
  return helper(client.name)
end
return P
LUA
cat > rules/nosubject.lua <<'LUA'
return {name = "nosubject", subject = "customers", decide = function() end}
LUA
printf 'local x = = 1\n' > rules/syntax.lua
expect_fail 1 '' kam check
for want in "rules/bad.lua:4:3: writes the global 'total'" "rules/bad.lua:5:13: clients has no field 'revenu'" \
            "rules/bad.lua:6:10: reads 'helper'" "bands C and B overlap" "a gap between bands B and A" \
            "subject 'customers' is not a collection" "rules/syntax.lua:1:"; do
  check "check finds: $want" grep -qF "$want" "$OUT"
done

# without luac5.4 kam check says it checked nothing, and fails
mkdir -p "$T/nolua"
ln -s "$(command -v sh)" "$T/nolua/sh"
check_without_luac() { PATH="$T/nolua" kam check; }
expect_fail 1 'problem' check_without_luac
check 'without luac5.4: nothing was checked, said' grep -q 'nothing was checked' "$OUT"
finish
