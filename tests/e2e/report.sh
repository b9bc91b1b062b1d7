#!/usr/bin/env bash
# report.sh — kam report executive on the demo book (today pinned to
# 2026-11-26): every format and both languages; the page is checked as a file
# (report_check.py: no script, nothing fetched, every SVG well-formed XML,
# the data block); figures of the page equal the same figures asked of the
# book with kam eval; the same book gives the same bytes; a client named
# with <, & and quotes is escaped; and every mistake a user can make is a
# clear error that writes no file.
. "$(dirname "$0")/lib.sh" "$@"
setup
CHECK=$KAM_SRC/tests/e2e/report_check.py

expect_ok kam init --demo --force
expect_ok kam schedule run nightly

# a client whose name a page must escape, large enough to be among the top accounts
cat >odd.lua <<'EOF'
kam.tx(function()
  db.clients:insert{id = "CL-ODD001", name = [[Ánh <Dương> & "Đối tác" 'Việt']], status = "active", industry = "retail"}
  db.invoices:insert{client = "CL-ODD001", amount = 9000000000, issued = "2026-11-02", due = "2026-12-02", status = "issued"}
end)
EOF
expect_ok kam run odd.lua
# a project of the test's own (its kam.yaml and scripts/reports/ are changed below)
cp -R "$KAM_SRC/scripts" "$KAM_SRC/rules" "$KAM_SRC/config" "$T/"

# ---- every format, both languages
for lang in vi en; do
  for f in html md csv json; do
    expect_ok kam report executive --period 2026-Q4 --lang "$lang" --format "$f" -o "exec.$lang.$f"
    check "executive $lang $f is not empty" test -s "exec.$lang.$f"
  done
  expect_out "ok: exec.$lang.html" python3 "$CHECK" "exec.$lang.html"
done
expect_out 'executive report: exec.vi.html' kam report executive --period 2026-Q4 -o exec.vi.html
expect_out '<html lang="vi">' cat exec.vi.html
expect_out '<html lang="en">' cat exec.en.html
expect_out 'Báo cáo điều hành' cat exec.vi.html
expect_out 'Executive report' cat exec.en.html
expect_out 'Quý 4/2026' cat exec.vi.md
expect_out '01/10/2026' cat exec.vi.md          # dates as Vietnamese readers write them
expect_out '2026-10-01' cat exec.en.md          # ISO in English
expect_out 'tỷ ₫' cat exec.vi.html             # money as a person says it
expect_out '.000 ₫' cat exec.vi.md              # and in full
expect_out '"report":"executive"' cat exec.vi.json
# html is the default format, stdout the default place
expect_out '<!DOCTYPE html>' kam report executive --period 2026-Q4
expect_not 'kam-rendered"' kam report executive --period 2026-Q4 --format md

# on a terminal, a page of HTML goes to the project's var/reports/, and kam says where
script -qc "$KAM_BIN --config $T/config/kam.yaml --db $BOOK report account CL-000002 --period 2026-Q4" /dev/null >tty.out 2>&1 </dev/null
check "on a terminal the page is written to var/reports/" grep -q "account report: $T/var/reports/account-CL-000002.html" tty.out
check "and not printed" test "$(wc -c <tty.out)" -lt 300

# ---- deterministic: the same book, the same bytes (also on another day's clock)
expect_ok kam report executive --period 2026-Q4 -o again.html
check "the same book gives the same page" cmp -s exec.vi.html again.html
KAM_NOW=2027-03-01T09:00+07:00 kam report executive --period 2026-Q4 --lang en --format json -o later.json >/dev/null 2>&1
check "the clock does not leak into the page" cmp -s exec.en.json later.json

# ---- escaping: the odd client in the page, the charts and the data
expect_out 'Ánh &lt;Dương&gt; &amp; &quot;Đối tác&quot; &#39;Việt&#39;' cat exec.vi.html
# outside the data block (JSON, where only "</" needs escaping) nothing is left raw
nodata() { python3 -c 'import re,sys; print(re.sub(r"<script type=\"application/json\".*?</script>", "", open(sys.argv[1], encoding="utf-8").read(), flags=re.S))' "$1"; }
expect_not 'Ánh <Dương>' nodata exec.vi.html
check "the odd client is in the top-accounts chart" grep -q '<text[^>]*>[^<]*Ánh &lt;Dương' exec.vi.html
fig() { python3 "$CHECK" "$1" --get "$2"; }
expect_eq 'Ánh <Dương> & "Đối tác" '"'"'Việt'"'" fig exec.vi.json 'table:accounts:client=CL-ODD001:name'

