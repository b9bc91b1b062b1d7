#!/usr/bin/env bash
# kam policy whatif on the demo book: the baseline is what the book holds (the
# last committed decision, else the policy's field as it is now), never the
# file being edited, and the output names it. Usage errors exit 2.
. "$(dirname "$0")/lib.sh" "$@"
setup
demo_project
NCLIENTS=$(kam eval 'return db.clients:count()')

# changes: the N of "N of M change" in the last output
changes() { sed -n 's/^\([0-9][0-9]*\) of [0-9][0-9]* change.*/\1/p' "$OUT"; }

# raise tier B's lower bound by a quarter in rules/tiering.lua, and the upper
# bound of the band below it, which is the same number (bands stay contiguous)
expect_ok kam --format json policy show tiering
b_min=$(grep -o '{[^{}]*"tier":"B"[^{}]*}' "$OUT" | grep -o '"min":[0-9.e+]*' | cut -d: -f2)
check 'tiering has a lower bound for B' [ -n "$b_min" ]
cp rules/tiering.lua "$T/tiering_orig.lua"
raise() {
  lua5.4 - "$b_min" "$(awk -v m="$b_min" 'BEGIN { printf "%.0f", m * 1.25 }')" rules/tiering.lua <<'LUA'
local bmin, new, path = tonumber(arg[1]), arg[2], arg[3]
local f = assert(io.open(path, "rb"))
local src = f:read("a")
f:close()
local n = 0
src = src:gsub("(revenue%s*=%s*)(%b{})", function(head, bands)
  return head .. (bands:gsub("(m[ai][nx]%s*=%s*)([%w%.%+]+)", function(k, v)
    if tonumber(v) == bmin then n = n + 1 return k .. new end
  end))
end, 1)
if n ~= 2 then io.stderr:write("expected B's min and the max below it, found ", n, "\n") os.exit(1) end
f = assert(io.open(path, "wb"))
f:write(src)
f:close()
LUA
}
check 'the threshold is raised in the file' raise
differs() { ! cmp -s "$1" "$2"; }
check 'the file changed' differs rules/tiering.lua "$T/tiering_orig.lua"

# nothing committed yet: the baseline is the clients' tier as it is now
snapshot "$T/before"
expect_out 'baseline: the tier field as it is now' kam policy whatif tiering --with rules/tiering.lua
check "what-if against the book: changes ($(changes))" [ "$(changes)" -gt 0 ]
check 'what-if: the reasons name the field' grep -q 'tier is [A-D] in the book' "$OUT"
expect_unchanged "$T/before" 'policy whatif'
expect_ok kam --format json policy whatif tiering --with rules/tiering.lua
check 'what-if json: every baseline from the field' grep -q "\"committed\":0,\"field\":$NCLIENTS," "$OUT"

# committed: the baseline is the last decision; the same file changes nothing
expect_ok kam policy eval tiering --commit
expect_out 'baseline: the last committed decision' kam policy whatif tiering --with rules/tiering.lua
check 'what-if: the committed version against itself' [ "$(changes)" = 0 ]
expect_out 'baseline: the last committed decision' kam policy whatif tiering --with "$T/tiering_orig.lua"
check "what-if: back to the shipped threshold ($(changes))" [ "$(changes)" -gt 0 ]

# a client added since: mixed, and said how many of each
expect_ok kam eval 'kam.tx(function() db.clients:insert{name = "Khách mới"} end)'
expect_out "for $NCLIENTS clients; the tier field as it is now for 1" kam policy whatif tiering --with rules/tiering.lua
expect_ok kam --format json policy whatif tiering --with rules/tiering.lua
check 'what-if json: committed and field counted' grep -q "\"committed\":$NCLIENTS,\"field\":1," "$OUT"

# usage errors exit 2 with the usage line
expect_fail 2 'kam: usage: kam policy whatif tiering --with FILE' kam policy whatif tiering
expect_fail 2 'kam: usage: kam policy whatif NAME --with FILE' kam policy whatif
expect_fail 2 'kam: usage: kam policy eval NAME' kam policy eval
finish
