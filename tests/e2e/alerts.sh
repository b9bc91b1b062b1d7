#!/usr/bin/env bash
# The nightly, weekly and monthly jobs' Lua on the demo book (KAM_TODAY pinned):
# scripts/alerts.lua raise / list, scripts/overdue.lua, and kam policy changes.
# Thresholds are read from scripts/lib/alerts_rules.lua and rules/, never restated.
. "$(dirname "$0")/lib.sh" "$@"
setup
rm -f "$BOOK" "$BOOK-lock"
kam init --demo >/dev/null
S=$KAM_SRC/scripts
ADMIN=tuan                                     # the demo's admin (the nightly schedule's owner)

# one value of a kam eval as text (--format json: bare numbers and strings)
val() { kam --format json eval "$1" 2>/dev/null | sed 's/^"//; s/"$//'; }
# "alerts: N raised, N still open, N resolved" -> the three numbers
counts() { sed -n 's/^alerts: \([0-9]*\) raised, \([0-9]*\) still open, \([0-9]*\) resolved$/\1 \2 \3/p' "$OUT"; }
R='local R = require("lib.alerts_rules")'

# ---- the thresholds come from the rules file -------------------------------------------------
OVERDUE_DAYS=$(val "$R return R.thresholds.overdue_days")
QUIET_DAYS=$(val "$R return R.thresholds.no_contact_days")
check "overdue_days is read from alerts_rules ($OVERDUE_DAYS)" [ -n "$OVERDUE_DAYS" ]
check "no_contact_days is read from alerts_rules ($QUIET_DAYS)" [ -n "$QUIET_DAYS" ]
expect_eq true kam eval "$R local f = math.huge for _, v in pairs(require('pricing').thresholds.floors) do f = math.min(f, v) end return R.margin_floor() == f"

# ---- raise: one alert per condition, every kind the demo plants --------------------------------
snapshot "$T/before"
kam --format json export requests >"$T/requests.before"
expect_fail 3 'may not insert alerts' kam --as mai run "$S/alerts.lua" raise
expect_unchanged "$T/before" 'raise as an account manager'

expect_out 'alerts: ' kam --as $ADMIN run "$S/alerts.lua" raise
read -r RAISED KEPT RESOLVED <<<"$(counts)"
check "first raise: $RAISED raised" [ "${RAISED:-0}" -gt 0 ]
check 'first raise: nothing was open, nothing resolved' [ "$KEPT $RESOLVED" = "0 0" ]
# the write guards' flags (kind flagged, raised when the demo's rows were written) are not the nightly's
expect_eq "$RAISED" kam eval 'return db.alerts:where{status = "open"}:count() - db.alerts:where{kind = "flagged"}:count()'
for kind in invoice_overdue spend_over_budget margin_below_floor no_contact request_waiting reconciliation_disputed; do
  want=$(val "$R return #R.$kind()")
  check "$kind: the demo has conditions ($want)" [ "${want:-0}" -gt 0 ]
  expect_eq "$want" kam eval "return db.alerts:where{kind = '$kind', status = 'open'}:count()"
done
expect_eq "$RAISED" kam eval 'local n = 0 for a in db.alerts:all():each() do if a.kind ~= "flagged" and a.key and a.owner and a.message and a.first_seen == a.last_seen then n = n + 1 end end return n'

# overdue: the unpaid invoices more than overdue_days past due, owned by their client's owner
expect_eq "$(val "local before = kam.date_add(kam.today(), -$OVERDUE_DAYS) local n = 0
  for i in db.invoices:where{status = {'in', {'issued', 'overdue', 'disputed'}}, due = {'<', before}}:each() do
    if i.amount + i.tax > db.payments:where{invoice = i.id}:sum('amount') then n = n + 1 end end return n")" \
  kam eval 'return db.alerts:where{kind = "invoice_overdue"}:count()'
expect_eq 0 kam eval 'local n = 0 for a in db.alerts:where{kind = "invoice_overdue"}:each() do
  local i = db.invoices:get(a.subject) if a.key ~= "invoice_overdue:" .. i.id or a.owner ~= db.clients:get(i.client).owner then n = n + 1 end end return n'
expect_out 'days past due' kam eval 'return db.alerts:where{kind = "invoice_overdue"}:first().message'
check 'money as kam.fmt.money writes it' grep -q '[0-9]\.[0-9]\{3\}\.[0-9]\{3\} ₫' "$OUT"
# no contact: active clients with no activity for no_contact_days or more, to their owner
expect_eq "$(val "local n = 0 for c in db.clients:where{status = 'active'}:each() do
  local d = db.activities:where{client = c.id, date = {'<=', kam.today()}}:max('date')
  if not d or kam.days_between(d, kam.today()) >= $QUIET_DAYS then n = n + 1 end end return n")" \
  kam eval 'return db.alerts:where{kind = "no_contact"}:count()'
