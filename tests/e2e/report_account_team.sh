#!/usr/bin/env bash
# report_account_team.sh — kam report account (the client's QBR page) and kam
# report team (internal scorecards and workload) on the demo book, today pinned
# to 2026-11-26: every format and both languages; figures of each page (read
# from its JSON form) equal the same figures asked of the book with kam eval;
# the client's page carries nothing internal (cost, margin, notes, risks, the
# opportunity's probability) in any format; the mistakes a user can make are
# clear errors that write no file.
. "$(dirname "$0")/lib.sh" "$@"
setup
CHECK=$KAM_SRC/tests/e2e/report_check.py

expect_ok kam init --demo --force
expect_ok kam schedule run nightly

CL=CL-000002   # Bếp Việt: a tier-A client with plans, a running contract, campaigns, acceptances
expect_eq 'Bếp Việt' kam eval "return db.clients:get('$CL').name"

# ---- every format, both languages
for lang in vi en; do
  for f in html md csv json; do
    expect_ok kam report account $CL --period 2026-Q4 --lang "$lang" --format "$f" -o "acct.$lang.$f"
    check "account $lang $f is not empty" test -s "acct.$lang.$f"
    expect_ok kam report team --period 2026-Q3 --lang "$lang" --format "$f" -o "team.$lang.$f"
    check "team $lang $f is not empty" test -s "team.$lang.$f"
  done
  expect_out "ok: acct.$lang.html" python3 "$CHECK" "acct.$lang.html"
  expect_out "ok: team.$lang.html" python3 "$CHECK" "team.$lang.html"
done
expect_out 'Báo cáo kết quả hợp tác – Bếp Việt' cat acct.vi.md
expect_out 'Business review – Bếp Việt' cat acct.en.md
expect_out 'Dành cho khách hàng' cat acct.vi.html
expect_out 'Nội bộ' cat team.vi.html
expect_out 'Thẻ điểm KPI' cat team.vi.md
expect_out 'Khối lượng công việc' cat team.vi.md
expect_out 'Đánh giá đến hạn' cat team.vi.md
expect_out '"report":"account"' cat acct.en.json
expect_out '"report":"team"' cat team.en.json
# without --period: this quarter for the client, the policy's period for the team
expect_out '"name":"2026-Q4"' kam report account $CL --format json
expect_out '"name":"2026-Q3"' kam report team --format json
# the same book gives the same bytes
expect_ok kam report account $CL --period 2026-Q4 --lang vi --format html -o again.html
check "the account page is the same twice" cmp -s acct.vi.html again.html
expect_ok kam report team --period 2026-Q3 --lang en --format json -o again.json
check "the team page is the same twice" cmp -s team.en.json again.json

fig() { python3 "$CHECK" "$1" --get "$2"; }
ev() { kam --format json eval "$1"; }
same() { # same 'what' PAGE_VALUE BOOK_VALUE
  if [ "$2" = "$3" ] && [ -n "$2" ]; then _pass; else FAILED=$((FAILED + 1)); echo "FAIL: $1: page $2, book $3"; fi
}
r4() { python3 -c 'import sys; v = sys.stdin.read().strip(); print("null" if v in ("", "null") else "%.4f" % float(v))'; }

# ---- the account page against the book (2026-Q4 up to today, 2026-11-26)
J=acct.en.json
BILLED='status = {"in", {"issued", "paid", "overdue", "disputed"}}'
SPENT='status = {"in", {"recorded", "held", "approved"}}'
# spend of the client's projects between two dates, rejected spend left out
spend_between() {
  ev "local t = 0 for _, id in ipairs(db.projects:where{client = '$CL'}:ids()) do
        t = t + db.spend:where{project = id, date = {'between', '$1', '$2'}, $SPENT}:sum('amount') end return t"
}
REV=$(ev "return db.invoices:where{client = '$CL', issued = {'between', '2026-10-01', '2026-11-26'}, $BILLED}:sum('amount')")
same "revenue of the quarter to date" "$(fig $J figure:revenue)" "$REV"
QBP=$(ev "return db.plans:where{client = '$CL', kind = 'QBP', period = '2026-Q4'}:first().target_revenue")
same "revenue attainment of the QBP" "$(fig $J figure:revenue_attainment | r4)" \
  "$(ev "return $REV / $QBP" | r4)"
