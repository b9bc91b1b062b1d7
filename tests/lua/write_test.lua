-- write_test.lua — insert, update and delete inside kam.tx; validation
-- errors name the collection, field and value; a kam.tx that raises rolls
-- everything back; entities are read-only views, iterable with pairs, and
-- an entity kept across a write never crashes.
-- helpers: tests/lua/testlib.lua (run.sh puts it in scripts/)
local t = require "testlib"
local test, eq, near, expect_error, finish = t.test, t.eq, t.near, t.expect_error, t.finish

-- runs fn inside a kam.tx that is then rolled back (assertions in fn still fail the test)
local ROLLBACK = "__rollback__"
local function rolled_back(fn)
  local ok, err = pcall(kam.tx, function() fn() error(ROLLBACK, 0) end)
  if ok then error("kam.tx did not raise", 2) end
  if not tostring(err):find(ROLLBACK, 1, true) then error(err, 0) end
end

local function counts()
  return {clients = db.clients:count(), invoices = db.invoices:count(), activities = db.activities:count(),
          budget = db.clients:sum("annual_budget"), amount = db.invoices:sum("amount")}
end
local BASE = counts()

-- ---- insert -----------------------------------------------------------------

test("insert: a generated id with the collection's prefix", function()
  local id = kam.tx(function() return db.clients:insert{name = "Công ty Mới", city = "Cần Thơ"} end)
  eq(id, "CL-000013")
  eq(id:match("^CL%-%d%d%d%d%d%d$") ~= nil, true)
  local c = db.clients:get(id)
  eq(c.name, "Công ty Mới")
  eq(c.city, "Cần Thơ")
  -- defaults from the schema
  eq(c.status, "prospect")
  eq(c.annual_budget, 0)
  eq(c.strategic, false)
  eq(c.tier, nil)
  -- kept by kam
  eq(type(c.created_at), "string")
  eq(c.created_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d") ~= nil, true)
  eq(c.updated_at, c.created_at)
  eq(db.clients:count(), 13)
end)

test("insert: ids keep counting, per collection", function()
  local a, b, x = kam.tx(function()
    return db.activities:insert{client = "CL-000001", kind = "call", date = kam.today(), by = "ST-000002"},
           db.activities:insert{client = "CL-000002", kind = "email", date = "2026-11-26"},
           db.invoices:insert{client = "CL-000013", amount = 1000, issued = "2026-11-26", due = "2026-12-26"}
  end)
  eq(a, "AC-000011")
  eq(b, "AC-000012")
  eq(x, "INV-000021")
  eq(db.invoices:get("INV-000021").status, "issued")  -- the default
  eq(db.activities:where{client = "CL-000001"}:count(), 4)
end)

test("insert: an explicit id", function()
  local id = kam.tx(function() return db.clients:insert{id = "CL-SPECIAL", name = "Đặc biệt", tier = "B", owner = "ST-000004"} end)
  eq(id, "CL-SPECIAL")
  eq(db.clients:get("CL-SPECIAL").tier, "B")
  eq(db.clients:where{owner = "ST-000004"}:count(), 4)   -- the owner index knows it
  eq(db.clients:where{tier = "B"}:count(), 4)
end)

test("insert: an entity as a ref value, lists and maps", function()
  local c = db.clients:get("CL-000001")
  local id = kam.tx(function()
    return db.plans:insert{client = c, kind = "QBP", period = "2027-Q1", targets = {revenue = 1e9, nps = 40},
                           signatories = {"ST-000001", "ST-000002"}}
  end)
  local p = db.plans:get(id)
  eq(p.client, "CL-000001")
  eq(p.signatories, {"ST-000001", "ST-000002"})
  eq(p.targets.nps, 40)
  eq(p.status, "draft")
end)

test("insert: money given as a whole float is stored as an integer", function()
  local id = kam.tx(function() return db.invoices:insert{client = "CL-000003", amount = 2.5e8, issued = "2026-11-26", due = "2026-12-26", status = "draft"} end)
  eq(db.invoices:get(id).amount, 250000000)
  eq(math.type(db.invoices:get(id).amount), "integer")
  kam.tx(function() db.invoices:delete(id) end)
end)

-- ---- update -----------------------------------------------------------------

test("update: changes the fields given, keeps the others", function()
  local before = db.clients:get("CL-000004")
  local name, created = before.name, before.created_at
  local r = kam.tx(function() return db.clients:update("CL-000004", {tier = "B", csat = 5}) end)
  eq(r ~= nil, true)
  local c = db.clients:get("CL-000004")
  eq(c.tier, "B")
  near(c.csat, 5)
  eq(c.name, name)
  eq(c.city, "Hà Nội")
  eq(c.created_at, created)
  eq(c.updated_at >= created, true)
  -- indexes follow
  eq(db.clients:where{tier = "C"}:count(), 2)
  eq(db.clients:where{tier = "B"}:count(), 5)
  eq(db.clients:where{tier = "B", city = "Hà Nội"}:count(), 3)
end)

test("update: an entity as the id, and a ref field", function()
  local c = db.clients:get("CL-000008")
  kam.tx(function() db.clients:update(c, {owner = db.staff:get("ST-000002"), tier = "D"}) end)
  eq(db.clients:get("CL-000008").owner, "ST-000002")
  eq(db.clients:where{owner = "ST-000002"}:count(), 5)
end)

test("update: money on an invoice moves the sums", function()
  kam.tx(function() db.invoices:update("INV-000019", {amount = 25000000, status = "issued"}) end)
  eq(db.invoices:where{status = "draft"}:count(), 0)
  eq(db.invoices:where{client = "CL-000004"}:sum("amount"), 50000000)
  eq(db.invoices:where{client = "CL-000004", issued = {">=", "2026-11-01"}}:sum("amount"), 25000000)
end)

test("update: an unknown id, an id change and kam's own fields are refused", function()
  expect_error(function() kam.tx(function() db.clients:update("CL-404", {tier = "A"}) end) end, "clients", "CL-404")
  expect_error(function() kam.tx(function() db.clients:update("CL-000001", {id = "CL-X"}) end) end, "id")
  expect_error(function() kam.tx(function() db.clients:update("CL-000001", {created_at = "2020-01-01T00:00:00+07:00"}) end) end, "created_at")
end)

-- ---- delete -----------------------------------------------------------------

test("delete", function()
  local n = db.activities:count()
  kam.tx(function() db.activities:delete("AC-000012") end)
  eq(db.activities:get("AC-000012"), nil)
  eq(db.activities:count(), n - 1)
  eq(db.activities:where{client = "CL-000002"}:count(), 1)   -- the index entry went too
  eq(db.activities:where{kind = "email"}:ids(), {"AC-000004", "AC-000010"})
  kam.tx(function() db.clients:delete(db.clients:get("CL-SPECIAL")) end)
  eq(db.clients:get("CL-SPECIAL"), nil)
  eq(db.clients:where{owner = "ST-000004"}:count(), 2)  -- CL-000002, CL-000005 (CL-000008 moved to ST-000002)
end)

test("delete: a record others refer to is refused, naming who", function()
  expect_error(function() kam.tx(function() db.invoices:delete("INV-000001") end) end,
               "INV-000001", "payments PAY-000001 (invoice)")
  expect_error(function() kam.tx(function() db.clients:delete("CL-000001") end) end, "CL-000001", "referred to by")
  eq(db.invoices:get("INV-000001").id, "INV-000001")
end)

test("delete: a missing id is an error", function()
  expect_error(function() kam.tx(function() db.activities:delete("AC-404") end) end, "activities", "AC-404")
end)

test("a deleted id is not handed out again", function()
  local id = kam.tx(function() return db.activities:insert{client = "CL-000002", kind = "call", date = "2026-11-26"} end)
  eq(id, "AC-000013")
end)

-- ---- validation ---------------------------------------------------------------

local AFTER_WRITES = counts()

local function refused(fn, ...)
  local err = expect_error(function() kam.tx(fn) end, ...)
  eq(counts(), AFTER_WRITES, "nothing written")
  return err
end

test("validation: unknown field", function()
  refused(function() db.clients:insert{name = "X", budget = 1} end, "clients", "budget")
  refused(function() db.clients:update("CL-000001", {colour = "red"}) end, "clients", "colour")
end)

test("validation: wrong type", function()
  refused(function() db.clients:insert{name = "X", annual_budget = "lots"} end, "clients", "annual_budget", "lots")
  refused(function() db.clients:insert{name = "X", annual_budget = 1.5} end, "clients", "annual_budget", "1.5")
  refused(function() db.invoices:insert{client = "CL-000001", amount = 1, issued = "26-11-2026", due = "2026-12-01"} end,
          "invoices", "issued", "26-11-2026")
  refused(function() db.invoices:insert{client = "CL-000001", amount = 1, issued = "2026-02-30", due = "2026-12-01"} end,
          "invoices", "issued", "2026-02-30")
  refused(function() db.staff:update("ST-000001", {capacity = "many"}) end, "staff", "ST-000001", "capacity", "many")
  refused(function() db.clients:update("CL-000001", {strategic = "sometimes"}) end, "clients", "strategic", "sometimes")
  refused(function() db.clients:update("CL-000001", {name = {"a", "b"}}) end, "clients", "name")
end)

test("validation: enum value not in the list", function()
  local err = refused(function() db.clients:insert{name = "X", tier = "Z"} end, "clients", "tier", "Z")
  eq(err:find("A, B, C, D", 1, true) ~= nil, true, "lists the values")
  refused(function() db.clients:update("CL-000001", {status = "gone"}) end, "clients", "CL-000001", "status", "gone")
end)

test("validation: missing required field", function()
  refused(function() db.clients:insert{tier = "A"} end, "clients", "name", "required")
  refused(function() db.invoices:insert{client = "CL-000001", amount = 1, issued = "2026-11-26"} end, "invoices", "due", "required")
end)

test("validation: ref to a missing id", function()
  refused(function() db.clients:insert{name = "X", owner = "ST-404"} end, "clients", "owner", "ST-404")
  refused(function() db.invoices:insert{client = "CL-404", amount = 1, issued = "2026-11-26", due = "2026-12-26"} end,
          "invoices", "client", "CL-404")
  refused(function() db.clients:update("CL-000001", {parent = "INV-000001"}) end, "clients", "parent", "INV-000001")
end)

test("validation: duplicate id", function()
  refused(function() db.clients:insert{id = "CL-000001", name = "Again"} end, "clients", "CL-000001", "duplicate")
  refused(function()
    db.clients:insert{id = "CL-TWICE", name = "One"}
    db.clients:insert{id = "CL-TWICE", name = "Two"}
  end, "clients", "CL-TWICE")
  eq(db.clients:get("CL-TWICE"), nil)
end)

-- ---- kam.tx -------------------------------------------------------------------

test("kam.tx: returns what the function returns", function()
  local a, b = kam.tx(function() return 1, "two" end)
  eq(a, 1)
  eq(b, "two")
end)

test("kam.tx: an error rolls back everything", function()
  local err = expect_error(function()
    kam.tx(function()
      db.clients:insert{id = "CL-GONE", name = "Gone"}
      db.clients:update("CL-000001", {tier = "D", annual_budget = 1})
      db.invoices:delete("INV-000003")
      db.activities:insert{client = "CL-000001", kind = "qbr", date = "2026-11-26"}
      error("changed my mind")
    end)
  end, "changed my mind")
  eq(counts(), AFTER_WRITES)
  eq(db.clients:get("CL-GONE"), nil)
  eq(db.clients:get("CL-000001").tier, "A")
  eq(db.clients:get("CL-000001").annual_budget, 12000000000)
  eq(db.invoices:get("INV-000003").amount, 200000000)
  eq(db.clients:where{tier = "D"}:count(), 3)
  -- the next generated id is the same as if nothing had happened
  local id = kam.tx(function() return db.activities:insert{client = "CL-000001", kind = "qbr", date = "2026-11-26"} end)
  eq(id, "AC-000014")
  kam.tx(function() db.activities:delete(id) end)
  AFTER_WRITES = counts()
  eq(type(err), "string")
end)

test("kam.tx: a validation error after good writes rolls them back", function()
  refused(function()
    db.clients:insert{id = "CL-OK", name = "Fine"}
    db.clients:update("CL-000002", {tier = "B"})
    db.clients:insert{name = "Bad", tier = "Z"}
  end, "tier")
  eq(db.clients:get("CL-OK"), nil)
  eq(db.clients:get("CL-000002").tier, "A")
end)

test("kam.tx: reads inside see the transaction's own writes", function()
  rolled_back(function()
    local id = db.clients:insert{name = "Inside", tier = "A"}
    eq(db.clients:get(id).name, "Inside")
    eq(db.clients:where{tier = "A"}:count(), 4)
    db.clients:update(id, {tier = "B"})
    eq(db.clients:get(id).tier, "B")
    db.clients:delete(id)
    eq(db.clients:get(id), nil)
  end)
  eq(db.clients:where{tier = "A"}:count(), 3)
end)

test("kam.tx: writes in an each() loop", function()
  rolled_back(function()
    for inv in db.invoices:where{status = "overdue"}:each() do
      db.invoices:update(inv.id, {status = "disputed"})
    end
    eq(db.invoices:where{status = "overdue"}:count(), 0)
    eq(db.invoices:where{status = "disputed"}:count(), 6)
  end)
  eq(db.invoices:where{status = "overdue"}:count(), 5)
end)

test("kam.tx: nested is one transaction", function()
  expect_error(function()
    kam.tx(function()
      kam.tx(function() db.clients:insert{id = "CL-NESTED", name = "N"} end)
      eq(db.clients:get("CL-NESTED").name, "N")
      error("outer fails")
    end)
  end, "outer fails")
  eq(db.clients:get("CL-NESTED"), nil)
end)

test("kam.tx: a nested kam.tx that fails is a savepoint: only its writes go", function()
  kam.tx(function()
    db.clients:insert{id = "CL-SAVE1", name = "Kept"}
    local ok, err = pcall(kam.tx, function()
      db.clients:insert{id = "CL-SAVE2", name = "Dropped"}
      db.clients:update("CL-SAVE1", {name = "Changed"})
      error("inner fails")
    end)
    eq(ok, false)
    eq(tostring(err):find("inner fails", 1, true) ~= nil, true)
    eq(db.clients:get("CL-SAVE2"), nil)
    eq(db.clients:get("CL-SAVE1").name, "Kept")
    kam.tx(function() db.clients:update("CL-SAVE1", {name = "Kept twice"}) end)
  end)
  eq(db.clients:get("CL-SAVE1").name, "Kept twice")
  eq(db.clients:get("CL-SAVE2"), nil)
  kam.tx(function() db.clients:delete("CL-SAVE1") end)
end)

test("kam.tx: a refused write caught by pcall leaves nothing of itself", function()
  kam.tx(function()
    local ok = pcall(db.clients.insert, db.clients, {id = "CL-HALF", name = "x", tier = "Z"})
    eq(ok, false)
    eq(db.clients:get("CL-HALF"), nil)
    eq(db.clients:where{name = "x"}:count(), 0)
  end)
  eq(db.clients:get("CL-HALF"), nil)
end)

test("kam.tx: needs a function", function()
  expect_error(function() kam.tx() end, "function")
  expect_error(function() kam.tx("db.clients:delete('CL-000001')") end, "function")
end)

test("writes outside kam.tx are refused", function()
  expect_error(function() db.clients:insert{name = "X"} end, "kam.tx")
  expect_error(function() db.clients:update("CL-000001", {tier = "B"}) end, "kam.tx")
  expect_error(function() db.clients:delete("CL-000001") end, "kam.tx")
  eq(counts(), AFTER_WRITES)
end)

-- ---- entities -----------------------------------------------------------------

test("entities are read-only", function()
  local c = db.clients:get("CL-000001")
  expect_error(function() c.tier = "D" end, "read-only")
  expect_error(function() c.nope = 1 end, "read-only")
  eq(db.clients:get("CL-000001").tier, "A")
  -- db itself: also once a collection has been used (db.clients was read above)
  expect_error(function() db.clients = nil end, "read-only")
  expect_error(function() db.nothing_here = 1 end, "read-only")
  eq(db.clients:count() > 0, true)
end)

test("pairs(entity): the fields that are set, with their values", function()
  local c = db.clients:get("CL-000012")
  local got = {}
  for k, v in pairs(c) do got[k] = v end
  eq(got.id, "CL-000012")
  eq(got.name, "Zalo Pay")
  eq(got.industry, "technology")
  eq(got.tier, "D")
  eq(got.owner, "ST-000005")
  eq(got.annual_budget, 0)
  eq(got.strategic, false)
  eq(got.csat, nil)
  eq(got.parent, nil)
  eq(type(got.created_at), "string")
  local n = 0
  for _ in pairs(got) do n = n + 1 end
  eq(n, 12) -- id created_at updated_at name industry status tier owner team annual_budget strategic city
  local keys = {}
  for k in pairs(db.clients:get("CL-000001")) do keys[#keys + 1] = k end
  eq(keys[1], "id")
  eq(#keys, 15)
end)

test("entities compare by collection and id", function()
  eq(db.clients:get("CL-000001") == db.clients:get("CL-000001"), true)
  eq(db.clients:get("CL-000001") == db.clients:get("CL-000002"), false)
  eq(db.invoices:where{client = "CL-000002"}:first() == db.invoices:get(db.invoices:where{client = "CL-000002"}:first().id), true)
end)

STALE = db.clients:get("CL-000002")        -- a global, read before the write below
local stale_list = db.clients:where{tier = "A"}:list()

test("an entity kept across a write never crashes", function()
  kam.tx(function() db.clients:update("CL-000002", {csat = 1.5, note_missing = nil}) end)
  local fresh = db.clients:get("CL-000002")
  near(fresh.csat, 1.5)
  -- the old view: either its snapshot's value, or a clear error
  local ok, v = pcall(function() return STALE.csat end)
  if ok then near(v, 4.1, "stale entity reads its snapshot")
  else eq(tostring(v):find("snapshot", 1, true) ~= nil, true, "stale entity error: " .. tostring(v)) end
  for _, e in ipairs(stale_list) do
    local ok2, name = pcall(function() return e.name end)
    if ok2 then eq(type(name), "string") else eq(tostring(name):find("snapshot", 1, true) ~= nil, true) end
  end
  local ok3 = pcall(function() for _ in pairs(STALE) do end end)
  eq(type(ok3), "boolean")
  eq(type(tostring(STALE)), "string")
end)

test("an entity read inside kam.tx stays usable after it", function()
  local e
  kam.tx(function() e = db.clients:get("CL-000003") end)
  eq(e.name, "Biti's")
  eq(e.tier, "B")
end)

test("the book at the end", function()
  eq(db.clients:count(), 13)
  eq(db.invoices:count(), 21)
  eq(db.activities:count(), 12)
end)

finish()
