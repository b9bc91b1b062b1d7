#!/usr/bin/env bash
# reconcile.sh — kam reconcile: the month's spend in the book against a
# platform's export (through a shipped map) or a plain CSV: matched within the
# tolerance of rules/reconciliation.lua, disputed outside it (4.999.999 ₫ on a
# 100 triệu line is never matched), missing on either side; a re-run updates
# rather than doubles; a bad row, or a role other than finance, writes nothing.
# Then once on the demo book, against figures made from its own spend.
. "$(dirname "$0")/lib.sh" "$@"
setup

cat >book.yaml <<'EOF'
teams:
  - {id: TM-ACC, name: "Khối Khách hàng", kind: Account, lead: ST-LAN}
  - {id: TM-FIN, name: "Tài chính – Kế toán", kind: Finance}
staff:
  - {id: ST-LAN, name: "Nguyễn Thị Lan", role: team_lead, team: TM-ACC}
  - {id: ST-HOA, name: "Lê Thị Hoa", role: account_manager, team: TM-ACC, manager: ST-LAN}
  - {id: ST-HA, name: "Đỗ Thu Hà", role: finance, team: TM-FIN}
clients:
  - {id: CL-SAOMAI, name: "Công ty TNHH Mỹ phẩm Sao Mai", industry: cosmetics, status: active, owner: ST-HOA, team: TM-ACC}
  - {id: CL-DATVIET, name: "Cà phê Đất Việt", industry: F&B, status: active, owner: ST-HOA, team: TM-ACC}
contracts:
  - {id: HD-000001, client: CL-SAOMAI, value: 2000000000, start: 2026-01-01, end: 2026-12-31, status: active,
     lines: [{line: media, budget: 1500000000}, {line: production, budget: 500000000}]}
  - {id: HD-000002, client: CL-DATVIET, value: 900000000, start: 2026-01-01, end: 2026-12-31, status: active,
     lines: [{line: media, budget: 900000000}]}
projects:
  - {id: PRJ-000001, client: CL-SAOMAI, contract: HD-000001, name: "Sao Mai Tết 2027", status: running}
  - {id: PRJ-000002, client: CL-SAOMAI, contract: HD-000001, name: "Sao Mai Always-on", status: running}
  - {id: PRJ-000003, client: CL-DATVIET, contract: HD-000002, name: "Đất Việt – cà phê muối", status: running}
  - {id: PRJ-000004, client: CL-DATVIET, contract: HD-000002, name: "Đất Việt – mùa Tết", status: running}
spend:
  # PRJ-000001: 100 triệu on Meta in November (two rows), and what does not count
  - {project: PRJ-000001, contract: HD-000001, contract_line: media, category: media, vendor: "Meta Platforms Ireland Ltd", amount: 60000000, date: 2026-11-03}
  - {project: PRJ-000001, contract: HD-000001, contract_line: media, category: media, vendor: "Meta Platforms Ireland Ltd", amount: 40000000, date: 2026-11-15}
  - {project: PRJ-000001, contract: HD-000001, contract_line: media, category: media, vendor: "Meta Platforms Ireland Ltd", amount: 9000000, date: 2026-11-16, status: rejected}
  - {project: PRJ-000001, contract: HD-000001, contract_line: media, category: media, vendor: "Meta Platforms Ireland Ltd", amount: 7000000, date: 2026-10-31}
  - {project: PRJ-000001, contract: HD-000001, contract_line: production, category: production, vendor: "Studio Chụp ảnh Mộc", amount: 30000000, date: 2026-11-10}
  # PRJ-000002: 100 triệu; Meta will say 4.999.999 ₫ less
  - {project: PRJ-000002, contract: HD-000001, contract_line: media, category: media, vendor: "Meta Platforms Ireland Ltd", amount: 100000000, date: 2026-11-20}
  # PRJ-000003: ours only; PRJ-000004: theirs only
  - {project: PRJ-000003, contract: HD-000002, contract_line: media, category: media, vendor: "Meta Platforms Ireland Ltd", amount: 20000000, date: 2026-11-05}
EOF
expect_ok kam import book.yaml
n_rec() { kam eval 'return db.reconciliations:count()'; }
rec() { kam eval "local r = db.reconciliations:where{project = '$1'}:sort('id', 'desc'):first() return r and r.$2"; }

# Meta's figures for November, as Ads Manager exports them (BOM, CRLF, a day per row)
meta() {
  printf '\xef\xbb\xbf"Bắt đầu báo cáo","Kết thúc báo cáo","Tên chiến dịch","Lần hiển thị","Số tiền đã chi tiêu (VND)"\r\n'
  printf '"2026-11-03","2026-11-03","PRJ-000001 | Sao Mai | Tết 2027","120000","59.700.000"\r\n'
  printf '"2026-11-15","2026-11-15","PRJ-000001 | Sao Mai | Tết 2027","80000","40.000.000"\r\n'
  printf '"2026-11-20","2026-11-20","PRJ-000002 | Sao Mai | Always-on","90000","%s"\r\n' "$1"
  printf '"2026-11-21","2026-11-21","Đất Việt – mùa Tết (PRJ-000004)","9000","7.500.000"\r\n'
}
meta 95.000.001 >meta_11.csv

