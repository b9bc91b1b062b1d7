#!/usr/bin/env bash
# export.sh — kam export in csv, json and yaml gives files that kam import
# reads back into the same book; --where filters.
. "$(dirname "$0")/lib.sh" "$@"
setup

cat >book.yaml <<'EOF'
teams:
  - {id: TM-ACC, name: "Khối Khách hàng", kind: Account, lead: ST-LAN}
  - {id: TM-MED, name: "Media", kind: Media}
staff:
  - {id: ST-LAN, name: "Nguyễn Thị Lan", role: team_lead, team: TM-ACC, capacity: 6, hire_date: 2020-01-15, os_user: lan}
  - {id: ST-HOA, name: "Lê Thị Hoa", role: account_manager, team: TM-ACC, manager: ST-LAN, email: "hoa@saoviet.vn"}
  - {id: ST-TUAN, name: "Phạm Anh Tuấn", role: media, team: TM-MED, status: leave}
clients:
  - id: CL-VNM
    name: "Vinamilk"
    legal_name: "Công ty Cổ phần Sữa Việt Nam"
    tax_code: "0300588569"
    industry: FMCG
    status: active
    tier: A
    owner: ST-HOA
    team: TM-ACC
    annual_budget: 12000000000
    strategic: true
    kpis: [reach, "sales, volume", {name: nps, target: 40}]
    csat: 4.5
    objective: "Tăng trưởng \"bền vững\",\nhai dòng"
    first_engaged: 2019-05-01
    city: "Hồ Chí Minh"
  - {id: CL-PHO, name: "Phở Thìn", industry: F&B, status: prospect, owner: ST-LAN, parent: CL-VNM, csat: 3, annual_budget: 0}
  - {id: CL-EMPTY, name: "Trống"}
plans:
  - id: PL-1
    client: CL-VNM
    kind: JBP
    period: "2026"
    target_revenue: 5000000000
    targets: {revenue: 5000000000, nps: 42.5, channels: [tv, social], note: "ổn"}
    signatories: [ST-LAN, ST-HOA]
    status: signed
    signed_date: 2026-01-10
invoices:
  - {id: INV-1, client: CL-VNM, amount: 150000000, tax: 15000000, issued: 2026-09-01, due: 2026-10-01, status: overdue, note: "Hóa đơn, quý 3"}
  - {id: INV-2, client: CL-VNM, amount: 1234567, issued: 2026-11-26, due: 2026-12-26}
  - {id: INV-3, client: CL-PHO, amount: 5000000, issued: 2026-11-01, due: 2026-12-01, status: paid, paid_date: 2026-11-20}
payments:
  - {id: PAY-1, invoice: INV-3, amount: 5000000, date: 2026-11-20, method: cash}
opportunities:
  - {id: OP-1, client: CL-VNM, kind: upsell, value: 800000000, stage: proposal, probability: 0.35, owner: ST-HOA, expected_close: 2027-01-15, services: [tvc, kol]}
  - {id: OP-2, prospect: "Công ty Mới", kind: new, value: 100000000, stage: lead}
activities:
  - {id: AC-1, client: CL-VNM, kind: qbr, date: 2026-10-05, by: ST-HOA, notes: "Họp quý; \"tốt\""}
requests:
  - id: RQ-1
    kind: discount
    subject: OP-1
    amount: 40000000
    margin_after: 0.18
    requested_by: ST-HOA
    chain: [team_lead, director]
    approvals: [{by: lan, step: team_lead, ok: true, at: "2026-11-01T09:00:00+07:00"}]
    raised: 2026-10-30
EOF
expect_out 'imported 17 rows' kam import book.yaml
# a few entities through kam itself, with generated ids
expect_ok kam eval 'kam.tx(function() db.activities:insert{client = "CL-PHO", kind = "call", date = "2026-11-02"} db.kpis:insert{scope = "staff", subject = "ST-HOA", metric = "revenue", period = "2026-Q3", target = 1e9, actual = 8.5e8} end)'

COLLS=$(collections "$KAM_SRC/config/schema.yaml")
check 'the schema lists the contract collections' [ "$(echo "$COLLS" | wc -w)" -ge 23 ]

