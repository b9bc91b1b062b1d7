#!/usr/bin/env bash
# kam audit: the trail of an insert, an update of two fields, a delete and an
# import, newest first, with the changed fields old → new; the filters; table,
# CSV and JSON; bad arguments exit 2; a book without entries says so; reading
# the trail changes nothing.
. "$(dirname "$0")/lib.sh" "$@"
setup

expect_out 'no audit entries' kam audit
expect_eq '[]' kam --format json audit

cat >"$T/staff.yaml" <<'YAML'
staff:
  - {id: ST-000003, name: Nguyễn Thị Lan, role: team_lead}
  - {id: ST-000007, name: Trần Minh Đức, role: account_manager}
YAML
expect_ok kam --as minh import "$T/staff.yaml"
expect_ok kam --as lan eval 'kam.tx(function() db.clients:insert{name = "Sao Mai", tier = "B", owner = "ST-000003", annual_budget = 1500000} end)'
expect_ok kam --as lan eval 'kam.tx(function() db.clients:update("CL-000001", {tier = "A", owner = "ST-000007"}) end)'
expect_ok kam --as admin eval 'kam.tx(function() db.clients:delete("CL-000001") end)'

# newest first: delete, update, insert, import
expect_ok kam --format csv audit
check 'csv: the ops newest first' [ "$(cut -d, -f3 "$OUT" | tr -d '\r' | tr '\n' ' ')" = "op delete update insert import " ]
check 'csv: the update names the two fields old → new' \
  grep -qF 'update,clients,CL-000001,tier: B → A; owner: ST-000003 → ST-000007' "$OUT"
check 'csv: the insert gives the new values' grep -qF 'insert,clients,CL-000001,name: - → Sao Mai;' "$OUT"
check 'csv: the delete gives the old values' grep -qF 'delete,clients,CL-000001,name: Sao Mai → -;' "$OUT"
check 'csv: the update leaves updated_at out' sh -c "! grep -q 'updated_at' '$OUT'"
check 'csv: the import is one entry for the file' grep -qF 'minh,import,staff,2 rows,' "$OUT"
check 'csv: who is the user kam ran as' grep -qF ',lan,update,' "$OUT"

expect_out 'tier: B → A; owner: ST-000003 → ST-000007' kam audit
check 'table: headers' grep -qE '^when +who +op +collection +id +changes' "$OUT"

# filters
expect_ok kam --format csv audit --id CL-000001
check '--id: the three writes of the client' [ "$(grep -c CL-000001 "$OUT")" = 3 ]
expect_ok kam --format csv audit --user lan
check '--user: lan wrote two entries' [ "$(tail -n +2 "$OUT" | wc -l)" = 2 ]
expect_ok kam --format csv audit --coll staff
check '--coll: the import only' [ "$(tail -n +2 "$OUT" | cut -d, -f3)" = import ]
expect_ok kam --format csv audit --limit 1
check '--limit 1: the newest only' [ "$(tail -n +2 "$OUT" | cut -d, -f3)" = delete ]
expect_ok kam --format csv audit --since 2000-01-01
check '--since a past date: all four' [ "$(tail -n +2 "$OUT" | wc -l)" = 4 ]
expect_out 'no audit entries match' kam audit --since 2999-01-01
expect_out 'no audit entries match' kam audit --id CL-999999

# JSON: a list of entries, changes as {field, old, new} with their types
expect_ok kam --format json audit
check 'json parses' python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT"
check 'json: the update changes tier and owner' python3 -c '
import json, sys
a = json.load(sys.stdin)
assert [e["op"] for e in a] == ["delete", "update", "insert", "import"], a
assert a[1]["changes"] == [{"field": "tier", "old": "B", "new": "A"},
                           {"field": "owner", "old": "ST-000003", "new": "ST-000007"}], a[1]
ins = {c["field"]: c for c in a[2]["changes"]}
assert ins["annual_budget"] == {"field": "annual_budget", "old": None, "new": 1500000}, ins
assert a[3]["changes"] == [] and a[3]["id"] == "2 rows" and a[3]["who"] == "minh", a[3]
' <"$OUT"

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
finish
