-- aggregate_test.lua — count, sum, avg, min, max (money, numbers, dates) and
-- group with each aggregate, over whole collections, filters, predicates,
-- sorted and limited queries. Expected values come from fixtures.yaml.
-- helpers: tests/lua/testlib.lua (run.sh puts it in scripts/)
local t = require "testlib"
local test, eq, near, expect_error, finish = t.test, t.eq, t.near, t.expect_error, t.finish

-- ---- sum --------------------------------------------------------------------

test("sum: money over a collection is an exact integer", function()
  local s = db.invoices:sum("amount")
  eq(s, 4740000000)
  eq(math.type(s), "integer")
  eq(db.clients:sum("annual_budget"), 39100000000)
  eq(db.opportunities:sum("value"), 4400000000)
end)

test("sum: filtered", function()
  eq(db.invoices:where{status = "overdue"}:sum("amount"), 905000000)
  eq(db.invoices:where{status = "paid"}:sum("amount"), 2265000000)
  eq(db.invoices:where{client = "CL-000001"}:sum("amount"), 2200000000)
  eq(db.invoices:where{issued = {">=", kam.months_ago(12)}}:sum("amount"), 4235000000)
  eq(db.invoices:where{client = "CL-000001", issued = {">=", kam.months_ago(12)}}:sum("amount"), 1700000000)
  eq(db.invoices:where{client = "CL-000002", issued = {">=", kam.months_ago(12)}}:sum("amount"), 950000000)
  eq(db.invoices:where{status = "overdue", due = {"<", "2026-09-01"}}:sum("amount"), 475000000)
  eq(db.payments:where{invoice = "INV-000010"}:sum("amount"), 600000000)
end)

test("sum: nothing to add is 0", function()
  eq(db.invoices:where{client = "CL-000012"}:sum("amount"), 0)
  eq(db.payments:where{method = "card"}:sum("amount"), 0)
  eq(math.type(db.payments:where{method = "card"}:sum("amount")), "integer")
end)

test("sum: over a predicate, a sort and a limit", function()
  eq(db.invoices:where(function(i) return i.amount >= 250000000 end):sum("amount"), 3550000000)
  eq(db.invoices:all():sort("amount", "desc"):limit(3):sum("amount"), 1800000000)
  eq(db.invoices:all():limit(3):sum("amount") > 0, true)
end)

test("sum: numbers", function()
  near(db.clients:sum("csat"), 4.6 + 4.1 + 3.8 + 4.9 + 3.5 + 2.9 + 4.3)
  near(db.opportunities:where{stage = {"in", {"proposal", "negotiation"}}}:sum("probability"), 0.6 + 0.8 + 0.3 + 0.5)
end)

test("sum: the same through an index and through a scan", function()
  local by_index = db.invoices:where{client = "CL-000005", issued = {">=", "2026-01-01"}}:sum("amount")
  local by_scan = db.invoices:where(function(i) return i.client == "CL-000005" and i.issued >= "2026-01-01" end):sum("amount")
  eq(by_index, 300000000)
  eq(by_scan, by_index)
  for _, st in ipairs{"draft", "issued", "paid", "overdue", "disputed"} do
    local a = db.invoices:where{status = st}:sum("amount")
    local b = 0
    for inv in db.invoices:all():each() do if inv.status == st then b = b + inv.amount end end
    eq(a, b, st)
  end
end)

test("sum: an unknown field is an error", function()
  expect_error(function() return db.invoices:sum("nope") end, "invoices", "nope")
end)

-- ---- avg ----------------------------------------------------------------------

test("avg", function()
  near(db.invoices:avg("amount"), 237000000)
  near(db.invoices:where{status = "overdue"}:avg("amount"), 181000000)
  near(db.opportunities:where{stage = "negotiation"}:avg("value"), 675000000)
  near(db.clients:where{tier = "A"}:avg("annual_budget"), 26000000000 / 3)
  -- nil values are left out, not counted as 0
  near(db.clients:avg("csat"), (4.6 + 4.1 + 3.8 + 4.9 + 3.5 + 2.9 + 4.3) / 7)
end)

