# shellcheck shell=bash
# Requests that route themselves (kam request, approve, reject, withdraw), on
# the demo book: scenario 4 of the week — a +180 triệu scope change at 18 %
# margin goes team lead → director → finance; the account manager cannot
# approve it; the contract changes only when finance signs — and the refusals
# around it: four eyes, two steps, the wrong team's lead, the wrong order, a
# change after raising (superseded), a rejection, a withdrawal, and edits by
# kam.tx of what only the engine writes.
. "$(dirname "$0")/lib.sh" "$@"
FAKELOGIN=${3:?usage: requests.sh KAM_BIN KAM_SRC FAKELOGIN_SO}
case $FAKELOGIN in /*) ;; *) FAKELOGIN=$PWD/$FAKELOGIN ;; esac
setup
expect_ok kam init --demo --force

val() { kam eval "$1"; }
HOA=$(val 'return db.staff:where{os_user = "hoa"}:first().id')
CL=$(val "return db.clients:where{owner = '$HOA', status = 'active'}:sort('id'):first().id")
HD=$(val "return db.contracts:where{client = '$CL'}:sort('id'):first().id")
V0=$(val "return db.contracts:get('$HD').value")
n_req() { val 'return db.requests:count()'; }

# hoa drafts the change: +180 triệu, 18 % margin after it
expect_ok kam --as hoa eval "return kam.tx(function() return db.change_requests:insert{contract = '$HD', description = 'Thêm 20 video KOL', value_delta = 180000000, margin_after = 0.18, reason = 'Khách tăng ngân sách'} end)"
CR=$(cat "$OUT")

# ---- the preview: who signs, in which order, and why; nothing written --------------
before=$(n_req)
expect_ok kam --as hoa request scope_change --cr "$CR" --reason 'Khách xin thêm 20 video KOL' --preview
check 'preview: the chain of scenario 4' grep -q 'signs, in order: team_lead → director → finance' "$OUT"
check 'preview: why, from rules/approval.lua' grep -q 'finance: margin after 18,0% is under' "$OUT"
expect_eq "$before" n_req

# ---- raised: the chain frozen on the request, as the policy decides it ----------------
expect_ok kam --as hoa request scope_change --cr "$CR" --reason 'Khách xin thêm 20 video KOL'
RQ=$(val 'return db.requests:all():sort("id", "desc"):first().id')
expect_ok kam --format json request show "$RQ"
cp "$OUT" "$T/show.json"
expect_ok kam --format json policy eval approval --id "$RQ"
check 'the frozen chain is what rules/approval.lua decides for it' python3 -c '
import json, sys
show = json.load(open(sys.argv[1]))
ev = json.load(sys.stdin)
rows = ev if isinstance(ev, list) else ev.get("results", ev.get("rows", []))
assert show["chain"] == rows[0]["result"] == ["team_lead", "director", "finance"], (show["chain"], rows[0])
assert show["status"] == "pending" and show["step"] == 1 and len(show["policy_hash"]) == 64, show
' "$T/show.json" <"$OUT"

# ---- who may sign ---------------------------------------------------------------------
expect_fail 3 'it is their own request (four eyes)' kam --as hoa approve "$RQ"
expect_fail 1 "$RQ is waiting for the team lead, not the finance" kam --as ha approve "$RQ"
# a team lead of another team
MT=$(val 'return db.teams:where{kind = "Media"}:first().id')
expect_ok kam --as tuan eval "kam.tx(function() db.staff:insert{name = 'Đào Văn Sơn', role = 'team_lead', team = '$MT', os_user = 'son'} end)"
expect_fail 3 'it waits for the team lead of' kam --as son approve "$RQ"
expect_ok kam --as lan approve "$RQ" --note 'ok, khách quen'
check 'approved step 1, next the director' grep -q 'next: the director' "$OUT"
expect_fail 3 'nobody signs two steps' kam --as lan approve "$RQ"
expect_ok kam --as minh requests --waiting-on-me
check 'waiting on the director' grep -q "$RQ" "$OUT"
expect_ok kam --as lan requests --waiting-on-me
check 'no longer waiting on the team lead' bash -c "! grep -q '$RQ' '$OUT'"
expect_ok kam --as minh approve "$RQ"
expect_eq "$V0" val "return db.contracts:get('$HD').value"
expect_ok kam --as ha approve "$RQ" --note 'biên 18% chấp nhận'
check 'the last approval applies the change' grep -q "contract $HD: value" "$OUT"
expect_eq $((V0 + 180000000)) val "return db.contracts:get('$HD').value"
expect_eq applied val "return db.change_requests:get('$CR').status"
expect_eq approved val "return db.requests:get('$RQ').status"
expect_fail 1 "$RQ is approved: nothing to approve" kam --as hung approve "$RQ"
expect_ok kam --format json get contracts "$HD" --history
check "the contract's versions: the value moved by the request, on channel request" python3 -c '
import json, sys
v0, v1 = int(sys.argv[1]), int(sys.argv[1]) + 180000000
h = json.load(sys.stdin)
moves = [e for e in h if any(c["field"] == "value" and c.get("old") == v0 and c.get("new") == v1 for c in e["changes"])]
assert len(moves) == 1 and moves[0]["channel"] == "request" and moves[0]["role"] == "finance", h[:2]
' "$V0" <"$OUT"
expect_ok kam --format json audit --limit 3
check 'the effect and the approval are audited, on channel request, as finance' python3 -c '
import json, sys
a = json.load(sys.stdin)
assert {e["collection"] for e in a} == {"requests", "contracts", "change_requests"}, a
assert all(e["channel"] == "request" and e["role"] == "finance" for e in a), a
' <"$OUT"

# ---- what only the engine writes: no kam.tx gets round it -------------------------------
snapshot "$T/s1"
expect_fail 3 "a contract's value changes through an approved scope change" kam --as hoa eval "kam.tx(function() db.contracts:update('$HD', {value = 1}) end)"
expect_fail 3 "a contract's value changes through an approved scope change" kam --as minh eval "kam.tx(function() db.contracts:update('$HD', {value = 1}) end)"
expect_fail 3 'a request is decided with kam approve or kam reject' kam --as lan eval "kam.tx(function() db.requests:update('$RQ', {status = 'rejected'}) end)"
expect_fail 3 'a request is routed by rules/approval.lua' kam --as hoa eval "kam.tx(function() db.requests:insert{kind = 'discount', subject = '$CL', requested_by = '$HOA', chain = {'team_lead'}} end)"
expect_unchanged "$T/s1" 'edits of what only the engine writes'

# ---- a change after raising: superseded, approvals kept, a fresh chain -------------------
expect_ok kam --as hoa eval "return kam.tx(function() return db.change_requests:insert{contract = '$HD', description = 'Thêm livestream', value_delta = 40000000, margin_after = 0.25, reason = 'Khách muốn thử'} end)"
CR2=$(cat "$OUT")
expect_ok kam --as hoa request scope_change --cr "$CR2" --reason 'Thử livestream'
RQ2=$(val 'return db.requests:all():sort("id", "desc"):first().id')
check 'a small change: the team lead alone' grep -q 'signs, in order: team_lead$' "$OUT"
expect_ok kam --as lan eval "kam.tx(function() db.change_requests:update('$CR2', {value_delta = 90000000}) end)"
expect_fail 1 "$RQ2 was superseded by" kam --as lan approve "$RQ2"
expect_eq superseded val "return db.requests:get('$RQ2').status"
RQ3=$(val "return db.requests:get('$RQ2').superseded_by")
expect_ok kam request show "$RQ3"
check 'the new request asks the new amount, routed afresh (the director now too)' grep -q '90.000.000 ₫' "$OUT"
expect_ok kam --format json request show "$RQ3"
check 'the new chain: team lead and director' python3 -c 'import json, sys; assert json.load(sys.stdin)["chain"] == ["team_lead", "director"]' <"$OUT"

# ---- a rejection stops the chain and applies nothing --------------------------------------
V1=$(val "return db.contracts:get('$HD').value")
expect_fail 3 'reject' kam --as hoa reject "$RQ3" --reason 'no'
expect_fail 2 'usage: kam reject ID --reason TEXT' kam --as lan reject "$RQ3"
expect_ok kam --as lan reject "$RQ3" --reason 'Biên thấp, làm lại báo giá'
expect_eq rejected val "return db.requests:get('$RQ3').status"
expect_eq rejected val "return db.change_requests:get('$CR2').status"
expect_fail 1 "$RQ3 is rejected" kam --as minh approve "$RQ3"
expect_eq "$V1" val "return db.contracts:get('$HD').value"

# ---- a withdrawal: the requester's alone -------------------------------------------------
expect_ok kam --as hoa request discount --subject "$CL" --amount 20000000 --reason 'Chiết khấu gia hạn'
RQ4=$(val 'return db.requests:all():sort("id", "desc"):first().id')
expect_fail 3 'only its requester may' kam --as lan withdraw "$RQ4"
expect_ok kam --as hoa withdraw "$RQ4"
expect_eq withdrawn val "return db.requests:get('$RQ4').status"

# ---- the same from a script: kam.request, kam.approve, under the same rules ----------------
cat >"$T/ask.lua" <<'EOF'
local cl = db.clients:where{owner = kam.user.staff, status = "active"}:sort("id"):first()
local id = kam.request{kind = "discount", subject = cl.id, amount = 20000000, reason = "từ script"}
local ok, err = pcall(kam.approve, id, "tự duyệt")
return id .. " " .. tostring(ok) .. " " .. tostring(err.code) .. " " .. err.message
EOF
expect_ok kam --as hoa run "$T/ask.lua"
RQ5=$(cut -d' ' -f1 "$OUT")
check 'kam.request returns the id; kam.approve of her own is a permission error (3)' grep -q "^$RQ5 false 3 permission denied: hoa (account_manager) may not approve $RQ5: it is their own request" "$OUT"
expect_eq approved kam --as lan eval "return kam.approve('$RQ5', 'ok')"
expect_fail 1 'not inside kam.tx' kam --as lan eval "return kam.tx(function() return kam.reject('$RQ5', 'x') end)"
expect_eq approved val "return db.requests:get('$RQ5').status"

# ---- kill -9 in the middle of approvals: every request stays consistent ---------------------
# small scope changes the team lead alone signs; each approval killed at a random moment
for i in $(seq 1 12); do
  crn=$(kam --as hoa eval "return kam.tx(function() return db.change_requests:insert{contract = '$HD', description = 'nhỏ $i', value_delta = 1000000, margin_after = 0.3, reason = 'x'} end)")
  kam --as hoa request scope_change --cr "$crn" --reason "nhỏ $i" >/dev/null || echo "raising $crn failed" >>"$T/raise.err"
done
check 'twelve small changes raised' [ ! -s "$T/raise.err" ]
V2=$(val "return db.contracts:get('$HD').value")
for rq in $(val "local t = {} for r in db.requests:where{status = 'pending', waiting_role = 'team_lead'}:each() do t[#t + 1] = r.id end return table.concat(t, ' ')"); do
  "$KAM_BIN" --config "$CONFIG" --db "$BOOK" --as lan approve "$rq" >/dev/null 2>&1 &
  pk=$!
  sleep "0.0$((RANDOM % 4))$((RANDOM % 10))"
  kill -9 $pk 2>/dev/null
  wait $pk 2>/dev/null
done
expect_ok kam eval "
local applied = 0
for r in db.requests:all():each() do
  local n = #(r.approvals or {})
  if r.status == 'pending' and r.step and n ~= r.step - 1 then error(r.id .. ': pending at step ' .. r.step .. ' with ' .. n .. ' signatures') end
  if r.status == 'approved' and r.cr and db.change_requests:get(r.cr).description:match('^nhỏ') then
    local c = db.change_requests:get(r.cr)
    if c.status ~= 'applied' then error(r.id .. ': approved, its change ' .. c.id .. ' ' .. c.status) end
    if c.contract == '$HD' and c.description:match('^nhỏ') then applied = applied + c.value_delta end
  end
  if r.status == 'pending' and r.cr and db.change_requests:get(r.cr).status == 'applied' then error(r.id .. ': pending, its change applied') end
end
return applied"
check 'killed approvals: the contract moved by exactly the changes applied' [ "$(val "return db.contracts:get('$HD').value")" = $((V2 + $(cat "$OUT"))) ]
expect_ok kam verify

# ---- a discount: the quote is accepted only with what its approved requests allow ----------
QT=$(val "return db.quotes:where{status = 'pending_approval', owner = '$HOA'}:sort('id'):first().id")
QRQ=$(val "return db.requests:where{subject = '$QT', status = 'pending'}:first().id")
QD=$(val "return db.quotes:get('$QT').discount")
expect_fail 3 "may not be accepted with a" kam --as lan eval "kam.tx(function() db.quotes:update('$QT', {status = 'accepted'}) end)"
expect_fail 3 "a quote's discount is approved through a discount request" kam --as lan eval "kam.tx(function() db.quotes:update('$QT', {discount_approved = 1}) end)"
for who in $(val "local r = db.requests:get('$QRQ') local by = {team_lead = 'lan', director = 'minh', ceo = 'hung', finance = 'ha'} local t = {} for i = #(r.approvals or {}) + 1, #r.chain do t[#t + 1] = by[r.chain[i]] end return table.concat(t, ' ')"); do
  expect_ok kam --as "$who" approve "$QRQ"
done
expect_eq "sent $QD" val "local q = db.quotes:get('$QT') return q.status .. ' ' .. q.discount_approved"
expect_ok kam --as lan eval "kam.tx(function() db.quotes:update('$QT', {status = 'accepted'}) end)"

# ---- auth: os: an admin's --as does not get round four eyes ---------------------------------
tmp_project "$T/os" rules scripts
OSCONF=$T/os/config/kam.yaml
sed -i 's/^auth:.*/auth: os/' "$OSCONF"
# shellcheck disable=SC2317 # called through expect_*
as_login() {
  local who=$1; shift
  FAKE_LOGIN=$who LD_PRELOAD=$FAKELOGIN ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    "$KAM_BIN" --config "$OSCONF" --db "$BOOK" "$@"
}
crx=$(kam --as hoa eval "return kam.tx(function() return db.change_requests:insert{contract = '$HD', description = 'Thêm banner', value_delta = 120000000, margin_after = 0.3, reason = 'x'} end)")
expect_ok as_login hoa request scope_change --cr "$crx" --reason 'Thêm banner'
RQX=$(val 'return db.requests:all():sort("id", "desc"):first().id')
expect_ok as_login tuan --as lan approve "$RQX"
expect_fail 3 'nobody signs two steps' as_login tuan --as minh approve "$RQX"
expect_fail 3 'their own request (four eyes)' as_login hoa approve "$RQX"
expect_ok as_login minh approve "$RQX"
expect_eq approved val "return db.requests:get('$RQX').status"

# ---- usage and data errors: one line, nothing written --------------------------------------
before=$(n_req)
expect_fail 2 'usage: kam request KIND' kam --as hoa request gift --subject "$CL" --reason x
expect_fail 2 '--reason TEXT' kam --as hoa request discount --subject "$CL" --amount 1
expect_fail 1 'no client, contract' kam --as hoa request discount --subject CL-999999 --amount 1 --reason x
expect_fail 2 'whole number of đồng' kam --as hoa request discount --subject "$CL" --amount 1,5 --reason x
expect_fail 1 'no request RQ-999999' kam --as lan approve RQ-999999
expect_eq "$before" n_req

finish
