#!/usr/bin/env bash
# schema.sh — a broken schema.yaml or kam.yaml is reported with
# file:line:column; a book survives schema changes without a migration
# (fields added and dropped, indexes added, dropped and added again).
. "$(dirname "$0")/lib.sh" "$@"
setup

# a project of our own: config/ copied into the temp dir
P=$T/proj
mkdir -p "$P/config"
cp "$KAM_SRC/config/kam.yaml" "$P/config/kam.yaml"
CONFIG=$P/config/kam.yaml
SCHEMA=$P/config/schema.yaml
BOOK=$T/evo.db

# schema_error LINE 'text' <<EOF ... : the schema is refused, exit 1, kam: SCHEMA:LINE:COL: ...text
schema_error() {
  local line=$1 text=$2
  cat >"$SCHEMA"
  expect_fail 1 "$SCHEMA:$line:" kam eval 'return 1'
  check "schema error at line $line has a column and the text '$text'" \
    grep -Eq "^kam: $SCHEMA:$line:[0-9]+: .*$text" "$ERR"
}

schema_error 5 "unknown key 'colour'" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true, colour: red}
EOF
schema_error 6 "unknown type 'strin'" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true}
      city: {type: strin}
EOF
schema_error 6 "'staff'" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true}
      owner: {type: ref, to: staff}
EOF
schema_error 7 "values" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true}
      # an enum without its values
      tier: {type: enum}
EOF
schema_error 6 "values" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true}
      tier: {type: enum, values: []}
EOF
schema_error 3 "unknown key 'prefxi'" <<'EOF'
collections:
  clients:
    prefxi: CL-
    fields:
      name: {type: string}
EOF
schema_error 6 "'abc'" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string}
      visits: {type: int, default: abc}
EOF
schema_error 7 "'nope'" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string}
    indexes:
      - {on: [nope]}
EOF
schema_error 6 "flow mapping" <<'EOF'
collections:
  clients:
    prefix: CL-
    fields:
      name: {type: string
EOF
check 'a broken schema creates no book' [ ! -e "$BOOK" ]

# kam.yaml: an unknown key, with its line
cp "$KAM_SRC/config/kam.yaml" "$CONFIG"
n=$(($(wc -l <"$CONFIG") + 1))
echo 'colour: red' >>"$CONFIG"
printf 'collections:\n  clients:\n    prefix: CL-\n    fields:\n      name: {type: string}\n' >"$SCHEMA"
expect_fail 1 "$CONFIG:$n:1:" kam eval 'return 1'
check "kam.yaml: names the unknown key" _has "unknown key 'colour'" "$ERR"
cp "$KAM_SRC/config/kam.yaml" "$CONFIG"
sed -i 's/^auth: trust/auth: maybe/' "$CONFIG"
expect_fail 1 "$CONFIG:" kam eval 'return 1'
check 'kam.yaml: bad auth value, with line:column' grep -Eq "^kam: $CONFIG:[0-9]+:[0-9]+: .*auth" "$ERR"
cp "$KAM_SRC/config/kam.yaml" "$CONFIG"
printf '  - {id: bad, name: "No role"}\n' >>"$CONFIG"
expect_fail 1 "$CONFIG:" kam eval 'return 1'
cp "$KAM_SRC/config/kam.yaml" "$CONFIG"
printf 'users:\n  - {id: x, role: admin}\n' >"$CONFIG.tmp"
cat "$CONFIG" >>"$CONFIG.tmp"
mv "$CONFIG.tmp" "$CONFIG"
expect_fail 1 "$CONFIG:2:" kam eval 'return 1'
check 'kam.yaml: a users list is refused, pointing to the staff' _has "staff.os_user" "$ERR"
cp "$KAM_SRC/config/kam.yaml" "$CONFIG"

# ---- schema changes on an existing book ------------------------------------

v1() {
  cat >"$SCHEMA" <<'EOF'
collections:
  teams:
    prefix: TM-
    fields:
      name: {type: string, required: true}
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true, index: true}
      tier: {type: enum, values: [A, B, C, D], index: true}
      team: {type: ref, to: teams}
      city: {type: string}
EOF
}
v1
expect_ok kam init
cat >v1.yaml <<'EOF'
teams:
  - {id: TM-1, name: Account}
clients:
  - {id: CL-1, name: "An", tier: A, team: TM-1, city: "Huế"}
  - {id: CL-2, name: "Bình", tier: B, city: "Hà Nội"}
  - {id: CL-3, name: "Cúc", tier: A, city: "Huế"}
EOF
expect_out 'imported 4 rows' kam import v1.yaml
snapshot "$T/v1.snap"

# v2 adds two fields: old records read them as nil; an insert gets the default
v1
cat >>"$SCHEMA" <<'EOF'
      visits: {type: int, default: 7}
      note: {type: string}