test("avg: of nothing is nil", function()
  eq(db.invoices:where{client = "CL-000012"}:avg("amount"), nil)
end)

-- ---- min and max --------------------------------------------------------------

test("min and max: money", function()
  eq(db.invoices:min("amount"), 5000000)
  eq(db.invoices:max("amount"), 700000000)
  eq(math.type(db.invoices:max("amount")), "integer")
  eq(db.invoices:where{status = "paid"}:min("amount"), 25000000)
  eq(db.invoices:where{status = "paid"}:max("amount"), 600000000)
  eq(db.clients:where{status = "active"}:min("annual_budget"), 500000000)
end)

test("min and max: dates", function()
  eq(db.invoices:min("issued"), "2025-06-01")
  eq(db.invoices:max("issued"), "2026-11-25")
  eq(db.invoices:max("due"), "2026-12-25")
  eq(db.invoices:where{status = "paid"}:min("paid_date"), "2025-11-10")
  eq(db.invoices:where{status = "paid"}:max("paid_date"), "2026-09-20")
  eq(db.invoices:where{client = "CL-000001"}:max("issued"), "2026-11-20")
  eq(db.activities:where{client = "CL-000001"}:max("date"), "2026-11-24")
  eq(db.staff:min("hire_date"), "2016-01-04")
end)

test("min and max: numbers, enums, strings; nil values are skipped", function()
  near(db.clients:min("csat"), 2.9)
  near(db.clients:max("csat"), 4.9)
  eq(db.clients:min("tier"), "A")
  eq(db.clients:max("tier"), "D")
  eq(db.clients:min("name"), "Biti's")
  eq(db.clients:max("name"), "Ăn Vặt Cô Ba")
  eq(db.invoices:where{status = "overdue"}:max("paid_date"), nil)
end)

test("min and max: of nothing is nil", function()
  eq(db.invoices:where{client = "CL-000012"}:min("amount"), nil)
  eq(db.invoices:where{client = "CL-000012"}:max("issued"), nil)
end)

test("min and max: over a predicate and a limit", function()
  eq(db.invoices:where(function(i) return i.client == "CL-000002" end):max("amount"), 400000000)
  eq(db.invoices:all():sort("amount", "desc"):limit(4):min("amount"), 450000000)
end)

-- ---- count --------------------------------------------------------------------

test("count", function()
  eq(db.invoices:count(), 20)
  eq(db.invoices:where{status = "issued"}:count(), 5)
  eq(db.invoices:where{status = "disputed"}:count(), 1)
  eq(db.invoices:where{issued = {"between", "2026-01-01", "2026-12-31"}}:count(), 17)
  eq(db.clients:where(function(c) return c.strategic end):count(), 3)
end)

