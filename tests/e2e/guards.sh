# shellcheck shell=bash
# Write guards (rules/ files of kind "guard") on the demo book: scenario 5 of the
# week — 95 triệu of media against a line with 80 triệu left is held and a
# budget_overrun request goes to leadership; a production cost on the media line
# is flagged to the client's owner — and every path a write takes (kam.tx, a
# caught refusal, import, a scheduled job's script, the request engine), the
# refusals (record, field, guard file:line; nothing written), a guard's runaway
# loop, a guard that does not load, kam policy whatif and kam check of guards.
. "$(dirname "$0")/lib.sh" "$@"
setup
tmp_project proj scripts rules
CONFIG=$T/proj/config/kam.yaml
rm -f "$BOOK" "$BOOK-lock"
expect_ok kam init --demo
cd proj || exit 4

val() { kam eval "$1"; }
n_spend() { val 'return db.spend:count()'; }
n_audit() { kam audit --limit 1000000 | wc -l; }
G=rules/spend_control.lua
line_of() { grep -n "$1" "$G" | head -1 | cut -d: -f1; }

# Mộc Trà's media line: 80 triệu left (the demo plants it)
CL=$(val 'return db.clients:where(function(c) return c.name:find("Mộc Trà", 1, true) end):first().id')
OWNER=$(val "return db.clients:get('$CL').owner")
HD=$(val "return db.contracts:where{client = '$CL', status = 'active'}:first().id")
PRJ=$(val "return db.projects:where{contract = '$HD'}:sort('id'):first().id")
BUDGET=$(val "for _, l in ipairs(db.contracts:get('$HD').lines) do if l.line == 'media' then return tostring(l.budget) end end")
SPENT=$(val "return tostring(db.spend:where{contract = '$HD', contract_line = 'media'}:sum('amount') - db.spend:where{contract = '$HD', contract_line = 'media', status = 'rejected'}:sum('amount'))")
LEFT=$((BUDGET - SPENT))
expect_eq 80000000 echo "$LEFT"
MEDIA=$(val 'return db.staff:where{role = "media"}:first().os_user')

# ---- the demo: its planted wrong-line costs are flagged, its over-budget spend held --------
expect_eq 2 val 'return db.spend:where{flag = "wrong_line"}:count()'
expect_eq 2 val 'return db.alerts:where{kind = "flagged", status = "open"}:count()'
check 'the demo: over-budget spend is held' [ "$(val 'return db.spend:where{status = "held"}:count()')" -gt 0 ]
expect_eq 0 val 'local n = 0 for s in db.spend:where{status = "held"}:each() do
  if db.requests:where{subject = s.id, kind = "budget_overrun"}:count() ~= 1 then n = n + 1 end end return n'

# ---- scenario 5, first: a production cost booked against the media line: stored, flagged, its owner alerted
expect_ok kam --as "$MEDIA" eval "return kam.tx(function() return db.spend:insert{project = '$PRJ', contract = '$HD',
  contract_line = 'media', category = 'production', vendor = 'Studio Mộc', amount = 1000000, date = kam.today()} end)"
SPW=$(cat "$OUT")
expect_eq wrong_line val "return db.spend:get('$SPW').flag"
expect_eq recorded val "return db.spend:get('$SPW').status"
expect_eq "$OWNER" val "return db.alerts:where{subject = '$SPW', kind = 'flagged'}:first().owner"
expect_out 'production cost charged to the media line' val "return db.alerts:where{subject = '$SPW'}:first().message"
expect_out "$SPW" kam --as "$(val "return db.staff:get('$OWNER').os_user")" alerts --mine

LEFT=$((LEFT - 1000000))

# ---- scenario 5: 95 triệu of media against 80 triệu left ---------------------------------
nreq=$(val 'return db.requests:count()')
expect_ok kam --as "$MEDIA" eval "return kam.tx(function() return db.spend:insert{project = '$PRJ', contract = '$HD',
  contract_line = 'media', category = 'media', vendor = 'TikTok Pte. Ltd.', amount = 95000000, date = kam.today()} end)"
