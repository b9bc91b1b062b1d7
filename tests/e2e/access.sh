#!/usr/bin/env bash
# access.sh — config/access.yaml as the agency means it, on the demo book.
#
# 1. The whole role x collection x action matrix, written by hand in
#    access_matrix.lua from the policy: (a) `kam access matrix --format csv`
#    says the same; (b) one staff member of each role, in ONE `kam run` per
#    role, really reads (count and get), inserts, updates and deletes rows in
#    and out of their scope — each write inside a kam.tx that raises
#    "probe-ok" at its end, so nothing is ever committed — and imports
#    (--dry-run) and exports each collection; the book and the audit trail
#    are unchanged afterwards. The limited cells (a client's tier and owner,
#    a quote past draft, a request's approval) are checked one by one.
# 2. Ways around the rules, each refused with nothing written and no audit
#    entry: --as under auth: os by a non-admin (fakelogin makes the process
#    another login), an account manager's import of invoices, a policy that
#    writes in decide, a REPL kam.tx, a login no staff record names, a
#    commit of tiering, init --force. What is allowed leaves an audit entry
#    naming who, their role, who really acted, and the channel.
. "$(dirname "$0")/lib.sh" "$@"
FAKELOGIN=${3:?usage: access.sh KAM_BIN KAM_SRC FAKELOGIN_SO}
case $FAKELOGIN in /*) ;; *) FAKELOGIN=$PWD/$FAKELOGIN ;; esac
MATRIX=$KAM_SRC/tests/e2e/access_matrix.lua
setup
kam init --demo --force >/dev/null 2>"$ERR" || { echo "setup: kam init --demo failed:"; cat "$ERR"; exit 1; }
# the nightly run's alerts, so that every collection has rows to probe
kam --as tuan run "$KAM_SRC/scripts/alerts.lua" raise >/dev/null 2>"$ERR" || { echo "setup: alerts.lua raise failed:"; cat "$ERR"; exit 1; }

# one staff member of each role (config/demo/demo.lua's STAFF_DEF)
REPS="account_executive:bao account_manager:hoa key_account_manager:duc team_lead:lan director:minh ceo:hung
finance:ha admin:tuan creative:chau media:phuc ops:van production:nam affiliate:thao"

# audit_count: the entries of the trail; newest: the newest entry as JSON
audit_count() { kam --format json audit | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
# expect_newest 'what' WHO ROLE BY CHANNEL [OP COLLECTION]: the newest audit entry
# (BY "-" for null; staff ids or logins as the audit writes them)
expect_newest() {
  local what=$1; shift
  kam --format json audit --limit 1 >"$T/.newest" 2>&1
  if python3 - "$T/.newest" "$@" <<'PY'; then _pass; else FAILED=$((FAILED + 1)); echo "FAIL: audit after $what"; fi
import json, sys
e = json.load(open(sys.argv[1]))[0]
want = sys.argv[2:]
keys = ["who", "role", "by", "channel", "op", "collection"]
got = [e[k] if e[k] is not None else "-" for k in keys[:len(want)]]
if got != want:
    print("      expected " + " ".join(want) + "\n      got      " + " ".join(map(str, got)))
    sys.exit(1)
PY
}
# expect_no_entry 'what' COUNT: the trail still has COUNT entries
expect_no_entry() {
  local n
  n=$(audit_count)
  if [ "$n" = "$2" ]; then _pass; else FAILED=$((FAILED + 1)); echo "FAIL: $1: the audit has $n entries, had $2"; fi
}

# ---- the common Lua: where a row belongs, computed here from its refs ----------
cat >"$T/common.lua" <<'LUA'
-- ref fields of each collection in schema order (to follow for the row's place)
local REFS = {
  teams = {{"lead", "staff"}}, staff = {{"team", "teams"}, {"manager", "staff"}},
  clients = {{"owner", "staff"}, {"team", "teams"}, {"parent", "clients"}},
  contacts = {{"client", "clients"}}, services = {}, packages = {}, kpis = {},
  plans = {{"client", "clients"}}, briefs = {{"client", "clients"}},
  quotes = {{"client", "clients"}, {"brief", "briefs"}, {"owner", "staff"}},
  contracts = {{"client", "clients"}, {"quote", "quotes"}},
  change_requests = {{"contract", "contracts"}, {"request", "requests"}},
  projects = {{"client", "clients"}, {"contract", "contracts"}, {"owner", "staff"}},
  spend = {{"project", "projects"}, {"contract", "contracts"}},
  acceptances = {{"project", "projects"}, {"contract", "contracts"}},
  reconciliations = {{"client", "clients"}, {"project", "projects"}},
  invoices = {{"client", "clients"}, {"contract", "contracts"}},
  payments = {{"invoice", "invoices"}},
  opportunities = {{"client", "clients"}, {"owner", "staff"}},
  risks = {{"client", "clients"}, {"project", "projects"}, {"owner", "staff"}},
  activities = {{"client", "clients"}, {"by", "staff"}},
  reviews = {{"staff", "staff"}, {"reviewer", "staff"}},
  requests = {{"requested_by", "staff"}},
  alerts = {{"client", "clients"}, {"owner", "staff"}},
}
-- a row's owner (staff id) and team: a client's own; a staff member is their
-- own; a team is itself; else the first ref that places it, refs to clients
-- first, then to other rows, then to staff, then to teams
local PASS = function(to) return to == "clients" and 0 or to == "staff" and 2 or to == "teams" and 3 or 1 end
local memo = {}
local place
place = function(c, row)
  if c == "clients" then return row.owner, row.team, true end
  if c == "staff" then return row.id, row.team, true end
  if c == "teams" then return nil, row.id, true end
  for pass = 0, 3 do
    for _, r in ipairs(REFS[c]) do
      local f, to = r[1], r[2]
      if PASS(to) == pass and row[f] ~= nil then
        local key = to .. "/" .. row[f]
        local m = memo[key]
        if not m then
          local t = db[to]:get(row[f])
          if t then local o, tm, k = place(to, t); m = {o, tm, k} else m = {nil, nil, false} end
          memo[key] = m
        end
        if m[3] then return m[1], m[2], true end
      end
    end
  end
  return nil, nil, false
end
-- a value as Lua source
local ser
ser = function(v)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t == "number" then return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v) end
  if t == "boolean" then return tostring(v) end
  assert(t == "table", "cannot write a " .. t)
  local parts, n, keys = {}, #v, {}
  for i = 1, n do parts[#parts + 1] = ser(v[i]) end
  for k in pairs(v) do if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do parts[#parts + 1] = "[" .. ser(k) .. "]=" .. ser(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end
-- a row's fields without id, created_at, updated_at (what an insert copies)
local function fields(row)
  local t = {}
  for k, v in pairs(row) do if k ~= "id" and k ~= "created_at" and k ~= "updated_at" then t[k] = v end end
  return t
end
LUA

# ---- setup as the admin: other teams, and rows to probe -------------------------
# the account team (hoa's); the clients of khoa and tram (and so their rows) move
# to Media, so that there are accounts of another team
HT=$(kam --as tuan eval 'return db.staff:where{os_user = "hoa"}:first().team')
OT=$(kam --as tuan eval 'return db.teams:where{kind = "Media"}:first().id')
check "the account team ($HT) and another ($OT)" [ -n "$HT" ] && [ -n "$OT" ] && [ "$HT" != "$OT" ]
expect_ok kam --as tuan eval "kam.tx(function()
  for c in db.clients:sort('id'):each() do
    local o = db.staff:get(c.owner or '')
    if o and (o.os_user == 'khoa' or o.os_user == 'tram') then db.clients:update(c.id, {team = '$OT'}) end
  end
end)"
ME=$(id -un) # who really acts under --as
expect_newest 'moving clients' "$(kam eval 'return db.staff:where{os_user = "tuan"}:first().id')" admin "$ME" cli update clients

# Fixtures: for each collection, fresh copies (so nothing refers to them and
# they can be deleted) of a row of each kind: owned by bao, hoa, duc (the
# account reps); of the account team, another owner; of another team; any. A
# kind the book lacks is made by pointing the copy's first ref at a row of
# that kind. Quotes are drafts and requests pending (without approvals, with
# their chain of approvers), so that the own* cells' limits hold; an extra
# quote of hoa's is sent. Then the
# place of every row and the counts each rep should read, as Lua source.
cat >"$T/fixtures.lua" <<'LUA'
local HT = arg[1]
local COLLS = {"teams", "staff", "clients", "contacts", "services", "packages", "plans", "briefs", "quotes",
  "contracts", "change_requests", "projects", "spend", "acceptances", "reconciliations", "invoices", "payments",
  "opportunities", "risks", "activities", "kpis", "reviews", "requests", "alerts"}
local REPS = {"bao", "hoa", "duc", "lan", "minh", "hung", "ha", "tuan", "chau", "phuc", "van", "nam", "thao"}
local S, OWNERS, CLASSES = {}, {}, {"team", "other", "any"}
for _, l in ipairs(REPS) do
  local s = assert(db.staff:where{os_user = l}:first(), l)
  S[l] = {id = s.id, team = s.team, role = s.role}
end
for _, l in ipairs({"bao", "hoa", "duc"}) do OWNERS[S[l].id] = true; table.insert(CLASSES, 1, "own:" .. S[l].id) end
local function is(cls, o, t, k)
  if cls == "any" then return true end
  if not k then return false end
  if cls == "team" then return t == HT and not OWNERS[o or ""] end
  if cls == "other" then return t ~= nil and t ~= HT end
  return o == cls:match("^own:(.*)$")
end
local function find(c, cls)
  for r in db[c]:sort("id"):each() do
    if is(cls, place(c, r)) then return r end
  end
end
local ANCHOR = {contacts = "client", plans = "client", briefs = "client", quotes = "client", contracts = "client",
  projects = "client", reconciliations = "client", invoices = "client", opportunities = "client", risks = "client",
  activities = "client", spend = "project", acceptances = "project", change_requests = "contract",
  payments = "invoice", requests = "requested_by", reviews = "staff"}
local TARGET = {client = "clients", project = "projects", contract = "contracts", invoice = "invoices",
  requested_by = "staff", staff = "staff"}
local F = {}
kam.tx(function()
  -- room for the copies of clients (rules/capacity.lua)
  for _, id in ipairs(db.staff:all():ids()) do db.staff:update(id, {capacity = 99}) end
  for _, c in ipairs(COLLS) do
    F[c] = {}
    local extra = c == "quotes" and {{"sent:" .. S.hoa.id, "own:" .. S.hoa.id, {status = "sent"}}} or {}
    local todo = {}
    for _, cls in ipairs(CLASSES) do todo[#todo + 1] = {cls, cls, {}} end
    for _, x in ipairs(extra) do todo[#todo + 1] = x end
    for _, w in ipairs(todo) do
      local key, cls, set = w[1], w[2], w[3]
      local src, row = find(c, cls), nil
      if src then row = fields(src)
      elseif ANCHOR[c] then
        local a = find(TARGET[ANCHOR[c]], cls)
        src = a and db[c]:sort("id"):first()
        if src then row = fields(src); row[ANCHOR[c]] = a.id end
      end
      if row then
        if c == "quotes" or c == "change_requests" then row.status = "draft" end
        if c == "requests" then -- raised pending; its route is kam request's, not an insert's
          row.status = "pending"
          for _, f in ipairs{"approvals", "chain", "step", "waiting_role", "waiting_team", "step_since", "policy_hash",
                             "route", "decided_at", "superseded_by", "cr"} do row[f] = nil end
        end
        if c == "staff" then row.os_user, row.email = nil, nil end
        -- copies out of the write guards' way (their own tests are elsewhere): a rejected
        -- spend counts against no budget, an invoice of no period bills no acceptance
        if c == "spend" then row.status, row.flag = "rejected", nil end
        if c == "invoices" then row.period, row.project = nil, nil end
        for k, v in pairs(set) do row[k] = v end
        local id = db[c]:insert(row)
        local new = db[c]:get(id)
        local o, t, k = place(c, new)
        F[c][key] = {id = id, owner = o, team = t, placed = k, row = fields(new)}
      end
    end
  end
end)
-- what each rep reads: every row, their team's, their own
local N = {}
for _, l in ipairs(REPS) do N[l] = {} end
for _, c in ipairs(COLLS) do
  local all = 0
  for _, l in ipairs(REPS) do N[l][c] = {all = 0, team = 0, own = 0} end
  for r in db[c]:each() do
    local o, t, k = place(c, r)
    all = all + 1
    for _, l in ipairs(REPS) do
      if k and t == S[l].team then N[l][c].team = N[l][c].team + 1 end
      if k and o == S[l].id then N[l][c].own = N[l][c].own + 1 end
    end
  end
  for _, l in ipairs(REPS) do N[l][c].all = all end
end
print("return " .. ser({F = F, N = N, S = S}))
LUA
{ cat "$T/common.lua" "$T/fixtures.lua"; } >"$T/fixtures.run.lua"
kam --as tuan run "$T/fixtures.run.lua" "$HT" >"$T/data.lua" 2>"$ERR" || { echo "setup: the fixtures failed:"; cat "$ERR"; exit 1; }
check 'the fixtures: a Lua table' grep -q '^return {' "$T/data.lua"

# ---- 1a. the matrix as kam shows it ------------------------------------------
cat >"$T/expected.lua" <<LUA
local M = (function()
$(cat "$MATRIX")
end)()
for _, r in ipairs(M.roles) do
  for _, c in ipairs(M.collections) do
    local t = {r, c}
    for _, a in ipairs(M.actions) do t[#t + 1] = M.cells[r][c][a] end
    print(table.concat(t, ","))
  end
end
LUA
kam run "$T/expected.lua" >"$T/expected.csv" 2>"$ERR" || { echo "FAIL: access_matrix.lua does not load:"; cat "$ERR"; exit 1; }
expect_ok kam --format csv access matrix
tr -d '\r' <"$OUT" >"$T/got.csv"
check 'matrix: the header' [ "$(head -n 1 "$T/got.csv")" = role,collection,read,insert,update,delete,import,export ]
check 'matrix: every role and collection, as many rows as expected' \
  [ "$(tail -n +2 "$T/got.csv" | wc -l)" = "$(wc -l <"$T/expected.csv")" ]
awk -F, 'BEGIN { split("read insert update delete import export", A, " ") }
  NR == FNR { for (i = 3; i <= 8; i++) want[$1 "," $2 "," i] = $i; rows[$1 "," $2] = 1; next }
  FNR == 1 { next }
  { seen[$1 "," $2] = 1
    for (i = 3; i <= 8; i++) {
      k = $1 "," $2 "," i
      if (!(($1 "," $2) in rows)) { print "FAIL: matrix: " $1 " " $2 ": not expected at all"; break }
      if (want[k] == $i) print "PASS"
      else print "FAIL: matrix: " $1 " " $2 " " A[i - 2] ": expected " want[k] ", got " $i }
  }
  END { for (r in rows) if (!(r in seen)) print "FAIL: matrix: " r ": missing from kam access matrix" }' \
  "$T/expected.csv" "$T/got.csv" >"$T/cmp.txt"
PASSED=$((PASSED + $(grep -c '^PASS' "$T/cmp.txt")))
FAILED=$((FAILED + $(grep -c '^FAIL' "$T/cmp.txt")))
grep '^FAIL' "$T/cmp.txt"

# ---- 1b. every cell, really done as a member of each role --------------------
snapshot "$T/.book"
AUDIT0=$(audit_count)
cat >"$T/probe.lua" <<'LUA'
local D = DATA
local ME = D.S[LOGIN]
local ROLE = ME.role
local out = {}
local function pass() out[#out + 1] = "PASS" end
local function fail(fmt, ...) out[#out + 1] = "FAIL: " .. LOGIN .. " (" .. ROLE .. ") " .. string.format(fmt, ...) end
if kam.user.staff ~= ME.id or kam.user.role ~= ROLE then fail("runs as %s, not %s", tostring(kam.user.staff), ME.id) end
local NUM = {quotes = "discount", payments = "amount", kpis = "actual"}
local TEXT = {teams = "name", staff = "level", clients = "city", contacts = "title", services = "unit",
  packages = "description", plans = "period", briefs = "objective", contracts = "title", change_requests = "reason",
  projects = "lessons", spend = "vendor", acceptances = "signed_by", reconciliations = "source", invoices = "note",
  opportunities = "prospect", risks = "resolution", activities = "notes", reviews = "notes", requests = "reason",
  alerts = "message"}
local function patch(c, row)
  if NUM[c] then return {[NUM[c]] = (row[NUM[c]] or 0) + 1} end
  return {[TEXT[c]] = (row[TEXT[c]] or "") .. " (probe)"}
end
local function copy(t) local r = {} for k, v in pairs(t) do r[k] = v end return r end
-- what happened: "allowed", "denied", or the error as text
local function try(fn)
  local ok, e = pcall(kam.tx, function() fn(); error("probe-ok") end)
  if ok then return "committed!" end
  if type(e) == "string" and e:find("probe-ok", 1, true) then return "allowed" end
  if getmetatable(e) == "kam.error" and e.code == 3 then return "denied", tostring(e) end
  return "error: " .. tostring(e):gsub("\n.*", "")
end
-- whether a cell lets the person at a row placed (owner, team, placed)
local function covers(base, f)
  if base == "all" then return true end
  if base == "team" then return f.placed and f.team == ME.team end
  if base == "own" then return f.placed and f.owner == ME.id end
  return false
end
local function where(f) return string.format("%s (owner %s, team %s)", f.id, tostring(f.owner), tostring(f.team)) end
local WRITES = {
  insert = function(c, f) return function()
    local r = copy(f.row)
    if c == "requests" then -- the route and the approvals are kam request's and the approvers'
      for _, f in ipairs{"approvals", "chain", "step", "waiting_role", "waiting_team", "step_since", "policy_hash",
                         "route", "decided_at", "superseded_by", "cr"} do r[f] = nil end
    end
    if c == "clients" and ROLE == "team_lead" then r.tier = nil end -- the tiering policy's to set
    db[c]:insert(r)
  end end,
  update = function(c, f) return function() db[c]:update(f.id, patch(c, f.row)) end end,
  delete = function(c, f) return function() db[c]:delete(f.id) end end,
}
for _, c in ipairs(M.collections) do
  local cell = M.cells[ROLE][c]
  local fx, keys = D.F[c], {}
  for k in pairs(fx) do if not k:match("^sent:") then keys[#keys + 1] = k end end
  table.sort(keys)
  -- read: the count of rows in scope, and each probe row got or not
  local rb = cell.read:gsub("%*$", "")
  local ok, n = pcall(function() return db[c]:count() end)
  if rb == "-" or rb == "forbid" then
    if ok then fail("read %s: expected denied, counted %s", c, tostring(n))
    elseif getmetatable(n) ~= "kam.error" or n.code ~= 3 then fail("read %s: expected a permission error, got %s", c, tostring(n))
    else pass() end
  else
    local want = D.N[LOGIN][c][rb]
    if not ok then fail("read %s (%s): count failed: %s", c, rb, tostring(n))
    elseif n ~= want then fail("read %s (%s): counted %d, expected %d", c, rb, n, want)
    else pass() end
    for _, k in ipairs(keys) do
      local f = fx[k]
      local gok, r = pcall(function() return db[c]:get(f.id) end)
      local exp = covers(rb, f)
      if not gok then fail("read %s %s: get failed: %s", c, where(f), tostring(r))
      elseif (r ~= nil) ~= exp then fail("read %s %s: expected %s, got %s", c, where(f), exp and "found" or "nil", r and "the row" or "nil")
      else pass() end
    end
  end
  -- insert, update, delete: every probe row, allowed or denied as the cell says
  for _, a in ipairs({"insert", "update", "delete"}) do
    local base = cell[a]:gsub("%*$", "")
    local yes, no, no_same_team = 0, 0, 0
    for _, k in ipairs(keys) do
      local f = fx[k]
      local exp = covers(base, f) and "allowed" or "denied"
      local got, msg = try(WRITES[a](c, f))
      if exp == "allowed" then yes = yes + 1 else no = no + 1 end
      if exp == "denied" and f.placed and f.team == ME.team then no_same_team = no_same_team + 1 end
      if got ~= exp then fail("%s %s %s: cell %s: expected %s, got %s", a, c, where(f), cell[a], exp, got)
      else
        pass()
        if got == "denied" and cell[a] == "forbid" and not msg:find("finance owns invoices", 1, true) then
          fail("%s %s: a forbid's refusal should say why: %s", a, c, msg)
        end
      end
    end
    -- both ways: a scoped cell saw a row it covers and one it does not (own: of the same team)
    if base == "own" or base == "team" then
      if yes == 0 or no == 0 then fail("%s %s: cell %s: no probe row %s", a, c, cell[a], yes == 0 and "in scope" or "out of scope") end
      if base == "own" and no_same_team == 0 then fail("%s %s: no row of the same team, another owner", a, c) end
    elseif base == "all" and yes == 0 then fail("%s %s: no probe row", a, c)
    end
  end
end
print(table.concat(out, "\n"))
LUA
run_probe() { # ROLE LOGIN
  {
    printf 'local M = (function()\n'; cat "$MATRIX"; printf '\nend)()\n'
    printf 'local DATA = (function()\n'; cat "$T/data.lua"; printf '\nend)()\n'
    printf 'local LOGIN = "%s"\n' "$2"
    cat "$T/probe.lua"
  } >"$T/probe-$1.lua"
  if kam --as "$2" run "$T/probe-$1.lua" >"$T/probe-$1.out" 2>"$ERR"; then
    PASSED=$((PASSED + $(grep -c '^PASS' "$T/probe-$1.out")))
    FAILED=$((FAILED + $(grep -c '^FAIL' "$T/probe-$1.out")))
    grep '^FAIL' "$T/probe-$1.out"
  else
    FAILED=$((FAILED + 1)); echo "FAIL: the probe as $2 ($1) failed:"; head -n 5 "$ERR" | sed 's/^/      /'
  fi
}

# import (--dry-run) and export of each collection: one CSV row copied from the
# book, without id, created_at, updated_at
mkdir -p "$T/imp"
for c in $(collections "$KAM_SRC/config/schema.yaml"); do
  kam --format csv export "$c" >"$T/imp/all.csv"
  python3 - "$T/imp/all.csv" "$T/imp/$c.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
# a request as one is raised: pending, without the route kam request gives it
route = ("approvals", "chain", "step", "waiting_role", "waiting_team", "step_since", "policy_hash", "route",
         "decided_at", "superseded_by", "cr")
keep = [i for i, h in enumerate(rows[0]) if h not in ("id", "created_at", "updated_at") and
        not (sys.argv[2].endswith("/requests.csv") and h in route)]
if sys.argv[2].endswith("/requests.csv") and len(rows) > 1:
    rows[1][rows[0].index("status")] = "pending"
if sys.argv[2].endswith("/quotes.csv") and len(rows) > 1:   # a draft, its discount not yet approved
    rows[1][rows[0].index("status")] = "draft"
    rows[1][rows[0].index("discount_approved")] = ""
if sys.argv[2].endswith("/change_requests.csv") and len(rows) > 1:   # a draft, as one starts
    rows[1][rows[0].index("status")] = "draft"
    rows[1][rows[0].index("request")] = ""
# copies out of the write guards' way: an invoice of no period, a rejected spend
if sys.argv[2].endswith("/invoices.csv") and len(rows) > 1:
    rows[1][rows[0].index("period")] = rows[1][rows[0].index("project")] = ""
if sys.argv[2].endswith("/spend.csv") and len(rows) > 1:
    rows[1][rows[0].index("status")] = "rejected"
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    for r in rows[:2]:
        w.writerow([r[i] for i in keep])
PY
done
cell_of() { awk -F, -v r="$1" -v c="$2" -v i="$3" '$1 == r && $2 == c { print $i }' "$T/expected.csv"; }
for rl in $REPS; do
  role=${rl%%:*} login=${rl#*:}
  run_probe "$role" "$login"
  for c in $(collections "$KAM_SRC/config/schema.yaml"); do
    for act in import export; do
      if [ $act = import ]; then i=7; else i=8; fi
      want=$(cell_of "$role" "$c" $i)
      if [ $act = import ]; then _run kam --as "$login" import --dry-run "$T/imp/$c.csv"
      else _run kam --as "$login" export "$c"; fi
      case $want in -|forbid) exp=3 ;; *) exp=ok ;; esac
      if [ "$exp" = 3 ] && [ "$RC" -eq 3 ]; then _pass
      elif [ "$exp" = ok ] && [ "$RC" -ne 3 ] && { [ $act = import ] || [ "$RC" -eq 0 ]; }; then _pass
      else _fail "$act $c as $login ($role): cell $want, exit $RC"; fi
    done
  done
done
expect_unchanged "$T/.book" 'every probe, import --dry-run and export'
expect_no_entry 'the probes' "$AUDIT0"

# ---- 1c. the limited cells, one by one ------------------------------------------
HOA=$(kam eval 'return db.staff:where{os_user = "hoa"}:first().id')
LAN=$(kam eval 'return db.staff:where{os_user = "lan"}:first().id')
TUAN=$(kam eval 'return db.staff:where{os_user = "tuan"}:first().id')
HA=$(kam eval 'return db.staff:where{os_user = "ha"}:first().id')
{ printf 'local D = (function()\n'; cat "$T/data.lua"
  printf '\nend)()\nfor c, t in pairs(D.F) do for k, f in pairs(t) do print(c .. " " .. k .. " " .. f.id) end end\n'
} >"$T/ids.lua"
kam run "$T/ids.lua" >"$T/ids.txt" 2>"$ERR" || { echo "FAIL: the probe rows' ids:"; cat "$ERR"; }
idof() { awk -v c="$1" -v k="$2" '$1 == c && $2 == k { print $3 }' "$T/ids.txt"; }
HC=$(idof clients "own:$HOA")     # a client of hoa's
TC=$(idof clients team)           # a client of her team, another owner
HQ=$(idof quotes "own:$HOA")      # her quote, draft
HQS=$(idof quotes "sent:$HOA")    # her quote, sent
HR=$(idof requests "own:$HOA")    # her request, pending
check "limited: probe rows ($HC $TC $HQ $HQS $HR)" [ -n "$HC" ] && [ -n "$TC" ] && [ -n "$HQ" ] && [ -n "$HQS" ] && [ -n "$HR" ]
cat >"$T/limited.lua" <<'LUA'
local out = {}
-- try('what', 'allowed' or 'denied', fn [, text the refusal must contain])
local function try(what, want, fn, why)
  local ok, e = pcall(kam.tx, function() fn(); error("probe-ok") end)
  local got = (type(e) == "string" and e:find("probe-ok", 1, true)) and "allowed"
    or (getmetatable(e) == "kam.error" and e.code == 3) and "denied" or ("error: " .. tostring(e):gsub("\n.*", ""))
  if got == want and why and not tostring(e):find(why, 1, true) then got = got .. " but not because " .. why .. ": " .. tostring(e) end
  out[#out + 1] = got == want and "PASS" or ("FAIL: " .. kam.user.login .. " " .. what .. ": expected " .. want .. ", got " .. got)
end
local HC, TC, HQ, HQS, HR, OTHER, HCT = arg[1], arg[2], arg[3], arg[4], arg[5], arg[6], arg[7]
if kam.user.login == "hoa" then
  try("her client's tier", "denied", function() db.clients:update(HC, {tier = db.clients:get(HC).tier == "A" and "B" or "A"}) end, "field tier")
  try("her client's owner", "denied", function() db.clients:update(HC, {owner = db.clients:get(TC).owner}) end, "as written")
  try("her client's team", "denied", function() db.clients:update(HC, {team = OTHER}) end)
  try("her client's city", "allowed", function() db.clients:update(HC, {city = "Đà Nẵng"}) end)
  try("her contact moved to a client of her team, not hers", "denied", function() db.contacts:update(HCT, {client = TC}) end)
  try("her contact moved to another team's client", "denied", function() db.contacts:update(HCT, {client = OTHER_CLIENT}) end)
  try("her contact moved to another client of hers", "allowed", function()
    db.contacts:update(HCT, {client = db.clients:where{owner = kam.user.staff}:first().id}) end)
  try("her client's city and tier", "denied", function() db.clients:update(HC, {city = "Huế", tier = "D"}) end)
  try("her team's client (not hers), city", "denied", function() db.clients:update(TC, {city = "Huế"}) end)
  try("her quote in draft", "allowed", function() db.quotes:update(HQ, {discount = 0.05}) end)
  try("her quote draft -> sent", "denied", function() db.quotes:update(HQ, {status = "sent"}) end, "status is draft")
  try("her quote in status sent", "denied", function() db.quotes:update(HQS, {discount = 0.05}) end, "status is draft (it is sent)")
  try("her quote sent -> draft", "denied", function() db.quotes:update(HQS, {status = "draft"}) end)
  try("a new quote, sent", "denied", function() db.quotes:insert{client = HC, total = 1000000, status = "sent", owner = kam.user.staff} end)
  try("a new quote, draft", "allowed", function() db.quotes:insert{client = HC, total = 1000000, status = "draft", owner = kam.user.staff} end)
  try("her request staying pending", "allowed", function() db.requests:update(HR, {reason = "probe"}) end)
  try("her request set to approved", "denied", function() db.requests:update(HR, {status = "approved"}) end, "decided with kam approve")
  try("her request set to rejected", "denied", function() db.requests:update(HR, {status = "rejected"}) end, "decided with kam approve")
  try("her request cancelled by hand", "denied", function() db.requests:update(HR, {status = "cancelled"}) end, "decided with kam approve")
  try("her request's approvals", "denied", function() db.requests:update(HR, {approvals = {{by = kam.user.staff, ok = true}}}) end, "decided with kam approve")
  try("a new request, approved", "denied", function()
    db.requests:insert{kind = "discount", subject = HQ, requested_by = kam.user.staff, status = "approved"} end)
  try("a new request, pending", "allowed", function()
    db.requests:insert{kind = "discount", subject = HQ, requested_by = kam.user.staff, status = "pending"} end)
else -- lan, the team lead: her team's clients, but not their tier (the tiering policy's)
  try("her team's client's city", "allowed", function() db.clients:update(TC, {city = "Huế"}) end)
  try("her team's client's owner", "allowed", function() db.clients:update(TC, {owner = db.clients:get(HC).owner}) end)
  try("her team's client's tier", "denied", function() db.clients:update(TC, {tier = db.clients:get(TC).tier == "A" and "B" or "A"}) end)
  try("another team's client's city", "denied", function() db.clients:update(OTHER_CLIENT, {city = "Huế"}) end)
end
print(table.concat(out, "\n"))
LUA
OC=$(idof clients other)
sed -i "1i local OTHER_CLIENT = '$OC'" "$T/limited.lua"
for who in hoa lan; do
  if kam --as $who run "$T/limited.lua" "$HC" "$TC" "$HQ" "$HQS" "$HR" "$OT" "$(idof contacts "own:$HOA")" >"$T/lim.out" 2>"$ERR"; then
    PASSED=$((PASSED + $(grep -c '^PASS' "$T/lim.out")))
    FAILED=$((FAILED + $(grep -c '^FAIL' "$T/lim.out")))
    grep '^FAIL' "$T/lim.out"
  else FAILED=$((FAILED + 1)); echo "FAIL: limited cells as $who:"; head -n 5 "$ERR"; fi
done
expect_unchanged "$T/.book" 'the limited cells'
expect_no_entry 'the limited cells' "$AUDIT0"

# ---- 2. ways around the rules ---------------------------------------------------
# a project of its own: auth: os, unknown logins refused, a policy that writes
tmp_project "$T/proj" rules
OSCONF=$T/proj/config/kam.yaml
sed -i 's/^auth:.*/auth: os/; /^unknown_logins:/d' "$OSCONF"
echo 'unknown_logins: refuse' >>"$OSCONF"
check 'the project: auth: os, unknown_logins: refuse' grep -q '^auth: os' "$OSCONF"
# as LOGIN (fakelogin): kam with the project's config, on the book
# shellcheck disable=SC2317 # called through expect_* and _run
as_login() {
  local who=$1; shift
  FAKE_LOGIN=$who LD_PRELOAD=$FAKELOGIN ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    "$KAM_BIN" --config "$OSCONF" --db "$BOOK" "$@"
}
# this process's own login (root) with the project's config
# shellcheck disable=SC2317
os_root() { "$KAM_BIN" --config "$OSCONF" --db "$BOOK" "$@"; }
expect_out 'hoa (account_manager)' as_login hoa whoami
check 'whoami: the login is hoa, not root' grep -q 'hoa' "$OUT"
check 'whoami: auth os' grep -qE '^auth +os' "$OUT"