-- The small question a policy asks of every subject (a client's invoices in a
-- window, an invoice's payments) is read through an index: its prefix, a range
-- on the next part, conditions on carried values. A predicate that keeps every
-- row makes the same query take its rows first and aggregate them in turn.
local function rows_visited(q) return q:where(function() return true end) end

test("count, sum, avg, min, max of one client's rows: as visiting them gives", function()
  local ids = db.clients:all():ids()
  ids[#ids + 1] = "CL-999999" -- no such client: no rows
  local shapes = {
    function(id) return db.invoices:where{client = id} end,
    function(id) return db.invoices:where{client = id, issued = {">=", kam.months_ago(12)}} end,
    function(id) return db.invoices:where{client = id, issued = {"between", "2026-01-01", "2026-06-30"}, status = {"~=", "draft"}} end,
    function(id) return db.invoices:where{client = id, issued = {"<", "2026-03-05"}} end,
    function(id) return db.invoices:where{client = id, issued = {">", "2026-03-05"}} end,
    function(id) return db.invoices:where{client = id, issued = {"<=", "2026-08-10"}, amount = {">=", 100000000}} end,
    function(id) return db.invoices:where{client = id, due = {"between", "2025-12-01", "2026-10-31"}} end,
    function(id) return db.invoices:where{client = id, status = {"in", {"paid", "overdue"}}} end,
    function(id) return db.invoices:where{client = id, paid_date = {">=", "2026-01-01"}} end,
    function(id) return db.invoices:where{client = id, tax = 0} end, -- a field the index does not hold
  }
  local n = 0
  for _, id in ipairs(ids) do
    for s, shape in ipairs(shapes) do
      local q, v = shape(id), rows_visited(shape(id))
      local what = id .. " shape " .. s
      eq(q:count(), v:count(), what .. " count")
      local sum, vsum = q:sum("amount"), v:sum("amount")
      eq(sum, vsum, what .. " sum")
      eq(math.type(sum), math.type(vsum), what .. " sum's type")
      eq(q:avg("amount"), v:avg("amount"), what .. " avg")
      for _, f in ipairs{"amount", "issued", "due", "paid_date", "status", "tax"} do
        eq(q:min(f), v:min(f), what .. " min " .. f)
        eq(q:max(f), v:max(f), what .. " max " .. f)
      end
      n = n + 1
    end
  end
  eq(n, #ids * #shapes)
  -- the sums a policy asks, against the fixtures' own figures
  eq(db.invoices:where{client = "CL-000001", issued = {">=", kam.months_ago(12)}}:sum("amount"), 1700000000)
  eq(db.invoices:where{client = "CL-000001"}:max("issued"), "2026-11-20")
  eq(db.invoices:where{client = "CL-000005", status = "overdue"}:min("due"), "2026-05-18")
  eq(db.invoices:where{client = "CL-000010"}:max("paid_date"), nil)
  for _, inv in ipairs(db.invoices:all():ids()) do
    local q = db.payments:where{invoice = inv}
    eq(q:max("date"), rows_visited(q):max("date"), inv .. " last payment")
    eq(q:sum("amount"), rows_visited(q):sum("amount"), inv .. " paid")
  end
  eq(db.payments:where{invoice = "INV-000010"}:max("date"), "2026-08-15")
  -- inside a write, the write's own rows are counted
  local before = db.invoices:where{client = "CL-000012"}:count()
  local ok, err = pcall(kam.tx, function()
    db.invoices:insert{client = "CL-000012", amount = 7000000, issued = "2026-11-01", due = "2026-12-01"}
    local q = db.invoices:where{client = "CL-000012", issued = {">=", "2026-01-01"}}
    eq(q:count(), before + 1)
    eq(q:sum("amount"), 7000000)
    eq(q:sum("amount"), rows_visited(q):sum("amount"))
    eq(q:max("due"), "2026-12-01")
    error("undo")
  end)
  eq(ok, false)
  eq(tostring(err):find("undo", 1, true) ~= nil, true, tostring(err))
  eq(db.invoices:where{client = "CL-000012"}:count(), before)
end)

-- ---- group --------------------------------------------------------------------

test("group: count (also the default)", function()
  local by_tier = {A = 3, B = 3, C = 3, D = 2, ["(none)"] = 1}
  eq(db.clients:all():group("tier", "count"), by_tier)
  eq(db.clients:all():group("tier"), by_tier)
  eq(db.invoices:all():group("status", "count"), {paid = 8, overdue = 5, issued = 5, disputed = 1, draft = 1})
  eq(db.invoices:where{status = "overdue"}:group("client", "count"),
     {["CL-000001"] = 1, ["CL-000002"] = 1, ["CL-000005"] = 2, ["CL-000010"] = 1})
  eq(db.clients:all():group("city", "count"),
     {["Hồ Chí Minh"] = 6, ["Hà Nội"] = 4, ["Đà Nẵng"] = 1, ["Tuyên Quang"] = 1})
  eq(db.clients:all():group("strategic", "count"), {[true] = 3, [false] = 9})
end)

test("group: sum", function()
  eq(db.opportunities:where{stage = {"in", {"proposal", "negotiation"}}}:group("owner", "sum", "value"),
     {["ST-000002"] = 1050000000, ["ST-000004"] = 1500000000})
  local by_status = db.invoices:all():group("status", "sum", "amount")
  eq(by_status, {draft = 15000000, issued = 1475000000, paid = 2265000000, disputed = 80000000, overdue = 905000000})
  eq(math.type(by_status.paid), "integer")
  eq(db.invoices:all():group("client", "sum", "amount"), {
    ["CL-000001"] = 2200000000, ["CL-000002"] = 950000000, ["CL-000003"] = 245000000,
    ["CL-000004"] = 40000000, ["CL-000005"] = 300000000, ["CL-000006"] = 80000000,
    ["CL-000007"] = 40000000, ["CL-000009"] = 820000000, ["CL-000010"] = 5000000,
    ["CL-000011"] = 60000000})
  eq(db.invoices:where{issued = {">=", kam.months_ago(12)}}:group("client", "sum", "amount")["CL-000001"], 1700000000)
end)

test("group: avg", function()
  local g = db.opportunities:all():group("stage", "avg", "value")
  near(g.proposal, 600000000)
  near(g.negotiation, 675000000)
  near(g.qualified, 500000000)
  near(g.won, 700000000)
  near(g.lost, 400000000)
  near(g.lead, 125000000)
  local n = 0
  for _ in pairs(g) do n = n + 1 end
  eq(n, 6)
end)

test("group: min and max", function()
  eq(db.opportunities:all():group("stage", "min", "value"), {
    proposal = 300000000, negotiation = 150000000, qualified = 500000000,
    won = 700000000, lost = 400000000, lead = 100000000})
  eq(db.opportunities:all():group("stage", "max", "value"), {
    proposal = 900000000, negotiation = 1200000000, qualified = 500000000,
    won = 700000000, lost = 400000000, lead = 150000000})
  local last = db.invoices:all():group("client", "max", "issued")
  eq(last["CL-000001"], "2026-11-20")
  eq(last["CL-000010"], "2025-06-01")
  eq(db.invoices:all():group("client", "min", "issued")["CL-000002"], "2026-01-10")
  eq(db.activities:all():group("by", "max", "date"),
     {["ST-000001"] = "2026-11-25", ["ST-000002"] = "2026-11-18", ["ST-000003"] = "2026-07-07",
      ["ST-000004"] = "2026-11-01", ["ST-000005"] = "2026-11-26"})
end)

test("group: over a predicate and an empty query", function()
  eq(db.invoices:where(function(i) return i.amount >= 400000000 end):group("client", "sum", "amount"),
     {["CL-000001"] = 1650000000, ["CL-000002"] = 400000000, ["CL-000009"] = 600000000})
  eq(db.invoices:where{client = "CL-000012"}:group("status", "sum", "amount"), {})
end)

-- group() reads an index led by its key in one pass when one holds every
-- field it needs; a predicate makes it visit the rows one by one. Both
-- must give the same table, to the last đồng.
local function visited(q) return q:where(function() return true end) end
local function both(q, ...)
  local by_pass, by_rows = q:group(...), visited(q):group(...)
  eq(by_pass, by_rows, "group(" .. t.show({...}) .. ")")
  return by_pass
end

test("group: one pass over the index led by the key", function()
  local all = db.invoices:all()
  eq(all:explain("client", "sum", "amount"), "group: one pass over index invoices.client.issued")
  eq(all:explain({"client", "status"}, {n = "count", total = {"sum", "amount"}}),
    "group: one pass over index invoices.client.issued")
  local billed = db.invoices:where{status = {"~=", "draft"}}
  eq(billed:explain("client", "sum", "amount"), "group: one pass over index invoices.client.issued")
  for _, kind in ipairs{"count", "sum", "avg", "min", "max"} do both(all, "client", kind, "amount") end
  both(all, "client", "max", "issued")    -- a part of the key
  both(all, "client", "min", "due")       -- a carried value
  both(all, "client", "min", "paid_date") -- a carried value some rows lack
  both(billed, "client", "sum", "amount")
  both(db.invoices:where{issued = {">=", kam.months_ago(12)}, status = {"~=", "draft"}}, "client", "sum", "amount")
  both(db.invoices:where{issued = {"between", "2025-12-01", "2026-06-30"}}, "client", "count")
  both(db.invoices:where{issued = {"<", "2026-01-01"}}, "client", "sum", "amount")
  both(db.invoices:where{amount = {">", 1e15}}, "client", "sum", "amount") -- no row: an empty table
  local nested = both(all, {"client", "status"}, "sum", "amount")
  eq(nested["CL-000001"].paid, visited(db.invoices:where{client = "CL-000001", status = "paid"}):sum("amount"))
  both(all, {"client", "status"}, {n = "count", total = {"sum", "amount"}, first = {"min", "issued"}, late = {"max", "paid_date"}})
  both(billed, "client", {n = "count", avg = {"avg", "amount"}, last = {"max", "issued"}})
  both(db.activities:all(), "client", "max", "date")
end)

test("group: the query's own rows, aggregated in C, where a pass would not pay", function()
  local q = db.invoices:where{issued = {">=", "2026-11-01"}}
  local function says(x, what) eq(x:find(what, 1, true) ~= nil, true, x) end
  says(q:explain("client", "sum", "amount"), "group: rows aggregated in C as the query reads them (the query's own plan reads few rows)")
  says(db.invoices:all():explain("client", "sum", "tax"), "no index led by the key holds every field")
  says(db.opportunities:all():explain("stage", "sum", "probability"), "not whole numbers")
  says(db.invoices:all():explain("client.owner", "count"), "one pass over index invoices.client.issued; then each value's refs followed once")
  says(db.opportunities:all():explain("client.owner", "sum", "probability"), "rows visited one by one (a sum of fractions through a ref)")
  says(db.invoices:all():explain(function(i) return i.client end, "count"), "rows visited one by one (a key function)")
  for _, kind in ipairs{"count", "sum", "avg", "min", "max"} do
    both(db.invoices:all(), "client.owner", kind, "amount")
    both(db.invoices:where{status = "overdue"}, "client.owner.name", kind, "amount")
  end
  both(db.invoices:all(), "client.owner.team", "max", "issued")
  both(db.clients:all(), "owner.team", "count")
  both(db.opportunities:all(), "client.owner", "sum", "probability")
  says(db.invoices:all():limit(3):explain("client", "count"), "rows visited one by one (a limit)")
  says(visited(db.invoices:all()):explain("client", "count"), "rows visited one by one (a predicate function)")
  both(q, "client", "sum", "amount")
  both(db.invoices:all(), "client", "sum", "tax")
  both(db.invoices:all(), {"status", "client"}, {n = "count", tax = {"sum", "tax"}, last = {"max", "due"}})
  for _, kind in ipairs{"count", "sum", "avg", "min", "max"} do both(db.opportunities:all(), "stage", kind, "probability") end
  both(db.opportunities:all(), {"stage", "owner"}, "avg", "value")
  both(db.clients:where{status = {"~=", "churned"}}, "owner", "count")
  both(db.invoices:where{client = "CL-000001"}, "status", "sum", "amount")
end)

test("group: inside a write, the same answer; explain's mistakes are group's", function()
  local outside = db.invoices:all():group({"client", "status"}, "sum", "amount")
  local inside
  kam.tx(function() inside = db.invoices:all():group({"client", "status"}, "sum", "amount") end)
  eq(inside, outside)
  expect_error(function() return db.invoices:all():explain("nope", "sum", "amount") end, "no field 'nope'")
  expect_error(function() return db.invoices:all():explain("client", "median", "amount") end, "median")
end)

test("group: mistakes are errors", function()
  expect_error(function() return db.invoices:all():group("status", "median", "amount") end, "median")
  expect_error(function() return db.invoices:all():group("nope", "count") end, "nope")
  expect_error(function() return db.invoices:all():group("status", "sum", "nope") end, "nope")
end)

-- the same grouping by hand: each invoice's key through its client
local function by_hand(q, key_of)
  local t = {}
  for inv in q:each() do
    local k = key_of(inv)
    if k == nil then k = "(none)" end
    t[k] = (t[k] or 0) + inv.amount
  end
  return t
end

test("group: a key reached through refs", function()
  local overdue = db.invoices:where{status = "overdue"}
  local owner = function(i) return db.clients:get(i.client).owner end
  local g = overdue:group("client.owner", "sum", "amount")
  eq(g, by_hand(overdue, owner))
  eq(next(g) ~= nil, true)
  eq(db.invoices:all():group("client.owner", "sum", "amount"), by_hand(db.invoices:all(), owner))
  eq(overdue:group("client.owner.name", "sum", "amount"),
     by_hand(overdue, function(i) local o = owner(i) return o and db.staff:get(o).name end))
  eq(db.invoices:all():group("client.tier", "count"), (function()
    local t = {}
    for i in db.invoices:all():each() do local k = db.clients:get(i.client).tier or "(none)" t[k] = (t[k] or 0) + 1 end
    return t
  end)())
  -- an empty ref on the way is "(none)"; client.id is the ref itself
  eq(db.clients:all():group("owner.team", "count")["(none)"] >= 1, true)
  eq(db.invoices:all():group("client.id", "sum", "amount"), db.invoices:all():group("client", "sum", "amount"))
  -- through an index scan, a predicate and a sort, the same answer
  local big = function(i) return i.amount >= 100000000 end
  eq(db.invoices:where(big):group("client.owner", "max", "amount"), db.invoices:where(big):sort("id"):group("client.owner", "max", "amount"))
  eq(db.invoices:where{client = "CL-000001"}:group("client.owner", "sum", "amount"),
     {[db.clients:get("CL-000001").owner] = db.invoices:where{client = "CL-000001"}:sum("amount")})
end)

test("group through refs: every aggregate, refs skipped and repeated, as by hand", function()
  -- one pass gives the refs in order and each is followed once: a filter
  -- that skips clients, paths whose ends repeat (owner, team) and every kind
  local function follow(row, path)
    local v = row
    for part in path:gmatch("[^.]+") do
      if v == nil then return nil end
      v = v[part]
      if type(v) == "string" and part ~= "name" and part ~= "id" then
        local coll = ({client = "clients", owner = "staff", team = "teams", contract = "contracts"})[part]
        if coll then v = db[coll]:get(v) or v end
      end
    end
    if type(v) ~= "string" and v ~= nil and type(v) ~= "number" then v = v.id end
    return v
  end
  local function by_hand(q, path, kind, field)
    local t, n = {}, {}
    for inv in q:each() do
      local k = follow(inv, path)
      if k == nil then k = "(none)" end
      local v = field and inv[field]
      if kind == "count" then t[k] = (t[k] or 0) + 1
      elseif kind == "sum" then t[k] = (t[k] or 0) + v
      elseif kind == "avg" then t[k] = (t[k] or 0) + v; n[k] = (n[k] or 0) + 1
      elseif kind == "min" then if t[k] == nil or v < t[k] then t[k] = v end
      elseif kind == "max" then if t[k] == nil or v > t[k] then t[k] = v end end
    end
    if kind == "avg" then for k, s in pairs(t) do t[k] = s / n[k] end end
    return t
  end
  local queries = {db.invoices:all(), db.invoices:where{status = "overdue"}, db.invoices:where{status = {"~=", "paid"}},
                   db.invoices:where{client = {">=", "CL-000003"}}}
  local seen = 0
  for _, q in ipairs(queries) do
    for _, path in ipairs{"client.owner", "client.team", "client.owner.team", "contract.client", "client.name"} do
      for _, agg in ipairs{{"count"}, {"sum", "amount"}, {"avg", "amount"}, {"min", "issued"}, {"max", "amount"}} do
        local got, want = q:group(path, agg[1], agg[2]), by_hand(q, path, agg[1], agg[2])
        eq(got, want)
        for _ in pairs(want) do seen = seen + 1 end
      end
    end
  end
  eq(seen > 100, true)
end)

test("group: a key function", function()
  local size = function(i) return i.amount >= 300000000 and "large" or "small" end
  eq(db.invoices:all():group(size, "sum", "amount"), by_hand(db.invoices:all(), size))
  eq(db.invoices:all():group(size), (function()
    local t = {}
    for i in db.invoices:all():each() do t[size(i)] = (t[size(i)] or 0) + 1 end
    return t
  end)())
  -- nil is "(none)"; an entity stands for its id
  eq(db.clients:all():group(function(c) return c.tier end), db.clients:all():group("tier"))
  eq(db.invoices:all():group(function(i) return db.clients:get(i.client) end, "sum", "amount"),
     db.invoices:all():group("client", "sum", "amount"))
  -- inside kam.tx the rows are read first, so the function may write
  local g = kam.tx(function()
    return db.invoices:where{status = "draft"}:group(function(i)
      db.activities:insert{client = i.client, kind = "call", date = kam.today()}
      return i.client
    end, "count")
  end)
  eq(g, db.invoices:where{status = "draft"}:group("client", "count"))
end)

test("group: key mistakes are errors that say what is wrong", function()
  expect_error(function() return db.invoices:all():group("client.nope", "count") end, "clients has no field 'nope'")
  expect_error(function() return db.invoices:all():group("status.owner", "count") end, "invoices.status is not a ref")
  expect_error(function() return db.invoices:all():group("client.", "count") end, "client.")
  expect_error(function() return db.invoices:all():group(function() error("no key") end, "count") end, "no key")
  expect_error(function() return db.invoices:all():group(function() return 0 / 0 end, "count") end, "NaN")
  -- the query still works after an error inside its visit
  eq(db.invoices:all():group("status", "count").paid, 8)
end)

test("money aggregates stay plain numbers and tables", function()
  local s = db.invoices:where{status = "overdue"}:sum("amount")
  eq(math.type(s), "integer")
  eq(s + 1 - 1, s)
  eq(tostring(s), "905000000")
  local g = db.invoices:all():group("client.owner", "sum", "amount")
  eq(getmetatable(g), nil)
  for _, v in pairs(g) do eq(math.type(v), "integer") end
end)

-- ---- group over several keys and several aggregates in one pass ---------------

-- the same figures asked one key value at a time, the long way
local function by_hand(q, keys, agg, field)
  local out = {}
  for e in q:each() do
    local t = out
    for i, k in ipairs(keys) do
      local v = e[k]
      if type(v) == "table" then v = v.id end
      if v == nil then v = "(none)" end
      if i < #keys then t[v] = t[v] or {}; t = t[v]
      else
        local x = field and e[field]
        if agg == "count" then t[v] = (t[v] or 0) + 1
        elseif x ~= nil then
          if agg == "sum" then t[v] = (t[v] or 0) + x
          elseif agg == "max" then t[v] = (t[v] == nil or x > t[v]) and x or t[v]
          elseif agg == "min" then t[v] = (t[v] == nil or x < t[v]) and x or t[v] end
        end
      end
    end
  end
  return out
end

test("group: several keys give a nested table", function()
  local q = db.invoices:all()
  eq(q:group({"client", "status"}, "sum", "amount"), by_hand(q, {"client", "status"}, "sum", "amount"))
  eq(q:group({"client", "status"}, "count"), by_hand(q, {"client", "status"}, "count"))
  eq(q:group({"status", "client"}, "max", "issued"), by_hand(q, {"status", "client"}, "max", "issued"))
  -- second keys by the hundred (issue dates), and second keys that are nil (paid_date)
  eq(q:group({"client", "issued"}, "sum", "amount"), by_hand(q, {"client", "issued"}, "sum", "amount"))
  eq(q:group({"client", "paid_date"}, "count"), by_hand(q, {"client", "paid_date"}, "count"))
  local o = db.opportunities:where{stage = {"~=", "lost"}}
  eq(o:group({"owner", "stage"}, "min", "value"), by_hand(o, {"owner", "stage"}, "min", "value"))
  -- one key in a list is the one-key group
  eq(q:group({"client"}, "sum", "amount"), q:group("client", "sum", "amount"))
  eq(q:group({"status"}), q:group("status", "count"))
  -- a key reached through refs, then a field
  local g = db.invoices:where{status = "overdue"}:group({"client.owner", "client"}, "sum", "amount")
  for owner, by_client in pairs(g) do
    for client, total in pairs(by_client) do
      eq(db.clients:get(client).owner or "(none)", owner)
      eq(db.invoices:where{status = "overdue", client = client}:sum("amount"), total)
    end
  end
  eq(math.type(q:group({"client", "status"}, "sum", "amount")["CL-000001"].paid), "integer")
end)

test("group: several aggregates in one pass", function()
  local q = db.invoices:where{status = {"~=", "draft"}}
  local g = q:group("client", {revenue = {"sum", "amount"}, n = "count", last = {"max", "issued"},
                               first = {"min", "issued"}, mean = {"avg", "amount"}})
  local clients = 0
  for client, r in pairs(g) do
    clients = clients + 1
    local one = db.invoices:where{status = {"~=", "draft"}, client = client}
    eq(r.revenue, one:sum("amount"))
    eq(r.n, one:count())
    eq(r.last, one:max("issued"))
    eq(r.first, one:min("issued"))
    near(r.mean, one:avg("amount"))
  end
  local want = 0
  for _ in pairs(q:group("client", "count")) do want = want + 1 end
  eq(clients, want) -- every client billed, none more
  -- with several keys too; {"count"} is a count as well
  local n2 = db.invoices:all():group({"client", "status"}, {n = {"count"}, total = {"sum", "amount"}})
  eq(n2["CL-000001"].paid.n, db.invoices:where{client = "CL-000001", status = "paid"}:count())
  eq(n2["CL-000001"].paid.total, db.invoices:where{client = "CL-000001", status = "paid"}:sum("amount"))
  -- a value absent from every row of a group leaves that aggregate out, not 0
  local p = db.invoices:all():group("status", {paid_on = {"max", "paid_date"}, n = "count"})
  eq(p.overdue.paid_on, nil)
  eq(p.overdue.n, db.invoices:where{status = "overdue"}:count())
end)

test("group: several keys or aggregates, mistakes named", function()
  local q = db.invoices:all()
  expect_error(function() return q:group({}, "count") end, "group: from 1 to 4 keys")
  expect_error(function() return q:group({"a", "b", "c", "d", "e"}, "count") end, "group: from 1 to 4 keys")
  expect_error(function() return q:group({"client", "nope"}, "count") end, "group: invoices has no field 'nope'")
  expect_error(function() return q:group({"client", 3}, "count") end, "group: key 2: a field or a path through refs")
  expect_error(function() return q:group({"client"}, "median", "amount") end, "not 'median'")
  expect_error(function() return q:group("client", {t = {"sum"}}) end, "aggregate 't': sum of which field?")
  expect_error(function() return q:group("client", {t = {"sum", "nope"}}) end, "invoices has no field 'nope'")
  expect_error(function() return q:group("client", {t = 3}) end, "aggregate 't' is \"count\" or {\"sum\", \"field\"}")
  expect_error(function() return q:group("client", {"count"}) end, "each aggregate is named")
  expect_error(function() return q:group("client", {}) end, "no aggregate asked for")
  expect_error(function() return q:group(function(i) return i.client end, {n = "count"}) end, "the key is a field or a list of fields")
end)

finish()