same "QBP target revenue in the plans table" "$(fig $J 'table:plans:plan=QBP 2026-Q4:target')" "$QBP"
same "spend of the quarter to date" "$(fig $J figure:spend)" "$(spend_between 2026-10-01 2026-11-26)"
same "JBP revenue actual (the year to date)" "$(fig $J 'table:plans:plan=JBP 2026:actual')" \
  "$(ev "return db.invoices:where{client = '$CL', issued = {'between', '2026-01-01', '2026-11-26'}, $BILLED}:sum('amount')")"
same "November revenue in the monthly chart" "$(fig $J sections.objectives.blocks.monthly_revenue.series.0.values.1)" \
  "$(ev "return db.invoices:where{client = '$CL', issued = {'between', '2026-11-01', '2026-11-26'}, $BILLED}:sum('amount')")"
same "October spend in the monthly chart" "$(fig $J sections.objectives.blocks.monthly_spend.series.0.values.0)" \
  "$(spend_between 2026-10-01 2026-10-31)"
same "November plan revenue in the monthly chart" "$(fig $J sections.objectives.blocks.monthly_revenue.series.1.values.1)" \
  "$(ev "return db.plans:where{client = '$CL', kind = 'MBP', period = '2026-11'}:first().target_revenue")"
HD=$(kam eval "return db.contracts:where{client = '$CL', status = 'active'}:first().id")
same "the media line's budget" "$(fig $J table:budget_lines:line=Media:budget)" \
  "$(ev "for _, l in ipairs(db.contracts:get('$HD').lines) do if l.line == 'media' then return l.budget end end")"
same "the media line's spend to date" "$(fig $J table:budget_lines:line=Media:to_date)" \
  "$(ev "return db.spend:where{contract = '$HD', contract_line = 'media', date = {'<=', '2026-11-26'}, $SPENT}:sum('amount')")"
same "the affiliate line's spend in the quarter" "$(fig $J table:budget_lines:line=Affiliate:period)" \
  "$(ev "return db.spend:where{contract = '$HD', contract_line = 'affiliate', date = {'between', '2026-10-01', '2026-11-26'}, $SPENT}:sum('amount')")"
same "the stacked chart's first line is media" "$(fig $J sections.budget.blocks.spend_by_line.series.0.key)" media
same "November media spend in the stacked chart" "$(fig $J sections.budget.blocks.spend_by_line.series.0.values.1)" \
  "$(ev "local t = 0 for _, id in ipairs(db.projects:where{client = '$CL'}:ids()) do
          t = t + db.spend:where{project = id, contract_line = 'media', date = {'between', '2026-11-01', '2026-11-26'}, $SPENT}:sum('amount') end return t")"
ACC="local seen, t = {}, {value = 0, committed = 0, n = 0}
  local function take(q) for a in q:each() do if not seen[a.id] then seen[a.id] = true
    t.value, t.committed, t.n = t.value + a.value, t.committed + a.committed, t.n + 1 end end end
  for _, k in ipairs(db.contracts:where{client = '$CL'}:ids()) do
    take(db.acceptances:where{contract = k, period = {'between', '2026-10', '2026-12'}, status = 'signed'}) end
  for _, p in ipairs(db.projects:where{client = '$CL'}:ids()) do
    take(db.acceptances:where{project = p, period = {'between', '2026-10', '2026-12'}, status = 'signed'}) end"
same "value accepted in the quarter" "$(fig $J figure:accepted)" "$(ev "$ACC return t.value")"
same "acceptances listed" "$(fig $J sections.accepted.blocks.acceptances.rows | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
  "$(ev "$ACC return t.n")"
same "units committed (total row)" "$(fig $J sections.accepted.blocks.acceptances.total.committed)" "$(ev "$ACC return t.committed")"
same "campaigns in the quarter" "$(fig $J figure:campaigns)" \
  "$(ev "local n = 0 for p in db.projects:where{client = '$CL'}:each() do
          if p.status ~= 'cancelled' and (p.start or '') <= '2026-12-31' and (p['end'] or '9999') >= '2026-10-01' then n = n + 1 end end return n")"
