#!/usr/bin/env bash
# kam policy eval --jobs N: a whole-book eval shared among N processes gives
# what one process gives, byte for byte (results, reasons, what policies
# print, warnings, exit codes, committed decisions), and a worker that fails
# fails the command with nothing committed and no process left behind.
. "$(dirname "$0")/lib.sh" "$@"
setup
demo_project
NCLIENTS=$(kam eval 'return db.clients:count()')
LAST=$(kam eval 'local l for id in db.clients:all():each() do l = id.id end return l')

# same 'what' ARGS...: kam ARGS --jobs 1 and --jobs 3 print the same, exit the same
same() {
  local what=$1; shift
  kam "$@" --jobs 1 >"$T/.o1" 2>"$T/.e1"; local rc1=$?
  kam "$@" --jobs 3 >"$T/.o3" 2>"$T/.e3"; local rc3=$?
  # the run's log line carries the time of day
  sed -i 's/^[0-9T:+-]* \[info\]/[info]/' "$T/.e1" "$T/.e3"
  if [ "$rc1" != "$rc3" ]; then FAILED=$((FAILED + 1)); echo "FAIL: $what: exit $rc1 alone, $rc3 shared"
  elif ! cmp -s "$T/.o1" "$T/.o3"; then FAILED=$((FAILED + 1)); echo "FAIL: $what: stdout differs"; diff "$T/.o1" "$T/.o3" | head -5
  elif ! cmp -s "$T/.e1" "$T/.e3"; then FAILED=$((FAILED + 1)); echo "FAIL: $what: stderr differs"; diff "$T/.e1" "$T/.e3" | head -5
  elif [ ! -s "$T/.o1" ] && [ ! -s "$T/.e1" ]; then FAILED=$((FAILED + 1)); echo "FAIL: $what: printed nothing"
  else _pass; fi
  SAME_RC=$rc1
}

# every policy the demo ships, in every output form
check "the demo book has more clients than three processes share" [ "$NCLIENTS" -ge 30 ]
for p in $(kam --format json policy list | grep -o '"kind":"policy","name":"[a-z_]*"' | cut -d'"' -f8); do
  same "$p as JSON with reasons" --format json policy eval "$p" --explain
  same "$p explained" policy eval "$p" --explain
  same "$p as YAML" --format yaml policy eval "$p"
  same "$p as CSV" --format csv policy eval "$p"
done
check "six policies compared" [ "$PASSED" -ge 24 ]

# results of every type keep their type (a float stays a float), and what a
# policy prints comes out in the order one process prints it
cat >rules/kinds.lua <<'LUA'
return {name = "kinds", subject = "clients",
  decide = function(c, why)
    local n = tonumber(c.id:match("%d+"))
    print("deciding " .. c.id)
    why("client %s, kind %d", c.name, n % 7)
    local k = n % 7
    if k == 0 then return nil elseif k == 1 then return n elseif k == 2 then return n + 0.5
    elseif k == 3 then return 2.0 elseif k == 4 then return n % 2 == 0
    elseif k == 5 then return {n = n, list = {1, 2.5, "x"}, name = c.name} end
    return "tier " .. c.id .. "\0\1 end"
  end}
LUA
same "results of every type" --format json policy eval kinds --explain
same "results of every type, as a table" policy eval kinds
check "what a policy prints, in order" grep -q "^deciding $LAST\$" "$T/.o3"

# failures: some subjects raise; the warnings, the exit code and --strict's stop
cat >rules/fails.lua <<'LUA'
return {name = "fails", subject = "clients",
  decide = function(c, why)
    why("looked at %s", c.id)
    local n = tonumber(c.id:match("%d+"))
    if n % 5 == 0 then error("no figure for " .. c.id) end
    return n
  end}