expect_eq 0 kam eval 'local n = 0 for a in db.alerts:where{kind = "no_contact"}:each() do
  if a.owner ~= db.clients:get(a.client).owner then n = n + 1 end end return n'
# disputed reconciliations, each to finance
expect_eq "$(val 'return db.reconciliations:where{status = "disputed"}:count()')" \
  kam eval 'return db.alerts:where{kind = "reconciliation_disputed"}:count()'
expect_eq finance kam eval 'return db.staff:get(db.alerts:where{kind = "reconciliation_disputed"}:first().owner).role'
# a waiting request is escalated to the manager of its step's approver, and left as it was
expect_eq 0 kam eval 'local n = 0 for a in db.alerts:where{kind = "request_waiting"}:each() do
  if not a.message:find("escalated", 1, true) or not db.requests:get(a.subject) or not a.owner then n = n + 1 end end return n'
kam --format json export requests >"$T/requests.after"
check 'raise left every request as it was' cmp -s "$T/requests.before" "$T/requests.after"
# margin: the floor named is the pricing policy's
FLOOR=$(val "$R return kam.fmt.pct(R.margin_floor())")
expect_out "under the $FLOOR floor" kam eval 'return db.alerts:where{kind = "margin_below_floor"}:first().message'

# alert_figures KIND 'EXPR': a Lua chunk giving EXPR (of the alert a) for every alert of KIND,
# sorted and joined by ";", as the oracles below give theirs
alert_figures() {
  echo "local out = {} for a in db.alerts:where{kind = '$1'}:each() do out[#out + 1] = $2 end
    table.sort(out) return table.concat(out, ';')"
}
# margin and spend over budget, set against the same figures asked contract by contract and
# month by month, as a manager would write them (the rules take them from a few grouped passes)
MARGIN_ORACLE="$R local T = R.thresholds local lag = T.billing_lag_months
  local function month(k) return kam.period(kam.months_ago(k):sub(1, 7)) end
  local counted, out = {'recorded', 'held', 'approved'}, {}
  for k in db.contracts:where{status = 'active'}:each() do
    local rev, cost, months = 0, 0, 0
    for i = T.margin_months + lag, 1 + lag, -1 do
      local w, b = month(i), month(i - lag)
      if not k.start or w.to >= k.start then
        months = months + 1
        cost = cost + db.spend:where{contract = k.id, date = {'between', w.from, w.to}, status = {'in', counted}}:sum('amount')
        rev = rev + db.invoices:where{contract = k.id, issued = {'between', b.from, b.to}, status = {'~=', 'draft'}}:sum('amount')
      end
    end
    if months >= T.margin_min_months and rev > 0 and (rev - cost) / rev < R.margin_floor() then
      out[#out + 1] = k.id .. ' ' .. kam.fmt.money(rev) .. ' ' .. kam.fmt.money(cost)
    end
  end
  table.sort(out) return table.concat(out, ';')"
MARGIN_WANT=$(val "$MARGIN_ORACLE")
check "the demo has contracts under the margin floor ($MARGIN_WANT)" [ -n "$MARGIN_WANT" ]
expect_eq "$MARGIN_WANT" kam eval "$(alert_figures margin_below_floor \
  'a.subject .. " " .. table.concat({a.message:match("%(revenue ([^,]+), cost ([^%)]+)%)")}, " ")')"