same "a campaign's budget" "$(fig $J 'table:campaigns:name=Siêu sale 9.9 Bếp Việt 2026:budget')" \
  "$(ev "for p in db.projects:where{client = '$CL'}:each() do if p.name == 'Siêu sale 9.9 Bếp Việt 2026' then return p.budget end end")"
same "proposal under discussion" "$(fig $J sections.next.blocks.proposals.rows.0.value)" \
  "$(ev "return db.opportunities:where{client = '$CL', stage = {'in', {'proposal', 'negotiation'}}}:sum('value')")"
same "CSAT" "$(fig $J figure:csat)" "$(ev "return db.clients:get('$CL').csat")"

# ---- nothing internal on the client's page, in any format or language
# the words (the html's <style> says "margin" for layout: it is cut before looking)
visible() { python3 -c 'import re,sys; print(re.sub(r"<style>.*?</style>", "", open(sys.argv[1], encoding="utf-8").read(), flags=re.S))' "$1"; }
for lang in vi en; do
  for f in html md csv json; do
    visible "acct.$lang.$f" >"acct.$lang.$f.txt"
    for word in margin biên cost 'giá vốn' 'chi phí' probability '"notes"' 'lợi nhuận' profit; do
      check "account $lang $f has no '$word'" bash -c '! grep -qiF -- "$1" "$2"' _ "$word" "acct.$lang.$f.txt"
    done
  done
done
# the client's own internal texts: activity notes, risk descriptions, invoice notes
kam eval "local seen, out = {}, {}
  local function add(s) if s and #s >= 8 and not seen[s] then seen[s] = true out[#out + 1] = s end end
  for a in db.activities:where{client = '$CL'}:each() do add(a.notes) end
  for r in db.risks:where{client = '$CL'}:each() do add(r.description) add(r.resolution) end
  for i in db.invoices:where{client = '$CL'}:each() do add(i.note) end
  table.sort(out) return table.concat(out, '\n')" >internal.txt
check "the demo gives the client internal texts to look for" test "$(wc -l <internal.txt)" -ge 5
while IFS= read -r text; do
  for f in acct.vi.html acct.en.html acct.vi.md acct.en.csv acct.vi.json acct.en.json; do
    check "account $f does not carry the internal text '$text'" bash -c '! grep -qF -- "$1" "$2"' _ "$text" "$f"
  done
done <internal.txt
# the opportunity's probability (0.47 in the demo) is not in the data either
PROB=$(kam eval "return tostring(db.opportunities:where{client = '$CL'}:first().probability)")
check "account json has no probability $PROB" bash -c '! grep -qF -- "$1" "$2"' _ "$PROB" acct.en.json

# ---- the team page against the book (scored period 2026-Q3, asked and complete)
J=team.en.json
same "the period scored" "$(fig $J data:kpi_period.name)" "2026-Q3"
PEOPLE="db.staff:where{role = {'in', {'account_executive', 'account_manager', 'key_account_manager'}}, status = {'~=', 'left'}}"
same "people scored" "$(fig $J figure:scored)" \
  "$(ev "local P, n = require 'kpi', 0 for s in $PEOPLE:each() do local r = P.decide(s, function() end) if r and r.score then n = n + 1 end end return n")"