# a non-admin's --as under auth: os
n=$(audit_count)
snapshot "$T/.b"
expect_fail 3 'only an admin may act as someone else' as_login hoa --as minh eval \
  "kam.tx(function() db.clients:update('$TC', {city = 'by hoa as minh'}) end)"
check '--as refused: names the login' _has 'you are hoa' "$ERR"
expect_fail 3 'only an admin may act as someone else' as_login hoa --as minh eval 'return db.clients:count()'
expect_fail 3 'only an admin may act as someone else' as_login hoa --as ST-000001 stats
expect_unchanged "$T/.b" 'hoa --as minh under auth: os'
expect_no_entry 'hoa --as minh under auth: os' "$n"
# the admin's --as works, and the audit keeps who really acted
expect_ok as_login tuan --as hoa eval "kam.tx(function() db.contacts:insert{client = '$HC', name = 'Lê Văn Probe'} end)"
expect_newest 'tuan --as hoa under auth: os' "$HOA" account_manager "$TUAN" cli insert contacts
# as tuan acting as hoa, hoa's limits hold
n=$(audit_count)
expect_fail 3 "may not update clients $TC" as_login tuan --as hoa eval "kam.tx(function() db.clients:update('$TC', {city = 'x'}) end)"
expect_no_entry 'tuan --as hoa, out of her scope' "$n"
# hoa as herself
expect_ok as_login hoa eval "kam.tx(function() db.contacts:insert{client = '$HC', name = 'Trần Probe'} end)"
expect_newest 'hoa under auth: os' "$HOA" account_manager - cli insert contacts