SP=$(cat "$OUT")
check 'the writer is told it was held, and which request waits for whom' grep -q "spend $SP held by guard spend_control: .*; RQ-[0-9]* raised, waiting for the" "$ERR"
expect_eq held val "return db.spend:get('$SP').status"
expect_eq "$((nreq + 1))" val 'return db.requests:count()'
RQ=$(val "return db.requests:where{subject = '$SP'}:first().id")
expect_eq budget_overrun val "return db.requests:get('$RQ').kind"
expect_eq "$((95000000 - LEFT))" val "return db.requests:get('$RQ').amount"
expect_eq pending val "return db.requests:get('$RQ').status"
expect_eq "$(val "return db.staff:where{os_user = '$MEDIA'}:first().id")" val "return db.requests:get('$RQ').requested_by"
expect_out 'rules: spend_control' kam request show "$RQ"
check 'the request says what was left' grep -q '79.000.000 ₫ left' "$OUT"
CHAIN=$(val "return table.concat(db.requests:get('$RQ').chain, ' ')")
check "routed to leadership by rules/approval.lua ($CHAIN)" [ -n "$CHAIN" ]
expect_out "$RQ" kam --as "$(val "local r = db.requests:get('$RQ') return db.staff:where{role = r.waiting_role}:first().os_user")" requests --waiting-on-me
# the audit: the user's insert, the guard's request
expect_ok kam audit --id "$RQ"
check 'the request is raised on channel guard' grep -q 'guard' "$OUT"

# ---- refusals: the record, the field, the guard's file:line; nothing written ---------------
ns=$(n_spend); na=$(n_audit)
expect_fail 1 "spend (new): field contract_line (\"ops\"): refused by guard spend_control ($G:$(line_of 'has no line %q'))" \
  kam --as "$MEDIA" eval "kam.tx(function() db.spend:insert{project = '$PRJ', contract = '$HD', contract_line = 'ops',
  category = 'ops', amount = 1000000, date = kam.today()} end)"
check 'the refusal names the lines the contract has' grep -q 'its lines: creative, media, production' "$ERR"
check 'nothing of it was written' grep -q 'nothing of this kam.tx was written' "$ERR"
expect_eq "$ns" n_spend
expect_eq "$na" n_audit
# caught by the script, it still takes the whole transaction with it
expect_fail 1 'refused by guard spend_control' kam --as "$MEDIA" eval "kam.tx(function()
  db.activities:insert{client = '$CL', kind = 'call', date = kam.today(), by = db.staff:where{os_user = '$MEDIA'}:first().id}
  pcall(function() db.spend:insert{project = '$PRJ', contract = '$HD', contract_line = 'ops', category = 'ops', amount = 1, date = kam.today()} end)
end)"
expect_eq "$na" n_audit
# the project and the contract must agree
OTHER=$(val "return db.contracts:where(function(k) return k.id ~= '$HD' and k.lines and #k.lines > 0 end):first().id")
expect_fail 1 'field contract' kam eval "kam.tx(function() db.spend:insert{project = '$PRJ', contract = '$OTHER',
  contract_line = 'media', category = 'media', amount = 1000, date = kam.today()} end)"
check 'the refusal says whose contract the project is' grep -q "belongs to contract $HD" "$ERR"
# no role skips a guard: root, the admin, a new book's maker alike
expect_fail 1 'refused by guard spend_control' kam --as tuan eval "kam.tx(function() db.spend:insert{project = '$PRJ',
  contract = '$HD', contract_line = 'ops', category = 'ops', amount = 1, date = kam.today()} end)"
# and nobody puts a spend in or out of held by hand
expect_fail 3 'released by its budget_overrun request' kam --as tuan eval "kam.tx(function() db.spend:update('$SP', {status = 'approved'}) end)"
expect_eq held val "return db.spend:get('$SP').status"

# a script that fakes its globals does not fake the guard's: db and the guard's modules are kam's
expect_fail 1 'refused by guard spend_control' kam --as "$MEDIA" eval "
  local real = db
  db = setmetatable({contracts = {get = function() return {id = '$HD', lines = {{line = 'ops', budget = 1e15}}} end}},
                    {__index = function(_, k) return real[k] end})
  local M = require 'lib.money'
  M.fmt = function() error('patched') end
  kam.tx(function() real.spend:insert{project = '$PRJ', contract = '$HD', contract_line = 'ops', category = 'ops', amount = 1, date = kam.today()} end)"