OVERRUN_ORACLE="local counted, out, extra = {'recorded', 'held', 'approved'}, {}, {}
  for r in db.requests:where{kind = 'budget_overrun', status = 'approved'}:each() do
    local sp = db.spend:get(r.subject)
    local key = sp and (sp.contract or '?') .. '/' .. sp.contract_line or r.subject
    extra[key] = (extra[key] or 0) + (r.amount or 0)
  end
  for k in db.contracts:where{status = 'active'}:each() do
    for _, l in ipairs(k.lines or {}) do
      if l.line and tonumber(l.budget) then
        local spent = db.spend:where{contract = k.id, contract_line = l.line, status = {'in', counted}}:sum('amount')
        local allowed = tonumber(l.budget) + (extra[k.id] or 0) + (extra[k.id .. '/' .. l.line] or 0)
        if spent > allowed then out[#out + 1] = k.id .. '/' .. l.line .. ' ' .. kam.fmt.money(spent) end
      end
    end
  end
  for p in db.projects:where{status = 'running'}:each() do
    if (p.budget or 0) > 0 then
      local spent = db.spend:where{project = p.id, status = {'in', counted}}:sum('amount')
      local allowed = p.budget + (extra[p.id] or 0) + (p.contract and extra[p.contract] or 0)
      if spent > allowed then out[#out + 1] = p.id .. ' ' .. kam.fmt.money(spent) end
    end
  end
  table.sort(out) return table.concat(out, ';')"
OVERRUN_WANT=$(val "$OVERRUN_ORACLE")
check "the demo has spend over budget ($OVERRUN_WANT)" [ -n "$OVERRUN_WANT" ]
expect_eq "$OVERRUN_WANT" kam eval "$(alert_figures spend_over_budget \
  'a.key:match("^spend_over_budget:(.*)") .. " " .. a.message:match("spent (.-) against")')"

# ---- a second raise raises nothing new, moves last_seen ----------------------------------------
sleep 1
expect_eq "alerts: 0 raised, $RAISED still open, 0 resolved" kam --as $ADMIN run "$S/alerts.lua" raise
FLAGS=$(val 'return db.alerts:where{kind = "flagged"}:count()')
check "the demo's wrong-line costs are flagged ($FLAGS)" [ "${FLAGS:-0}" -ge 2 ]
expect_eq "$((RAISED + FLAGS))" kam eval 'return db.alerts:count()'
expect_eq "$RAISED" kam eval 'local n = 0 for a in db.alerts:where{status = "open"}:each() do if a.last_seen > a.first_seen then n = n + 1 end end return n'

# ---- a condition cleared resolves its alert on the next raise ---------------------------------
AL=$(val 'return db.alerts:where{kind = "invoice_overdue", status = "open"}:sort("id"):first().id')
INV=$(val "return db.alerts:get('$AL').subject")
expect_ok kam --as ha eval "kam.tx(function() db.invoices:update('$INV', {status = 'paid', paid_date = kam.today()}) end)"
expect_eq "alerts: 0 raised, $((RAISED - 1)) still open, 1 resolved" kam --as $ADMIN run "$S/alerts.lua" raise
expect_eq resolved kam eval "return db.alerts:get('$AL').status"
expect_eq true kam eval "return db.alerts:get('$AL').resolved_at ~= nil"
expect_eq "alerts: 0 raised, $((RAISED - 1)) still open, 0 resolved" kam --as $ADMIN run "$S/alerts.lua" raise

# ---- list ---------------------------------------------------------------------------------------
MAI=$(val 'return db.staff:where{os_user = "mai"}:first().id')
MINE=$(val "return db.alerts:where{owner = '$MAI'}:count()")
check "mai owns some alerts ($MINE)" [ "${MINE:-0}" -gt 0 ]
owners() { python3 -c 'import json, sys; print(" ".join(sorted(set(r["owner"] for r in json.load(open(sys.argv[1]))))))' "$OUT"; }
rows() { python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$OUT"; }
expect_ok kam --as mai --format json run "$S/alerts.lua" list --mine
check "list --mine as mai: only hers ($(owners))" [ "$(owners)" = "$MAI" ]
check "list --mine as mai: all of hers ($(rows) of $MINE)" [ "$(rows)" = "$MINE" ]
expect_ok kam --as hoa --format json run "$S/alerts.lua" list --mine
check 'list --mine as hoa: not mai'"'"'s' [ "$(owners)" != "$MAI" ]
expect_ok kam --as ha --format json run "$S/alerts.lua" list
check "list as finance: every alert ($(rows))" [ "$(rows)" = "$((RAISED + FLAGS))" ]
expect_ok kam --as ha --format json run "$S/alerts.lua" list --open
check "list --open: the resolved one left out ($(rows))" [ "$(rows)" = "$((RAISED - 1 + FLAGS))" ]
expect_ok kam --as ha --format json run "$S/alerts.lua" list --owner "$MAI"
check "list --owner: mai's ($(owners))" [ "$(owners)" = "$MAI" ]
check 'list: newest last_seen first' python3 -c 'import json, sys
r = [x["last_seen"] for x in json.load(open(sys.argv[1]))]
sys.exit(0 if r == sorted(r, reverse=True) else 1)' "$OUT"
expect_ok kam --as lan run "$S/alerts.lua" list --mine
expect_fail 2 'usage: alerts.lua' kam run "$S/alerts.lua" list --bogus
expect_fail 2 'usage: alerts.lua' kam run "$S/alerts.lua"

# ---- overdue marking (the day after the next due date of an issued invoice) -----------------------
N0=$(val 'return db.invoices:where{status = "issued", due = {"<", kam.today()}}:count()')
expect_eq "invoices: $N0 marked overdue" kam --as $ADMIN run "$S/overdue.lua"
LATER=$(val 'return kam.date_add(db.invoices:where{status = "issued"}:min("due"), 1)')
DUE=$(KAM_TODAY=$LATER val 'return db.invoices:where{status = "issued", due = {"<", kam.today()}}:count()')
check "on $LATER, issued invoices past due ($DUE)" [ "${DUE:-0}" -gt 0 ]
expect_fail 3 'finance owns invoices' env KAM_TODAY="$LATER" "$KAM_BIN" --config "$CONFIG" --db "$BOOK" --as mai run "$S/overdue.lua"
KAM_TODAY=$LATER expect_eq "invoices: $DUE marked overdue" kam --as $ADMIN run "$S/overdue.lua"
KAM_TODAY=$LATER expect_eq 0 kam eval 'return db.invoices:where{status = "issued", due = {"<", kam.today()}}:count()'
KAM_TODAY=$LATER expect_eq "invoices: 0 marked overdue" kam --as ha run "$S/overdue.lua"

# ---- kam policy changes: the data, then the policy ----------------------------------------------
# decisions are stamped with the clock (KAM_NOW pins it): the first commit ten days ago, so
# that --since yesterday finds a decision in force at the date for every client
SINCE=$(date -d yesterday +%F)
KAM_NOW=$(date -d '10 days ago' +%Y-%m-%dT%H:%M) expect_ok kam --as lan policy eval tiering --commit
expect_out "changes of tiering since $(val 'return kam.days_ago(7)')" kam policy changes tiering --since 7d
expect_out "changes of tiering since $SINCE" kam policy changes tiering --since "$SINCE"
check 'nothing changed yet' grep -q ': 0 of ' "$OUT"
# a D-tier client made strategic: the strategic floor lifts it (the data changed)
CL=$(val 'return db.clients:where{tier = "D", strategic = false, status = "active"}:sort("id"):first().id')
FLOOR_TIER=$(val 'return require("tiering").thresholds.strategic_floor')
expect_ok kam --as $ADMIN eval "kam.tx(function() db.clients:update('$CL', {strategic = true}) end)"
expect_ok kam --as lan policy eval tiering --commit
expect_out "$CL" kam policy changes tiering --since "$SINCE"
check "$CL: D → $FLOOR_TIER, from the data" grep -Eq "^$CL .* D +$FLOOR_TIER +data " "$OUT"
check 'one change' grep -q ': 1 of ' "$OUT"
expect_ok kam --format json policy changes tiering --since "$SINCE"
check 'json: the change, its cause and both lists of reasons' python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); c = d["changes"]
sys.exit(0 if d["changed"] == 1 and c[0]["id"] == sys.argv[2] and c[0]["cause"] == "data" and c[0]["before"] and c[0]["after"] else 1)' "$OUT" "$CL"
expect_ok kam --format csv policy changes tiering --since "$SINCE"
check 'csv: a header and one row' [ "$(wc -l <"$OUT")" = 2 ]

# the B threshold raised by a quarter in a copy of rules/: the clients it moves, from the policy
tmp_project proj rules scripts
P=$T/proj
expect_ok kam --format json policy show tiering
B_MIN=$(grep -o '{[^{}]*"tier":"B"[^{}]*}' "$OUT" | grep -o '"min":[0-9.e+]*' | cut -d: -f2)
lua5.4 - "$B_MIN" "$(awk -v m="$B_MIN" 'BEGIN { printf "%.0f", m * 1.25 }')" "$P/rules/tiering.lua" <<'LUA'
local bmin, new, path = tonumber(arg[1]), arg[2], arg[3]
local f = assert(io.open(path, "rb")) local src = f:read("a") f:close()
src = src:gsub("(revenue%s*=%s*)(%b{})", function(head, bands)
  return head .. (bands:gsub("(m[ai][nx]%s*=%s*)([%w%.%+]+)", function(k, v)
    if tonumber(v) == bmin then return k .. new end
  end))
end, 1)
f = assert(io.open(path, "wb")) f:write(src) f:close()
LUA
pk() { "$KAM_BIN" --config "$P/config/kam.yaml" --db "$BOOK" "$@"; }
_run pk --format json policy whatif tiering --with "$P/rules/tiering.lua"
MOVED=$(python3 -c 'import json, sys; print(" ".join(sorted(c["id"] for c in json.load(open(sys.argv[1]))["changes"])))' "$OUT")
check "the edited threshold moves clients ($MOVED)" [ -n "$MOVED" ]
_run pk --as lan policy eval tiering --commit
check 'commit with the edited policy' [ "$RC" = 0 ]
expect_ok kam --format json policy changes tiering --since "$SINCE"
check 'the moved clients, from the policy; the earlier one still from the data' python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); moved = set(sys.argv[2].split()); cl = sys.argv[3]
by = {c["id"]: c["cause"] for c in d["changes"]}
ok = all(by.get(i) == "policy" for i in moved if i != cl) and by.get(cl, "data").startswith("data")
sys.exit(0 if ok else 1)' "$OUT" "$MOVED" "$CL"
expect_out 'policy' kam policy changes tiering --since "$SINCE"
expect_fail 2 'usage: kam policy changes NAME' kam policy changes
expect_fail 2 'not a date' kam policy changes tiering --since yesterday
finish
