#!/usr/bin/env bash
# The demo agency and the main job (`make run`): kam init --demo builds a book
# a team would recognise, and kam summary finds real things in it.
. "$(dirname "$0")/lib.sh" "$@"
setup
rm -f "$BOOK" "$BOOK-lock"

expect_out 'demo agency' kam init --demo
expect_fail 1 'a book is already here' kam init --demo
expect_ok kam init --demo --force

count() { kam eval "return $1" >"$OUT" 2>"$ERR"; cat "$OUT"; }
at_least() { # what, lua expression, minimum
  local n; n=$(count "$2")
  if [ -n "$n" ] && [ "$n" -ge "$3" ] 2>/dev/null; then _pass; else _fail "$1: $n, expected at least $3"; fi
}
at_least 'clients' 'db.clients:count()' 40
at_least 'industries' '(function() local n = 0 for _ in pairs(db.clients:all():group("industry")) do n = n + 1 end return n end)()' 6
at_least 'staff' 'db.staff:count()' 12
for kind in Account Creative Media Ops Production Affiliate; do
  at_least "team $kind" "db.teams:where{kind = \"$kind\"}:count()" 1
done
at_least 'services' 'db.services:count()' 5
at_least 'packages' 'db.packages:count()' 1
for k in JBP QBP MBP; do at_least "plans $k" "db.plans:where{kind = \"$k\"}:count()" 1; done
for c in quotes contracts change_requests projects spend acceptances reconciliations payments risks activities kpis reviews requests; do
  at_least "$c" "db.$c:count()" 1
done
for s in lead qualified proposal negotiation won lost; do
  at_least "opportunities at $s" "db.opportunities:where{stage = \"$s\"}:count()" 1
done
at_least 'Vietnamese names' '(function() local n = 0 for c in db.clients:all():each() do if c.name:find("[\128-\255]") then n = n + 1 end end return n end)()' 30
# invoices over at least 18 months, some overdue now, some paid late
at_least 'months of invoices' '(function() local m = {} for i in db.invoices:all():each() do m[i.issued:sub(1, 7)] = true end local n = 0 for _ in pairs(m) do n = n + 1 end return n end)()' 18
at_least 'overdue invoices past their due date' "db.invoices:where{status = \"overdue\", due = {\"<\", kam.today()}}:count()" 5
at_least 'overdue invoices over 90 days' "db.invoices:where{status = \"overdue\", due = {\"<\", kam.days_ago(90)}}:count()" 1
at_least 'late payments' '(function() local n = 0 for p in db.payments:all():each() do local i = db.invoices:get(p.invoice) if i and p.date > i.due then n = n + 1 end end return n end)()' 5
at_least 'open escalations' 'db.risks:where{kind = "escalation", status = {"in", {"open", "mitigating"}}}:count()' 1
at_least 'spend held over budget' 'db.spend:where{status = "held"}:count()' 1
# dates follow today: with another today, overdue stays overdue
KAM_TODAY=2027-03-01 kam --db "$T/later.db" init --demo >/dev/null 2>&1
n=$(KAM_TODAY=2027-03-01 "$KAM_BIN" --config "$CONFIG" --db "$T/later.db" eval 'return db.invoices:where{status = "overdue", due = {"<", kam.today()}}:count()')
check 'a demo made on another day has overdue invoices too' [ "${n:-0}" -ge 5 ]

# the main job (`make run`): the nightly schedule on the demo book, then the
# summary, with money as people read it and the alerts the night raised
expect_out 'nightly' kam schedule run nightly
check 'nightly: ok, its steps in its line' grep -Eq '^nightly .* ok .*invoices: .*tiering: .*health: .*alerts: [1-9][0-9]* raised' "$OUT"
expect_out 'Overdue by owner' kam summary
check 'summary: tiers' grep -q 'tier  *A [0-9]' "$OUT"
check 'summary: money with dots and ₫' grep -Eq '[0-9]{1,3}(\.[0-9]{3})+ ₫' "$OUT"
check 'summary: Vietnamese owner names' grep -q 'Phan Thanh Hoa' "$OUT"
check 'summary: every stage' grep -q 'negotiation' "$OUT"
cp "$OUT" "$T/summary.txt"
# figure 'TEXT': the first number after TEXT in the summary's text, its dots taken out
figure() {
  local n
  n=$(sed -n "s/.*$1[^0-9]*\([0-9][0-9.]*\).*/\1/p" "$T/summary.txt" | head -n 1 | tr -d .)
  echo "${n:-missing}"
}
open=$(count 'db.alerts:where{status = "open"}:count()')
check 'the nightly run left open alerts' [ "${open:-0}" -ge 1 ]
check "summary: the alerts section counts the $open open alerts" [ "$(figure 'Cảnh báo \/ Alerts: ')" = "$open" ]
for sev in critical high medium low; do
  n=$(count "db.alerts:where{status = \"open\", severity = \"$sev\"}:count()")
  check "summary: $n open alerts $sev" grep -q "^Cảnh báo / Alerts: .*[(,] *$sev $n[,)]" "$T/summary.txt"
