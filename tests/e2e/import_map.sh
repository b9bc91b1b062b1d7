#!/usr/bin/env bash
# import_map.sh — kam import --map NAME: ad platforms' spend exports (their
# Vietnamese headers, Excel's BOM, CRLF, title lines and total rows, UTF-16)
# read through config/import/NAME.yaml; what is wrong in a file or a map is
# said with file:line:column, and nothing is imported.
. "$(dirname "$0")/lib.sh" "$@"
setup
# the temporary files of a conversion go here, and must not stay
export TMPDIR=$T/tmpd
mkdir -p "$TMPDIR"

cat >book.yaml <<'EOF'
teams:
  - {id: TM-ACC, name: "Khối Khách hàng", kind: Account}
staff:
  - {id: ST-HOA, name: "Lê Thị Hoa", role: account_manager, team: TM-ACC}
clients:
  - {id: CL-SAOMAI, name: "Công ty TNHH Mỹ phẩm Sao Mai", industry: cosmetics, status: active, owner: ST-HOA, team: TM-ACC}
  - {id: CL-DATVIET, name: "Cà phê Đất Việt", industry: F&B, status: active, owner: ST-HOA, team: TM-ACC}
contracts:
  - {id: HD-000001, client: CL-SAOMAI, value: 1200000000, start: 2026-01-01, end: 2026-12-31, status: active,
     lines: [{line: media, budget: 900000000}, {line: production, budget: 300000000}]}
  - {id: HD-000002, client: CL-DATVIET, value: 600000000, start: 2026-01-01, end: 2026-12-31, status: active,
     lines: [{line: media, budget: 500000000}]}
projects:
  - {id: PRJ-000001, client: CL-SAOMAI, contract: HD-000001, name: "Sao Mai Tết 2027", status: running}
  - {id: PRJ-000002, client: CL-SAOMAI, contract: HD-000001, name: "Sao Mai Always-on", status: running}
  - {id: PRJ-000003, client: CL-DATVIET, contract: HD-000002, name: "Đất Việt – cà phê muối", status: running}
EOF
expect_ok kam import book.yaml
n_spend() { kam eval 'return db.spend:count()'; }
sp() { kam eval "local s = db.spend:where{project = '$1'}:sort('date'):first() return s and s.$2"; }

# ---- Meta Ads Manager (Vietnamese): BOM, CRLF, quoted names with commas ----------
printf '\xef\xbb\xbf"Bắt đầu báo cáo","Kết thúc báo cáo","Tên chiến dịch","Phân phối chiến dịch","Lần hiển thị","Số tiền đã chi tiêu (VND)"\r\n' >spend_meta.csv
printf '"2026-11-01","2026-11-01","PRJ-000001 | Sao Mai | Tết 2027, chuyển đổi","Đang hoạt động","120345","12345678"\r\n' >>spend_meta.csv
printf '"02/11/2026","02/11/2026","Đất Việt – cà phê muối (PRJ-000003)","Đã tắt","5000","1.234.567"\r\n' >>spend_meta.csv
printf '"2026-11-03","2026-11-03","PRJ-000002 Always-on","Đang hoạt động","777","1,234,567.00"\r\n' >>spend_meta.csv
expect_out 'imported 3 rows: spend 3' kam import spend_meta.csv --map meta_ads_vi
expect_eq 12345678 sp PRJ-000001 amount
expect_eq 2026-11-01 sp PRJ-000001 date
expect_eq 'PRJ-000001 | Sao Mai | Tết 2027, chuyển đổi' sp PRJ-000001 budget_ref
expect_eq 1234567 sp PRJ-000003 amount
expect_eq 2026-11-02 sp PRJ-000003 date
expect_eq 'Đất Việt – cà phê muối (PRJ-000003)' sp PRJ-000003 budget_ref
expect_eq 1234567 sp PRJ-000002 amount
expect_eq 'media media Meta Platforms Ireland Ltd HD-000002' \
  kam eval 'local s = db.spend:where{project = "PRJ-000003"}:first() return s.category .. " " .. s.contract_line .. " " .. s.vendor .. " " .. s.contract'

