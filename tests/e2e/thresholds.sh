#!/usr/bin/env bash
# Thresholds: the shipped policies follow the convention of rules/README.md and kam check finds
# none of its problems in them; their tests hold when a manager moves one threshold; kam check
# reports ladders, unknown keys and wrong types with file:line:column, also as JSON.
. "$(dirname "$0")/lib.sh" "$@"
setup
tmp_project proj scripts rules
CONFIG=$T/proj/config/kam.yaml
cd proj

# the shipped policies: no problem, and the JSON form says so with an empty list
expect_out '0 problems' kam check
expect_ok kam --format json check
check 'check json: no problems is an empty list' [ "$(cat "$OUT")" = '[]' ]
expect_out '0 failed' kam test

# one threshold moved at a time (both edges of a band): every test still passes, and kam check
# stays clean; the tests read the numbers they are not about from the policy
move() {   # move FILE SED-EXPRESSION WHAT
  cp "rules/$1" "$T/saved.lua"
  sed -i "$2" "rules/$1"
  if cmp -s "rules/$1" "$T/saved.lua"; then check "move: $3 (the file changed)" false; return; fi
  expect_out ', 0 failed' kam test
  check "tests hold with $3" grep -q '^[0-9]* passed, 0 failed$' "$OUT"
  expect_out '0 problems' kam check
  cp "$T/saved.lua" "rules/$1"
}
move tiering.lua 's/min = 2e9, max = 5e9/min = 2.5e9, max = 5e9/; s/min = 5e8, max = 2e9/min = 5e8, max = 2.5e9/' \
  "tier B from 2,5 tỷ"
move tiering.lua 's/lift_within = 0.90/lift_within = 0.85/' 'lift_within 0.85'
move tiering.lua 's/late_grace_days = 30/late_grace_days = 45/' 'a 45-day grace'
move approval.lua 's/{role = "team_lead", up_to = 50e6}/{role = "team_lead", up_to = 80e6}/' 'the team lead up to 80 triệu'
move approval.lua 's/margin_floor = 0.20/margin_floor = 0.22/' 'a 22% margin floor'
move health.lua 's/up_to = 30, points = -4/up_to = 45, points = -5/' 'a first aging bucket to 45 days'
move health.lua 's/max = 50}/max = 55}/; s/min = 50, max = 80/min = 55, max = 80/' 'at risk under 55'
move kpi.lua 's/max = 0.93}/max = 0.95}/; s/min = 0.93, max = 1.03/min = 0.95, max = 1.03/' 'meets from 95%'
move kpi_accounts.lua 's/max = 0.95}/max = 0.97}/; s/min = 0.95, max = 1.05/min = 0.97, max = 1.05/' 'met from 97%'
move pricing.lua 's/marketing = 0.20/marketing = 0.22/; s/B = 0.05/B = 0.06/' 'other floors and discounts'
move recommend.lua 's/overdue_days = 30/overdue_days = 45/; s/max_suggestions = 6/max_suggestions = 5/' \
  'other triggers and limits'

# problems with thresholds, each where it is written
cat > rules/odd.lua <<'LUA'
local T = {
  revenue = {
    {tier = "A", min = 5e9},
    {tier = "B", min = "2 tỷ", max = 5e9},
    {tier = "C", min = 5e8, max = 2e9, dorp = 1},
    {tier = "D", max = 4e8},
  },
  approve = {
    {role = "team_lead", up_to = 50e6},
    {role = "director", up_to = 40e6},
    {role = "cfo"},
    {role = "ceo", up_to = 900e6},
  },
  mixed = {{role = "a", up_to = 1}, {role = "b", min = 1, max = 3}},
  floors = {marketing = 0.20, ads = "30%", ecommerce = 0.25},
  margin_floor = 20,
  strict = "yes",
  max_dropp = 1,
  points = {{label = "x", max = 1, points = -5}, {label = "y", min = 1, points = true}, {label = "z", min = 2, points = -3}},
}
local P = {name = "odd", subject = "clients", thresholds = T}
function P.decide(c, why)
  for _, b in ipairs(T.revenue) do if b.tier then return b.tier end end
  local x = T.approve[1].role .. T.mixed[1].role .. T.floors.marketing .. T.margin_floor .. tostring(T.strict)
  local y = T.points[1].label .. tostring(T.points[1].points)
  return T.max_drop
end
return P
LUA
expect_fail 1 'check: ' kam check rules/odd.lua
for want in \
  "rules/odd.lua:4:24: thresholds.revenue[2].min: min must be a number, not text" \
  "rules/odd.lua:5:40: thresholds.revenue[3].dorp: the policy never reads 'dorp'" \
  "rules/odd.lua:5:18: thresholds.revenue[3].min: a gap between bands D and C (400000000 .. 500000000)" \
  "rules/odd.lua:10:25: thresholds.approve[2].up_to: step director: up_to 40000000 is not above the step before (team_lead, up to 50000000)" \
  "rules/odd.lua:11:5: thresholds.approve[3]: step cfo has no up_to but is not the last" \
  "rules/odd.lua:14:50: thresholds.mixed[2].min: step b has min or max in a ladder of up_to" \
  "rules/odd.lua:15:37: thresholds.floors.ads: \"30%\" is text; write the number: 0.3" \
  "rules/odd.lua:16:18: thresholds.margin_floor: 20 looks like a percentage: shares are fractions (0.2 for 20%)" \
  "rules/odd.lua:17:12: thresholds.strict: \"yes\" is text; write true or false" \
  "rules/odd.lua:18:3: thresholds.max_dropp: the policy never reads 'max_dropp'" \
  "thresholds.points[2].points: true or false, where the other entries have a number" \
  "rules/odd.lua:26:12: reads T.max_drop, which the thresholds table does not have"; do
  check "check finds: $want" grep -qF -- "$want" "$OUT"
done

# the same as JSON: one record per problem, absent line and column as null
expect_fail 1 'check: ' kam --format json check rules/odd.lua rules/missing_dir
check 'check json: a list' grep -q '^\[{.*}\]$' "$OUT"
record() { grep -o '{[^{}]*}' "$OUT" | grep -qF -- "$1"; }
check 'check json: file, line, column, rule, message' \
  record '{"column":25,"file":"rules/odd.lua","line":10,"message":"thresholds.approve[2].up_to: step director: up_to 40000000 is not above the step before (team_lead, up to 50000000)","rule":"ladder-order"}'
for rule in band-gap ladder-order ladder-open ladder-mixed threshold-unknown-key threshold-missing threshold-type threshold-share; do
  check "check json: rule $rule" record "\"rule\":\"$rule\""
done
check 'check json: nothing to check in a folder without .lua files' \
  record '{"column":null,"file":"rules/missing_dir","line":null,"message":"nothing to check: no .lua files there","rule":"nothing-to-check"}'
rm rules/odd.lua

# a folder with nothing to check says so and fails, in both forms
mkdir empty
expect_fail 1 'check: 1 problem' kam check empty
check 'check: nothing to check, said' grep -q '^empty: nothing to check' "$OUT"
finish
