-- kam_test.lua — the kam namespace: today, months_ago, period, fmt.money,
-- user (run.sh acts as admin), config (read-only), kam.db.
-- helpers: tests/lua/testlib.lua (run.sh puts it in scripts/)
local t = require "testlib"
local test, eq, expect_error, finish = t.test, t.eq, t.expect_error, t.finish

test("kam.today honours KAM_TODAY", function()
  eq(kam.today(), "2026-11-26")
end)

test("kam.months_ago", function()
  eq(kam.months_ago(12), "2025-11-26")
  eq(kam.months_ago(1), "2026-10-26")
  eq(kam.months_ago(0), "2026-11-26")
  eq(kam.months_ago(11), "2025-12-26")
  eq(kam.months_ago(24), "2024-11-26")
  eq(kam.months_ago(-2), "2027-01-26")
end)

test("kam.period", function()
  local q3 = kam.period("2026-Q3")
  eq(q3.from, "2026-07-01")
  eq(q3.to, "2026-09-30")
  local function fromto(p) local t = kam.period(p) return {from = t.from, to = t.to} end
  eq(fromto("2026-Q3"), {from = "2026-07-01", to = "2026-09-30"})
  eq(fromto("2026-Q1"), {from = "2026-01-01", to = "2026-03-31"})
  eq(fromto("2026-Q2"), {from = "2026-04-01", to = "2026-06-30"})
  eq(fromto("2026-Q4"), {from = "2026-10-01", to = "2026-12-31"})
  eq(fromto("2026"), {from = "2026-01-01", to = "2026-12-31"})
  eq(fromto("2026-02"), {from = "2026-02-01", to = "2026-02-28"})
  eq(fromto("2024-02"), {from = "2024-02-01", to = "2024-02-29"})
  eq(fromto("2026-H1"), {from = "2026-01-01", to = "2026-06-30"})
  eq(fromto("2026-H2"), {from = "2026-07-01", to = "2026-12-31"})
  eq(fromto("this_month"), {from = "2026-11-01", to = "2026-11-30"})
  eq(fromto("last_quarter"), {from = "2026-07-01", to = "2026-09-30"})
  expect_error(function() return kam.period("2026-Q5") end, "2026-Q5")
  expect_error(function() return kam.period("soon") end, "soon")
end)

test("kam.period with a query", function()
  local q3 = kam.period("2026-Q3")
  eq(db.invoices:where{issued = {"between", q3.from, q3.to}}:sum("amount"), 1245000000)
end)

test("kam.fmt.money", function()
  eq(kam.fmt.money(1234567), "1.234.567 ₫")
  eq(kam.fmt.money(0), "0 ₫")
  eq(kam.fmt.money(999), "999 ₫")
  eq(kam.fmt.money(1000), "1.000 ₫")
  eq(kam.fmt.money(12000000000), "12.000.000.000 ₫")
  eq(kam.fmt.money(-1500000), "-1.500.000 ₫")
  eq(kam.fmt.money(db.invoices:sum("amount")), "4.740.000.000 ₫")
  eq(kam.fmt.money(2.5e9), "2.500.000.000 ₫")
  expect_error(function() return kam.fmt.money("a lot") end, "number")
end)

-- the acting user is a staff record, or (root, a new book) the login itself
test("kam.user is the acting user", function()
  eq(type(kam.user.id), "string")
  eq(type(kam.user.role), "string")
  eq(type(kam.user.name), "string")
  local st = db.staff:where{os_user = kam.user.login}:first()
  if st then
    eq(kam.user.id, st.id)
    eq(kam.user.role, st.role)
    eq(kam.user.name, st.name)
  else
    eq(kam.user.role, "admin") -- run.sh runs as root or on a new book
  end
  expect_error(function() kam.user.role = "ceo" end, "read-only")
end)

test("kam.config: settings from kam.yaml", function()
  eq(type(kam.config.agency), "table")
  eq(type(kam.config.agency.name), "string")
  eq(#kam.config.agency.name > 0, true)
  eq(kam.config.auth, "trust")
  eq(kam.config.timezone, "Asia/Ho_Chi_Minh")
  eq(math.type(kam.config.map_size_mb), "integer")
  eq(kam.config.users, nil) -- people are staff records, not a list here
  eq(kam.config.nothing_here, nil)
end)

test("kam.config: pairs sees the settings through the read-only view", function()
  local keys = {}
  for k in pairs(kam.config) do keys[k] = true end
  eq(keys.agency, true)
  eq(keys.auth, true)
  local agency = {}
  for k, v in pairs(kam.config.agency) do agency[k] = v end
  eq(agency.name, kam.config.agency.name)
end)

test("kam.config is read-only, all the way down", function()
  local name = kam.config.agency.name
  expect_error(function() kam.config.auth = "os" end, "read-only")
  expect_error(function() kam.config.new_key = 1 end, "read-only")
  expect_error(function() kam.config.agency.name = "Khác" end, "read-only")
  expect_error(function() kam.config.agency.extra = {} end, "read-only")
  eq(kam.config.auth, "trust")
  eq(kam.config.agency.name, name)
end)

test("kam.db is db", function()
  eq(kam.db == db, true)
  eq(kam.db.clients:count(), 12)
end)

finish()