# ---- figures of the page against the book, asked with kam eval
J=exec.vi.json
ev() { kam --format json eval "$1"; }
same() { # same 'what' PAGE_VALUE BOOK_VALUE
  if [ "$2" = "$3" ] && [ -n "$2" ]; then _pass; else FAILED=$((FAILED + 1)); echo "FAIL: $1: page $2, book $3"; fi
}
BILLED='status = {"in", {"issued", "paid", "overdue", "disputed"}}'
same "revenue this quarter to today" "$(fig $J figure:revenue)" \
  "$(ev "return db.invoices:where{issued = {'between', '2026-10-01', '2026-11-26'}, $BILLED}:sum('amount')")"
same "revenue of Q3, as many days" "$(fig $J data:revenue.prev)" \
  "$(ev "return db.invoices:where{issued = {'between', '2026-07-01', '2026-08-26'}, $BILLED}:sum('amount')")"
same "revenue a year before, as many days" "$(fig $J data:revenue.yb)" \
  "$(ev "return db.invoices:where{issued = {'between', '2025-10-01', '2025-11-26'}, $BILLED}:sum('amount')")"
same "project cost this quarter" "$(fig $J data:cost.cur)" \
  "$(ev "return db.spend:where{date = {'between', '2026-10-01', '2026-11-26'}, status = {'in', {'recorded', 'approved'}}}:sum('amount')")"
same "requests pending" "$(fig $J figure:pending_requests)" "$(ev "return db.requests:where{status = 'pending'}:count()")"
same "overdue receivables" "$(fig $J figure:overdue)" \
  "$(ev "return db.invoices:where{status = {'in', {'issued', 'overdue', 'disputed'}}, due = {'<', '2026-11-26'}}:sum('amount')")"
same "receivables" "$(fig $J data:receivables.total)" \
  "$(ev "return db.invoices:where{status = {'in', {'issued', 'overdue', 'disputed'}}}:sum('amount')")"
same "weighted pipeline" "$(fig $J figure:pipeline_weighted)" \
  "$(ev "local t = 0 for o in db.opportunities:where{stage = {'in', {'lead', 'qualified', 'proposal', 'negotiation'}}}:each() do t = t + math.floor(o.value * o.probability + 0.5) end return t")"
same "QBP target of the quarter" "$(fig $J data:pipeline.target)" \
  "$(ev "return db.plans:where{kind = 'QBP', period = '2026-Q4', status = {'in', {'signed', 'closed'}}}:sum('target_revenue')")"
same "critical risks open" "$(fig $J figure:risks_critical)" \
  "$(ev "return db.risks:where{severity = 'critical', status = {'in', {'open', 'mitigating'}}}:count()")"
same "high risks open" "$(fig $J figure:risks_high)" \
  "$(ev "return db.risks:where{severity = 'high', status = {'in', {'open', 'mitigating'}}}:count()")"
same "the odd client's revenue" "$(fig $J 'table:accounts:client=CL-ODD001:revenue')" "9000000000"
same "renewals in 120 days" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
print(len([r for s in d["sections"] for b in s["blocks"] if b.get("id")=="renewals" for r in b["rows"]]))' $J)" \
  "$(ev "return db.contracts:where{status = 'active', ['end'] = {'between', '2026-11-26', kam.date_add('2026-11-26', 120)}}:count()")"
# NRR against the year before, client by client, the long way
same "net revenue retention" "$(fig $J figure:nrr | python3 -c 'import sys; print(round(float(sys.stdin.read()), 9))')" \
  "$(ev "local function by(a, b) local t = {} for i in db.invoices:where{issued = {'between', a, b}, $BILLED}:each() do t[i.client] = (t[i.client] or 0) + i.amount end return t end
        local base, now = by('2025-10-01', '2025-11-26'), by('2026-10-01', '2026-11-26')
        local b, kept = 0, 0
        for id, v in pairs(base) do b = b + v; kept = kept + (now[id] or 0) end
        return kept / b" | python3 -c 'import sys; print(round(float(sys.stdin.read()), 9))')"
