#!/usr/bin/env bash
# The README's first steps, as a reader would type them: a book, a CSV
# import, and the overdue total by client owner with kam eval.
. "$(dirname "$0")/lib.sh" "$@"
setup
cat > clients.csv <<'CSV'
id,name,industry,status,owner
CL-0001,"Công ty TNHH Mỹ phẩm Sao Mai",cosmetics,active,ST-0001
CL-0002,Cà phê Đất Việt,F&B,active,ST-0002
CSV
cat > staff.csv <<'CSV'
id,name,role
ST-0001,Nguyễn Thị Lan,team_lead
ST-0002,Trần Minh Đức,account_manager
CSV
cat > invoices.csv <<'CSV'
id,client,amount,issued,due,status
INV-1,CL-0001,"120.000.000",2026-08-01,2026-08-31,overdue
INV-2,CL-0001,45000000,2026-09-01,2026-10-01,paid
INV-3,CL-0002,80.000.000,01/09/2026,2026-10-01,overdue
CSV
expect_out 'imported 7 rows' kam import staff.csv clients.csv invoices.csv
expect_ok kam eval 'local t = {}
  for inv in db.invoices:where{status = "overdue"}:each() do
    local owner = db.staff:get(db.clients:get(inv.client).owner).name
    t[owner] = (t[owner] or 0) + inv.amount
  end
  return t'
check 'Lan owes 120.000.000' grep -q 'Nguyễn Thị Lan  120.000.000' "$OUT"
check 'Đức owes 80.000.000' grep -q 'Trần Minh Đức    80.000.000' "$OUT"
expect_eq '{"Nguyễn Thị Lan":120000000,"Trần Minh Đức":80000000}' kam --format json eval 'local t = {}
  for inv in db.invoices:where{status = "overdue"}:each() do
    local owner = db.staff:get(db.clients:get(inv.client).owner).name
    t[owner] = (t[owner] or 0) + inv.amount
  end
  return t'
printf 'id,client,amount,issued,due\nINV-9,CL-0001,12abc,2026-09-01,2026-10-01\n' > bad.csv
expect_fail 1 'kam: bad.csv:2:3: invoices field amount: value "12abc" is not whole đồng' kam import bad.csv --into invoices
check 'README: the date 01/09/2026 became 2026-09-01' [ "$(kam eval 'return db.invoices:get("INV-3").issued')" = 2026-09-01 ]
finish
