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

# the main job: the summary, with money as people read it
expect_out 'Overdue by owner' kam summary
check 'summary: tiers' grep -q '^  A ' "$OUT"
check 'summary: money with dots and ₫' grep -Eq '[0-9]{1,3}(\.[0-9]{3})+ ₫' "$OUT"
check 'summary: Vietnamese owner names' grep -q 'Phan Thanh Hoa' "$OUT"
check 'summary: every stage' grep -q 'negotiation' "$OUT"
finish
