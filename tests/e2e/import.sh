#!/usr/bin/env bash
# import.sh — kam import: YAML, CSV (as spreadsheets write it) and JSON;
# bad input is reported with file:line[:col], the value and what was
# expected, and leaves the book exactly as it was.
. "$(dirname "$0")/lib.sh" "$@"
setup

# ---- happy paths -----------------------------------------------------------

# YAML: collection -> records, refs between them, one ref to a row that comes
# later in the same import (the team's lead is staff written after it).
cat >agency.yaml <<'EOF'
teams:
  - {id: TM-ACC, name: "Khối Khách hàng", kind: Account, lead: ST-LAN}
  - {id: TM-CRE, name: Creative, kind: Creative}
staff:
  - {id: ST-LAN, name: "Nguyễn Thị Lan", role: team_lead, team: TM-ACC, capacity: 6}
  - {id: ST-HOA, name: "Lê Thị Hoa", role: account_manager, team: TM-ACC, manager: ST-LAN, hire_date: 2024-03-01}
clients:
  - id: CL-VNM
    name: "Vinamilk"
    industry: FMCG
    status: active
    tier: A
    owner: ST-HOA
    team: TM-ACC
    annual_budget: 12000000000
    strategic: true
    kpis: [reach, sales]
  - {id: CL-PHO, name: "Phở Thìn", industry: F&B, status: prospect, owner: ST-LAN, parent: CL-VNM}
invoices:
  - {id: INV-1, client: CL-VNM, amount: 150000000, issued: 2026-09-01, due: 2026-10-01, status: overdue}
  - {id: INV-2, client: CL-VNM, amount: "1.234.567", issued: 26/11/2026, due: 2026-12-26}
  - {client: CL-PHO, amount: 5000000, issued: 2026-11-01, due: 2026-12-01, status: paid}
EOF
expect_out 'imported 9 rows' kam import agency.yaml
expect_eq 'Nguyễn Thị Lan' kam eval 'return db.staff:get("ST-LAN").name'
expect_eq 'ST-LAN' kam eval 'return db.teams:get("TM-ACC").lead'
expect_eq 1234567 kam eval 'return db.invoices:get("INV-2").amount'
expect_eq 2026-11-26 kam eval 'return db.invoices:get("INV-2").issued'
expect_eq issued kam eval 'return db.invoices:get("INV-2").status'
expect_eq 8 kam eval 'return db.staff:get("ST-HOA").capacity'
expect_eq 'true' kam eval 'return db.clients:get("CL-VNM").strategic'
expect_eq 'reach,sales' kam eval 'return table.concat(db.clients:get("CL-VNM").kpis, ",")'
expect_eq 'INV-000003' kam eval 'return db.invoices:where{client = "CL-PHO"}:first().id'
expect_eq 156234567 kam --format json eval 'return db.invoices:sum("amount")'

# CSV with a header; the file's name is the collection
cat >clients.csv <<'EOF'
id,name,industry,status,owner,annual_budget
CL-ABC,ABC Cosmetics,cosmetics,active,ST-HOA,3000000000
CL-XYZ,XYZ Travel,travel,paused,,
EOF
expect_out 'imported 2 rows: clients 2' kam import clients.csv
expect_eq 0 kam eval 'return db.clients:get("CL-XYZ").annual_budget'
expect_eq nil kam eval 'return tostring(db.clients:get("CL-XYZ").owner)'

# --into: a CSV whose name is not a collection
cat >khach-hang-moi.csv <<'EOF'
id,name,tier
CL-NEW,New One,B
EOF
expect_fail 1 "no collection 'khach-hang-moi'" kam import khach-hang-moi.csv
expect_out 'clients 1' kam import khach-hang-moi.csv --into clients
expect_eq B kam eval 'return db.clients:get("CL-NEW").tier'

