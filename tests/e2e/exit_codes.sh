#!/usr/bin/env bash
# An error raised inside a script reaches the exit code with its kind, also
# when the script caught it and raised it again: 1 the script's own error or
# data the book refuses, 2 usage, 3 permission, 4 internal. Each leaves the
# book as it was.
. "$(dirname "$0")/lib.sh" "$@"
FAILSYNC=${3:?usage: exit_codes.sh KAM_BIN KAM_SRC FAILSYNC_SO}
case $FAILSYNC in /*) ;; *) FAILSYNC=$PWD/$FAILSYNC ;; esac
setup
tmp_project proj
CONFIG=$T/proj/config/kam.yaml
expect_ok kam eval 'kam.tx(function() db.teams:insert{id = "TM-ACC", name = "Account", kind = "Account"} end)'
snapshot "$T/.start"

# 1: the script's own error; data the book refuses; both caught and raised again
expect_fail 1 'eval:1: boom' kam eval 'error("boom")'
expect_fail 1 'field kind' kam eval 'kam.tx(function() db.teams:insert{id = "TM-X", name = "x", kind = "Nope"} end)'
expect_fail 1 'field kind' kam eval 'local ok, err = pcall(kam.tx, function()
  db.teams:insert{id = "TM-X", name = "x", kind = "Nope"} end)
error(err, 0)'
cat > bad.lua <<'LUA'
local n = db.teams:count()
kam.tx(function() db.staff:insert{name = "Lan", role = "no_such_role", team = "TM-ACC"} end)
LUA
expect_fail 1 'field role' kam run bad.lua
# what a script catches: a value with its code, kind and message, read like a string
expect_eq '1 data true true' kam eval 'local ok, e = pcall(kam.tx, function()
  db.teams:insert{id = "TM-X", name = "x", kind = "Nope"} end)
return e.code .. " " .. e.kind .. " " .. tostring(e:find("field kind") ~= nil) .. " " .. tostring(("! " .. e):sub(1, 2) == "! ")'
expect_out 'Account' kam ls teams --format csv --fields name --where 'function(t)
  local ok, e = pcall(kam.tx, function() end) return e.code == 3 and e.kind == "permission" end'
expect_fail 1 'attempt to index a kam.error value' kam eval 'local ok, e = pcall(kam.tx, function()
  db.teams:insert{id = "TM-X", name = "x", kind = "Nope"} end)
e.code = 4'
expect_eq 'kam.error' kam eval 'local ok, e = pcall(kam.tx, function() db.teams:insert{kind = "Nope"} end)
return getmetatable(e)'
# a caught error is handled: the script goes on and succeeds
expect_eq 'false' kam eval 'local ok = pcall(kam.tx, function() db.teams:insert{kind = "Nope"} end) return ok'

# 2: a script's own usage line, for the arguments it was given
cat > report.lua <<'LUA'
local month = arg[1]
if not month or not month:match("^%d%d%d%d%-%d%d$") then
  kam.usage("report.lua MONTH (like 2026-11)")
end
return month
LUA
expect_fail 2 'usage: report.lua MONTH (like 2026-11)' kam run report.lua
expect_fail 2 'usage: report.lua MONTH' kam run report.lua November
expect_eq '2026-11' kam run report.lua 2026-11

# 3: a write where the command only reads, or inside a policy
expect_fail 3 'only reads' kam ls teams --where 'function(t) kam.tx(function() end) return true end'
expect_fail 3 'only reads' kam ls teams --where 'function(t)
  local ok, err = pcall(kam.tx, function() end)
  error(err, 0) end'
cat > proj/rules/sneaky.lua <<'LUA'
local P = {name = "sneaky", subject = "teams", writes = "kind"}
function P.decide(t, why)
  db.teams:update(t.id, {name = "renamed by a policy"})
  return "Account"
end
return P
LUA
expect_fail_unchanged 3 'a policy only reads the book' kam policy eval sneaky
# a permission error caught, then the script's own error: the last one counts
expect_fail 1 ':2: later' kam ls teams --where 'function(t) pcall(kam.tx, function() end)
  error("later") end'

# 4: the disk fails when a write commits; nothing of it is kept
preload() { LD_PRELOAD=$FAILSYNC ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 "$@"; }
expect_fail 4 'Input/output error' preload kam eval 'kam.tx(function()
  db.teams:insert{id = "TM-CRE", name = "Creative", kind = "Creative"} end)'
expect_fail 4 'Input/output error' preload kam eval 'local ok, err = pcall(kam.tx, function()
  db.teams:insert{id = "TM-CRE", name = "Creative", kind = "Creative"} end)
error(err, 0)'
expect_out 'Account' preload kam eval 'return db.teams:get("TM-ACC").name'
expect_fail 4 'Input/output error' preload kam import "$KAM_SRC/tests/e2e/exit_codes.yaml"
expect_unchanged "$T/.start" 'errors of every kind'
finish
