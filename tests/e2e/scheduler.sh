# shellcheck shell=bash
# kam tick, kam scheduler and kam schedule, on a fake clock (--now, KAM_NOW):
# each job runs exactly when due, once per due time whatever the number of
# processes, never two at once (skipped), a killed run is abandoned with
# nothing half-written, missed occurrences are recorded, a failed job's
# writes roll back, jobs act as system:schedule NAME with their owner's
# rights, and SIGTERM lets the running job finish.
. "$(dirname "$0")/lib.sh" "$@"
setup

# a project of its own: its kam.yaml holds the schedules under test
tmp_project "$T/p"
P=$T/p
CONFIG=$P/config/kam.yaml
cat >"$T/book.yaml" <<'EOF'
teams:
  - {id: TM-000001, name: Account, kind: Account}
staff:
  - {id: ST-000001, name: "Bùi Văn Tuấn", role: admin, team: TM-000001, os_user: tuan}
  - {id: ST-000002, name: "Phan Thanh Hoa", role: account_manager, team: TM-000001, os_user: hoa}
clients:
  - {id: CL-000001, name: "An Phát", status: active, owner: ST-000002, team: TM-000001}
EOF
expect_ok kam import "$T/book.yaml"

# a job that leaves one activity per run, dated with the job's today
cat >"$P/scripts/note.lua" <<'EOF'
local what = arg[1] or "note"
kam.tx(function()
  db.activities:insert{client = "CL-000001", kind = "call", date = kam.today(), notes = what}
end)
return what .. " written on " .. kam.today()
EOF
# a slow job: writes, then works on outside any transaction (others may
# write meanwhile, as they may not while a kam.tx is open)
cat >"$P/scripts/slow.lua" <<'EOF'
local secs = tonumber(arg[1]) or 2
kam.tx(function()
  db.activities:insert{client = "CL-000001", kind = "call", date = kam.today(), notes = "slow"}
end)
local t = os.clock()
while os.clock() - t < secs do end
return "slow done"
EOF
# a slow transaction: writes, then spins inside it (a kill leaves nothing)
cat >"$P/scripts/slowtx.lua" <<'EOF'
kam.tx(function()
  db.activities:insert{client = "CL-000001", kind = "call", date = kam.today(), notes = "slowtx"}
  local t = os.clock()
  while os.clock() - t < 5 do end
end)
return "slowtx done"
EOF
# writes, then fails outside its transaction: what it committed stays
cat >"$P/scripts/late_error.lua" <<'EOF'
kam.tx(function()
  db.activities:insert{client = "CL-000001", kind = "call", date = kam.today(), notes = "late_error"}
end)
error("failed after its write")
EOF
cat >"$P/scripts/broken.lua" <<'EOF'
kam.tx(function()
  db.activities:insert{client = "CL-000001", kind = "call", date = kam.today(), notes = "broken"}
  error("the job failed on purpose")
end)
EOF

sched() { # write the schedules: section of the project's kam.yaml
  { grep -v '^schedules:' "$KAM_SRC/config/kam.yaml" | sed '/^  [a-z_]*:$/,$d'; echo "schedules:"; cat; } >"$CONFIG"
}
n_act() { kam eval "return db.activities:where{notes = '$1'}:count()" 2>/dev/null; }
hist_json() { kam --format json schedule history "$@"; }
count_status() { # SCHEDULE STATUS: runs of the schedule with that status
  hist_json "$1" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["status"] == sys.argv[1]))' "$2"
}

# ---- kam schedule next: the expression as cron reads it, in a zone ------------

expect_ok kam schedule next --cron '30 2 * * *' --tz Europe/Berlin --from 2026-03-28T00:00Z -n 3 --format json
check 'next: 02:30 in Berlin across the spring-forward gap fires once, at 03:00' python3 -c '
import json, sys
t = [r["unix"] for r in json.load(sys.stdin)]
# 2026-03-28 02:30 +01:00, 2026-03-29 03:00 +02:00 (02:30 does not exist), 2026-03-30 02:30 +02:00
assert t == [1774661400, 1774746000, 1774830600], t
' <"$OUT"
expect_ok kam schedule next --cron '0 9 1 * fri' --tz Asia/Ho_Chi_Minh --from 2026-11-01T00:00+07:00 -n 2
check 'next: a restricted day of month and of week: either, and said so' grep -q 'did you mean' "$OUT"
check 'next: the systemd-analyze layout, the 1st and then a Friday' grep -q 'Iter. #2: 2026-11-06 09:00 +07:00' "$OUT"
expect_fail 1 'never fires: feb has no day 30' kam schedule next --cron '0 0 30 2 *'
expect_fail 2 'no such zone' kam schedule next --cron '0 0 * * *' --tz Mars/Olympus