# CSV as Excel / Google Sheets save it: UTF-8 BOM, CRLF, quoted fields with
# commas, doubled quotes and newlines, Vietnamese diacritics, 1.234.567 money
# and D/M/YYYY dates.
printf '\xef\xbb\xbfid,name,legal_name,annual_budget,first_engaged,objective,city\r\n' >excel.csv
printf 'CL-SUA,"Công ty Sữa, Việt Nam","Tên ""pháp lý"" đầy đủ",1.234.567,26/11/2026,"Dòng một\nDòng hai, có dấu phẩy",Hà Nội\r\n' >>excel.csv
printf 'CL-TH,Phở Thìn Bờ Hồ,,"2.000.000.000",1/2/2026,,Đà Nẵng\r\n' >>excel.csv
printf 'CL-EMP,"",,,,,\r\n' >>excel.csv
# the row of CL-EMP starts on line 5: the quoted newline of row 2 is line 3
expect_fail 1 'excel.csv:5' kam import excel.csv --into clients
check 'excel.csv: the empty name is reported as required' _has 'name is required' "$ERR"
printf '\xef\xbb\xbfid,name,legal_name,annual_budget,first_engaged,objective,city\r\n' >excel.csv
printf 'CL-SUA,"Công ty Sữa, Việt Nam","Tên ""pháp lý"" đầy đủ",1.234.567,26/11/2026,"Dòng một\nDòng hai, có dấu phẩy",Hà Nội\r\n' >>excel.csv
printf 'CL-TH,Phở Thìn Bờ Hồ,,"2.000.000.000",1/2/2026,,Đà Nẵng\r\n' >>excel.csv
expect_out 'clients 2' kam import excel.csv --into clients
expect_eq 'Công ty Sữa, Việt Nam' kam eval 'return db.clients:get("CL-SUA").name'
expect_eq 'Tên "pháp lý" đầy đủ' kam eval 'return db.clients:get("CL-SUA").legal_name'
expect_eq 'true' kam eval 'return db.clients:get("CL-SUA").objective == "Dòng một\nDòng hai, có dấu phẩy"'
expect_eq 'Hà Nội' kam eval 'return db.clients:get("CL-SUA").city'
expect_eq 1234567 kam eval 'return db.clients:get("CL-SUA").annual_budget'
expect_eq 2000000000 kam eval 'return db.clients:get("CL-TH").annual_budget'
expect_eq 2026-11-26 kam eval 'return db.clients:get("CL-SUA").first_engaged'
expect_eq 2026-02-01 kam eval 'return db.clients:get("CL-TH").first_engaged'
expect_eq 'Phở Thìn Bờ Hồ|Đà Nẵng' kam eval 'local c = db.clients:get("CL-TH") return c.name .. "|" .. c.city'
expect_eq 'CL-SUA' kam eval 'return db.clients:where{city = "Hà Nội"}:first().id'
expect_out 'Tên "pháp lý" đầy đủ' kam get clients CL-SUA
expect_out '"legal_name":"Tên \"pháp lý\" đầy đủ"' kam --format json get clients CL-SUA
expect_out '"Công ty Sữa, Việt Nam","Tên ""pháp lý"" đầy đủ"' kam export clients --where 'id == "CL-SUA"'
expect_out 'Phở Thìn Bờ Hồ' kam export --format yaml clients
# the exported CSV, imported into another book, gives the same text back
kam export clients --where 'id == "CL-SUA" or id == "CL-TH"' >rt.csv
newbook "$T/rt.db"
expect_out 'clients 2' "$KAM_BIN" --config "$CONFIG" --db "$T/rt.db" import rt.csv --into clients
"$KAM_BIN" --config "$CONFIG" --db "$T/rt.db" export clients >rt2.csv
check 'Excel CSV -> export -> import -> export is byte for byte the same' cmp -s rt.csv rt2.csv

# a semicolon-separated CSV (a European-locale spreadsheet)
printf 'id;name;city\r\nCL-SEMI;"Semi, Colon";Huế\r\n' >semi.csv
expect_out 'clients 1' kam import semi.csv --into clients
expect_eq 'Semi, Colon|Huế' kam eval 'local c = db.clients:get("CL-SEMI") return c.name .. "|" .. c.city'