LUA
same "failures among the subjects" --format json policy eval fails --explain
check "failures exit 1" [ "$SAME_RC" = 1 ]
same "failures, --strict" policy eval fails --strict
check "--strict stops at the first failure with exit 1" [ "$SAME_RC" = 1 ]
check "--strict names the first failing client" grep -q "clients CL-000005: .*no figure for CL-000005" "$T/.e3"

# commits: the same decisions and the same field values
cp "$BOOK" "$T/book1.db"
expect_out "decisions committed" kam policy eval tiering --commit --jobs 3
expect_out "decisions committed" "$KAM_BIN" --config "$CONFIG" --db "$T/book1.db" policy eval tiering --commit --jobs 1
for b in "$BOOK" "$T/book1.db"; do
  "$KAM_BIN" --config "$CONFIG" --db "$b" eval 'local t = {} for c in db.clients:all():each() do
      t[#t + 1] = c.id .. "=" .. tostring(c.tier) end return table.concat(t, " ")' >"$b.tiers" 2>&1
  "$KAM_BIN" --config "$CONFIG" --db "$b" --format json policy eval tiering --explain 2>/dev/null |
    sed 's/"changed":[a-z]*,//' >"$b.after"
done
check "the same tiers written" cmp -s "$BOOK.tiers" "$T/book1.db.tiers"
check "the same decisions committed" cmp -s "$BOOK.after" "$T/book1.db.after"
check "nothing changed after the commit" grep -q '"last":"[A-D]"' "$BOOK.after"

# whatif: the candidate's decisions and the measure of every subject, shared
# among processes, give the same transitions, sums, changes and reasons
expect_ok kam --format json policy show tiering
b_min=$(grep -o '{[^{}]*"tier":"B"[^{}]*}' "$OUT" | grep -o '"min":[0-9.e+]*' | cut -d: -f2)
check 'tiering has a lower bound for B' [ -n "$b_min" ]
# B starts a quarter higher (and the band below ends there): some clients move B -> C
lua5.4 - "$b_min" rules/tiering.lua "$T/raised.lua" <<'LUA'
local bmin, from, to = tonumber(arg[1]), arg[2], arg[3]
local f = assert(io.open(from, "rb"))
local src = f:read("a")
f:close()
src = src:gsub("(m[ai][nx]%s*=%s*)([%w%.%+]+)", function(k, v)
  if tonumber(v) == bmin then return k .. string.format("%.0f", bmin * 1.25) end
end)
f = assert(io.open(to, "wb"))
f:write(src)
f:close()
LUA
same "whatif" policy whatif tiering --with "$T/raised.lua"
check "whatif: some clients move from B to C" grep -q "^B → C" "$T/.o3"
same "whatif as JSON" --format json policy whatif tiering --with "$T/raised.lua"
same "whatif as CSV" --format csv policy whatif tiering --with "$T/raised.lua"
same "whatif summing an expression" policy whatif tiering --with "$T/raised.lua" --sum 'status == "active" and 1.5 or 2'
check "whatif sums a float measure" grep -q "sum of status" "$T/.o3"
same "whatif with a failing candidate" --format json policy whatif tiering --with rules/fails.lua
check "whatif counts the candidate's failures" grep -q '"failed":[1-9]' "$T/.o3"

# a worker's last subject runs an attack: an endless loop, a memory bomb, a
# finalizer that never ends, a coroutine that loops; the command fails with
# the limit named and the share that stopped, nothing committed, no process left
# last_policy NAME 'more fields' 'LUA run for the last client': rules/NAME.lua deciding "D"
# for every client, and running LUA first for the last one (a worker's share)
last_policy() {
  cat >"rules/$1.lua" <<LUA
return {name = "$1", subject = "clients", $2
  decide = function(c, why)
    if c.id == "$LAST" then $3 end
    return "D"
  end}
LUA
}
attack() { # attack NAME 'stderr text' 'LUA run for the last client'
  last_policy "$1" 'writes = "tier",' "$3"
  snapshot "$T/.before"
  expect_fail 1 "$2" kam policy eval "$1" --commit --jobs 3
  check "$1: the command names the share that stopped" grep -q "the process evaluating clients [0-9]* to $NCLIENTS stopped" "$ERR"
  check "$1: and says nothing was committed" grep -q "nothing was committed" "$ERR"
  expect_unchanged "$T/.before" "$1 in a worker's share"
  check "$1: no worker left running" bash -c "! pgrep -f 'worker-par[t].*$T' >/dev/null"
}
attack stuck "ran longer than" 'while true do end'
attack bomb "used more than" 'local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1 << 20) .. i end'
attack coroutines "ran longer than" 'local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end'
# what the sandbox refuses (a finalizer, a write from a policy) is refused in a
# worker's share as in one process: the same failure, the book unchanged
refused() { # refused NAME 'stderr text' 'LUA run for the last client'
  last_policy "$1" '' "$3"
  snapshot "$T/.before"
  same "$1 from a worker's share" policy eval "$1"
  check "$1: refused for the last client, as in one process" grep -q "$LAST.*$2" "$T/.e3"
  expect_unchanged "$T/.before" "$1 tried from a worker's share"
}
refused finalizer "finalizers (__gc) are not allowed" 'setmetatable({}, {__gc = function() while true do end end})'
refused writer "kam.tx" 'kam.tx(function() db.clients:update(c.id, {tier = "A"}) end)'

# a command that ignores Ctrl-C (started in the background) has workers that
# ignore it too: Ctrl-C sent to the whole process group changes nothing
cat >rules/slow.lua <<'LUA'
return {name = "slow", subject = "clients",
  decide = function(c, why)
    local t = os.clock()
    while os.clock() - t < 0.02 do end
    return c.status
  end}
LUA
kam --format json policy eval slow --jobs 1 >"$T/.slow1" 2>/dev/null
setsid bash -c 'trap "" INT; exec "$@" >"$0.out" 2>"$0.err"' "$T/.slow3" "$KAM_BIN" --config "$CONFIG" --db "$BOOK" \
  --format json policy eval slow --jobs 3 &
SLOW=$!
sleep 0.3
kill -INT -- "-$SLOW" 2>/dev/null
wait "$SLOW"
SLOW_RC=$?
check "Ctrl-C to a command that ignores it: the run goes on" [ "$SLOW_RC" = 0 ]
check "and gives every result" cmp -s "$T/.slow1" "$T/.slow3.out"

# no temporary folder for the workers' results: one process evaluates them all, and says so
"$KAM_BIN" --config "$CONFIG" --db "$BOOK" --format json policy eval tiering --jobs 1 >"$T/.alone" 2>/dev/null
_run env TMPDIR="$T/nowhere" "$KAM_BIN" --config "$CONFIG" --db "$BOOK" --format json policy eval tiering --jobs 3
check "without a temporary folder the eval still runs" [ "$RC" = 0 ]
check "in one process, with the same output" cmp -s "$T/.alone" "$OUT"
check "and a warning that says why" grep -q "warn.*cannot make a temporary file in $T/nowhere.*evaluating in one process" "$ERR"

# usage
expect_fail 2 "--jobs N: N is a whole number from 1 to 16" kam policy eval tiering --jobs 0
expect_fail 2 "--jobs N: N is a whole number from 1 to 16" kam policy eval tiering --jobs many
expect_fail 2 "--jobs N: N is a whole number from 1 to 16" kam policy eval tiering --jobs 17
expect_fail 2 "--jobs needs a value" kam policy eval tiering --jobs
expect_fail 2 "kam's own" kam policy eval tiering --worker-part=1:2
# a worker that finds another version of the book than its command's says so
# with exit 75 and gives no results (its command then evaluates the share itself)
_run kam policy eval tiering "--worker-part=1:5:999999:$$"
check "a worker on another version of the book exits 75" [ "$RC" = 75 ]
check "and prints nothing" [ ! -s "$OUT" ]

finish
