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

-- kam.yaml belongs to the project and its values change: the checks below
-- compare kam.user and kam.config with each other, not with copied text.
local function config_user(id)
  for _, u in ipairs(kam.config.users) do if u.id == id then return u end end
end

test("kam.user is the acting user", function()
  local admin = config_user("admin")
  eq(type(admin), "table", "kam.yaml has an admin user")
  eq(kam.user.id, "admin")
  eq(kam.user.role, "admin")
  eq(kam.user.name, admin.name)
  eq(type(kam.user.name), "string")
  eq(kam.user.team, admin.team)
end)

test("kam.config: settings from kam.yaml", function()
  eq(type(kam.config.agency), "table")
  eq(type(kam.config.agency.name), "string")
  eq(#kam.config.agency.name > 0, true)
  eq(kam.config.auth, "trust")        -- run.sh's --as needs it
  eq(kam.config.timezone, "+07:00")
  eq(math.type(kam.config.map_size_mb), "integer")
  eq(#kam.config.users >= 1, true)
  eq(kam.config.users[1].id ~= nil, true)
  eq(kam.config.nothing_here, nil)
  local n = 0
  for _, u in ipairs(kam.config.users) do
    eq(type(u.id), "string")
    eq(type(u.role), "string")
    n = n + 1
  end
  eq(n, #kam.config.users)
end)

test("kam.config: # and pairs see the settings through the read-only view", function()
  local ipairs_n = 0
  for _ in ipairs(kam.config.users) do ipairs_n = ipairs_n + 1 end
  eq(ipairs_n >= 1, true)
  eq(#kam.config.users, ipairs_n)
  local keys = {}
  for k in pairs(kam.config) do keys[k] = true end
  eq(keys.agency, true)
  eq(keys.users, true)
  eq(keys.auth, true)
  local agency = {}
  for k, v in pairs(kam.config.agency) do agency[k] = v end
  eq(agency.name, kam.config.agency.name)
end)

test("kam.config is read-only, all the way down", function()
  local name, role = kam.config.agency.name, kam.config.users[1].role
  expect_error(function() kam.config.auth = "os" end, "read-only")
  expect_error(function() kam.config.new_key = 1 end, "read-only")
  expect_error(function() kam.config.agency.name = "Khác" end, "read-only")
  expect_error(function() kam.config.users[1].role = "nobody" end, "read-only")
  expect_error(function() kam.config.users[99] = {} end, "read-only")
  eq(kam.config.auth, "trust")
  eq(kam.config.agency.name, name)
  eq(kam.config.users[1].role, role)
end)

test("kam.db is db", function()
  eq(kam.db == db, true)
  eq(kam.db.clients:count(), 12)
end)

finish()