# ---- kam.yaml: schedules checked with file:line --------------------------------

sched <<'EOF'
  impossible: {cron: "0 0 30 2 *", run: scripts/note.lua, owner: ST-000001}
EOF
expect_fail 1 'config/kam.yaml:' kam schedule list
check 'kam.yaml: a cron that can never fire is refused, located' grep -q 'schedules.impossible: cron:' "$ERR"
sched <<'EOF'
  nope: {cron: "0 0 * * *", run: scripts/missing.lua, owner: ST-000001}
EOF
expect_ok kam schedule list
expect_fail 1 'schedules.nope: scripts/missing.lua: no such script' kam check
sched <<'EOF'
  nope: {cron: "0 0 * * *", run: rm -rf /, owner: ST-000001}
EOF
expect_fail 1 'a step is scripts/NAME.lua [ARGS]' kam schedule list
sched <<'EOF'
  nope: {cron: "0 0 * * *", run: scripts/note.lua, owner: ST-000001, catch_up: sometimes}
EOF
expect_fail 1 'catch_up: expected latest, none or all N' kam schedule list
sched <<'EOF'
  nope: {cron: "0 0 * * *", run: "policy tiering", owner: ST-000001}
EOF
expect_fail 1 'a policy step is `policy NAME --commit`' kam schedule list

# ---- a day of ticks, one a minute: each job exactly when due --------------------

sched <<'EOF'
  quarter: {cron: "*/15 * * * *", run: scripts/note.lua quarter, owner: ST-000001}
  night: {cron: "30 1 * * *", run: [scripts/note.lua night, scripts/note.lua night2], owner: ST-000001}
EOF
base=$(date -d '2026-12-01T00:00:00+07:00' +%s)
for ((m = 0; m < 180; m++)); do
  "$KAM_BIN" --config "$CONFIG" --db "$BOOK" tick --now "@$((base + m * 60))" >>"$T/ticks.out" 2>&1 || echo "tick $m failed" >>"$T/ticks.err"
done
check 'a minute of ticks for 3 hours: no tick failed' [ ! -s "$T/ticks.err" ]
check 'quarter ran 11 times in 3 hours (first seen at 00:00: 00:15 to 02:45)' [ "$(count_status quarter ok)" = 11 ]
check 'night ran once, at 01:30' [ "$(count_status night ok)" = 1 ]
expect_eq 11 n_act quarter
expect_eq 1 n_act night2
check 'night: both steps in its summary' grep -q 'night written on 2026-12-01; night2 written on 2026-12-01' "$T/ticks.out"
hist_json night >"$T/h.json"
check 'a run records its due, start, end, who, hash, summary' python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["due"] == int(sys.argv[2]) + 90 * 60, r
assert r["who"] == "system:schedule night" and r["trigger"] == "cron", r
assert len(r["hash"]) == 64 and r["end_ms"] >= r["start_ms"] > 0, r
' "$T/h.json" "$base"
# the jobs' writes are audited as the schedule, with its owner's role
expect_ok kam --format json audit --coll activities --limit 1
check 'audit: system:schedule NAME, channel schedule' python3 -c '
import json, sys
e = json.load(sys.stdin)[0]
assert (e["who"], e["role"], e["channel"]) == ("system:schedule quarter", "admin", "schedule"), e
assert e["source"].startswith("schedule quarter: scripts/note.lua"), e
' <"$OUT"

# ---- a simulated week: kam scheduler walks a fake clock ---------------------------

expect_ok kam scheduler --now "@$((base + 180 * 60))" --until "@$((base + 7 * 86400))"
check 'a week: quarter every 15 minutes, no gap, no repeat' python3 -c '
import json, sys
runs = sorted(r["due"] for r in json.load(sys.stdin) if r["status"] == "ok")
gaps = {b - a for a, b in zip(runs, runs[1:])}
assert gaps == {900}, gaps
assert len(runs) == len(set(runs)), "a due time ran twice"
' < <(hist_json quarter)
check 'a week: night on each of the 7 nights' [ "$(count_status night ok)" = 7 ]

# ---- two ticks at once: one run per due time --------------------------------------

sched <<'EOF'
  slow: {cron: "0 * * * *", run: scripts/slow.lua 1, owner: ST-000001}