# JSON: {"coll": [...]} and a bare array with --into
cat >more.json <<'EOF'
{"opportunities": [
  {"id": "OP-1", "client": "CL-VNM", "kind": "upsell", "value": 800000000, "stage": "proposal", "probability": 0.5, "owner": "ST-HOA", "expected_close": "2027-01-15"},
  {"id": "OP-2", "client": "CL-ABC", "kind": "new", "value": "1.500.000", "stage": "lead", "services": ["tvc", "kol"]}
],
 "activities": [
  {"client": "CL-VNM", "kind": "qbr", "date": "26/11/2026", "by": "ST-HOA", "notes": "Họp quý \"Q4\""}
]}
EOF
expect_out 'imported 3 rows' kam import more.json
expect_eq 0.5 kam eval 'return db.opportunities:get("OP-1").probability'
expect_eq 1500000 kam eval 'return db.opportunities:get("OP-2").value'
expect_eq 'tvc kol' kam eval 'return table.concat(db.opportunities:get("OP-2").services, " ")'
expect_eq 'Họp quý "Q4"|2026-11-26' kam eval 'local a = db.activities:first() return a.notes .. "|" .. a.date'
cat >list.json <<'EOF'
[
  {"id": "PAY-1", "invoice": "INV-1", "amount": 50000000, "date": "2026-10-15"},
  {"id": "PAY-2", "invoice": "INV-1", "amount": 100000000, "date": "2026-11-20", "method": "cash"}
]
EOF
expect_fail 1 "no collection 'list'" kam import list.json
expect_out 'payments 2' kam import list.json --into payments
expect_eq 150000000 kam --format json eval 'return db.payments:where{invoice = "INV-1"}:sum("amount")'
expect_eq bank_transfer kam eval 'return db.payments:get("PAY-1").method'

# refs to rows later in the same import, across two files of one command
cat >late_inv.csv <<'EOF'
id,client,amount,issued,due
INV-L1,CL-LATE,1000,2026-01-01,2026-02-01
EOF
cat >late_cl.yaml <<'EOF'
clients:
  - {id: CL-LATE, name: Late, parent: CL-LATE2}
  - {id: CL-LATE2, name: Later}
EOF
expect_out 'imported 3 rows' kam import late_inv.csv late_cl.yaml --into invoices
expect_eq CL-LATE2 kam eval 'return db.clients:get(db.invoices:get("INV-L1").client).parent'

# --dry-run writes nothing
cat >dry.yaml <<'EOF'
clients:
  - {id: CL-DRY, name: Dry}
invoices:
  - {client: CL-DRY, amount: 1, issued: 2026-01-01, due: 2026-01-02}
EOF
snapshot "$T/before_dry"
expect_out 'checked 2 rows' kam import --dry-run dry.yaml
check 'dry run says nothing was written' _has 'nothing written' "$OUT"
expect_unchanged "$T/before_dry" 'import --dry-run'
expect_eq nil kam eval 'return tostring(db.clients:get("CL-DRY"))'
# a dry run of a bad file fails like the real import
printf 'clients:\n  - {id: CL-DRY, name: Dry, tier: Z}\n' >drybad.yaml
expect_fail_unchanged 1 'drybad.yaml:2' kam import --dry-run drybad.yaml
# the generated ids of a dry run are not used up
expect_ok kam import dry.yaml
expect_eq INV-000004 kam eval 'return db.invoices:where{client = "CL-DRY"}:first().id'

# ---- bad input: exit 1, file:line, value, rule; the book is unchanged -----

snapshot "$T/base"
unchanged() { expect_unchanged "$T/base" "$1"; }