# an account manager's import of invoices (a valid row: finance imports it)
n=$(audit_count)
ninv=$(kam eval 'return db.invoices:count()')
mkdir -p "$T/inv" && cp "$T/imp/invoices.csv" "$T/inv/invoices.csv"
expect_ok kam --as ha import --dry-run "$T/inv/invoices.csv"
expect_fail 3 'finance owns invoices' kam --as hoa import "$T/inv/invoices.csv"
check 'import refused: names hoa and the rule' _has 'hoa (account_manager) may not import invoices' "$ERR"
expect_fail 3 'finance owns invoices' as_login hoa import "$T/inv/invoices.csv"
expect_eq "$ninv" kam eval 'return db.invoices:count()'
expect_no_entry 'hoa importing invoices' "$n"
expect_ok kam --as ha import "$T/inv/invoices.csv"
expect_eq "$((ninv + 1))" kam eval 'return db.invoices:count()'
expect_newest 'ha importing invoices' "$HA" finance "$ME" import
# a team lead imports contacts, but only her team's: each row is held to the insert rules
mkdir -p "$T/tl"
printf 'client,name\n%s,Probe Other Team\n' "$OC" >"$T/tl/contacts.csv"
n=$(audit_count)
expect_fail 3 'granted only within their team' kam --as lan import "$T/tl/contacts.csv"
expect_no_entry 'lan importing a contact of another team' "$n"
printf 'client,name\n%s,Probe Her Team\n' "$TC" >"$T/tl/contacts.csv"
expect_ok kam --as lan import "$T/tl/contacts.csv"
expect_newest 'lan importing a contact of her team' "$LAN" team_lead "$ME" import

