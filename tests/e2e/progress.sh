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

finish