# wrong type
cat >invoices.csv <<'EOF'
id,client,amount,issued,due
INV-B1,CL-VNM,1000,2026-01-01,2026-02-01
INV-B2,CL-VNM,12abc,2026-01-01,2026-02-01
EOF
expect_fail 1 'invoices.csv:3:3:' kam import invoices.csv
check 'wrong type: names the field' _has 'amount' "$ERR"
check 'wrong type: shows the value' _has '"12abc"' "$ERR"
check 'wrong type: says what was expected' _has 'integer' "$ERR"
check 'says nothing was imported' _has 'nothing was imported' "$ERR"
unchanged 'wrong type in CSV'
cat >bad_type.yaml <<'EOF'
invoices:
  - {id: INV-B1, client: CL-VNM, amount: 1000, issued: 2026-01-01, due: 2026-02-01}
  - id: INV-B2
    client: CL-VNM
    amount: 12abc
    issued: 2026-01-01
    due: 2026-02-01
EOF
expect_fail 1 'bad_type.yaml:5:13:' kam import bad_type.yaml
check 'YAML wrong type: field, value, rule' grep -q 'amount.*"12abc".*integer' "$ERR"
unchanged 'wrong type in YAML'
cat >bad_date.yaml <<'EOF'
invoices:
  - {id: INV-B1, client: CL-VNM, amount: 1000, issued: 2026-02-30, due: 2026-03-01}
EOF
expect_fail 1 'bad_date.yaml:2:' kam import bad_date.yaml
check 'bad date: value and rule' grep -q 'issued.*2026-02-30.*YYYY-MM-DD' "$ERR"
unchanged 'impossible date'
cat >bad_type.json <<'EOF'
{"invoices": [
  {"id": "INV-B1", "client": "CL-VNM", "amount": 1000, "issued": "2026-01-01", "due": "2026-02-01"},
  {"id": "INV-B2", "client": "CL-VNM", "amount": "12abc", "issued": "2026-01-01", "due": "2026-02-01"}
]}
EOF
expect_fail 1 'bad_type.json:3' kam import bad_type.json
check 'JSON wrong type: field, value, rule' grep -q 'amount.*"12abc".*integer' "$ERR"
unchanged 'wrong type in JSON'

# missing required field
cat >noname.yaml <<'EOF'
clients:
  - {id: CL-OK1, name: Fine}
  - id: CL-NONAME
    status: active
EOF
expect_fail 1 'noname.yaml:3' kam import noname.yaml
check 'missing field: names collection, id and field' grep -q 'clients CL-NONAME.*name.*required' "$ERR"
unchanged 'missing required field'
printf 'id,name,status\nCL-OK1,Fine,active\nCL-NONAME,,active\n' >clients.csv
expect_fail 1 'clients.csv:3' kam import clients.csv
check 'CSV missing field: names the field' grep -q 'name.*required' "$ERR"
unchanged 'missing required field (CSV)'

# unknown field / column
printf 'id,name,budget\nCL-U1,X,12\n' >clients.csv
expect_fail 1 'clients.csv:1:3:' kam import clients.csv
check 'unknown column: names it' _has "'budget'" "$ERR"
check 'unknown column: lists the fields' _has 'annual_budget' "$ERR"
unchanged 'unknown CSV column'
cat >unknown.yaml <<'EOF'
clients:
  - id: CL-U1
    name: X
    budjet: 12
EOF
expect_fail 1 'unknown.yaml:4:5:' kam import unknown.yaml
check 'unknown YAML field: names it' _has "'budjet'" "$ERR"
unchanged 'unknown YAML field'
cat >unknown.json <<'EOF'
[
  {"id": "CL-U1",
   "name": "X",
   "budjet": 12}
]
EOF
expect_fail 1 'unknown.json:4' kam import unknown.json --into clients
check 'unknown JSON field: names it' _has "'budjet'" "$ERR"
unchanged 'unknown JSON field'

# enum value not in the list
printf 'id,name,status\nCL-E1,X,active\nCL-E2,Y,zzz\n' >clients.csv
expect_fail 1 'clients.csv:3:3:' kam import clients.csv
check 'enum: value and the allowed values' grep -q '"zzz".*prospect, active, paused, churned' "$ERR"
unchanged 'bad enum value'
printf 'clients:\n  - {id: CL-E1, name: X, tier: E}\n' >enum.yaml
expect_fail 1 'enum.yaml:2:' kam import enum.yaml
check 'YAML enum: value and the allowed values' grep -q '"E".*A, B, C, D' "$ERR"
unchanged 'bad enum value (YAML)'

