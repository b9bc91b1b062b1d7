#!/usr/bin/env bash
# pattern.sh — kam's own string patterns (core/lpattern.c): string.find,
# match, gmatch and gsub give what Lua 5.4's give, case for case, and a
# pathological pattern is stopped by the time budget like any other loop.
. "$(dirname "$0")/lib.sh" "$@"
setup

# ---- the same results as the lua5.4 binary ------------------------------------
# pattern_cases.lua prints one line per call (results, captures, positions or
# the error message); both run it from this folder, so even the chunk names
# in error messages agree.
cp "$KAM_SRC/tests/e2e/pattern_cases.lua" .
if ! command -v lua5.4 >/dev/null; then
  FAILED=$((FAILED + 1))
  echo "FAIL: lua5.4 is not installed (scripts/install-deps installs it)"
else
  lua5.4 pattern_cases.lua >lua.out 2>lua.err
  check 'lua5.4 runs the cases' [ $? -eq 0 ]
  _run kam run pattern_cases.lua
  check 'kam runs the cases' [ "$RC" -eq 0 ]
  cp "$OUT" kam.out
  check 'kam ran every case' grep -q '^cases run: [0-9]' kam.out
  if cmp -s lua.out kam.out; then
    _pass
    echo "  $(grep -a '^cases run:' kam.out | cut -d' ' -f3) results agree with lua5.4"
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: kam's results differ from lua5.4's ($(diff -a lua.out kam.out | grep -c '^>') lines); first differences (< lua5.4, > kam):"
    diff -a lua.out kam.out | head -n 20 | cut -c1-300 | sed 's/^/      /'
  fi
fi

# method calls on strings (the string metatable's __index is the same table)
expect_eq $'3\n4\nll' kam eval 'return ("hello"):find("(l+)", 2)'
expect_eq $'x-y z\n1' kam eval 'return ("x y z"):gsub("%s", "-", 1)'

# ---- the time budget stops the matcher --------------------------------------------
mkdir -p "$T/lim/config"
cp "$KAM_SRC/config/schema.yaml" "$T/lim/config/"
{ cat "$CONFIG"; printf 'limits: {script_seconds: 1}\n'; } >"$T/lim/config/kam.yaml"

# What a run costs besides its script (start, open the book, exit), the best
# of three: a sanitizer build pays several times more for it than a release
# build, and none of it is the matcher's.
base=9
for try in 1 2 3; do
  t0=$(date +%s.%N)
  "$KAM_BIN" --config "$T/lim/config/kam.yaml" --db "$BOOK" eval 'return 1' >/dev/null 2>&1
  t1=$(date +%s.%N)
  base=$(awk -v a="$t0" -v b="$t1" -v m="$base" 'BEGIN { t = b - a; printf "%.3f", t < m ? t : m }')
done

# stopped: exit 1, the message names the budget, and it took under 1.2 s
# beyond that cost. Only the time is tried again (up to three runs): on a
# loaded machine a run may wait for the processor, which says nothing about
# the matcher.
expect_stopped() {
  local what=$1 chunk=$2 t0 t1 took try
  for try in 1 2 3; do
    t0=$(date +%s.%N)
    _run timeout 10 "$KAM_BIN" --config "$T/lim/config/kam.yaml" --db "$BOOK" eval "$chunk"
    t1=$(date +%s.%N)
    took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if [ "$RC" -ne 1 ]; then _fail "$what" "expected exit 1, got $RC after $took s"; return
    elif ! grep -q 'ran longer than 1 s (limits.script_seconds in kam.yaml)' "$ERR"; then
      _fail "$what" "the error does not name the time budget"; return
    elif awk -v t="$took" -v b="$base" 'BEGIN { exit !(t < 1.2 + b) }'; then _pass; return
    fi
  done
  _fail "$what" "took $took s (budget 1 s, a run without the loop $base s), in each of $try runs"
}
expect_stopped 'a quadratic find' 'return string.rep("a", 30000):find(".-b")'
expect_stopped 'an exponential match' 'return string.rep("a", 50):match(string.rep("a*", 30) .. "b")'
expect_stopped 'an exponential method call' 'return ("a"):rep(40):find(("a?"):rep(40) .. ("a"):rep(40) .. "b")'
expect_stopped 'a quadratic gsub' 'return (string.rep("a", 30000):gsub(".-b", ""))'
expect_stopped 'a quadratic gmatch' 'for w in string.rep("(", 200000):gmatch("%b()") do end'
expect_stopped 'a back-reference search' 'return string.rep("a", 30000):find("(.-)%1b")'
expect_stopped 'a pcall does not catch the stop' 'while true do pcall(string.find, string.rep("a", 30000), ".-b") end'
expect_stopped 'nor a pcall in a loop of matches' 'local s = string.rep("a", 3000) while true do pcall(function() return s:find(".-.-b") end) end'

finish