# the same figure in the other formats: csv carries the raw đồng, md the formatted
REV=$(fig $J figure:revenue)
check "csv carries the revenue in đồng" grep -q "$REV" exec.vi.csv
REVF=$(kam eval "return kam.fmt.money($REV)")
check "md carries the revenue formatted ($REVF)" grep -qF "$REVF" exec.vi.md
check "html carries the revenue formatted" grep -qF "$REVF" exec.vi.html
# the tier moves of the nightly run, with the policy's reasons
check "a tier move shows the policy's reasons" grep -q '12-month revenue' exec.en.md

# ---- kam.decisions: what the tier moves' reasons come from
expect_eq 'true' kam eval 'local c = db.clients:where{tier = "A"}:first() local d = kam.decisions{coll = "clients", id = c.id, policy = "tiering"}
  return #d >= 1 and d[#d].result == c.tier and d[#d].result_json == string.format("%q", c.tier) and #d[#d].reasons > 0 and d[#d].hash:len() == 64'
expect_eq '0' kam eval 'return #kam.decisions{coll = "clients", id = "CL-999999"}'
expect_eq '0' kam eval 'return #kam.decisions{coll = "invoices", id = "INV-000001"}'
expect_fail 1 'kam.decisions: coll = "clients", id = "CL-000001" name the record' kam eval 'return kam.decisions{coll = "clients"}'
expect_fail 1 'kam.decisions: coll nope: no such collection' kam eval 'return kam.decisions{coll = "nope", id = "X"}'

# ---- a period already over: Q3 compares whole quarters
expect_ok kam report executive --period 2026-Q3 --format json -o q3.json
same "Q3 revenue, the whole quarter" "$(fig q3.json figure:revenue)" \
  "$(ev "return db.invoices:where{issued = {'between', '2026-07-01', '2026-09-30'}, $BILLED}:sum('amount')")"
same "Q2, the whole quarter before" "$(fig q3.json data:revenue.prev)" \
  "$(ev "return db.invoices:where{issued = {'between', '2026-04-01', '2026-06-30'}, $BILLED}:sum('amount')")"
expect_ok kam report executive --period 2026-11 --format md -o month.md
expect_ok kam report executive --period 2026 --format md -o year.md
expect_out 'Năm 2026' cat year.md

# ---- mistakes: a clear error, exit 2 (usage) or 1, and no file written
rm -f bad.html
expect_fail 2 'report executive --period 2026-Q5: not a period' kam report executive --period 2026-Q5 -o bad.html
expect_fail 2 'report: --lang fr: expected vi or en' kam report executive --lang fr -o bad.html
expect_fail 2 'report: --format xml: expected html, md, csv or json' kam report executive --format xml -o bad.html
expect_fail 2 'report: no report board (scripts/reports/ has: ' kam report board
expect_fail 2 'report: no report ../config/kam' kam report ../config/kam
expect_fail 2 'report: no report labels' kam report labels
expect_fail 2 'report: which one?' kam report
expect_fail 2 'report: unknown option --wide' kam report executive --wide
check "no file after a mistake" test ! -e bad.html
mkdir ro && chmod 500 ro
if [ "$(id -u)" -ne 0 ]; then
  expect_fail 1 'ro/x.html: cannot write' kam report executive -o ro/x.html
fi
echo "not a folder" >plain
expect_fail 1 'plain/x.html: cannot write' kam report executive -o plain/x.html
# a report script that fails: named at file:line, nothing written, exit 1
cat >"$T/scripts/reports/broken.lua" <<'EOF'
local x = db.clients:count()
error("the page cannot be made: " .. x)
EOF
kp() { "$KAM_BIN" --config "$T/config/kam.yaml" --db "$BOOK" "$@"; }
expect_fail 1 'scripts/reports/broken.lua:2: the page cannot be made' kp report broken -o broken.html
check "no page from a failing script" test ! -e broken.html
echo 'return 42' >"$T/scripts/reports/number.lua"
expect_fail 1 'scripts/reports/number.lua: returned number, not the page' kp report number
# a report only reads
echo 'kam.tx(function() db.clients:update("CL-ODD001", {name = "x"}) end) return ""' >"$T/scripts/reports/writer.lua"
expect_fail 3 '' kp report writer
expect_out 'Ánh <Dương>' kam get clients CL-ODD001