EOF
t0=$((base + 8 * 86400))
expect_ok kam tick --now "@$t0"   # first seen: nothing owed yet
t1=$((t0 + 3600))
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" tick --now "@$t1" >"$T/a.out" 2>&1 &
pa=$!
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" tick --now "@$t1" >"$T/b.out" 2>&1 &
pb=$!
wait $pa $pb
check 'two ticks at once: the due time ran once' [ "$(count_status slow ok)" = 1 ]
expect_eq 1 n_act slow

# ---- still running: the next due time is skipped ----------------------------------

sched <<'EOF'
  slow: {cron: "* * * * *", run: scripts/slow.lua 3, owner: ST-000001}
EOF
t2=$((t1 + 3600))
expect_ok kam tick --now "@$t2"
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" tick --now "@$((t2 + 60))" >"$T/c.out" 2>&1 &
pc=$!
sleep 1
expect_ok kam tick --now "@$((t2 + 120))"
check 'a tick while the job runs records skipped: still running' grep -q 'skipped.*still running' "$OUT"
wait $pc
check 'skipped is in the history' [ "$(count_status slow skipped)" = 1 ]

# ---- kill -9 mid-job: abandoned, nothing half-written --------------------------------

sched <<'EOF'
  slow: {cron: "* * * * *", run: scripts/slowtx.lua, owner: ST-000001}
EOF
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" tick --now "@$((t2 + 180))" >"$T/d.out" 2>&1 &
pd=$!
sleep 1.5
kill -9 $pd
wait $pd 2>/dev/null
expect_eq 0 n_act slowtx
sched <<'EOF'
  slow: {cron: "* * * * *", run: scripts/note.lua slowagain, owner: ST-000001}
EOF
expect_ok kam tick --now "@$((t2 + 240))"
check 'a dead claimer is noticed: abandoned' grep -q 'abandoned.*ended before the run did' "$OUT"
check 'abandoned is in the history' [ "$(count_status slow abandoned)" = 1 ]

# ---- three days down: latest runs once, the rest recorded missed ---------------------

sched <<'EOF'
  daily: {cron: "0 6 * * *", run: scripts/note.lua daily, owner: ST-000001}
  every: {cron: "0 6 * * *", run: scripts/note.lua every, owner: ST-000001, catch_up: all 2}
  never: {cron: "0 6 * * *", run: scripts/note.lua never, owner: ST-000001, catch_up: none}
  late: {cron: "0 6 * * *", run: scripts/note.lua late, owner: ST-000001, deadline: 2h}
EOF
d0=$(date -d '2026-12-20T00:00:00+07:00' +%s)
expect_ok kam tick --now "@$d0"
expect_ok kam tick --now "@$((d0 + 3 * 86400 + 3 * 3600))"   # 12-23 03:00: owed 20, 21, 22 at 06:00
check 'latest: one run' [ "$(count_status daily ok)" = 1 ]
check 'latest: two missed' [ "$(count_status daily missed)" = 2 ]
check 'all 2: two runs' [ "$(count_status every ok)" = 2 ]
check 'all 2: one missed' [ "$(count_status every missed)" = 1 ]
check 'none: nothing run after downtime' [ "$(count_status never ok)" = 0 ]
check 'none: three missed' [ "$(count_status never missed)" = 3 ]
check 'deadline 2h: 21 h late is missed' [ "$(count_status late ok)" = 0 ]
check 'deadline: said why' grep -q 'past the deadline' "$OUT"

# ---- a failed job: its writes roll back, the error is kept --------------------------

sched <<'EOF'
  broken: {cron: "0 7 * * *", run: [scripts/note.lua first, scripts/broken.lua, scripts/note.lua never_reached], owner: ST-000001}
EOF
expect_ok kam tick --now "@$d0"
expect_fail 1 'failed (kam schedule history)' kam tick --now "@$((d0 + 7 * 3600 + 60))"
check 'failed: the step and the error are named' grep -q 'step 2 (scripts/broken.lua): .*the job failed on purpose' "$OUT"
expect_eq 0 n_act broken
expect_eq 0 n_act never_reached
expect_eq 1 n_act first

# a step that fails after a committed kam.tx: the history says the write stays
sched <<'EOF'
  afterwrite: {cron: "0 7 * * *", run: scripts/late_error.lua, owner: ST-000001}
EOF
expect_ok kam tick --now "@$d0"
expect_fail 1 'failed (kam schedule history)' kam tick --now "@$((d0 + 7 * 3600 + 60))"
expect_eq 1 n_act late_error
check 'failed after a write: the history says what stays' python3 -c '
import json, sys
r = [r for r in json.load(sys.stdin) if r["status"] == "failed"][0]
assert "failed after its write" in r["error"], r
assert "what it wrote before stays in the book: 1 inserted" in r["error"], r
' < <(hist_json afterwrite)
check 'failed is in the history with its error' python3 -c '
import json, sys
r = [r for r in json.load(sys.stdin) if r["status"] == "failed"][0]
assert "the job failed on purpose" in r["error"], r
' < <(hist_json broken)

