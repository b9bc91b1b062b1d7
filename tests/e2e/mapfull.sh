#!/usr/bin/env bash
# A full map is never the user's problem: the map grows and the unit of work
# (a kam.tx, an import) is replayed whole.
. "$(dirname "$0")/lib.sh" "$@"
setup
mkdir -p small/config
cp "$KAM_SRC/config/schema.yaml" small/config/
sed 's/^map_size_mb:.*/map_size_mb: 1/' "$CONFIG" >small/config/kam.yaml
S="$KAM_BIN --config $T/small/config/kam.yaml --db $T/small.db"
$S init >/dev/null
expect_out '1' $S eval 'return 1'
# 20 000 inserts in one transaction: far more than 1 MiB
expect_ok $S eval 'kam.tx(function()
  db.teams:insert{id = "TM-1", name = "Account", kind = "Account"}
  for i = 1, 20000 do db.staff:insert{name = "Nhân viên " .. i, role = "account_executive", team = "TM-1"} end
end)'
expect_eq '20000' $S eval 'return db.staff:count()'
expect_eq 'ST-020000' $S eval 'return db.staff:all():sort("id", "desc"):first().id'
check 'the book grew past its first map' [ "$(stat -c %s "$T/small.db")" -gt 1048576 ]
# an import far larger than the map
{ echo "id,name,role,team"; for i in $(seq 1 30000); do echo "ST-X$i,Người $i,account_manager,TM-1"; done; } >staff.csv
expect_out 'imported 30000 rows' $S import staff.csv
expect_eq '50000' $S eval 'return db.staff:count()'
# a policy commit whose decisions outgrow the map: grown, replayed, all of them stored
mkdir -p small/rules
cat > small/rules/wordy.lua <<'LUA'
local P = {name = "wordy", subject = "staff", writes = "level"}
function P.decide(s, why)
  for i = 1, 4 do why("%s", string.rep("lý do dài ", 300) .. i) end
  return "Chuyên viên"
end
return P
LUA
size_before=$(stat -c %s "$T/small.db")
expect_ok $S policy eval wordy --commit
expect_eq '50000' $S eval 'return db.staff:where{level = "Chuyên viên"}:count()'
expect_out 'first decision' $S policy history ST-020000 wordy
check 'the book grew for the decisions' [ "$(stat -c %s "$T/small.db")" -gt "$size_before" ]
finish