check 'the refusal is the real one' grep -q 'its lines: creative, media, production' "$ERR"
expect_eq "$ns" n_spend
# a savepoint that rolls back takes its rows out of the guard's count too: what is left on the
# production line, spent in a dropped savepoint and then again, is not held the second time
PL=$(val "for _, l in ipairs(db.contracts:get('$HD').lines) do if l.line == 'production' then
  return tostring(l.budget - db.spend:where{contract = '$HD', contract_line = 'production'}:sum('amount')) end end")
check "the production line has room ($PL)" [ "${PL:-0}" -gt 0 ]
expect_ok kam --as "$MEDIA" eval "return kam.tx(function()
  pcall(kam.tx, function()
    db.spend:insert{project = '$PRJ', contract = '$HD', contract_line = 'production', category = 'production', amount = $PL, date = kam.today()}
    error('dropped')
  end)
  return db.spend:insert{project = '$PRJ', contract = '$HD', contract_line = 'production', category = 'production', amount = $PL, date = kam.today()}
end)"
expect_eq recorded val "return db.spend:get('$(cat "$OUT")').status"
expect_eq "$((ns + 1))" n_spend

# ---- import: the rows are guarded as the inserts they are --------------------------------
ns=$(n_spend); nreq=$(val 'return db.requests:count()')
printf 'project,contract,contract_line,category,vendor,amount,date\n%s,%s,creative,creative,Bút Chì,1000000,2026-11-20\n%s,%s,creative,creative,Bút Chì,900000000,2026-11-21\n' \
  "$PRJ" "$HD" "$PRJ" "$HD" > spend_ok.csv
expect_out 'imported 2 rows' kam --as tuan import --into spend spend_ok.csv
expect_eq "$((ns + 2))" n_spend
expect_eq 1 val "return db.spend:where{contract = '$HD', contract_line = 'creative', status = 'held'}:count()"
expect_eq "$((nreq + 1))" val 'return db.requests:count()'
# the second row of a file counts the first: both over together are both held
ns=$(n_spend)
printf 'project,contract,contract_line,category,amount,date\n%s,%s,production,production,1000000,2026-11-22\n%s,%s,ops,ops,1000000,2026-11-22\n' \
  "$PRJ" "$HD" "$PRJ" "$HD" > spend_bad.csv
expect_fail 1 "spend_bad.csv:3: spend SP-" kam --as tuan import --into spend spend_bad.csv
check 'import: the field and the guard' grep -q 'field contract_line ("ops"): refused by guard spend_control' "$ERR"
check 'import: nothing imported' grep -q 'nothing was imported' "$ERR"
expect_eq "$ns" n_spend

# ---- the request engine: approving the held spend releases it, and the guard lets it -------
while [ "$(val "return db.requests:get('$RQ').status")" = pending ]; do
  who=$(val "local r = db.requests:get('$RQ') local me = db.staff:where{os_user = '$MEDIA'}:first().id
    for s in db.staff:where{role = r.waiting_role}:each() do if s.id ~= me and s.os_user then return s.os_user end end")
  expect_ok kam --as "$who" approve "$RQ" --note 'Khách đã xác nhận'
  [ "$RC" = 0 ] || break
done
expect_eq approved val "return db.requests:get('$RQ').status"
expect_eq approved val "return db.spend:get('$SP').status"

# ---- a scheduled job's script meets the guards like anyone ------------------------------
cat > scripts/late_spend.lua <<LUA
kam.tx(function() db.spend:insert{project = '$PRJ', contract = '$HD', contract_line = 'ops', category = 'ops', amount = 1, date = kam.today()} end)
LUA
cat >> config/kam.yaml <<'YAML'
  spend_job:
    cron: "0 3 * * *"
    run: scripts/late_spend.lua
    owner: ST-000011
YAML
ns=$(n_spend)
expect_fail 1 'failed' kam schedule run spend_job
check 'the job stopped at the guard' grep -q 'refused by guard spend_control' "$OUT"
expect_ok kam schedule history spend_job
check 'the job failed on the guard' grep -q 'refused by guard spend_control' "$OUT"
expect_eq "$ns" n_spend

# ---- whatif and list of a guard --------------------------------------------------------
expect_out 'guard' kam policy list
check 'list: what it watches' grep -q 'guards spend:insert, spend:update' "$OUT"
expect_ok kam policy whatif spend_control
check 'whatif: the flagged rows' grep -q 'flag' "$OUT"
# a guard has no decisions to store: eval shows what it would decide now, as whatif does
expect_out 'what-if guard spend_control' kam policy eval spend_control
expect_fail 2 'a guard has no decisions to commit' kam policy eval spend_control --commit
cp "$G" cand.lua
sed -i 's/slack = 0,/slack = 1000000000000,/' cand.lua
expect_ok kam --format json policy whatif spend_control --with cand.lua
check 'whatif --with: holds become allows' python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert any(c["verdict"] == "hold → allow" for c in d["counts"]), d["counts"]
assert not any(x["verdict"] == "hold" for x in d["decisions"])' "$OUT"
expect_out ' passed, 0 failed' kam test rules/spend_control_test.lua

# ---- the reconciliation guard: 4.999.999 ₫ apart is never matched ----------------------
expect_ok kam --as "$(val 'return db.staff:where{role = "finance"}:first().os_user')" eval "return kam.tx(function()
  return db.reconciliations:insert{client = '$CL', project = '$PRJ', period = '2026-11', ours = 100000000, theirs = 95000001, status = 'matched'} end)"
