#!/usr/bin/env bash
# read_scope.sh — read scopes of config/access.yaml in every Lua read path: an
# account manager (hoa, scope team) counts, lists, gets, iterates, sums and
# groups only her team's clients and the rows that belong to them; a director
# (minh, scope all) and the admin see everything; a collection no rule lets a
# role read is refused with exit 3, whatever the path (count, get, ls, each,
# group through refs). Expected numbers are computed as the admin (tuan).
. "$(dirname "$0")/lib.sh" "$@"
setup
kam init --demo --force >/dev/null 2>"$ERR" || { echo "setup: kam init --demo failed:"; cat "$ERR"; exit 1; }

expect_out 'account_manager' kam --as hoa whoami
expect_out 'admin' kam --as tuan whoami
expect_out 'director' kam --as minh whoami

# hoa's team, and another one to move some clients to
HT=$(kam --as tuan eval 'return db.staff:where{os_user = "hoa"}:first().team')
OT=$(kam --as tuan eval "return db.teams:where(function(t) return t.id ~= '$HT' end):first().id")
check "hoa has a team ($HT) and there is another ($OT)" [ -n "$HT" ] && [ -n "$OT" ] && [ "$HT" != "$OT" ]
expect_ok kam --as tuan eval "kam.tx(function()
  for i, c in ipairs(db.clients:sort('id'):list()) do
    if i % 3 == 0 then db.clients:update(c.id, {team = '$OT'}) end
  end
end)"

