#!/usr/bin/env bash
# --format json of kam policy list, show, eval, whatif, history and kam test:
# booleans are booleans, numbers are numbers, an absent value is null.
. "$(dirname "$0")/lib.sh" "$@"
setup
tmp_project proj scripts
CONFIG=$T/proj/config/kam.yaml
rm -f "$BOOK" "$BOOK-lock"
kam init --demo >/dev/null
cd proj || exit 4
# a client with invoices, whose evaluation fails on purpose
ID=$(kam eval 'for c in db.clients:all():each() do
  if db.invoices:where{client = c.id}:count() > 0 then return c.id end end')
check 'a client with invoices' [ -n "$ID" ]
lacks() { ! grep -q -- "$1" "$2"; }

cat > rules/counts.lua <<LUA
local P = {name = "counts", subject = "clients", description = "invoices per client"}
function P.decide(c, why)
  if c.id == "$ID" then error("no data for this one") end
  local n = db.invoices:where{client = c.id}:count()
  why("%d invoices", n)
  return n
end
return P
LUA
cat > rules/flag.lua <<'LUA'
local P = {name = "flag", subject = "clients", writes = "strategic", description = "strategic as it is"}
function P.decide(c, why) return c.strategic == true end
return P
LUA
printf 'return {name = "broken", decide = function() end}\n' > rules/broken.lua

# list: a policy that writes nothing has writes null; one that cannot load has an error
expect_ok kam --format json policy list
check 'list: writes null' grep -q '"name":"counts","subject":"clients","writes":null' "$OUT"
check 'list: writes named' grep -q '"name":"flag","subject":"clients","writes":"strategic"' "$OUT"
check 'list: no error, null' grep -q '"error":null' "$OUT"
check 'list: a policy that cannot load' grep -q '"error":"rules/broken.lua: the policy has no subject[^"]*","hash":null,"name":"broken","subject":null' "$OUT"
check 'list: no empty strings for absent' lacks '""' "$OUT"

# show
expect_ok kam --format json policy show counts
for want in '"committed_hash":null' '"thresholds":null' '"writes":null' '"subject":"clients"'; do
  check "show: $want" grep -qF "$want" "$OUT"
done

# eval: results as they are (numbers), changed a boolean, last null, errors apart
expect_fail 1 "$ID" kam --format json policy eval counts
check 'eval: a number is a number' grep -Eq '"result":[0-9]+\}' "$OUT"
check 'eval: no number as text' lacks '"result":"' "$OUT"
check 'eval: changed is true' grep -q '"changed":true' "$OUT"
check 'eval: never decided, last null' grep -q '"last":null' "$OUT"
check 'eval: no yes' lacks '"changed":"' "$OUT"
check 'eval: the failed subject' grep -q "\"changed\":null,\"error\":\"rules/counts.lua:3: no data for this one\",\"id\":\"$ID\",\"last\":null" "$OUT"
check 'eval: the failed subject has no result' grep -q "\"id\":\"$ID\",[^}]*\"result\":null" "$OUT"
expect_ok kam policy eval flag --commit
expect_ok kam --format json policy eval flag --explain
check 'eval: booleans' grep -q '"result":false' "$OUT"
check 'eval: changed false, last a boolean' grep -Eq '"changed":false,"error":null,"id":"[^"]*","last":(true|false)' "$OUT"
check 'eval --explain: reasons a list' grep -q '"reasons":\[\]' "$OUT"

# history
expect_ok kam --format json policy history "$ID" flag
check 'history: run a number, result a boolean' grep -Eq '"result":(true|false),"run":[0-9]+,' "$OUT"
check 'history: the whole hash' grep -Eq '"hash":"[0-9a-f]{64}"' "$OUT"
expect_eq '[]' kam --format json policy history CL-NOPE

# whatif: counts numbers, no measure is null, a transition says whether it failed
sed 's/return c.strategic == true/return c.strategic ~= true/' rules/flag.lua > "$T/flag2.lua"
expect_ok kam --format json policy whatif flag --with "$T/flag2.lua"
NCLIENTS=$(kam eval 'return db.clients:count()')
check 'whatif: changed a number' grep -q "\"changed\":$NCLIENTS," "$OUT"
check 'whatif: no measure' grep -q '"measure":null' "$OUT"
check 'whatif: amounts null without a measure' grep -q '"amount":null' "$OUT"
check 'whatif: from and to booleans' grep -Eq '"failed":false,"from":(true|false),"subjects":[0-9]+,"to":(true|false)' "$OUT"

# kam test
cat > rules/flag_test.lua <<'LUA'
fixture{clients = {{id = "CL-1", strategic = true}}}
test("strategic stays", function() expect_eq(decide("flag", "CL-1"), true) end)
test("wrong on purpose", function() expect_eq(1 + 1, 3) end)
LUA
expect_fail 1 '1 of 2 tests failed' kam --format json test rules/flag_test.lua
check 'test: counts' grep -q '"failed":1,"passed":1,' "$OUT"
check 'test: a pass' grep -q '"file":"rules/flag_test.lua","line":null,"message":null,"name":"strategic stays","ok":true' "$OUT"
check 'test: a failure, located' grep -q '"file":"rules/flag_test.lua","line":3,"message":"expected 3, got 2","name":"wrong on purpose","ok":false' "$OUT"
check 'test: no coverage asked' grep -q '"coverage":null' "$OUT"
check 'test: no text lines' lacks 'passed, ' "$OUT"
expect_fail 1 '' kam --format json test rules/flag_test.lua --coverage
check 'test: coverage, as numbers' grep -Eq '"coverage":\[\{"file":"rules/flag.lua","lines":[0-9]+,"missed":\[[0-9,]*\],"ran":[0-9]+\}\]' "$OUT"
finish