# ---- the cause of a tier move: a new version of the policy, or new data under the same one
sed -i 's/{tier = "A", min = 5e9}/{tier = "A", min = 3e9}/; s/{tier = "B", min = 2e9, max = 5e9}/{tier = "B", min = 2e9, max = 3e9}/' "$T/rules/tiering.lua"
expect_ok kp policy eval tiering --commit
expect_ok kp report executive --period 2026-Q4 --format json -o causes.json
check "a move made by the edited policy is told as a policy change" test "$(fig causes.json figure:moves_policy)" -ge 1
expect_eq 0 fig causes.json figure:moves_data
D=$(kam --format json eval 'return db.clients:where{tier = "D", status = "active"}:first().id' | tr -d '"')
kam eval "kam.tx(function() db.invoices:insert{client = '$D', amount = 3000000000, issued = '2026-11-01', due = '2026-12-01', status = 'paid'} end)" >/dev/null
expect_ok kp policy eval tiering --commit
expect_ok kp report executive --period 2026-Q4 --lang en --format md -o causes.md
expect_ok kp report executive --period 2026-Q4 --format json -o causes2.json
check "a move made by the same policy on new data is told as a data change" test "$(fig causes2.json figure:moves_data)" -ge 1
check "the data change names the client's move" grep -q "Data change" causes.md

# ---- what a report script could try: an endless loop, a coroutine that hides one, a finalizer
echo 'while true do end' >"$T/scripts/reports/loop.lua"
printf '%s\n' 'local co = coroutine.wrap(function() while true do coroutine.yield() end end)' \
  'while true do pcall(co) end' >"$T/scripts/reports/coloop.lua"
printf '%s\n' 'setmetatable({}, {__gc = function() db.clients:update("CL-ODD001", {name = "x"}) end})' \
  'return "page"' >"$T/scripts/reports/finalizer.lua"
cp "$T/config/kam.yaml" "$T/kam.yaml.keep"
printf 'limits: {script_seconds: 0.5}\n' >>"$T/config/kam.yaml"
expect_fail 1 'limits.script_seconds' kp report loop -o loop.html
expect_fail 1 'limits.script_seconds' kp report coloop -o loop.html
check "no page from a stopped report" test ! -e loop.html
expect_fail 1 '__gc' kp report finalizer -o fin.html
cp "$T/kam.yaml.keep" "$T/config/kam.yaml"
expect_out 'Ánh <Dương>' kam get clients CL-ODD001

# ---- a report as a step of a schedule: written where the step says, said in the run's summary
expect_out 'executive report: var/reports/executive-2026-11-26.html' kp schedule run friday
check "the friday job wrote the week's page" test -s "$T/var/reports/executive-2026-11-26.html"
expect_out 'ok: ' python3 "$CHECK" "$T/var/reports/executive-2026-11-26.html"
expect_out 'executive report: var/reports/executive-2026-11-26.html' kp schedule history friday
steps() { # the project's friday job, with these steps
  { sed '/^  friday:/,$d' "$KAM_SRC/config/kam.yaml"; echo "  friday:"; echo "    cron: \"0 16 * * fri\""
    echo "    owner: ST-000011"; echo "    run:"; for s in "$@"; do echo "      - $s"; done; } >"$T/config/kam.yaml"
}
steps "report team --format md -o out/team.md" "report account CL-000002 --lang en -o out/acct.html"
expect_out 'team report: out/team.md' kp schedule run friday
cp "$OUT" "$T/run.out"
expect_out 'account report: out/acct.html' cat "$T/run.out"
check "both pages written" test -s "$T/out/team.md" -a -s "$T/out/acct.html"
steps "report executive --lang fr -o x.html"
expect_fail 1 'report executive: --lang fr: expected vi or en' kp schedule list
check "the bad step is located at file:line" grep -q 'config/kam.yaml:[0-9]*:[0-9]*: schedules.friday: run:' "$ERR"
steps "report executive --lang vi"
expect_fail 1 'report executive: -o FILE: a scheduled report is written to a file' kp schedule list
steps "report executive --wide -o x.html"
expect_fail 1 'report executive: --wide: not an argument of a report step' kp schedule list
steps "report board -o x.html"
expect_fail 1 'schedules.friday: scripts/reports/board.lua: no such script' kp check
# a report that writes stops its job, and the job's later steps do not run
steps "report writer -o w.html" "scripts/overdue.lua"
expect_fail 1 'schedule run friday: failed' kp schedule run friday
check "the run names the report step that wrote" grep -q 'step 1 (report writer -o w.html): scripts/reports/writer.lua:1: kam.tx: this command only reads the book' "$OUT"
check "no page from the writing report" test ! -e "$T/w.html"
expect_out 'Ánh <Dương>' kam get clients CL-ODD001

finish