# ---- the first run, as finance ----------------------------------------------------
expect_ok kam --as ST-HA reconcile --period 2026-11 --theirs meta_11.csv --map meta_ads_vi
check 'footer: one of each' grep -qF '1 matched, 1 disputed, 1 missing in theirs, 1 missing in ours; written to reconciliations (4 new, 0 updated, 0 unchanged)' "$OUT"
check 'the table names the client and shows money in đồng' grep -qE 'Công ty TNHH Mỹ phẩm Sao Mai +PRJ-000002 +media +100\.000\.000 ₫ +95\.000\.001 ₫ +4\.999\.999 ₫ +disputed' "$OUT"
check 'matched within the tolerance: 300.000 ₫ apart on 100 triệu' grep -qE 'PRJ-000001 +media +100\.000\.000 ₫ +99\.700\.000 ₫ +300\.000 ₫ +matched' "$OUT"
check 'missing in theirs' grep -qE 'PRJ-000003 +media +20\.000\.000 ₫ +0 ₫ +20\.000\.000 ₫ +disputed +missing in theirs' "$OUT"
check 'missing in ours' grep -qE 'PRJ-000004 +media +0 ₫ +7\.500\.000 ₫ +-7\.500\.000 ₫ +disputed +missing in ours' "$OUT"
expect_eq 4 n_rec
expect_eq matched rec PRJ-000001 status
expect_eq 300000 rec PRJ-000001 difference
expect_eq disputed rec PRJ-000002 status
expect_eq 4999999 rec PRJ-000002 difference
expect_eq '20000000 0 disputed' kam eval 'local r = db.reconciliations:where{project = "PRJ-000003"}:first() return r.ours .. " " .. r.theirs .. " " .. r.status'
expect_eq '0 7500000 -7500000 disputed' kam eval 'local r = db.reconciliations:where{project = "PRJ-000004"}:first() return r.ours .. " " .. r.theirs .. " " .. r.difference .. " " .. r.status'
expect_eq 'CL-SAOMAI media 2026-11 meta_11.csv (meta_ads_vi)' \
  kam eval 'local r = db.reconciliations:where{project = "PRJ-000002"}:first() return r.client .. " " .. r.contract_line .. " " .. r.period .. " " .. r.source'

# ---- again: updated, never doubled --------------------------------------------------
expect_out '(0 new, 0 updated, 4 unchanged)' kam --as ST-HA reconcile --period 2026-11 --theirs meta_11.csv --map meta_ads_vi
expect_eq 4 n_rec
mkdir fixed && meta 100.000.000 >fixed/meta_11.csv  # Meta's corrected figure, the same file name
expect_out '2 matched, 0 disputed, 1 missing in theirs, 1 missing in ours; written to reconciliations (0 new, 1 updated, 3 unchanged)' \
  kam --as ST-HA reconcile --period 2026-11 --theirs fixed/meta_11.csv --map meta_ads_vi
expect_eq 4 n_rec
expect_eq 'matched 0' kam eval 'local r = db.reconciliations:where{project = "PRJ-000002"}:first() return r.status .. " " .. r.difference'
# a resolved one stays as it was resolved: the next run writes a new one
expect_ok kam --as ST-HA eval 'kam.tx(function() db.reconciliations:update(db.reconciliations:where{project = "PRJ-000003"}:first().id, {status = "resolved"}) end)'
expect_out '(1 new, 0 updated, 3 unchanged)' kam --as ST-HA reconcile --period 2026-11 --theirs fixed/meta_11.csv --map meta_ads_vi
expect_eq 5 n_rec
expect_eq 'resolved disputed' kam eval 'local t = {} for r in db.reconciliations:where{project = "PRJ-000003"}:sort("id"):each() do t[#t + 1] = r.status end return table.concat(t, " ")'

# ---- JSON, and --dry-run -------------------------------------------------------------
expect_ok kam --as ST-HA --format json reconcile --period 2026-11 --theirs meta_11.csv --map meta_ads_vi --dry-run
check 'json: counts, rows and the tolerance' python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert (d["matched"], d["disputed"], d["missing_in_theirs"], d["missing_in_ours"]) == (1, 1, 1, 1), d
assert d["dry_run"] is True and d["tolerance"] == {**d["tolerance"], "pct": 0.005, "vnd": 1000000}
r = [x for x in d["rows"] if x["project"] == "PRJ-000002"][0]
assert (r["ours"], r["theirs"], r["difference"], r["status"]) == (100000000, 95000001, 4999999, "disputed"), r
assert r["client"] == "Công ty TNHH Mỹ phẩm Sao Mai" and r["client_id"] == "CL-SAOMAI" and r["id"].startswith("DS-")
' "$OUT"
expect_eq 'matched 0' kam eval 'local r = db.reconciliations:where{project = "PRJ-000002"}:first() return r.status .. " " .. r.difference'