DS=$(cat "$OUT")
expect_eq disputed val "return db.reconciliations:get('$DS').status"
expect_eq 4999999 val "return db.reconciliations:get('$DS').difference"
expect_eq 1 val "return db.alerts:where{subject = '$DS', kind = 'flagged'}:count()"

# ---- capacity: an account more than the capacity is refused --------------------------------
HOA=$(val 'return db.staff:where{os_user = "hoa"}:first().id')
CAP=$(val "return db.staff:get('$HOA').capacity")
expect_eq "$CAP" val "return db.clients:where{owner = '$HOA'}:count() - db.clients:where{owner = '$HOA', status = 'churned'}:count()"
expect_fail 1 "owns $CAP accounts, capacity $CAP" kam --as lan eval "kam.tx(function() db.clients:insert{name = 'Nhà Xanh', status = 'active', owner = '$HOA', team = '$(val "return db.staff:get('$HOA').team")'} end)"
check 'capacity: the field' grep -q 'field owner' "$ERR"

# ---- the invoice gate: no invoice for a month not accepted ----------------------------------
PEND=$(val 'local a = db.acceptances:where{status = "pending"}:sort("id"):first() return a.project .. " " .. a.period .. " " .. a.contract')
read -r PP PPER PK <<<"$PEND"
PCL=$(val "return db.projects:get('$PP').client")
expect_fail 1 'no signed acceptance (nghiệm thu)' kam --as "$(val 'return db.staff:where{role = "finance"}:first().os_user')" eval "kam.tx(function()
  db.invoices:insert{client = '$PCL', contract = '$PK', project = '$PP', period = '$PPER', amount = 1000, issued = kam.today(), due = kam.today(), status = 'issued'} end)"
check 'invoice gate: the field' grep -q 'field period' "$ERR"

# ---- only_if: a guard is asked only about writes that have one of its fields ----------------
cat > rules/notes.lua <<'LUA'
local G = {name = "notes", kind = "guard", on = {"activities:insert"}, only_if = {"notes"}}
function G.check(row, old, why) why("no notes on activities") return "refuse", {field = "notes"} end
return G
LUA
expect_ok kam eval "kam.tx(function() db.activities:insert{client = '$CL', kind = 'call', date = kam.today()} end)"
expect_fail 1 'field notes ("x"): refused by guard notes' kam eval "kam.tx(function() db.activities:insert{client = '$CL', kind = 'call', date = kam.today(), notes = 'x'} end)"
printf 'client,kind,date\n%s,call,2026-11-20\n' "$CL" > activities.csv
expect_out 'imported 1 row' kam import activities.csv
printf 'client,kind,date,notes\n%s,call,2026-11-20,\n%s,call,2026-11-21,y\n' "$CL" "$CL" > activities.csv
expect_fail 1 'activities.csv:3: activities' kam import activities.csv
printf 'local G = {name = "bad", kind = "guard", on = {"activities:insert"}, only_if = {"nope"}}\nfunction G.check() end\nreturn G\n' > rules/bad_only.lua
expect_fail 1 'only_if[1] = "nope": activities has no such field' kam eval "kam.tx(function() db.activities:insert{client = '$CL', kind = 'call', date = kam.today()} end)"
rm rules/notes.lua rules/bad_only.lua

