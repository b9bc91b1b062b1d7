#!/usr/bin/env bash
# ls_get.sh — kam ls (--where as a table, an expression or a function;
# --fields, --sort, --limit; --format) and kam get.
. "$(dirname "$0")/lib.sh" "$@"
setup

cat >book.yaml <<'EOF'
staff:
  - {id: ST-HOA, name: "Lê Thị Hoa", role: account_manager}
clients:
  - {id: CL-A, name: "An Phát", status: active, tier: A, owner: ST-HOA, annual_budget: 5000000000}
  - {id: CL-B, name: "Bình Minh", status: active, tier: B, annual_budget: 900000000}
  - {id: CL-C, name: "Cửu Long", status: churned, tier: C}
invoices:
  - {id: INV-01, client: CL-A, amount: 250000000, issued: 2026-06-01, due: 2026-07-01, status: overdue}
  - {id: INV-02, client: CL-A, amount: 90000000, issued: 2026-07-01, due: 2026-08-01, status: paid}
  - {id: INV-03, client: CL-B, amount: 120000000, issued: 2026-08-01, due: 2026-09-01, status: overdue}
  - {id: INV-04, client: CL-B, amount: 40000000, issued: 2026-09-01, due: 2026-10-01, status: issued}
  - {id: INV-05, client: CL-C, amount: 100000000, issued: 2026-10-01, due: 2026-11-01, status: overdue}
  - {id: INV-06, client: CL-A, amount: 310000000, issued: 2026-11-01, due: 2026-12-01, status: issued}
  - {id: INV-07, client: CL-C, amount: 5000000, issued: 2026-11-10, due: 2026-12-10, status: draft}
EOF
expect_out 'imported 11 rows' kam import book.yaml

ids() { kam --format csv ls "$@" --fields id | tail -n +2 | tr -d '\r' | paste -sd' ' -; }
# the same, sorted: the order of an unsorted query is not a contract
sids() { kam --format csv ls "$@" --fields id | tail -n +2 | tr -d '\r' | sort | paste -sd' ' -; }

# the whole collection, as a table
expect_out '(7 rows)' kam ls invoices
expect_out 'INV-07' kam ls invoices
check 'table has a header with the schema fields' grep -q '^id .*client .*amount .*issued' "$OUT"
expect_out '250.000.000 ₫' kam ls invoices
expect_out '(0 rows)' kam ls risks

# --where as a table
expect_out '(3 rows)' kam ls invoices --where '{status="overdue"}'
expect_eq 'INV-01 INV-03 INV-05' sids invoices --where '{status = "overdue"}'
expect_eq 'INV-04 INV-06' sids invoices --where '{status = "issued", amount = {"<", 400000000}}'
expect_eq 'INV-01 INV-02 INV-06' sids invoices --where '{client = "CL-A"}'
expect_eq 'INV-05 INV-06 INV-07' sids invoices --where '{issued = {">=", "2026-10-01"}}'
expect_eq 'INV-03 INV-04' sids invoices --where '{issued = {"between", "2026-08-01", "2026-09-30"}}'
expect_eq 'INV-01 INV-03 INV-05 INV-07' sids invoices --where '{status = {"in", {"overdue", "draft"}}}'
# --where as an expression over the fields
expect_eq 'INV-01 INV-03 INV-06' sids invoices --where 'amount > 100000000'
expect_eq 'INV-01 INV-03' sids invoices --where 'amount > 100000000 and status == "overdue"'
expect_eq 'INV-06 INV-07' sids invoices --where 'issued >= kam.months_ago(1)'
expect_eq 'INV-07' sids invoices --where 'string.find(due, "-12-10", 1, true) ~= nil'
# --where as a function
expect_eq 'INV-02 INV-06' sids invoices --where 'function(i) return i.client == "CL-A" and i.status ~= "overdue" end'
expect_eq 'INV-01 INV-05' sids invoices --where 'function(i) return db.clients:get(i.client).tier ~= "B" and i.status == "overdue" end'
# bad --where
expect_fail 1 "no field 'nope'" kam ls invoices --where 'nope > 1'
expect_fail 1 "no field 'nope'" kam ls invoices --where '{nope = 1}'
expect_fail 1 '--where' kam ls invoices --where 'amount >'
expect_fail 1 'amount' kam ls invoices --where '{amount = "lots"}'
# a value the field can never hold is refused in an expression as in a table,
# naming the field and the values it takes
expect_fail 1 'where: clients.tier: filter value "Z" is not one of A, B, C, D' kam ls clients --where '{tier = "Z"}'
expect_fail 1 'where: clients.tier: filter value "Z" is not one of A, B, C, D' kam ls clients --where 'tier == "Z"'
expect_fail 1 'clients.tier: filter value "Z" is not one of' kam ls clients --where '"Z" == tier'
expect_fail 1 'clients.tier: filter value "E" is not one of' kam ls clients --where 'status == "active" and (tier == "A" or tier ~= '"'E'"')'
expect_fail 1 'invoices.status: filter value "late" is not one of draft, issued, paid, overdue, disputed' kam export invoices --where 'status == "late"'
expect_fail 1 'invoices.amount: filter value "lots" is not a number' kam ls invoices --where 'amount == "lots"'
expect_eq 'CL-A' sids clients --where 'tier == "A"'
expect_eq 'CL-A CL-B' sids clients --where 'tier ~= "C" and status == "active"'
# where the literal is not simply compared with the field, Lua decides
expect_eq '' sids clients --where 'tier == "Z" .. ""'
expect_eq 'CL-C' sids clients --where 'string.lower(tier) == "c"'
expect_eq 'CL-C' sids clients --where '(function(tier) return tier == "C" end)(tier)'