# ---- Google Ads: two title lines, 1.234.567, ISO dates, "Tổng:" rows ---------------
cat >spend_google.csv <<'EOF'
Báo cáo chiến dịch
"1 tháng 11, 2026 - 30 tháng 11, 2026"
Trạng thái chiến dịch,Chiến dịch,Ngày,Mã tiền tệ,Chi phí,Số lần hiển thị,Số lượt nhấp,CTR,CPC tr.bình
Đang bật,PRJ-000002 Sao Mai – Tìm kiếm thương hiệu,2026-11-05,VND,"2.500.000",10.234,512,"5,00%",4.883
Đã tạm dừng,"PRJ-000003 Đất Việt, Hiển thị",2026-11-06,VND,"750.000",45.000,90,"0,20%",8.333
Tổng: Tài khoản,,,VND,"3.250.000",55.234,602,"1,09%",5.399
Tổng: Chiến dịch,,,VND,"3.250.000",55.234,602,"1,09%",5.399
EOF
expect_out 'imported 2 rows: spend 2' kam import spend_google.csv --map google_ads_vi
expect_eq '2500000 2026-11-05 Google Asia Pacific Pte. Ltd.' \
  kam eval 'local s = db.spend:where{project = "PRJ-000002", date = "2026-11-05"}:first() return s.amount .. " " .. s.date .. " " .. s.vendor'
expect_eq 750000 kam eval 'return db.spend:where{project = "PRJ-000003", date = "2026-11-06"}:first().amount'

# ---- TikTok Ads: 1,234,567.00, a total row; the same as UTF-16 -------------------
printf 'Tên chiến dịch,ID chiến dịch,Ngày,Chi phí,Tiền tệ\nPRJ-000001_SaoMai_TopView,1789000111,2026-11-07,"1,234,567.00",VND\nTổng,,,"1,234,567.00",VND\n' >spend_tiktok.csv
expect_out 'imported 1 row: spend 1' kam import spend_tiktok.csv --map tiktok_ads_vi
expect_eq '1234567 TikTok Pte. Ltd.' kam eval 'local s = db.spend:where{project = "PRJ-000001", date = "2026-11-07"}:first() return s.amount .. " " .. s.vendor'
if command -v iconv >/dev/null; then
  iconv -f UTF-8 -t UTF-16 spend_tiktok.csv >spend_tiktok16.csv
  expect_out 'checked 1 row: spend 1 (dry run' kam import spend_tiktok16.csv --map tiktok_ads_vi --dry-run
fi
N=$(n_spend)
expect_eq 6 n_spend

# ---- a header the map does not know: named, with line 1 and its column -----------
printf '\xef\xbb\xbf"Bắt đầu báo cáo","Tên chiến dịch","Lần hiển thị","Lượt click","Số tiền đã chi tiêu (VND)"\r\n"2026-11-01","PRJ-000001 x","1","2","100"\r\n' >spend_meta2.csv
expect_fail_unchanged 1 "kam: spend_meta2.csv:1:4: column 'Lượt click' is not in config/import/meta_ads_vi.yaml (add it, or \`skip\`)" \
  kam import spend_meta2.csv --map meta_ads_vi
check 'an unknown header: nothing imported' grep -q 'nothing was imported' "$ERR"
expect_eq "$N" n_spend

# another platform's file through a map: said once, not once per cell
expect_fail_unchanged 1 "spend_meta.csv:3: none of the headers of this row ('02/11/2026', '02/11/2026', 'Đất Việt – cà phê muối (PRJ-000003)' ...) is in config/import/google_ads_vi.yaml" \
  kam import spend_meta.csv --map google_ads_vi

# ---- values the formats refuse: line, column, header, field and value ------------
printf '"Bắt đầu báo cáo","Tên chiến dịch","Số tiền đã chi tiêu (VND)"\r\n' >bad.csv
printf '"2026-11-08","PRJ-000001 ok","1000000"\r\n' >>bad.csv
printf '"2026-11-08","PRJ-000001 a","12,5 triệu"\r\n' >>bad.csv
printf '"31/02/2026","PRJ-000001 b","100"\r\n' >>bad.csv
printf '"2026-11-08","Sale 11.11 không mã dự án","100"\r\n' >>bad.csv
expect_fail_unchanged 1 "bad.csv:3:3: 'Số tiền đã chi tiêu (VND)' (spend.amount): \"12,5 triệu\" is not an amount in đồng" \
  kam import bad.csv --map meta_ads_vi