# ---- what hoa should see, computed as the admin --------------------------------
as_tuan() { kam --as tuan eval "local HT = '$HT'
local function mine(client_id) local c = db.clients:get(client_id) return c and c.team == HT end
$1"; }
TOTAL=$(as_tuan 'return db.clients:count()')
NT=$(as_tuan 'local n = 0 for c in db.clients:each() do if c.team == HT then n = n + 1 end end return n')
check "some clients are hoa's team's ($NT of $TOTAL), some not" [ "${NT:-0}" -gt 0 ] && [ "$NT" -lt "${TOTAL:-0}" ]
IDS=$(as_tuan 'local t = {} for c in db.clients:each() do if c.team == HT then t[#t + 1] = c.id end end
table.sort(t) return table.concat(t, " ")')
OTHER=$(as_tuan 'for c in db.clients:sort("id"):each() do if c.team ~= HT then return c.id end end')
MINE=$(as_tuan 'for c in db.clients:sort("id"):each() do if c.team == HT then return c.id end end')
check "a client outside hoa's team ($OTHER) and one inside ($MINE)" [ -n "$OTHER" ] && [ -n "$MINE" ]
# the invoices of her team's clients: count, sum, paid sum, max, groups
INV=$(as_tuan 'local n, s, paid, mx = 0, 0, 0, 0
for i in db.invoices:each() do
  if mine(i.client) then
    n, s = n + 1, s + i.amount
    if i.status == "paid" then paid = paid + i.amount end
    if i.amount > mx then mx = i.amount end
  end
end
return n .. " " .. s .. " " .. paid .. " " .. mx')
GROUP=$(as_tuan 'local g = {}
for i in db.invoices:each() do if mine(i.client) then g[i.status] = (g[i.status] or 0) + 1 end end
local t = {} for k, v in pairs(g) do t[#t + 1] = k .. "=" .. v end table.sort(t) return table.concat(t, ",")')
GSUM=$(as_tuan 'local g = {}
for i in db.invoices:each() do if mine(i.client) then g[i.client] = (g[i.client] or 0) + i.amount end end
local t = {} for k, v in pairs(g) do t[#t + 1] = k .. "=" .. v end table.sort(t) return table.concat(t, ",")')
check 'the admin sees invoices of both teams' [ "$(as_tuan 'return db.invoices:count()')" -gt "${INV%% *}" ]

# ---- hoa: scope team -----------------------------------------------------------
expect_eq "$NT" kam --as hoa eval 'return db.clients:count()'
expect_eq "$NT" kam --as hoa eval 'return db.clients:all():count()'
expect_eq "$NT" kam --as hoa eval 'return #db.clients:list()'
expect_eq "$NT" kam --as hoa eval 'return #db.clients:ids()'
expect_eq "$NT" kam --as hoa eval 'local n = 0 for c in db.clients:each() do n = n + 1 end return n'
expect_eq "$NT" kam --as hoa eval "return db.clients:where{team = '$HT'}:count()"
expect_eq 0 kam --as hoa eval "return db.clients:where{team = '$OT'}:count()"
expect_eq "$NT" kam --as hoa eval 'return db.clients:group("team")[next(db.clients:group("team"))]'
expect_eq "$HT" kam --as hoa eval 'local t = {} for k in pairs(db.clients:group("team")) do t[#t + 1] = k end return table.concat(t, " ")'
expect_eq "$HT" kam --as hoa eval 'return db.clients:first().team'
expect_eq "$HT" kam --as hoa eval 'return db.clients:sort("team", "desc"):first().team'
expect_eq "$IDS" sh -c "'$KAM_BIN' --config '$CONFIG' --db '$BOOK' --as hoa --format csv ls clients --fields id | tail -n +2 | tr -d '\r' | sort | paste -sd' ' -"
expect_out "($NT rows)" kam --as hoa ls clients
expect_not "$OTHER" kam --as hoa ls clients
expect_eq true kam --as hoa eval "return db.clients:get('$OTHER') == nil"
expect_eq "$MINE" kam --as hoa eval "return db.clients:get('$MINE').id"
expect_fail 1 'no such id' kam --as hoa get clients "$OTHER"
expect_out "$MINE" kam --as hoa get clients "$MINE"
expect_eq 0 kam --as hoa eval "return db.invoices:where{client = '$OTHER'}:count()"
expect_eq 0 kam --as hoa eval "return #db.invoices:where{client = '$OTHER'}:list()"
expect_eq 'nil' kam --as hoa eval "return tostring(db.invoices:where{client = '$OTHER'}:first())"
expect_out 'within the read scope' kam --as hoa eval 'return db.clients:explain()'
expect_ok kam --as hoa --format json export clients
check "export as hoa: her team's $NT clients" python3 -c 'import json, sys; assert len(json.load(sys.stdin)["clients"]) == int(sys.argv[1])' "$NT" <"$OUT"

# the invoices of her team: count, sum, sum over an index, max, group count, group sum
expect_eq "$INV" kam --as hoa eval 'return db.invoices:count() .. " " .. db.invoices:sum("amount") .. " " ..
  db.invoices:where{status = "paid"}:sum("amount") .. " " .. db.invoices:max("amount")'
expect_eq "$GROUP" kam --as hoa eval 'local t = {} for k, v in pairs(db.invoices:group("status")) do t[#t + 1] = k .. "=" .. v end
table.sort(t) return table.concat(t, ",")'
expect_eq "$GSUM" kam --as hoa eval 'local t = {} for k, v in pairs(db.invoices:group("client", "sum", "amount")) do t[#t + 1] = k .. "=" .. v end
table.sort(t) return table.concat(t, ",")'
expect_eq "${INV%% *}" kam --as hoa eval "return db.invoices:group('client.team')['$HT']"
expect_eq "${INV%% *}" kam --as hoa eval 'return db.invoices:where(function() return true end):count()'
expect_eq "${INV%% *}" kam --as hoa eval 'local n = 0 db.invoices:group(function(i) n = n + 1 return 1 end) return n'
# a policy over clients evaluates hers only; whatif (counts and sums remembered) agrees
expect_out "tiering: $NT evaluated" kam --as hoa policy eval tiering
kam --as hoa --format json policy whatif tiering --with "$KAM_SRC/rules/tiering.lua" >"$T/whatif.json" 2>"$ERR"
check 'whatif as hoa (counts and sums remembered): her clients only' python3 -c '
import json, sys
w = json.load(open(sys.argv[1])); mine = set(sys.argv[3].split())
assert w["evaluated"] == int(sys.argv[2]), w["evaluated"]
assert all(c["id"] in mine for c in w["changes"]), [c["id"] for c in w["changes"]]
' "$T/whatif.json" "$NT" "$IDS"

# ---- scope all: a director, the admin, a login without rules to hold it to --------
expect_eq "$TOTAL" kam --as minh eval 'return db.clients:count()'
expect_out "($TOTAL rows)" kam --as minh ls clients
expect_eq false kam --as minh eval "return db.clients:get('$OTHER') == nil"
expect_eq "$TOTAL" kam --as tuan eval 'return #db.clients:list()'
expect_eq "$TOTAL" kam eval 'return db.clients:count()'
expect_out "tiering: $TOTAL evaluated" kam --as minh policy eval tiering

# ---- no read at all: rules that leave opportunities unreadable to account staff ---
tmp_project "$T/proj"
cat >"$T/proj/config/access.yaml" <<'YAML'
groups:
  account: [account_executive, account_manager, key_account_manager]
rules:
  - grant: [read]
    to: ["*"]
    on: [teams, staff]
  - grant: [read]
    to: [account]
    on: [clients, invoices]
    scope: team
  - grant: ["*"]
    to: [admin]
    on: ["*"]
YAML
kp() { "$KAM_BIN" --config "$T/proj/config/kam.yaml" --db "$BOOK" "$@"; }
denied='may not read opportunities: no rule grants it (config/access.yaml)'
expect_fail 3 "permission denied: " kp --as hoa eval 'return db.opportunities:count()'
check 'the refusal names who, what and the rules' _has "$denied" "$ERR"
check 'the refusal names hoa' _has 'hoa (account_manager)' "$ERR"
expect_fail 3 "$denied" kp --as hoa eval 'return db.opportunities:where{stage = "won"}:count()'
expect_fail 3 "$denied" kp --as hoa eval 'return db.opportunities:sum("value")'
expect_fail 3 "$denied" kp --as hoa eval 'return db.opportunities:get("OP-000001")'
expect_fail 3 "$denied" kp --as hoa eval 'for o in db.opportunities:each() do end'
expect_fail 3 "$denied" kp --as hoa eval 'return db.opportunities:first()'
expect_fail 3 "$denied" kp --as hoa ls opportunities
expect_fail 3 "may not read contracts" kp --as hoa eval 'return db.invoices:group("contract.status")'
# a script may catch the refusal; its code stays
expect_eq 'false 3' kp --as hoa eval 'local ok, e = pcall(function() return db.opportunities:count() end)
return tostring(ok) .. " " .. tostring(e.code)'
# what the same rules let her read still works, scoped
expect_eq "$NT" kp --as hoa eval 'return db.clients:count()'
expect_eq "${INV%% *}" kp --as hoa eval 'return db.invoices:count()'
expect_ok kp --as tuan eval 'return db.opportunities:count()'

# ---- scope own: her own clients, and the invoices of those ------------------------
sed -i 's/scope: team/scope: own/' "$T/proj/config/access.yaml"
HS=$(kam --as tuan eval 'return db.staff:where{os_user = "hoa"}:first().id')
NO=$(kam --as tuan eval "return db.clients:where{owner = '$HS'}:count()")
NOI=$(kam --as tuan eval "local n = 0 for c in db.clients:where{owner = '$HS'}:each() do n = n + db.invoices:where{client = c.id}:count() end return n")
check "hoa owns some clients ($NO)" [ "${NO:-0}" -gt 0 ]
expect_eq "$NO" kp --as hoa eval 'return db.clients:count()'
expect_eq "$NOI" kp --as hoa eval 'return db.invoices:count()'
expect_eq "$NOI" kp --as hoa eval 'return #db.invoices:sort("amount"):list()'

finish