# --fields
expect_ok kam ls invoices --fields id,amount
check '--fields: only those columns' grep -q '^id *amount *$' "$OUT"
check '--fields: no other column' sh -c "! grep -q issued '$OUT'"
expect_eq 'client,id' bash -c '"$0" --config "$1" --db "$2" --format csv ls invoices --fields client,id | head -n 1 | tr -d "\r"' "$KAM_BIN" "$CONFIG" "$BOOK"

# --sort and --limit
expect_eq 'INV-07 INV-04 INV-02 INV-05 INV-03 INV-01 INV-06' ids invoices --sort amount
expect_eq 'INV-06 INV-01 INV-03 INV-05 INV-02 INV-04 INV-07' ids invoices --sort amount:desc
expect_eq 'INV-06 INV-01' ids invoices --sort amount:desc --limit 2
expect_eq 'INV-01 INV-02 INV-03' ids invoices --limit 3
expect_eq '' ids invoices --limit 0
expect_eq 'CL-C CL-B CL-A' ids clients --sort name:desc
expect_eq 'CL-A CL-B CL-C' ids clients --sort name
expect_eq 'INV-05 INV-03' ids invoices --where '{status = "overdue"}' --sort issued:desc --limit 2
expect_eq 'INV-07 INV-06' ids invoices --sort due:desc --limit 2
# nil sorts last, both ways
expect_eq 'CL-A CL-B CL-C' ids clients --sort annual_budget:desc
expect_out '(2 rows)' kam ls invoices --limit 2

# --format json and csv
expect_out '"id":"INV-01"' kam --format json ls invoices --where 'amount > 200000000'
check 'ls json is a list' grep -q '^\[' "$OUT"
check 'ls json: money is a number' grep -q '"amount":250000000' "$OUT"
check 'ls json: only the matching rows' sh -c "! grep -q INV-02 '$OUT'"
expect_eq '[]' kam --format json ls risks
expect_out 'id,created_at,updated_at,client,contract,amount' kam --format csv ls invoices
expect_out 'INV-03,' kam --format csv ls invoices
check 'ls csv: money as plain digits' grep -q ',120000000,' "$OUT"
expect_eq 'id,amount
INV-06,310000000
INV-01,250000000' bash -c '"$0" --config "$1" --db "$2" ls invoices --format csv --fields id,amount --sort amount:desc --limit 2 | tr -d "\r"' "$KAM_BIN" "$CONFIG" "$BOOK"

# get
expect_out 'An Phát' kam get clients CL-A
check 'get shows money formatted' _has '5.000.000.000 ₫' "$OUT"
check 'get shows a ref as its id' _has 'ST-HOA' "$OUT"
expect_out '"name":"An Phát"' kam --format json get clients CL-A
expect_out '"annual_budget":5000000000' kam --format json get clients CL-A
expect_out 'An Phát' kam --format csv get clients CL-A
expect_fail 1 'CL-NOPE' kam get clients CL-NOPE
check 'get of a missing id: says no such id' _has 'no such id' "$ERR"
expect_fail 1 'INV-01' kam get clients INV-01
expect_fail 1 'no such id' kam get clients ''
expect_fail 1 'no such id' kam get clients "CL-$(printf 'x%.0s' $(seq 600))"

# ls and get only read: --where cannot write
snapshot "$T/s1"
expect_fail 3 'kam.tx: this command only reads' kam ls invoices --where 'function(i) kam.tx(function() db.invoices:delete(i.id) end) return true end'
expect_fail 3 'kam.tx: this command only reads' kam ls invoices --where 'kam.tx(function() db.invoices:delete("INV-01") end)'
expect_unchanged "$T/s1" 'ls --where trying to write'

finish