EOF
expect_eq 'nil' kam eval 'return tostring(db.clients:get("CL-1").note)'
expect_eq 'ok' kam eval 'local v = db.clients:get("CL-1").visits return (v == nil or v == 7) and "ok" or tostring(v)'
expect_eq 'An A Huế' kam eval 'local c = db.clients:get("CL-1") return c.name .. " " .. c.tier .. " " .. c.city'
expect_eq 'CL-000004 7' kam eval 'local id = kam.tx(function() return db.clients:insert{name = "Mới"} end) return id .. " " .. db.clients:get(id).visits'
expect_ok kam eval 'kam.tx(function() db.clients:update("CL-2", {note = "ghi chú", visits = 3}) end)'
expect_eq 'ghi chú 3 B' kam eval 'local c = db.clients:get("CL-2") return c.note .. " " .. c.visits .. " " .. c.tier'
expect_eq 4 kam eval 'return db.clients:count()'
expect_eq 2 kam eval 'return db.clients:where{tier = "A"}:count()'
expect_out 'visits' kam export clients

# v3 drops tier (and its index) and city: the book still works; the other
# fields read as before
cat >"$SCHEMA" <<'EOF'
collections:
  teams:
    prefix: TM-
    fields:
      name: {type: string, required: true}
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true, index: true}
      team: {type: ref, to: teams}
      visits: {type: int, default: 7}
      note: {type: string}
EOF
expect_eq 'An TM-1' kam eval 'local c = db.clients:get("CL-1") return c.name .. " " .. c.team'
expect_eq 4 kam eval 'return db.clients:count()'
expect_eq 'CL-2' kam eval 'return db.clients:where{name = "Bình"}:first().id'
expect_fail 1 "no field 'tier'" kam eval 'return db.clients:get("CL-1").tier'
expect_out 'CL-3,' kam export clients
check 'a dropped field is not exported' sh -c "! head -n 1 '$OUT' | grep -q tier"
expect_eq 'id name visits note' kam eval 'local t = {} for k in pairs(db.clients:get("CL-2")) do if k ~= "created_at" and k ~= "updated_at" then t[#t + 1] = k end end return table.concat(t, " ")'
expect_ok kam eval 'kam.tx(function() db.clients:update("CL-3", {note = "sau khi bỏ tier"}) end)'
expect_ok kam eval 'kam.tx(function() db.clients:insert{id = "CL-4", name = "Dung"} end)'

# v4 = v2 again: the dropped fields come back with their old values (the
# record kept them); CL-4, written without them, reads nil
v1
cat >>"$SCHEMA" <<'EOF'
      visits: {type: int, default: 7}
      note: {type: string}
EOF
expect_eq 'A Huế' kam eval 'local c = db.clients:get("CL-3") return c.tier .. " " .. c.city'
expect_eq 'sau khi bỏ tier' kam eval 'return db.clients:get("CL-3").note'
expect_eq nil kam eval 'return tostring(db.clients:get("CL-4").tier)'
# the tier index was dropped with the field and is rebuilt: it sees CL-3
# updated while it was gone, and CL-4
expect_eq 'CL-1 CL-3' kam eval 'local t = db.clients:where{tier = "A"}:ids() table.sort(t) return table.concat(t, " ")'
expect_eq 2 kam eval 'return db.clients:where{tier = "A"}:count()'

# v5 adds an index on city, a field the old rows already have: it is built
cat >"$SCHEMA" <<'EOF'
collections:
  teams:
    prefix: TM-
    fields:
      name: {type: string, required: true}
  clients:
    prefix: CL-
    fields:
      name: {type: string, required: true, index: true}
      tier: {type: enum, values: [A, B, C, D], index: true}
      team: {type: ref, to: teams}
      city: {type: string, index: true}
      visits: {type: int, default: 7}
      note: {type: string}
    indexes:
      - {on: [tier, city]}
EOF
expect_eq 'CL-1 CL-3' kam eval 'local t = db.clients:where{city = "Huế"}:ids() table.sort(t) return table.concat(t, " ")'
expect_eq 1 kam eval 'return db.clients:where{city = "Hà Nội"}:count()'
expect_out 'index clients.city' kam eval 'return db.clients:where{city = "Huế"}:explain()'
expect_eq 2 kam eval 'return db.clients:where{tier = "A", city = "Huế"}:count()'
expect_out 'index clients.tier.city' kam eval 'return db.clients:where{tier = "A", city = "Huế"}:explain()'
expect_eq 'CL-2' kam eval 'return db.clients:where{city = {">=", "H"}, tier = "B"}:first().id'

# v6 drops the city index; a write while it is gone; v5 again rebuilds it
sed -i 's/city: {type: string, index: true}/city: {type: string}/' "$SCHEMA"
expect_ok kam eval 'kam.tx(function() db.clients:update("CL-1", {city = "Đà Lạt"}) end)'
expect_eq 1 kam eval 'return db.clients:where{city = "Huế"}:count()'
sed -i 's/city: {type: string}/city: {type: string, index: true}/' "$SCHEMA"
expect_eq 'CL-3' kam eval 'local t = db.clients:where{city = "Huế"}:ids() return table.concat(t, " ")'
expect_eq 'CL-1' kam eval 'return db.clients:where{city = "Đà Lạt"}:first().id'
expect_out 'index clients.city' kam eval 'return db.clients:where{city = "Đà Lạt"}:explain()'

finish
