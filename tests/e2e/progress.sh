#!/usr/bin/env bash
# progress.sh — the progress bar of long work: kam.progress(n) and a long
# each(), drawn on standard error when it is a terminal, absent otherwise.
# Args: KAM_BIN KAM_SRC PTYDRIVE.
. "$(dirname "$0")/lib.sh" "$@"
PTY=${3:?usage: progress.sh KAM_BIN KAM_SRC PTYDRIVE}
case $PTY in /*) ;; *) PTY=$PWD/$PTY ;; esac
setup
export TERM=xterm

cat >book.yaml <<'EOF'
clients:
  - {id: CL-1, name: "Một"}
  - {id: CL-2, name: "Hai"}
  - {id: CL-3, name: "Ba"}
  - {id: CL-4, name: "Bốn"}
  - {id: CL-5, name: "Năm"}
  - {id: CL-6, name: "Sáu"}
EOF
expect_ok kam import book.yaml

# work that takes a while: n steps of `ms` milliseconds each
cat >ticks.lua <<'EOF'
local n, ms = tonumber(arg[1]), tonumber(arg[2])
local tick = kam.progress(n, "scoring")
for _ = 1, n do
  local t = os.clock() while os.clock() - t < ms / 1000 do end
  tick()
end
print("done", n)
EOF
cat >each.lua <<'EOF'
local n = 0
for _ in db.clients:all():each() do
  local t = os.clock() while os.clock() - t < 0.3 do end
  n = n + 1
end
print("rows", n)
EOF

# pty 'what' SCRIPT ARGS... < PTYDRIVE-SCRIPT: runs kam on a pseudo-terminal
pty() {
  local what=$1; shift
  cat >"$T/.pty"
  if "$PTY" -t 15 -o "$T/.transcript" "$T/.pty" -- "$KAM_BIN" --config "$CONFIG" --db "$BOOK" "$@" 2>"$T/.ptyerr"; then
    _pass
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: $what"
    sed 's/^/      /' "$T/.ptyerr" | tail -n 20
  fi
}

pty 'kam.progress draws a bar with count, rate and ETA' run ticks.lua 30 50 <<'EOF'
expect scoring
expect /30
expect /s
expect ETA
expect done\t30
exit 0
EOF
check 'the bar is erased when the work ends' grep -aq $'\r\033\\[Kdone' "$T/.transcript"
pty 'a long each() shows its own bar' run each.lua <<'EOF'
expect clients
expect /6
expect ETA
expect rows\t6
exit 0
EOF
pty 'short work shows nothing' run ticks.lua 5 1 <<'EOF'
expect done\t5
exit 0
EOF
check 'no bar for short work' bash -c "! grep -aq ETA '$T/.transcript'"

# not a terminal: nothing on stderr, the output as always
expect_eq $'done\t20' kam run ticks.lua 20 50
check 'no progress when stderr is not a terminal' test ! -s "$ERR"
expect_eq $'rows\t6' kam run each.lua
check 'no progress for each() either' test ! -s "$ERR"
expect_fail 1 'number expected' kam eval 'kam.progress("x")'

# Ctrl-C in kam run: the open kam.tx rolls back, what was committed stays, the
# bar leaves the line, a message says what was stopped, exit 130
cat >endless.lua <<'EOF'
kam.tx(function() db.clients:update("CL-1", {city = "committed"}) end)
local tick = kam.progress(1e12, "endless")
local t0 = os.clock() -- endless enough, and never left running by a failed test
kam.tx(function()
  db.clients:update("CL-2", {city = "rolled back"})
  kam.log("info", "in the kam.tx")
  while os.clock() - t0 < 30 do pcall(tick) end -- pcall does not catch the stop
end)
EOF
pty 'Ctrl-C stops kam run, says so and exits 130' run endless.lua <<'EOF'
expect in the kam.tx
expect endless
send \x03
expect kam: endless.lua: interrupted (Ctrl-C), the open kam.tx rolled back; written before: 1 updated
exit 130
EOF
check 'the bar is erased before the message' grep -aq $'\r\033\\[Kkam: endless.lua: interrupted' "$T/.transcript"
expect_eq 'committed nil' kam eval 'return db.clients:get("CL-1").city .. " " .. tostring(db.clients:get("CL-2").city)'
# SIGINT from elsewhere, not on a terminal
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" run endless.lua >"$T/.bg.out" 2>"$T/.bg.err" &
pid=$!
for _ in $(seq 100); do grep -q 'in the kam.tx' "$T/.bg.err" && break; sleep 0.1; done
kill -INT $pid
wait $pid
check 'SIGINT: exit 130' [ $? = 130 ]
check 'SIGINT: the message' grep -q '^kam: endless.lua: interrupted (Ctrl-C), the open kam.tx rolled back; written before: 1 updated$' "$T/.bg.err"
expect_eq 'nil' kam eval 'return tostring(db.clients:get("CL-2").city)'

finish
