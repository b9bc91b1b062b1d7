#!/usr/bin/env bash
# kam audit: the trail of an insert, an update of two fields, a delete and an
# import, newest first, with the changed fields old → new; the filters; table,
# CSV and JSON; bad arguments exit 2; a book without entries says so; reading
# the trail changes nothing. Then, on the demo book, who acted and how: the
# staff id and role, who really acted under --as, the channel (cli, run,
# policy), the command line and the SHA-256 of the script. With lmdbpoke as a
# third argument, an entry written before those fields reads too.
. "$(dirname "$0")/lib.sh" "$@"
POKE=${3:-}
case $POKE in /* | '') ;; *) POKE=$PWD/$POKE ;; esac
setup
ME=$(id -un) # who kam runs as: a new book's login, and who really acts under --as

expect_out 'no audit entries' kam audit
expect_eq '[]' kam --format json audit
expect_ok kam --format csv audit
check 'csv: no entries, the header only' [ "$(cat "$OUT")" = $'seq,when,who,role,by,channel,source,hash,op,collection,id,changes\r' ]

# a new book: its login imports the staff, then the staff act (--as under auth: trust)
cat >"$T/staff.yaml" <<'YAML'
staff:
  - {id: ST-000001, name: Quản trị, role: admin, os_user: admin}
  - {id: ST-000003, name: Nguyễn Thị Lan, role: director, os_user: lan}
  - {id: ST-000007, name: Trần Minh Đức, role: account_manager, os_user: duc}
YAML
expect_ok kam import "$T/staff.yaml"
expect_ok kam --as lan eval 'kam.tx(function() db.clients:insert{name = "Sao Mai", tier = "B", owner = "ST-000003", annual_budget = 1500000} end)'
expect_ok kam --as lan eval 'kam.tx(function() db.clients:update("CL-000001", {tier = "A", owner = "ST-000007"}) end)'
expect_ok kam --as admin eval 'kam.tx(function() db.clients:delete("CL-000001") end)'

# csv_col N: the Nth column (1 up) of the CSV in $OUT, header included, one a line
csv_col() { python3 -c '
import csv, sys
for r in csv.reader(open(sys.argv[1], newline="", encoding="utf-8")): print(r[int(sys.argv[2]) - 1])' "$OUT" "$1"; }

# newest first: delete, update, insert, import
expect_ok kam --format csv audit
check 'csv: the ops newest first' [ "$(csv_col 9 | tr '\n' ' ')" = "op delete update insert import " ]
check 'csv: seq counts down' [ "$(csv_col 1 | tr '\n' ' ')" = "seq 4 3 2 1 " ]
check 'csv: the update names the two fields old → new' \
  grep -qF 'update,clients,CL-000001,tier: B → A; owner: ST-000003 → ST-000007' "$OUT"
check 'csv: the insert gives the new values' grep -qF 'insert,clients,CL-000001,name: - → Sao Mai;' "$OUT"
check 'csv: the delete gives the old values' grep -qF 'delete,clients,CL-000001,name: Sao Mai → -;' "$OUT"
check 'csv: the update leaves updated_at out' sh -c "! grep -q 'updated_at' '$OUT'"
check 'csv: the import is one entry for the file' [ "$(csv_col 11 | tail -n 1)" = '3 rows' ]
check 'csv: a new book: its login imports, as admin, through import' \
  [ "$(csv_col 3 | tail -n 1),$(csv_col 4 | tail -n 1),$(csv_col 6 | tail -n 1)" = "$ME,admin,import" ]
check 'csv: who is the staff record kam ran as, with its role' \
  [ "$(csv_col 3 | sed -n 3p),$(csv_col 4 | sed -n 3p)" = 'ST-000003,director' ]
check 'csv: by is who really acted (--as)' [ "$(csv_col 5 | sed -n 2,4p | tr '\n' ' ')" = "$ME $ME $ME " ]
check 'csv: lines end with CRLF' [ "$(grep -c $'\r$' "$OUT")" = 5 ]

expect_out 'tier: B → A; owner: ST-000003 → ST-000007' kam audit
check 'table: headers' grep -qE '^when +who +via +op +collection +id +changes' "$OUT"
check 'table: who under --as, with the role; via the channel' \
  grep -qE "  $ME as ST-000003 \(director\)  +cli  +update  +clients" "$OUT"
check 'table: a new book login' grep -qE "  $ME \(admin\)  +import  +import  +staff  +3 rows" "$OUT"

# filters
expect_ok kam --format csv audit --id CL-000001
check '--id: the three writes of the client' [ "$(grep -c CL-000001 "$OUT")" = 3 ]
expect_ok kam --format csv audit --user ST-000003
check '--user: lan wrote two entries' [ "$(csv_col 9 | tail -n +2 | tr '\n' ' ')" = 'update insert ' ]
expect_ok kam --format csv audit --user "$ME"
check '--user: also who really acted (by): all four' [ "$(tail -n +2 "$OUT" | wc -l)" = 4 ]
expect_ok kam --format csv audit --coll staff
check '--coll: the import only' [ "$(csv_col 9 | tail -n +2)" = import ]
expect_ok kam --format csv audit --limit 1
check '--limit 1: the newest only' [ "$(csv_col 9 | tail -n +2)" = delete ]
expect_eq '[]' kam --format json audit --limit 0
expect_out 'no audit entries match' kam audit --limit 0
expect_ok kam --format csv audit --since 2000-01-01
check '--since a past date: all four' [ "$(tail -n +2 "$OUT" | wc -l)" = 4 ]
expect_out 'no audit entries match' kam audit --since 2999-01-01
expect_out 'no audit entries match' kam audit --id CL-999999

# JSON: a list of entries, changes as {field, old, new} with their types
expect_ok kam --format json audit
check 'json parses' python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT"
check 'json: the update changes tier and owner' python3 -c '
import json, sys
me = sys.argv[1]
a = json.load(sys.stdin)
assert [e["op"] for e in a] == ["delete", "update", "insert", "import"], a
assert [e["seq"] for e in a] == [4, 3, 2, 1], a
assert list(a[0]) == ["seq", "when", "who", "role", "by", "channel", "source", "hash", "op",
                      "collection", "id", "changes"], list(a[0])
assert a[1]["changes"] == [{"field": "tier", "old": "B", "new": "A"},
                           {"field": "owner", "old": "ST-000003", "new": "ST-000007"}], a[1]
assert (a[1]["who"], a[1]["role"], a[1]["by"], a[1]["channel"]) == ("ST-000003", "director", me, "cli"), a[1]
assert (a[0]["who"], a[0]["role"]) == ("ST-000001", "admin"), a[0]
ins = {c["field"]: c for c in a[2]["changes"]}
assert ins["annual_budget"] == {"field": "annual_budget", "old": None, "new": 1500000}, ins
assert a[3]["changes"] == [] and a[3]["id"] == "3 rows", a[3]
assert (a[3]["who"], a[3]["role"], a[3]["by"], a[3]["channel"]) == (me, "admin", None, "import"), a[3]
' "$ME" <"$OUT"

# bad arguments: usage errors
expect_fail 2 'kam: audit: --coll nope: no such collection' kam audit --coll nope
expect_fail 2 'audit: --since 2026-13-01: expected a date YYYY-MM-DD' kam audit --since 2026-13-01
expect_fail 2 'audit: --since 26/11/2026' kam audit --since 26/11/2026
expect_fail 2 'audit: --limit x: expected a count' kam audit --limit x
expect_fail 2 'audit: unknown option --where' kam audit --where x
expect_fail 2 'audit: no arguments' kam audit clients
expect_fail 2 'audit: --format table, json or csv' kam --format yaml audit
expect_out 'usage: kam audit' kam audit --help

# reading the trail writes nothing
sum0=$(md5sum <"$BOOK")
kam audit >/dev/null
check 'audit leaves the book as it was' [ "$(md5sum <"$BOOK")" = "$sum0" ]
expect_out 'ok: ' kam verify

# an entry written before role, by, channel, source and hash existed: who,
# when, op, collection and id only (a record: version 1, 5 fields of text)
if [ -n "$POKE" ]; then
  old='\x01\x05\x01\x05\x03lan\x02\x05\x192026-11-20T09:00:00+07:00\x03\x05\x06update\x04\x05\x07clients\x05\x05\x09CL-000042'
  "$POKE" "$BOOK" put audit '\x00\x00\x00\x00\x00\x00\x01\x00' "$old"
  expect_ok kam --format json audit --limit 1
  check 'an old entry: the new fields are null' python3 -c '
import json, sys
e = json.load(sys.stdin)[0]
assert e == {"seq": 256, "when": "2026-11-20T09:00:00+07:00", "who": "lan", "role": None, "by": None,
             "channel": None, "source": None, "hash": None, "op": "update", "collection": "clients",
             "id": "CL-000042", "changes": []}, e' <"$OUT"
  expect_out 'CL-000042' kam audit --user lan
  check 'table: an old entry shows who alone, no via' grep -qE '  lan  +update  +clients  +CL-000042' "$OUT"
  expect_ok kam --format csv audit --limit 1
  check 'csv: an old entry has empty fields' grep -qF $'256,2026-11-20T09:00:00+07:00,lan,,,,,,update,clients,CL-000042,\r' "$OUT"
fi

# ---- the demo book: who, role, by, channel, source, hash -------------------
BOOK=$T/demo.db
expect_ok kam init --demo
expect_ok kam eval 'return db.staff:where{os_user = "hoa"}:first().id'
HOA=$(cat "$OUT")
expect_ok kam eval 'return db.staff:where{os_user = "lan"}:first().id'
LAN=$(cat "$OUT")
check 'demo: hoa and lan are staff ids' grep -qE '^ST-[0-9]+ ST-[0-9]+$' <<<"$HOA $LAN"

# a contact of one of hoa's own clients, with quotes, a comma and Vietnamese
expect_ok kam --as hoa eval 'local c = db.clients:where{owner = "'"$HOA"'"}:first()
kam.tx(function() db.contacts:insert{client = c.id, name = "Nguyễn Văn \"Tý\", kế toán"} end)'
expect_ok kam --format json audit --limit 1
check 'json: hoa inserted, as account_manager, from the command line' python3 -c '
import json, re, sys
hoa, me = sys.argv[1], sys.argv[2]
a = json.load(sys.stdin)
assert len(a) == 1, a
e = a[0]
assert (e["who"], e["role"], e["by"], e["channel"]) == (hoa, "account_manager", me, "cli"), e
assert (e["op"], e["collection"]) == ("insert", "contacts") and e["id"].startswith("CT-"), e
assert re.fullmatch("[0-9a-f]{64}", e["hash"]), e["hash"]
assert "eval" in e["source"] and "--as hoa" in e["source"], e["source"]
ch = {c["field"]: c for c in e["changes"]}
assert ch["name"] == {"field": "name", "old": None, "new": "Nguyễn Văn \"Tý\", kế toán"}, ch
' "$HOA" "$ME" <"$OUT"
check 'json: Vietnamese as is, quotes escaped' grep -qF '"Nguyễn Văn \"Tý\", kế toán"' "$OUT"

expect_ok kam --format csv audit --limit 1
check 'csv: the header' [ "$(head -n 1 "$OUT")" = $'seq,when,who,role,by,channel,source,hash,op,collection,id,changes\r' ]
check 'csv: the row, quoted as RFC 4180 says' python3 -c '
import csv, io, re, sys
hoa, me = sys.argv[1], sys.argv[2]
raw = open(sys.argv[3], "rb").read()
assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == 2, raw
rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
assert len(rows) == 2, rows
r = dict(zip(rows[0], rows[1]))
assert (r["who"], r["role"], r["by"], r["channel"], r["op"]) == (hoa, "account_manager", me, "cli", "insert"), r
assert "eval" in r["source"] and "\n" in r["source"], r["source"]  # a quoted line break
assert re.fullmatch("[0-9a-f]{64}", r["hash"]), r
assert "name: - → Nguyễn Văn \"Tý\", kế toán" in r["changes"], r["changes"]
' "$HOA" "$ME" "$OUT"

expect_ok kam audit --limit 1
check 'table: who under --as with the role, via cli' \
  grep -qE "  $ME as $HOA \(account_manager\)  +cli  +insert  +contacts  +CT-" "$OUT"
expect_ok kam --format csv audit --user "$HOA" --limit 1
check '--user: hoa by her staff id' [ "$(csv_col 10 | tail -n 1)" = contacts ]

# kam run: channel run, the hash of the script's text
cat >"$T/contact.lua" <<LUA
local c = db.clients:where{owner = "$HOA"}:first()
kam.tx(function() db.contacts:insert{client = c.id, name = "Trần Thị Mai"} end)
LUA
expect_ok kam --as hoa run "$T/contact.lua"
expect_ok kam --format json audit --limit 1
check 'json: a script run: channel run, the script SHA-256' python3 -c '
import json, sys
e = json.load(sys.stdin)[0]
assert (e["who"], e["channel"], e["hash"]) == (sys.argv[1], "run", sys.argv[2]), e
assert "run" in e["source"] and "contact.lua" in e["source"], e["source"]
' "$HOA" "$(sha256sum "$T/contact.lua" | cut -d' ' -f1)" <"$OUT"

# a REPL statement: channel repl, the statement itself and its SHA-256
STMT='kam.tx(function() db.contacts:insert{client = db.clients:where{owner = "'"$HOA"'"}:first().id, name = "Lê Văn Hải"} end)'
printf '%s\n' "$STMT" >"$T/stmt.txt"
_run kam --as hoa repl <"$T/stmt.txt"
check 'repl: the statement ran' [ "$RC" -eq 0 ]
expect_ok kam --format json audit --limit 1
check 'json: a REPL statement: channel repl, the statement and its SHA-256' python3 -c '
import json, sys
e = json.load(sys.stdin)[0]
assert (e["who"], e["channel"], e["op"]) == (sys.argv[1], "repl", "insert"), e
assert e["source"] == sys.argv[2], e["source"]
assert e["hash"] == sys.argv[3], e
' "$HOA" "$STMT" "$(printf '%s' "$STMT" | sha256sum | cut -d' ' -f1)" <"$OUT"

# a policy commit: channel policy, source the policy command
expect_ok kam --as lan policy eval tiering --commit
expect_ok kam --format json audit --limit 1
check 'json: a policy commit: channel policy, its command' python3 -c '
import json, re, sys
e = json.load(sys.stdin)[0]
assert (e["who"], e["role"], e["channel"]) == (sys.argv[1], "team_lead", "policy"), e
assert e["source"] == "policy tiering --commit", e["source"]
assert (e["op"], e["collection"]) == ("update", "clients") and re.fullmatch("[0-9a-f]{64}", e["hash"]), e
' "$LAN" <"$OUT"
expect_ok kam audit --limit 1
check 'table: via policy' grep -qE "  $ME as $LAN \(team_lead\)  +policy  +update  +clients" "$OUT"

# ---- kam.audit: the trail from a script, as kam audit gives it ---------------
expect_ok kam --format json audit --coll clients
cp "$OUT" "$T/cli.json"
expect_ok kam --format json eval 'return kam.audit{coll = "clients", field = "tier", via = "policy", limit = 100000}'
check 'kam.audit: the tier moves of policy commits, newest first, as kam audit lists them' python3 -c '
import json, sys
cli = json.load(open(sys.argv[1]))
want = [(e["seq"], e["id"]) for e in cli if e["channel"] == "policy" and any(c["field"] == "tier" for c in e["changes"])]
got = json.load(sys.stdin)
assert [(e["seq"], e["id"]) for e in got] == want, (len(got), len(want))
assert want, "the commit moved no tier"
old = {e["seq"]: c for e in cli for c in e["changes"] if c["field"] == "tier"}
for e in got:
    assert (e.get("from"), e.get("to")) == (old[e["seq"]].get("old"), old[e["seq"]].get("new")), e
    assert e["via"] == "policy" and e["who"] == sys.argv[2], e
' "$T/cli.json" "$LAN" <"$OUT"
expect_fail 1 'kam.audit: field tierr: clients has no such field' kam eval 'return kam.audit{coll = "clients", field = "tierr"}'
expect_fail 1 'kam.audit: coll = "clients" names' kam eval 'return kam.audit{}'
# a reader of part of the book reads the trail of her rows only
expect_ok kam --as tuan eval 'local n = 0 kam.tx(function() for c in db.clients:where{owner = {"~=", "'"$HOA"'"}}:each() do n = n + 1 if n % 2 == 0 then db.clients:update(c.id, {team = "TM-000002"}) end end end) return n'
expect_ok kam --as hoa eval 'local ids = {} for _, e in ipairs(kam.audit{coll = "clients", limit = 100000}) do ids[e.id] = true end local out = 0 for id in pairs(ids) do if not db.clients:get(id) then out = out + 1 end end return out'
check 'kam.audit under a read scope: no entry of a row she may not read' [ "$(cat "$OUT")" = 0 ]
finish