# ---- the client's own figures, a plain CSV of spend fields, per contract line -----------
# (no vendor named: every category of ours counts, for the clients the file has rows for)
printf 'project,contract_line,amount,date\nPRJ-000001,media,100000000,2026-11-30\nPRJ-000001,production,"31.500.000",2026-11-30\n' >client_11.csv
expect_out '1 matched, 1 disputed, 1 missing in theirs, 0 missing in ours' kam --as ST-HA reconcile --period 2026-11 --theirs client_11.csv --dry-run
check 'per line: production 1.500.000 ₫ apart on 30 triệu is disputed' grep -qE 'PRJ-000001 +production +30\.000\.000 ₫ +31\.500\.000 ₫ +-1\.500\.000 ₫ +disputed' "$OUT"
check 'per line: the same client'"'"'s other project is missing in theirs' grep -qE 'PRJ-000002 +media .* +missing in theirs' "$OUT"
check 'the other client is out of scope' bash -c "! grep -q 'Đất Việt' '$OUT'"

# ---- what writes nothing ---------------------------------------------------------------
meta 95.000.001 >bad_11.csv
printf '"2026-11-22","2026-11-22","PRJ-000999 | không có trong sổ","1","1.000.000"\r\n' >>bad_11.csv
expect_fail_unchanged 1 'bad_11.csv:6:3: project "PRJ-000999" is not in the book' \
  kam --as ST-HA reconcile --period 2026-11 --theirs bad_11.csv --map meta_ads_vi
printf 'project,amount,date\nPRJ-000001,100000000,2026-11-30\nPRJ-000002,100000000,2026-12-01\n' >late.csv
expect_fail_unchanged 1 'late.csv:3:3: date 2026-12-01 is outside 2026-11 (2026-11-01 … 2026-11-30)' \
  kam --as ST-HA reconcile --period 2026-11 --theirs late.csv
expect_fail_unchanged 1 "meta_11.csv:1:3: unknown field 'Tên chiến dịch' in spend" kam --as ST-HA reconcile --period 2026-11 --theirs meta_11.csv
expect_fail_unchanged 3 'permission denied' kam --as ST-HOA reconcile --period 2026-11 --theirs fixed/meta_11.csv --map meta_ads_vi
expect_fail_unchanged 3 'permission denied' kam --as ST-LAN reconcile --period 2026-11 --theirs fixed/meta_11.csv --map meta_ads_vi
expect_fail 2 'usage: --period 2026-13' kam --as ST-HA reconcile --period 2026-13 --theirs meta_11.csv --map meta_ads_vi
expect_fail 2 '--map meta: no config/import/meta.yaml (maps: ' kam --as ST-HA reconcile --period 2026-11 --theirs meta_11.csv --map meta
expect_fail 2 'usage: kam reconcile --period P --theirs FILE' kam --as ST-HA reconcile --period 2026-11

# ---- the demo book: last month against Meta's figures made from its own spend ------------
DEMO=$T/demo.db
dk() { "$KAM_BIN" --config "$CONFIG" --db "$DEMO" "$@"; }
dk init --demo >/dev/null
FIN=$(dk eval 'return db.staff:where{role = "finance"}:sort("id"):first().id')
{ printf '\xef\xbb\xbf"Bắt đầu báo cáo","Kết thúc báo cáo","Tên chiến dịch","Lần hiển thị","Số tiền đã chi tiêu (VND)"\r\n'
  dk --format csv ls spend --limit 100000 --fields project,amount,date \
    --where 'vendor == "Meta Platforms Ireland Ltd" and date >= "2026-10-01" and date <= "2026-10-31" and status ~= "rejected"' |
    tr -d '\r' | awk -F, 'NR > 1 { n++; a = $2; if (n == 2) a -= 3000000; split($3, d, "-")
      printf "\"%s/%s/%s\",\"%s/%s/%s\",\"%s | Chiến dịch tháng 10\",\"%d\",\"%d\"\r\n", d[3], d[2], d[1], d[3], d[2], d[1], $1, 1000 * n, a }'
} >demo_meta_10.csv
ROWS=$(($(wc -l <demo_meta_10.csv) - 1))
check 'the demo has Meta spend last month' [ "$ROWS" -gt 3 ]
PAIRS=$(dk eval 'local p = {} local n = 0 for s in db.spend:where{date = {"between", "2026-10-01", "2026-10-31"}, vendor = "Meta Platforms Ireland Ltd"}:each() do
  if s.status ~= "rejected" and not p[s.project] then p[s.project] = true n = n + 1 end end return n')
_run dk --as "$FIN" reconcile --period last_month --theirs demo_meta_10.csv --map meta_ads_vi
if [ "$RC" -eq 0 ]; then _pass; else _fail 'demo: reconcile last_month' "exit $RC"; fi
check 'demo: all but the one changed row match' grep -qF "$((PAIRS - 1)) matched, 1 disputed, 0 missing in theirs, 0 missing in ours; written to reconciliations ($PAIRS new" "$OUT"
check 'demo: the period is last month' grep -q '^đối soát 2026-10 (2026-10-01 … 2026-10-31)' "$OUT"
check 'demo: the disputed one is 3.000.000 ₫ apart' grep -qE ' 3\.000\.000 ₫ +disputed' "$OUT"

finish