check 'a bad date: its line, column and field' grep -qF "bad.csv:4:1: 'Bắt đầu báo cáo' (spend.date): \"31/02/2026\" is not a real date (2026-02 has 28 days)" "$ERR"
check 'no project in the name: the pattern said' grep -qF "bad.csv:5:2: 'Tên chiến dịch': \"Sale 11.11 không mã dự án\" has no match for (PRJ-[0-9]+) (spend.project)" "$ERR"
expect_eq "$N" n_spend

# what the importer finds wrong still names the foreign file, its line and column
printf '"Bắt đầu báo cáo","Tên chiến dịch","Số tiền đã chi tiêu (VND)"\r\n"2026-11-09","PRJ-000001 ok","100"\r\n"2026-11-09","PRJ-000999 lạ","100"\r\n' >ref.csv
expect_fail_unchanged 1 'ref.csv:3:2: spend SP-' kam import ref.csv --map meta_ads_vi
check 'the importer names the value' grep -q 'value "PRJ-000999" is not an id in projects' "$ERR"
check 'no temporary file is named' bash -c "! grep -q 'kam-map' '$ERR'"

# ---- maps that are not there, or not right ----------------------------------------
expect_fail 2 'import: --map meta_ads: no config/import/meta_ads.yaml (maps: google_ads_vi, meta_ads_vi, tiktok_ads_vi)' \
  kam import spend_meta.csv --map meta_ads
expect_fail 2 'import: --into invoices: the map config/import/meta_ads_vi.yaml fills spend' \
  kam import spend_meta.csv --map meta_ads_vi --into invoices
tmp_project "$T/proj"
P="$T/proj/config"
printf 'into: spend\ncolumns:\n  "Chi phí": {field: amount, format: money}\n  "Ngày": [date\n' >"$P/import/broken.yaml"
expect_fail 1 'kam: config/import/broken.yaml:5:1: ' "$KAM_BIN" --config "$P/kam.yaml" --db "$BOOK" import spend_google.csv --map broken
printf 'into: spend\ncolumns:\n  "Chi phí": {field: amout, format: money}\n' >"$P/import/typo.yaml"
expect_fail 1 "kam: config/import/typo.yaml:3:22: 'amout' is not a field of spend" \
  "$KAM_BIN" --config "$P/kam.yaml" --db "$BOOK" import spend_google.csv --map typo
printf 'into: spend\ncolumns:\n  "Ngày": {field: date, format: money}\n' >"$P/import/fmt.yaml"
expect_fail 1 "kam: config/import/fmt.yaml:3:33: format money does not fit spend.date, a date" \
  "$KAM_BIN" --config "$P/kam.yaml" --db "$BOOK" import spend_google.csv --map fmt
printf 'into: spend\ncolumns: {"A": amount}\nextract:\n  project: {from: "A", pattern: "(PRJ-[0-9]+"}\n' >"$P/import/re.yaml"
expect_fail 1 "kam: config/import/re.yaml:4:33: pattern \"(PRJ-[0-9]+\": " \
  "$KAM_BIN" --config "$P/kam.yaml" --db "$BOOK" import spend_google.csv --map re
# a pattern whose repetitions would take gigabytes to compile is refused when the map loads
printf 'into: spend\ncolumns: {"A": amount}\nextract:\n  project: {from: "A", pattern: "(a+)+(b+)+(c+)+(d+)+(e+)+(f+)+(g+)+(h+)+(i+)+"}\n' >"$P/import/rep.yaml"
expect_fail 1 "kam: config/import/rep.yaml:4:33: pattern" \
  "$KAM_BIN" --config "$P/kam.yaml" --db "$BOOK" import spend_google.csv --map rep
check 'the pattern bound is said' grep -q '16 repetitions' "$ERR"
expect_eq "$N" n_spend

# ---- --dry-run, and nothing left behind --------------------------------------------
expect_out 'checked 3 rows: spend 3 (dry run: nothing written)' kam import spend_meta.csv --map meta_ads_vi --dry-run
expect_eq "$N" n_spend
check 'the temporary files are gone' bash -c "[ -z \"\$(ls -A '$TMPDIR')\" ]"

finish