for fmt in csv json yaml; do
  mkdir -p "$T/$fmt/a" "$T/$fmt/b"
  for c in $COLLS; do
    kam --format "$fmt" export "$c" >"$T/$fmt/a/$c.$fmt" 2>"$ERR" || { _fail "export $c --format $fmt" "exit $?"; continue; }
  done
  newbook "$T/$fmt.db"
  # every collection in one import: refs between files resolve
  expect_out 'imported 19 rows' "$KAM_BIN" --config "$CONFIG" --db "$T/$fmt.db" import "$T/$fmt/a/"*."$fmt"
  for c in $COLLS; do
    "$KAM_BIN" --config "$CONFIG" --db "$T/$fmt.db" --format "$fmt" export "$c" >"$T/$fmt/b/$c.$fmt" 2>&1
  done
  check "$fmt: export -> import -> export is byte for byte the same" diff -r "$T/$fmt/a" "$T/$fmt/b"
  # and the re-imported book is the same book, whatever the format
  snapshot "$T/$fmt.snap" "$T/$fmt.db"
done
snapshot "$T/orig.snap"
check 'the csv round trip gives the same book' cmp -s "$T/orig.snap" "$T/csv.snap"
check 'the json round trip gives the same book' cmp -s "$T/orig.snap" "$T/json.snap"
check 'the yaml round trip gives the same book' cmp -s "$T/orig.snap" "$T/yaml.snap"