# a policy whose decide writes: another collection, its own, through kam.tx or not
cat >"$T/proj/rules/sneaky.lua" <<'LUA'
local P = {name = "sneaky", subject = "clients", writes = "tier"}
function P.decide(c, why)
  kam.tx(function() db.invoices:update(db.invoices:first().id, {note = "written by a policy"}) end)
  return "A"
end
return P
LUA
cat >"$T/proj/rules/sneaky2.lua" <<'LUA'
local P = {name = "sneaky2", subject = "clients", writes = "tier"}
function P.decide(c, why)
  db.contacts:update(db.contacts:first().id, {title = "written by a policy"})
  return c.tier
end
return P
LUA
cat >"$T/proj/rules/sneaky3.lua" <<'LUA'
local P = {name = "sneaky3", subject = "clients", writes = "tier"}
function P.decide(c, why)
  local ok, e = pcall(kam.tx, function() db.clients:update(c.id, {city = "written by a policy"}) end)
  return "A"
end
return P
LUA
n=$(audit_count)
snapshot "$T/.b"
for p in sneaky sneaky2; do
  expect_fail 3 'a policy only reads the book' as_login tuan policy eval $p --commit
  expect_fail 3 'a policy only reads the book' os_root --as tuan policy eval $p --commit
done
expect_unchanged "$T/.b" 'policies that write in decide'
expect_no_entry 'policies that write in decide' "$n"
# one that catches the refusal: its write is not made (the commit of its own
# field may go on: a caught error is handled)
_run as_login tuan policy eval sneaky3 --commit
expect_eq 0 kam eval 'return db.clients:where{city = "written by a policy"}:count()'
n=$(audit_count)
snapshot "$T/.b"