# ref to a missing entity
printf 'id,name,owner\nCL-R1,X,ST-HOA\nCL-R2,Y,ST-404\n' >clients.csv
expect_fail 1 'clients.csv:3' kam import clients.csv
check 'missing ref: field, value, target' grep -q 'owner.*"ST-404".*staff' "$ERR"
unchanged 'ref to a missing entity'
cat >ref.yaml <<'EOF'
invoices:
  - {id: INV-R1, client: CL-NOPE, amount: 1, issued: 2026-01-01, due: 2026-01-02}
EOF
expect_fail 1 'ref.yaml:2' kam import ref.yaml
check 'YAML missing ref: field, value, target' grep -q 'client.*"CL-NOPE".*clients' "$ERR"
unchanged 'ref to a missing entity (YAML)'

# duplicate id, within the file and against the book
printf 'id,name\nCL-D1,X\nCL-D2,Y\nCL-D1,Z\n' >clients.csv
expect_fail 1 'clients.csv:4' kam import clients.csv
check 'duplicate in file: names the id' grep -q 'CL-D1.*duplicate' "$ERR"
unchanged 'duplicate id within the file'
printf 'id,name\nCL-D1,X\nCL-VNM,Again\n' >clients.csv
expect_fail 1 'clients.csv:3' kam import clients.csv
check 'duplicate against the book: names the id' grep -q 'CL-VNM.*duplicate' "$ERR"
unchanged 'duplicate id against the book'
printf 'clients:\n  - {id: CL-D1, name: X}\n  - {id: CL-D1, name: Y}\n' >dup.yaml
expect_fail 1 'dup.yaml:3' kam import dup.yaml
unchanged 'duplicate id within YAML'

# malformed CSV: an unclosed quote (opened on line 3)
printf 'id,name\nCL-M1,ok\nCL-M2,"open\nCL-M3,x\n' >clients.csv
expect_fail 1 'clients.csv:3' kam import clients.csv
check 'unclosed quote: says malformed CSV' _has 'malformed CSV' "$ERR"
unchanged 'unclosed quote'
printf 'id,name\nCL-M1,"ok"x\n' >clients.csv
expect_fail 1 'clients.csv:2' kam import clients.csv
unchanged 'text after a closing quote'
printf 'id,name\nCL-M1,ok,extra\n' >clients.csv
expect_fail 1 'clients.csv:2:3' kam import clients.csv
unchanged 'more cells than columns'

# malformed YAML: bad indentation, with line:column
cat >indent.yaml <<'EOF'
clients:
  - id: CL-Y1
    name: Bad
      status: active
EOF
expect_fail 1 'indent.yaml:4:' kam import indent.yaml
check 'YAML error has line:column' grep -Eq 'indent\.yaml:4:[0-9]+: ' "$ERR"
unchanged 'YAML bad indentation'
cat >indent2.yaml <<'EOF'
clients:
  - id: CL-Y1
    name: Bad
   status: active
EOF
expect_fail 1 'indent2.yaml:4:' kam import indent2.yaml
check 'YAML dedent error has line:column' grep -Eq 'indent2\.yaml:4:[0-9]+: ' "$ERR"
unchanged 'YAML bad dedent'

# malformed JSON, with line:column
cat >broken.json <<'EOF'
{"clients": [
  {"id": "CL-J1", "name": "A"},
  {"id": "CL-J2" "name": "B"}
]}
EOF
expect_fail 1 'broken.json:3:18:' kam import broken.json
unchanged 'malformed JSON'
printf '{"clients": [\n  {"id": "CL-J1", "name": "A"},\n' >trunc.json
expect_fail 1 'trunc.json:' kam import trunc.json
check 'truncated JSON: line:col' grep -Eq 'trunc\.json:[23]:[0-9]+: ' "$ERR"
unchanged 'truncated JSON'