# ---- a runaway guard is stopped by the policy budget, and the write rolled back ----------
cat > rules/runaway.lua <<'LUA'
local G = {name = "runaway", kind = "guard", on = {"activities:insert"}}
function G.check(row, old, why) while true do end end
return G
LUA
na=$(n_audit)
expect_fail 1 'limits.policy_seconds' kam eval "kam.tx(function() db.activities:insert{client = '$CL', kind = 'call', date = kam.today()} end)"
expect_eq "$na" n_audit
rm rules/runaway.lua

# ---- a guard on deletes sees the record as it was --------------------------------------------
AC=$(val "return kam.tx(function() return db.activities:insert{client = '$CL', kind = 'qbr', date = kam.today()} end)")
cat > rules/keep_qbr.lua <<'LUA'
local G = {name = "keep_qbr", kind = "guard", on = {"activities:delete"}}
function G.check(row, old, why)
  if row == nil and old.kind == "qbr" then why("%s is a QBR: kept", old.id) return "refuse", {field = "kind"} end
end
return G
LUA
expect_fail 1 "activities $AC: field kind: refused by guard keep_qbr (rules/keep_qbr.lua:3): $AC is a QBR: kept" \
  kam eval "kam.tx(function() db.activities:delete('$AC') end)"
expect_eq qbr val "return db.activities:get('$AC').kind"
rm rules/keep_qbr.lua
expect_ok kam eval "kam.tx(function() db.activities:delete('$AC') end)"

# ---- what a guard's author could try: each stops at the guard, and nothing is written -------------
na=$(n_audit)
for body in \
  'db.activities:insert{client = row.client, kind = "call", date = row.date} return "allow"' \
  'kam.tx(function() end) return "allow"' \
  'kam.request{kind = "hiring", subject = row.client, amount = 1, reason = "x"} return "allow"' \
  'setmetatable({}, {__gc = function() db.activities:insert{client = row.client, kind = "call", date = row.date} end}) return "allow"' \
  'local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end' \
  'error(setmetatable({}, {__tostring = function() while true do end end}))' \
  'return setmetatable({}, {__tostring = function() return "allow" end})'; do
  printf 'local G = {name = "sly", kind = "guard", on = {"activities:insert"}}\nfunction G.check(row, old, why)\n  %s\nend\nreturn G\n' "$body" > rules/sly.lua
  _run kam eval "kam.tx(function() db.activities:insert{client = '$CL', kind = 'call', date = kam.today()} end)"
  check "a guard that tries: ${body:0:60}... is stopped (exit $RC)" [ "$RC" = 1 ]
  check "  ... and says why: $(head -c 150 "$ERR")" grep -q 'guard\|limits.policy_seconds' "$ERR"
  check "  ... and the book is unchanged" [ "$(n_audit)" = "$na" ]
done
rm rules/sly.lua

# ---- a guard that does not load stops every write until kam check passes --------------------
printf 'local G = {name = "broken", kind = "guard", on = {"nothing:insert"}}\nfunction G.check() end\nreturn G\n' > rules/broken.lua
expect_fail 1 'nothing is not a collection' kam eval "kam.tx(function() db.activities:insert{client = '$CL', kind = 'call', date = kam.today()} end)"
check 'says nothing is written until it is fixed' grep -q 'nothing is written until kam check passes' "$ERR"
expect_fail 1 'problem' kam check rules/broken.lua
check 'kam check names the guard file' grep -q 'rules/broken.lua: on\[1\]' "$OUT"
rm rules/broken.lua
# a kind computed some other way would be a guard that never runs: kam check says so
printf 'local G = {name = "sly", kind = "gu" .. "ard", on = {"activities:insert"}}\nfunction G.check() return "refuse" end\nreturn G\n' > rules/sly.lua
expect_fail 1 'problem' kam check rules/sly.lua
check 'kam check: write kind = "guard" as such' grep -q 'rules/sly.lua: write kind = "guard" as such' "$OUT"
rm rules/sly.lua
expect_ok kam eval "kam.tx(function() db.activities:insert{client = '$CL', kind = 'call', date = kam.today()} end)"

finish