done
check 'summary: open alerts by kind' grep -Eq '^  loại / kind  [a-z_]+ [0-9]+' "$T/summary.txt"
# the most severe: a critical one first (the demo has some), with the names of the client
# and owner of the alert on its subject, and the money as kam.fmt.money writes it
check 'summary: the most severe alerts' grep -Eq '^  most severe  subject +client +owner +amount$' "$T/summary.txt"
first=$(grep -A 2 '^  most severe' "$T/summary.txt" | tail -n 1)
check 'summary: a critical alert first, with money' grep -Eq '^  critical +[A-Z]+-[0-9]+ .* [0-9]{1,3}(\.[0-9]{3})+ ₫$' <<<"$first"
subject=$(awk '{ print $2 }' <<<"$first")
names=$(count "(function() local a = db.alerts:where{status = \"open\", subject = \"$subject\"}:first()
  return a and db.clients:get(a.client).name .. '  .*' .. db.staff:get(a.owner).name end)()")
check "summary: the client and owner of $subject by name" grep -q "^  critical  *$subject  *$names  " <<<"$first"

# `make run` fits a terminal of 50 lines and 80 columns, with the prompt after it
{ kam init --demo --force && kam schedule run nightly && kam summary; } >"$T/screen.txt"
rows=0 wide=0
while IFS= read -r line; do
  rows=$((rows + (${#line} > 80 ? (${#line} + 79) / 80 : 1)))
  [ ${#line} -le 80 ] || wide=$((wide + 1))
done <"$T/screen.txt"
check "make run: $rows lines on an 80-column terminal, at most 49" [ "$rows" -le 49 ]
check 'summary: no line wider than 80 columns' [ "$(grep -vxEc '.{0,80}' "$T/summary.txt")" = 0 ]

# --format json: the same figures, numbers as numbers, an absent value null
critical=$(count 'db.alerts:where{status = "open", severity = "critical"}:count()')
expect_ok kam --format json summary
check 'summary json: one line' [ "$(wc -l <"$OUT")" = 1 ]
check 'summary json: clients' grep -q "\"clients\":{\"active_or_paused\":$(figure 'Clients: [0-9]* (')," "$OUT"
check 'summary json: clients by tier' grep -q "{\"clients\":$(figure 'tier  *A'),\"tier\":\"A\"}" "$OUT"
check 'summary json: clients with no tier have tier null' grep -q '"tier":null}' "$OUT"
check 'summary json: revenue' grep -q "\"months\":\[.*\],\"total\":$(figure 'last 12 months')}" "$OUT"
check 'summary json: overdue' grep -q "\"owners\":\[.*\],\"total\":$(figure 'Overdue by owner')}" "$OUT"
check 'summary json: weighted pipeline' grep -q "\"weighted_open\":$(figure 'weighted open')}" "$OUT"
check 'summary json: open alerts' grep -q "\"alerts\":{\"by_kind\":\[{.*}\],\"by_severity\":\[.*{\"alerts\":$critical,\"severity\":\"critical\"}.*\],\"most_severe\":\[{.*}\],\"open\":$open}" "$OUT"
check 'summary json: the most severe with names and money' grep -Eq '"most_severe":\[\{"amount":[0-9]+,"client":"CL-[0-9]+","client_name":"[^"]+",.*"owner_name":"[^"]+","severity":"critical"' "$OUT"
check 'summary json: no numbers as text' bash -c "! grep -Eq '\"[0-9.]+( ₫)?\"' '$OUT'"
expect_fail 2 'summary: --format table or json' kam --format csv summary

# ids: the demo's have the width of the ones kam generates, so a new hire sorts last
for c in $(collections "$(dirname "$CONFIG")/schema.yaml"); do
  expect_eq '' kam eval "local w, odd = nil, {}
    for _, id in ipairs(db.$c:all():ids()) do
      w = w or #id
      if #id ~= w then odd[#odd + 1] = id end
    end
    if odd[1] then return '$c: ' .. table.concat(odd, ' ', 1, math.min(#odd, 3)) end"
done
expect_eq 'true' kam eval 'local id
  kam.tx(function() id = db.staff:insert{name = "Người Mới", role = "account_executive"} end)
  return db.staff:all():sort("id", "desc"):first().id == id'
# the tier moves the nightly commit made, as the audit lists them
expect_ok kam --format json summary
cp "$OUT" "$T/sum.json"
expect_ok kam --format json audit --coll clients
check 'summary: the tier moves are the policy commits of tier in the audit' python3 -c '
import json, sys
moves = json.load(open(sys.argv[1]))["clients"]["tier_moves"]
audit = json.load(sys.stdin)
seen, want = set(), {}
for e in audit:
    for c in e["changes"]:
        if e["channel"] == "policy" and c["field"] == "tier" and e["id"] not in seen:
            seen.add(e["id"])
            k = (c.get("old") or "-") + "→" + (c.get("new") or "-")
            want[k] = want.get(k, 0) + 1
got = {m["move"]: m["clients"] for m in moves["moves"]}
assert got == want and moves["clients"] == sum(want.values()) > 0, (got, want)
' "$T/sum.json" <"$OUT"

expect_ok kam --format json policy changes tiering --since 7d
check 'policy changes: the first decisions that moved a tier, as many as the summary says' python3 -c '
import json, sys
d = json.load(sys.stdin)
moves = json.load(open(sys.argv[1]))["clients"]["tier_moves"]["clients"]
assert d["changed"] == moves and all(c["cause"] == "first decision" for c in d["changes"]), (d["changed"], moves)
' "$T/sum.json" <"$OUT"

finish