# not UTF-8 (Latin-1 bytes)
printf 'id,name\nCL-L1,ok\nCL-L2,caf\xe9\n' >clients.csv
expect_fail 1 'clients.csv:3' kam import clients.csv
check 'Latin-1 CSV: says UTF-8' _has 'UTF-8' "$ERR"
unchanged 'Latin-1 CSV'
printf 'clients:\n  - {id: CL-L1, name: ok}\n  - {id: CL-L2, name: "caf\xe9"}\n' >latin.yaml
expect_fail 1 'latin.yaml:3' kam import latin.yaml
check 'Latin-1 YAML: says UTF-8' _has 'UTF-8' "$ERR"
unchanged 'Latin-1 YAML'
printf '[\n {"id": "CL-L1", "name": "ok"},\n {"id": "CL-L2", "name": "caf\xe9"}\n]\n' >latin.json
expect_fail 1 'latin.json:3' kam import latin.json --into clients
check 'Latin-1 JSON: says UTF-8' _has 'UTF-8' "$ERR"
unchanged 'Latin-1 JSON'

# unknown extension, unknown collection
printf 'id,name\nCL-X1,x\n' >clients.txt
expect_fail 1 'clients.txt' kam import clients.txt
check 'unknown extension: lists the known ones' _has '.csv' "$ERR"
unchanged 'unknown extension'
printf 'customers:\n  - {id: CU-1, name: x}\n' >coll.yaml
expect_fail 1 "coll.yaml:1:1: no collection 'customers'" kam import coll.yaml
unchanged 'unknown collection (YAML)'
printf 'id,name\nCU-1,x\n' >customers.csv
expect_fail 1 "no collection 'customers'" kam import customers.csv
unchanged 'unknown collection (CSV)'
printf '{"customers": [{"id": "CU-1"}]}\n' >coll.json
expect_fail 1 "no collection 'customers'" kam import coll.json
unchanged 'unknown collection (JSON)'
expect_fail 1 'nosuchfile.yaml' kam import nosuchfile.yaml
unchanged 'missing file'

# all or nothing across files: a good file and a bad one
printf 'clients:\n  - {id: CL-GOOD, name: Good}\n' >good.yaml
expect_fail 1 'drybad.yaml:2' kam import good.yaml drybad.yaml
unchanged 'good file + bad file'

# several errors are all reported
printf 'id,name,tier\nCL-S1,X,Z\nCL-S2,,A\nCL-S3,Y,Q\n' >clients.csv
expect_fail 1 'clients.csv:2:3' kam import clients.csv
check 'second error reported too' _has 'clients.csv:3' "$ERR"
check 'third error reported too' _has 'clients.csv:4:3' "$ERR"
unchanged 'several bad rows'

# row 5000 of 5000 is bad: nothing is imported
{
  echo 'id,client,amount,issued,due,status'
  awk 'BEGIN { for (i = 1; i < 5000; i++) printf "INV-BIG%05d,CL-VNM,%d,2026-01-01,2026-02-01,issued\n", i, i * 1000 }'
  echo 'INV-BIG05000,CL-VNM,1000,2026-01-01,2026-02-01,lost'
} >big.csv
expect_fail 1 'big.csv:5001:6:' kam import big.csv --into invoices
check 'row 5000: value and rule' grep -q '"lost".*draft, issued, paid, overdue, disputed' "$ERR"
unchanged 'row 5000 of 5000 bad'
expect_eq 0 kam eval 'return db.invoices:where{id = {">=", "INV-BIG"}}:where(function(i) return i.id:sub(1, 7) == "INV-BIG" end):count()'
# and the same file with the last row fixed imports all 5000
sed -i 's/,lost$/,paid/' big.csv
expect_out 'invoices 5000' kam import big.csv --into invoices
expect_eq 5000 kam eval 'return db.invoices:where(function(i) return i.id:sub(1, 7) == "INV-BIG" end):count()'

finish