# the same comparison on values, with map keys sorted (independent of the
# order in which export writes a map's keys)
cat >dump.lua <<'LUA'
local function ser(v)
  if type(v) ~= "table" then return string.format("%q", v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. "=" .. ser(v[k]) end
  return "{" .. table.concat(out, ",") .. "}"
end
local lines = {}
for i = 1, #arg do
  for e in db[arg[i]]:all():sort("id"):each() do
    local f = {}
    for k, v in pairs(e) do f[#f + 1] = k .. "=" .. ser(v) end
    table.sort(f)
    lines[#lines + 1] = arg[i] .. " " .. table.concat(f, " ")
  end
end
return table.concat(lines, "\n")
LUA
# shellcheck disable=SC2086
kam run dump.lua $COLLS >"$T/orig.dump"
check 'the canonical dump has every entity' [ "$(wc -l <"$T/orig.dump")" -ge 18 ]
for fmt in csv json yaml; do
  # shellcheck disable=SC2086
  "$KAM_BIN" --config "$CONFIG" --db "$T/$fmt.db" run dump.lua $COLLS >"$T/$fmt.dump"
  check "$fmt round trip: same values (map keys sorted)" diff "$T/orig.dump" "$T/$fmt.dump"
done

# one book exported twice gives the same bytes
for fmt in csv json yaml; do
  kam --format "$fmt" export clients >"$T/x1"
  kam --format "$fmt" export plans >>"$T/x1"
  kam --format "$fmt" export requests >>"$T/x1"
  kam --format "$fmt" export clients >"$T/x2"
  kam --format "$fmt" export plans >>"$T/x2"
  kam --format "$fmt" export requests >>"$T/x2"
  check "$fmt: two exports of the same book are identical (map keys in a stable order)" cmp -s "$T/x1" "$T/x2"
done

# values that are easy to lose on the way
B2() { "$KAM_BIN" --config "$CONFIG" --db "$T/csv.db" "$@"; }
expect_eq 'Tăng trưởng "bền vững",
hai dòng' B2 eval 'return db.clients:get("CL-VNM").objective'
expect_eq '0300588569' B2 eval 'return db.clients:get("CL-VNM").tax_code'
expect_eq 'sales, volume|40' B2 eval 'local k = db.clients:get("CL-VNM").kpis return k[2] .. "|" .. k[3].target'
expect_eq '42.5 social' B2 eval 'local t = db.plans:get("PL-1").targets return t.nps .. " " .. t.channels[2]'
expect_eq 'true' B2 eval 'return db.requests:get("RQ-1").approvals[1].ok'
expect_eq 'true 4.5 true' B2 eval 'local a, b = db.clients:get("CL-VNM"), db.clients:get("CL-PHO") return tostring(a.strategic) .. " " .. a.csat .. " " .. tostring(b.csat == 3)'
expect_eq 'nil nil' B2 eval 'local c = db.clients:get("CL-EMPTY") return tostring(c.tier) .. " " .. tostring(c.owner)'
expect_eq 850000000 B2 eval 'return db.kpis:first().actual'
expect_eq 2 B2 eval 'return db.activities:count()'
# AC-1 moved the sequence to 1, so kam.tx's insert above got AC-000002
expect_eq 'AC-000002' B2 eval 'return db.activities:where{client = "CL-PHO"}:first().id'
# sequences follow the imported ids: the next generated id is new
expect_eq 'AC-000003' B2 eval 'return kam.tx(function() return db.activities:insert{client = "CL-PHO", kind = "call", date = "2026-11-03"} end)'

# export formats
expect_out 'id,created_at,updated_at,name,' kam export clients
check 'csv export has CRLF rows' grep -q $'\r$' "$OUT"
expect_out '{"clients": [' kam --format json export clients
expect_out '"annual_budget": 12000000000' kam --format json export clients
expect_out 'clients:' kam --format yaml export clients
expect_out '  - id: "CL-VNM"' kam --format yaml export clients
expect_out '[]' kam --format yaml export risks
expect_eq '{"risks": []}' kam --format json export risks
expect_out 'id,created_at' kam export risks
# CSV for Excel: a UTF-8 byte-order mark first, then the same CRLF rows; kam import reads it back
bom() { head -c 3 "$1" | od -An -tx1 | tr -d ' \n'; }
expect_ok kam export staff
cp "$OUT" "$T/staff.plain.csv"
check 'csv export has no byte-order mark' [ "$(bom "$T/staff.plain.csv")" != efbbbf ]
expect_ok kam export staff --excel
cp "$OUT" "$T/staff.excel.csv"
check 'export --excel starts with a UTF-8 byte-order mark' [ "$(bom "$T/staff.excel.csv")" = efbbbf ]
check 'export --excel ends every line with CRLF' [ "$(grep -vc $'\r$' "$T/staff.excel.csv")" = 0 ]
check 'export --excel is the csv export after the mark' cmp -s <(tail -c +4 "$T/staff.excel.csv") "$T/staff.plain.csv"
check 'export --excel keeps Vietnamese text as UTF-8' grep -q 'Nguyễn Thị Lan' "$T/staff.excel.csv"
expect_out 'Phạm Anh Tuấn' kam export staff --excel --where 'status == "leave"'
expect_fail 2 'export: --excel is for --format csv' kam --format json export staff --excel
newbook "$T/excel.db"
kam export teams --excel >"$T/teams.csv"
expect_out 'imported 5 rows' "$KAM_BIN" --config "$CONFIG" --db "$T/excel.db" import "$T/teams.csv" "$T/staff.excel.csv"

# --where: an expression, a table, a function
expect_eq 2 bash -c '"$0" --config "$1" --db "$2" export invoices --where "client == \"CL-VNM\"" | tail -n +2 | wc -l' "$KAM_BIN" "$CONFIG" "$BOOK"
expect_eq 1 bash -c '"$0" --config "$1" --db "$2" export invoices --where "amount > 100000000" | tail -n +2 | wc -l' "$KAM_BIN" "$CONFIG" "$BOOK"
expect_out 'INV-1,' kam export invoices --where '{status = "overdue"}'
expect_not 'INV-2,' kam export invoices --where '{status = "overdue"}'
expect_out 'INV-3,' kam export invoices --where 'function(i) return i.paid_date ~= nil end'
expect_not 'INV-1,' kam export invoices --where 'function(i) return i.paid_date ~= nil end'
expect_out '"id": "INV-2"' kam --format json export invoices --where '{issued = {">=", "2026-11-15"}}'
expect_not '"id": "INV-3"' kam --format json export invoices --where '{issued = {">=", "2026-11-15"}}'
expect_eq '{"invoices": []}' kam --format json export invoices --where 'amount < 0'
expect_fail 1 'nope' kam export invoices --where '{nope = 1}'
expect_fail 1 '--where' kam export invoices --where 'amount >'

finish