# a REPL kam.tx approving her own request
expect_eq pending kam eval "return db.requests:get('$HR').status"
printf "kam.tx(function() db.requests:update('%s', {status = 'approved'}) end)\ndb.requests:get('%s').status\n" "$HR" "$HR" >"$T/repl.txt"
expect_fail 1 'permission denied' kam --as hoa repl <"$T/repl.txt"
check 'repl: the refusal names the request' _has "may not update requests $HR" "$ERR"
check 'repl: refused: a request is decided through kam approve' _has 'a request is decided with kam approve or kam reject' "$ERR"
check 'repl: the next statement reads it pending' grep -qx pending "$OUT"
expect_fail 1 'permission denied' as_login hoa repl <"$T/repl.txt"
expect_eq pending kam eval "return db.requests:get('$HR').status"
expect_no_entry 'the REPL approving' "$n"

# a login no staff record names
expect_fail 3 'login stranger: no staff record has os_user stranger' as_login stranger stats
check 'unknown login: says how to add it' _has 'os_user = "stranger"' "$ERR"
check 'unknown login: or unknown_logins: read' _has 'unknown_logins: read' "$ERR"
expect_fail 3 'login stranger' as_login stranger eval 'return db.clients:count()'
sed -i 's/^unknown_logins:.*/unknown_logins: read/' "$OSCONF"
expect_ok as_login stranger stats
expect_eq "$(kam eval 'return db.clients:count()')" as_login stranger eval 'return db.clients:count()'
expect_fail 3 'only reads' as_login stranger eval "kam.tx(function() db.clients:update('$HC', {city = 'x'}) end)"
expect_fail 3 'permission denied' as_login stranger import "$T/inv/invoices.csv"
expect_fail 3 'only an admin may act as someone else' as_login stranger --as tuan eval 'return 1'
sed -i 's/^unknown_logins:.*/unknown_logins: refuse/' "$OSCONF"
expect_unchanged "$T/.b" 'an unknown login'
expect_no_entry 'an unknown login' "$n"

