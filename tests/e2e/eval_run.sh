#!/usr/bin/env bash
# eval_run.sh — kam eval and kam run: what they print, their errors, the
# arg table, standard input, and writes through kam.tx only.
. "$(dirname "$0")/lib.sh" "$@"
setup

cat >book.yaml <<'EOF'
clients:
  - {id: CL-A, name: "An Phát", status: active, tier: A, annual_budget: 5000000000}
  - {id: CL-B, name: "Bình Minh", status: active, tier: B}
invoices:
  - {id: INV-1, client: CL-A, amount: 250000000, issued: 2026-06-01, due: 2026-07-01, status: overdue}
  - {id: INV-2, client: CL-B, amount: 90000000, issued: 2026-07-01, due: 2026-08-01, status: paid}
EOF
expect_ok kam import book.yaml

# what eval prints
expect_eq 3 kam eval 'return 1 + 2'
expect_eq 3 kam eval '1 + 2'
expect_eq 1.5 kam eval 'return 3 / 2'
expect_eq 'xin chào' kam eval 'return "xin chào"'
expect_eq true kam eval 'return db.clients:count() == 2'
expect_eq '1
two' kam eval 'return 1, "two"'
expect_out 'An Phát' kam eval 'return db.clients:get("CL-A")'
check 'an entity prints its fields' grep -q '^id  *CL-A' "$OUT"
check 'an entity prints money formatted' _has '5.000.000.000 ₫' "$OUT"
expect_out '(1 row)' kam eval 'return db.clients:where{tier = "B"}'
check 'a query prints its rows' _has 'Bình Minh' "$OUT"
expect_out 'key' kam eval 'return {a = 1, b = "x"}'
check 'a table prints key and value' grep -q '^b  *x' "$OUT"
# a group over several keys or aggregates prints a row per leaf: a column
# per key, then per aggregate (sorted), money as money
expect_out 'total' kam eval 'return db.invoices:group("client", {n = "count", total = {"sum", "amount"}, last = {"max", "issued"}})'
check 'group: a header of the key and the aggregates' grep -q '^client  *last  *n  *total$' "$OUT"
check 'group: a row per client, money formatted' grep -q '^CL-A  *2026-06-01  *1  *250.000.000 ₫$' "$OUT"
expect_out 'client,status,value' kam --format csv eval 'return db.invoices:group({"client", "status"}, "sum", "amount")'
check 'group as CSV: a line per client and status' [ "$(tr -d '\r' <"$OUT")" = 'client,status,value
CL-A,overdue,250000000
CL-B,paid,90000000' ]
expect_eq '{"CL-A":{"overdue":250000000},"CL-B":{"paid":90000000}}' kam --format json eval 'return db.invoices:group({"client", "status"}, "sum", "amount")'
# reshaped by the script, it is a table like any other
expect_out 'key' kam eval 'local r = db.invoices:group("client", {n = "count"}) r.extra = 5 return r'
check 'group reshaped: key and value rows' grep -q '^extra  *5$' "$OUT"
# printing reads the result raw: a metatable's functions are never run
expect_out 'total' kam eval 'local r = db.invoices:group("client", {total = {"sum", "amount"}})
setmetatable(r, {__index = function() while true do end end, __len = function() error("ran") end})
setmetatable(r["CL-A"], {__index = function() error("ran") end})
return r'
check 'group with metatables: the same rows' grep -q '^CL-A  *250.000.000 ₫$' "$OUT"
expect_eq '{"a":1}' kam --format json eval 'return {a = 1}'
expect_eq '[1,2,3]' kam --format json eval 'return {1, 2, 3}'
# an object's keys in the order Lua's < gives texts: a few (sorted in C), with
# a NUL inside, many, numbers before texts (sorted by table.sort)
expect_eq '{"B":4,"a":2,"a b":6,"a_b":5,"b":1,"Ă":3}' kam --format json eval 'return {b = 1, a = 2, ["Ă"] = 3, B = 4, a_b = 5, ["a b"] = 6}'
expect_eq '{"a":2,"a\u0000a":3,"a\u0000b":1}' kam --format json eval 'return {["a\0b"] = 1, a = 2, ["a\0a"] = 3}'
expect_eq '{"2":"x","10":"y","k":1}' kam --format json eval 'return {[2] = "x", [10] = "y", k = 1}'
expect_ok kam --format json eval 'local t = {} for i = 40, 1, -1 do t[string.format("k%02d", i)] = i end return t'
check 'forty keys in order' [ "$(grep -o '"k[0-9]*"' "$OUT" | tr -d '"\n')" = "$(for i in $(seq -w 1 40); do printf 'k%s' "$i"; done)" ]
expect_eq 'alpha:
  x: 3
  y: 2
zeta: 1' kam --format yaml eval 'return {zeta = 1, alpha = {y = 2, x = 3}}'
# a big result prints (a whole book's explained decisions are millions of values); a few small
# tables shared a million times over are refused before anything is printed
expect_out '1100000]' kam --format json eval 'local t = {} for i = 1, 1100000 do t[i] = i end return t'
check 'a list of 1.1M numbers prints whole' [ "$(tr ',' '\n' <"$OUT" | wc -l)" -eq 1100000 ]
expect_fail 1 'the result is too large to print' kam --format json eval 'local t = {1, 2, 3} for i = 1, 24 do t = {t, t} end return t'
check 'a refused result prints nothing' [ ! -s "$OUT" ]
expect_out '"name":"An Phát"' kam --format json eval 'return db.clients:get("CL-A")'
expect_out '[{"id":"CL-A"' kam --format json eval 'return db.clients:all()'
expect_out 'CL-B,' kam --format csv eval 'return db.clients:where{tier = "B"}'
expect_eq '' kam eval 'x = 1'
expect_eq '' kam eval 'local t = {} for i = 1, 10 do t[i] = i end'
expect_eq 'a b' kam eval 'return arg[1] .. " " .. arg[2]' a b

# errors: exit 1, kam: eval:LINE: message
expect_fail 1 'eval:1:' kam eval 'return ('
expect_fail 1 'eval:3:' kam eval $'local a = 1\nlocal b = 2\nlocal c = = 3'
expect_fail 1 'eval:2: boom' kam eval $'local a = 1\nerror("boom")'
expect_fail 1 'eval:2: attempt to index a nil value' kam eval $'local t\nreturn t.x'
expect_fail 1 'no such collection' kam eval 'return db.nope:count()'
expect_fail 1 'require "lib.nope": no module lib/nope.lua in rules/ or scripts/' kam eval 'return require "lib.nope"'
expect_fail 1 "no field 'nope'" kam eval 'return db.clients:get("CL-A").nope'
expect_fail 1 'attempt to call a nil value' kam eval 'return db.clients:frobnicate()'
expect_fail 1 'error object is a table' kam eval 'error({})'

# kam run: a script, its args, standard input
cat >args.lua <<'EOF'
-- a comment first
local a, b = ...
return string.format("%s|%s|%s|%s|%d", arg[0], arg[1], arg[2], a .. b, #arg)
EOF
expect_eq 'args.lua|x|yz|xyz|2' kam run args.lua x yz
expect_eq 'args.lua|--flag|-v|--flag-v|2' kam run args.lua --flag -v
printf '#!/usr/bin/env kam run\nreturn #arg .. ":" .. db.invoices:sum("amount")\n' >shebang.lua
expect_eq '0:340000000' kam run shebang.lua
expect_eq 'stdin 2' kam run - <<'EOF'
return "stdin " .. db.clients:count()
EOF
expect_eq 'p q' kam run - p q <<'EOF'
return arg[1] .. " " .. arg[2]
EOF
cat >syntax.lua <<'EOF'
local x = 1
local y = 2
if x then
  return y +
end
EOF
expect_fail 1 'syntax.lua:5:' kam run syntax.lua
cat >runtime.lua <<'EOF'
local function f(c)
  return c.tier .. nil
end
local r = f(db.clients:get("CL-A"))
return r
EOF
expect_fail 1 'runtime.lua:2:' kam run runtime.lua
check 'a runtime error shows where it was called from' _has 'runtime.lua:4' "$ERR"
expect_fail 1 'nope.lua' kam run nope.lua
expect_fail 1 'eval:1:' kam eval 'error("x")'

# writes through kam.tx are visible afterwards
expect_eq 'CL-000001' kam eval 'return kam.tx(function() return db.clients:insert{name = "Mới", tier = "C"} end)'
expect_eq 'Mới C' kam eval 'local c = db.clients:get("CL-000001") return c.name .. " " .. c.tier'
expect_eq 3 kam eval 'return db.clients:count()'
expect_ok kam eval 'kam.tx(function() db.clients:update("CL-000001", {tier = "A"}) end)'
expect_eq 'A|2' kam eval 'return db.clients:get("CL-000001").tier .. "|" .. db.clients:where{tier = "A"}:count()'
cat >write.lua <<'EOF'
kam.tx(function()
  db.invoices:insert{id = "INV-9", client = "CL-B", amount = 1000, issued = "2026-11-26", due = "2026-12-26"}
end)
-- visible in the same script, after the transaction
return db.invoices:get("INV-9").amount
EOF
expect_eq 1000 kam run write.lua
expect_eq 340001000 kam --format json eval 'return db.invoices:sum("amount")'
expect_ok kam eval 'kam.tx(function() db.invoices:delete("INV-9") end)'
expect_eq nil kam eval 'return tostring(db.invoices:get("INV-9"))'

# a kam.tx that raises leaves the book unchanged
snapshot "$T/s1"
expect_fail_unchanged 1 'no luck' kam eval 'kam.tx(function()
  db.clients:insert{id = "CL-X", name = "X"}
  db.clients:update("CL-A", {tier = "D"})
  db.invoices:delete("INV-1")
  error("no luck")
end)'
expect_fail_unchanged 1 'tier' kam run - <<'EOF'
kam.tx(function()
  db.clients:update("CL-A", {status = "paused"})
  db.clients:update("CL-B", {tier = "Z"})   -- invalid: the whole tx goes
end)
EOF
expect_eq 'active A' kam eval 'local c = db.clients:get("CL-A") return c.status .. " " .. c.tier'
# an error caught inside the script still rolls the transaction back
expect_eq 'false nil' kam eval 'local ok = pcall(kam.tx, function() db.clients:insert{id = "CL-Y", name = "Y"} error("x") end) return tostring(ok) .. " " .. tostring(db.clients:get("CL-Y"))'
# a committed kam.tx stays when the script fails later
# and the failure says so: an exit 1 alone reads as "nothing was written"
expect_fail 1 'eval: what it wrote before it failed stays in the book: 1 inserted' kam eval 'kam.tx(function() db.clients:insert{id = "CL-KEEP", name = "Keep"} end) error("later")'
check 'the error itself comes first' _has 'later' "$ERR"
expect_eq 'Keep' kam eval 'return db.clients:get("CL-KEEP").name'
expect_fail 1 'no luck' kam eval 'kam.tx(function() db.clients:update("CL-KEEP", {name = "Lost"}) error("no luck") end)'
check 'a kam.tx that raised claims no writes' test -z "$(grep -F 'stays in the book' "$ERR")"
# nested kam.tx belongs to the outer one
snapshot "$T/s2"
expect_fail 1 'outer' kam eval 'kam.tx(function() kam.tx(function() db.clients:insert{id = "CL-N", name = "N"} end) error("outer") end)'
expect_unchanged "$T/s2" 'nested kam.tx, outer raised'

# writes outside kam.tx are refused, and change nothing
snapshot "$T/s3"
expect_fail 1 'kam.tx' kam eval 'db.clients:insert{name = "Outside"}'
expect_fail 1 'kam.tx' kam eval 'db.clients:update("CL-A", {tier = "D"})'
expect_fail 1 'kam.tx' kam eval 'db.clients:delete("CL-A")'
expect_fail 1 'kam.tx' kam run - <<'EOF'
db.invoices:update("INV-1", {status = "paid"})
EOF
expect_fail 1 'read-only' kam eval 'db.clients = nil'
expect_unchanged "$T/s3" 'writes outside kam.tx'


# a runaway script is stopped by the instruction budget with a clear error,
# and its transaction rolls back (DESIGN.md, Sandbox)
snapshot "$T/s4"
mkdir -p "$T/lim/config"
cp "$KAM_SRC/config/schema.yaml" "$T/lim/config/"
{ cat "$CONFIG"; printf 'limits: {script_seconds: 1, memory_mb: 64}\n'; } >"$T/lim/config/kam.yaml"
_run timeout 6 "$KAM_BIN" --config "$T/lim/config/kam.yaml" --db "$BOOK" eval \
  'kam.tx(function() db.clients:insert{id = "CL-LOOP", name = "Loop"} while true do end end)'
check 'a runaway script is stopped by kam (not by a 6 s timeout)' [ "$RC" -ne 124 ]
check 'a runaway script exits 1' [ "$RC" -eq 1 ]
check 'a runaway script: the error starts with kam:' grep -q '^kam: ' "$ERR"
check 'a runaway script: the error names the limit' grep -q 'script_seconds' "$ERR"
expect_unchanged "$T/s4" 'runaway script in kam.tx'
# a pcall cannot swallow the stop
_run timeout 6 "$KAM_BIN" --config "$T/lim/config/kam.yaml" --db "$BOOK" eval \
  'while true do pcall(function() while true do end end) end'
check 'a runaway loop inside pcall is stopped too' [ "$RC" -eq 1 ]
# a string.rep bomb meets the memory cap
_run timeout 6 "$KAM_BIN" --config "$T/lim/config/kam.yaml" --db "$BOOK" eval \
  'local s = string.rep("x", 1e6) local t = {} for i = 1, 1e4 do t[i] = s .. i end'
check 'a memory bomb exits 1' [ "$RC" -eq 1 ]
check 'a memory bomb: the limit is named' grep -q 'stopped: it used more than [0-9]* MiB (limits.memory_mb in kam.yaml)' "$ERR"
expect_unchanged "$T/s4" 'runaway scripts'

# ls and export only read the book
expect_fail 3 'kam.tx: this command only reads' kam ls clients --where 'kam.tx(function() db.clients:delete("CL-A") end)'
expect_fail 3 'kam.tx: this command only reads' kam export clients --where 'kam.tx(function() db.clients:delete("CL-A") end)'
expect_fail 3 'kam.tx: this command only reads' kam ls clients --where 'function(c) kam.tx(function() db.clients:delete(c.id) end) return true end'
expect_unchanged "$T/s3" 'ls/export trying to write'

# the acting user is a staff record: --as names it by id or os_user (auth:
# trust in the project's kam.yaml); a book without staff refuses --as
expect_fail 2 'the book has no staff records yet' kam --as lan eval 'return kam.user.id'
cat >staff.yaml <<'EOF'
teams:
  - {id: TM-000009, name: Account, kind: Account}
staff:
  - {id: ST-000101, name: "Nguyễn Thị Lan", role: team_lead, team: TM-000009, os_user: lan}
  - {id: ST-000102, name: "Phan Thanh Hoa", role: account_manager, team: TM-000009, manager: ST-000101, os_user: hoa}
EOF
expect_ok kam import staff.yaml
expect_eq 'ST-000101 team_lead TM-000009 lan' kam --as lan eval 'return kam.user.id .. " " .. kam.user.role .. " " .. kam.user.team .. " " .. kam.user.login'
expect_eq 'ST-000102' kam --as hoa eval 'return kam.user.id'
expect_eq 'Phan Thanh Hoa' kam --as ST-000102 eval 'return kam.user.name'
expect_fail 2 '--as nobody: no staff record' kam --as nobody eval 'return 1'

# a limit that is not a whole number: file:line:column, nothing runs
{ cat "$CONFIG"; printf 'limits: {policy_memory_mb: lots}\n'; } >"$T/lim/config/kam.yaml"
_run "$KAM_BIN" --config "$T/lim/config/kam.yaml" --db "$BOOK" eval 'return 1'
check 'a bad limit exits 1' [ "$RC" -eq 1 ]
check 'a bad limit: file:line:column and the key' grep -q 'kam.yaml:[0-9]*:[0-9]*: limits.policy_memory_mb: expected a whole number' "$ERR"

# an entity from an earlier REPL statement (its snapshot has ended) stands
# for its id in a write; one traceback, not two, for an error inside kam.tx
repl_stale() { printf 'e = db.clients:all():first()\nkam.tx(function() db.activities:insert{client = e, kind = "call", date = kam.today(), notes = "stale ok"} end)\nkam.tx(function() db.clients:update(e, {tier = "B"}) end)\nreturn db.activities:where{client = e, notes = "stale ok"}:first().notes .. " " .. db.clients:get(e).tier\n' | kam repl; }
expect_out 'stale ok B' repl_stale
_run kam eval 'kam.tx(function() error("boom") end)'
check 'an error inside kam.tx: exit 1' [ "$RC" -eq 1 ]
check 'an error inside kam.tx: one traceback' [ "$(grep -c 'in:' "$ERR")" -eq 1 ]

finish