# ---- the owner's rights -------------------------------------------------------------

cat >"$P/scripts/invoice.lua" <<'EOF'
kam.tx(function()
  db.invoices:insert{client = "CL-000001", amount = 1000000, issued = kam.today(), due = kam.today()}
end)
return "invoiced"
EOF
sched <<'EOF'
  hers: {cron: "0 8 * * *", run: scripts/note.lua hoa_job, owner: ST-000002}
  money: {cron: "0 8 * * *", run: scripts/invoice.lua, owner: ST-000002}
EOF
expect_ok kam tick --now "@$d0"
expect_fail 1 'failed (kam schedule history)' kam tick --now "@$((d0 + 8 * 3600))"
check "a job owned by hoa writes her client's activity" [ "$(count_status hers ok)" = 1 ]
check "a job owned by hoa may not write invoices: failed, the rule named" \
  grep -q 'permission denied: system:schedule money (account_manager) may not insert invoices' "$OUT"
expect_eq 0 kam eval 'return db.invoices:count()'

# ---- by hand -------------------------------------------------------------------------

sched <<'EOF'
  hand: {cron: "0 0 1 1 *", run: scripts/note.lua byhand, owner: ST-000001}
EOF
expect_ok kam schedule run hand
expect_eq 1 n_act byhand
check 'by hand: recorded with trigger hand' python3 -c '
import json, sys
r = json.load(sys.stdin)[0]
assert (r["status"], r["trigger"]) == ("ok", "hand"), r
' < <(hist_json hand)
expect_fail 3 'only ST-000001 (the owner) or an admin' kam --as hoa schedule run hand
expect_fail 2 'no such schedule' kam schedule run nothing
expect_ok kam schedule list
check 'list: each schedule, its next time, its last run' grep -qE '^hand +0 0 1 1 \* +2027-01-01 00:00 \+07:00' "$OUT"

# ---- kam scheduler: SIGTERM waits for the running job ------------------------------

sched <<'EOF'
  slowloop: {cron: "* * * * *", run: scripts/slow.lua 2, owner: ST-000001}
EOF
# first seen two minutes ago (a tick on the fake clock), so that the real
# scheduler owes a run at once rather than at the next minute
expect_ok kam tick --now "@$(($(date +%s) - 120))"
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" scheduler >"$T/s.out" 2>&1 &
ps=$!
for _ in $(seq 1 100); do
  hist_json slowloop 2>/dev/null | grep -q '"running"' && break
  sleep 0.1
done
check 'the scheduler claimed a run' grep -q '"running"' < <(hist_json slowloop)
kill -TERM $ps
wait $ps
rc=$?
check 'SIGTERM: the scheduler exits 0' [ "$rc" -eq 0 ]
check 'SIGTERM: the running job finished first' [ "$(count_status slowloop ok)" = 1 ]
check 'SIGTERM: no run left running' [ "$(count_status slowloop running)" = 0 ]
check 'SIGTERM: said it stopped' grep -q 'kam scheduler: stopped' "$T/s.out"


# ---- kam check warns of the either-day rule; SIGHUP reads kam.yaml again ------------

sched <<'EOF'
  firstfri: {cron: "0 9 1 * fri", run: scripts/note.lua ff, owner: ST-000001}
EOF
_run kam check
check 'kam check: 1st or every Friday, did you mean Friday the 1st?' grep -q 'schedules.firstfri: cron "0 9 1 \* fri": 1st or every Friday' "$ERR"
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" scheduler >"$T/hup.out" 2>&1 &
ph=$!
for _ in $(seq 1 50); do grep -q '1 schedule' "$T/hup.out" && break; sleep 0.1; done
sched <<'EOF'
  firstfri: {cron: "0 9 1 * fri", run: scripts/note.lua ff, owner: ST-000001}
  second: {cron: "0 9 2 * *", run: scripts/note.lua second, owner: ST-000001}
EOF
kill -HUP $ph
for _ in $(seq 1 50); do grep -q 'reloaded: 2 schedules' "$T/hup.out" && break; sleep 0.1; done
kill -TERM $ph
wait $ph
check 'SIGHUP: kam.yaml read again' grep -q 'kam.yaml reloaded: 2 schedules' "$T/hup.out"

finish