# committing tiering: not an account manager's; a team lead's
kam policy history "$HC" tiering >"$T/hist0" 2>&1
expect_fail 3 'may not commit tiering' kam --as hoa policy eval tiering --commit
expect_fail 3 'may not commit tiering' as_login hoa policy eval tiering --commit
kam policy history "$HC" tiering >"$T/hist1" 2>&1
check 'tiering refused: the decisions unchanged' cmp -s "$T/hist0" "$T/hist1"
expect_unchanged "$T/.b" 'hoa committing tiering'
expect_no_entry 'hoa committing tiering' "$n"
expect_out 'committed' kam --as lan policy eval tiering --commit
expect_newest 'lan committing tiering' "$LAN" team_lead "$ME" policy update clients
kam policy history "$HC" tiering >"$T/hist2" 2>&1
check 'tiering by lan: a decision recorded' sh -c "! cmp -s '$T/hist0' '$T/hist2'"

# init --force on the book
n=$(audit_count)
snapshot "$T/.b"
expect_fail 3 'may not admin init' kam --as hoa init --force
expect_fail 3 'may not admin init' kam --as hoa init --force --demo
expect_fail 3 'may not admin init' as_login hoa init --force
expect_fail 3 'may not admin init' as_login lan init --force --demo
expect_unchanged "$T/.b" 'init --force as hoa'
expect_no_entry 'init --force as hoa' "$n"
expect_out 'ok: ' kam verify
finish