SCORE="local P = require 'kpi' local function score(name) local s = db.staff:where{name = name}:first() return P.decide(s, function() end) end"
for who in 'Trần Văn Đức' 'Lý Gia Bảo' 'Ngô Văn Khoa'; do
  same "$who's score" "$(fig $J "table:scorecard:name=$who:score" | r4)" "$(ev "$SCORE return score('$who').score / 100" | r4)"
  same "$who's rating" "$(fig $J "table:scorecard:name=$who:rating")" "$(kam eval "$SCORE return score('$who').rating")"
  same "$who's accounts" "$(fig $J "table:workload:name=$who:accounts")" \
    "$(ev "local s = db.staff:where{name = '$who'}:first() return db.clients:where{owner = s.id, status = {'~=', 'churned'}}:count()")"
  same "$who's capacity" "$(fig $J "table:workload:name=$who:capacity")" "$(ev "return db.staff:where{name = '$who'}:first().capacity")"
  same "$who's open projects" "$(fig $J "table:workload:name=$who:projects")" \
    "$(ev "local s = db.staff:where{name = '$who'}:first() return db.projects:where{owner = s.id, status = {'in', {'planned', 'running'}}}:count()")"
  same "$who's contacts in Q3" "$(fig $J "table:workload:name=$who:contacts")" \
    "$(ev "local s = db.staff:where{name = '$who'}:first() return db.activities:where{by = s.id, date = {'between', '2026-07-01', '2026-09-30'}}:count()")"
  same "$who's own requests pending" "$(fig $J "table:workload:name=$who:raised")" \
    "$(ev "local s = db.staff:where{name = '$who'}:first() return db.requests:where{requested_by = s.id, status = 'pending'}:count()")"
done
same "Trần Văn Đức's revenue managed" \
  "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
rows = [r for s in d["sections"] for b in s["blocks"] if b.get("id") == "scorecard_lines" for r in b["rows"]]
print([r["actual"] for r in rows if r["name"] == "Trần Văn Đức" and r["metric"] == "Revenue managed"][0])' $J)" \
  "$(ev "local s = db.staff:where{name = 'Trần Văn Đức'}:first() local t = 0
        for c in db.clients:where{owner = s.id, status = {'~=', 'prospect'}}:each() do
          t = t + db.invoices:where{client = c.id, issued = {'between', '2026-07-01', '2026-09-30'}, status = {'~=', 'draft'}}:sum('amount') end return t")"
same "accounts in total" "$(fig $J sections.workload.blocks.workload.total.accounts)" \
  "$(ev "local n = 0 for s in $PEOPLE:each() do n = n + db.clients:where{owner = s.id, status = {'~=', 'churned'}}:count() end return n")"
same "capacity in total" "$(fig $J sections.workload.blocks.workload.total.capacity)" \
  "$(ev "local n = 0 for s in $PEOPLE:each() do n = n + s.capacity end return n")"
same "average score" "$(fig $J figure:avg_score | r4)" \
  "$(ev "local P, t, n = require 'kpi', 0, 0 for s in $PEOPLE:each() do local r = P.decide(s, function() end)
          if r and r.score then t, n = t + r.score, n + 1 end end return t / n / 100" | r4)"
same "reviews due for 2026-Q3" "$(fig $J figure:reviews_due)" \
  "$(ev "local n = 0 for s in $PEOPLE:each() do if db.reviews:where{staff = s.id, period = '2026-Q3'}:count() == 0 then n = n + 1 end end return n")"
same "the review due is the newest hire's" "$(fig $J sections.reviews.blocks.reviews_due.rows.0.name)" "Trịnh Quốc Huy"
# a running period is not scored: the scorecard stays on the policy's last complete quarter
expect_ok kam report team --period 2026-Q4 --format json -o team.q4.json
same "a running period scores the policy's period" "$(fig team.q4.json data:kpi_period.name)" "2026-Q3"
expect_out 'the last complete period' kam report team --period 2026-Q4 --lang en --format md
# an earlier complete period is scored as asked
expect_ok kam report team --period 2026-Q2 --format json -o team.q2.json
same "an asked complete period is scored" "$(fig team.q2.json data:kpi_period.name)" "2026-Q2"

# ---- mistakes: clear errors, exit codes, no file written
expect_fail 1 'report account: CL-999999: no such client' kam report account CL-999999 --period 2026-Q4 -o err1.html
check "no page for an unknown client" test ! -e err1.html
expect_fail 2 'kam report account ID' kam report account -o err2.html
check "no page without a client" test ! -e err2.html
expect_fail 2 'not a period' kam report account $CL --period 2026-Q9 -o err3.html
check "no page for a bad period" test ! -e err3.html
expect_fail 2 'not a period' kam report team --period someday
expect_fail 2 '--lang fr' kam report account $CL --lang fr
expect_fail 2 '--lang fr' kam report team --lang fr
expect_fail 2 '--format pdf' kam report team --format pdf
expect_fail 2 'one subject at most' kam report account $CL CL-000003

finish
