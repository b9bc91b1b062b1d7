-- Tests of rules/kpi.lua: staff scorecards for the last complete period.
-- Weights, default targets, the cap and the ratings come from the policy's thresholds.

local T = require("kpi").thresholds
local B = require "lib.bands"
local M = require "lib.money"
local TR = M.TRIEU
local Q = kam.period(T.period)
local PQ = kam.date_add(Q.from, -5)                      -- a day in the period before
local LEN = kam.days_between(Q.from, Q.to) + 1
-- a day of the period, `days` into a quarter scaled to the period's length
local function in_q(days) return kam.date_add(Q.from, math.floor(days * (LEN - 1) / 90)) end

-- the score and rating the lines of a result make: weighted attainment, each capped, in %
local function expected(r)
  local sum, wsum = 0, 0
  for _, l in ipairs(r.lines) do
    if l.attainment then
      sum = sum + l.weight * math.min(l.attainment, T.attainment_cap)
      wsum = wsum + l.weight
    end
  end
  local s = math.floor(sum / wsum * 100 + 0.5)
  return s, B.find(T.ratings, s / 100).rating
end
local function rating(name) for _, b in ipairs(T.ratings) do if b.rating == name then return b end end end
-- an attainment at the start of "meets", in whole percent as the score is
local MEETS = math.ceil(rating("meets").min * 100 - 1e-9) / 100
-- the role of the people scored below: one the policy scores
local ROLE
for _, r in ipairs{"account_manager", "account_executive", "key_account_manager"} do
  if T.roles[r] and not ROLE then ROLE = r end
end
if not ROLE then for r, on in pairs(T.roles) do if on then ROLE = r end end end
local BELOW = M.rate(MEETS - 0.01)

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

local function line(result, metric)
  for _, l in ipairs(result.lines) do if l.metric == metric then return l end end
end

local function kpi(staff, metric, target, actual)
  return {scope = "staff", subject = staff, metric = metric, period = Q.name, target = target, actual = actual}
end

fixture{
  staff = {
    {id = "ST-AM", name = "Ngô Văn Khoa", role = ROLE},
    {id = "ST-PLAN", name = "Lý Gia Bảo", role = ROLE},
    {id = "ST-NEW", name = "Trịnh Quốc Huy", role = ROLE},
    {id = "ST-93", name = "Meets", role = ROLE},
    {id = "ST-92", name = "Below", role = ROLE},
    {id = "ST-CAP", name = "Đặng Thùy Linh", role = ROLE},
    {id = "ST-TL", name = "Nguyễn Thị Lan", role = "team_lead"},
    {id = "ST-GONE", name = "Phạm Thị Quỳnh", role = ROLE, status = "left"},
  },
  clients = {
    {id = "CL-1", name = "Mộc Trà", status = "active", owner = "ST-AM", csat = 4.2},
    {id = "CL-2", name = "Cà phê Đất Đỏ", status = "active", owner = "ST-AM", csat = 4.6},
    {id = "CL-3", name = "Phở Hồng Hà", status = "active", owner = "ST-PLAN", csat = 4.0},
    {id = "CL-4", name = "TechNova", status = "active", owner = "ST-CAP", csat = 4.2},
  },
  invoices = {
    {client = "CL-1", amount = 600 * TR, issued = in_q(10), due = in_q(40), status = "paid", paid_date = in_q(40)},
    {client = "CL-1", amount = 500 * TR, issued = PQ, due = in_q(10), status = "paid", paid_date = in_q(10)},
    {client = "CL-2", amount = 400 * TR, issued = in_q(20), due = in_q(50), status = "paid", paid_date = in_q(50)},
    {client = "CL-2", amount = 300 * TR, issued = PQ, due = in_q(5), status = "paid", paid_date = in_q(5)},
    {client = "CL-3", amount = 270 * TR, issued = in_q(20), due = in_q(50), status = "paid", paid_date = in_q(50)},
    {client = "CL-4", amount = 500 * TR, issued = in_q(20), due = in_q(50), status = "paid", paid_date = in_q(50)},
  },
  projects = {{id = "PRJ-1", client = "CL-1", name = "Always-on"}, {id = "PRJ-3", client = "CL-3", name = "Always-on"}},
  spend = {
    {project = "PRJ-1", contract_line = "media", amount = 800 * TR, date = in_q(15)},
    {project = "PRJ-3", contract_line = "media", amount = 243 * TR, date = in_q(15)},
  },
  contracts = {{id = "HD-1", client = "CL-1", value = 2 * 1000 * TR}},
  acceptances = {
    {contract = "HD-1", period = Q.from:sub(1, 7), committed = 20, delivered = 19},
    {contract = "HD-1", period = PQ:sub(1, 7), committed = 20, delivered = 5},
  },
  plans = {{client = "CL-3", kind = "QBP", period = Q.name, target_revenue = 300 * TR}},
  kpis = {
    kpi("ST-AM", "revenue_managed", 1000 * TR), kpi("ST-AM", "margin", 0.18), kpi("ST-AM", "retention", 1.0),
    kpi("ST-AM", "csat", 4.2), kpi("ST-AM", "delivery_quality", 0.95),
    {scope = "account", subject = "CL-2", metric = "csat", period = Q.name, target = 4.2, actual = 3.8},
    kpi("ST-CAP", "revenue_managed", 500 * TR),
    kpi("ST-93", "revenue_managed", 0), kpi("ST-93", "margin", 0.2, 0.2 * MEETS), kpi("ST-93", "retention", 1.0, MEETS),
    kpi("ST-93", "csat", 5, 5 * MEETS), kpi("ST-93", "on_time_delivery", 1.0, MEETS),
    kpi("ST-92", "revenue_managed", 0), kpi("ST-92", "margin", 0.2, 0.2 * BELOW), kpi("ST-92", "retention", 1.0, BELOW),
    kpi("ST-92", "csat", 5, 5 * BELOW), kpi("ST-92", "on_time_delivery", 1.0, BELOW),
  },
}

test("a scorecard from the book against the kpi targets", function()
  local r, reasons = decide("kpi", "ST-AM")
  expect_eq(r.period, Q.name)
  expect_eq(r.clients, 2)
  local rev = line(r, "revenue_managed")
  expect_eq(rev.actual, 1000 * TR)                         -- 600 + 400 triệu issued in the quarter
  expect_eq(rev.attainment, 1.0)
  expect_eq(rev.weight, T.weights.revenue_managed)
  expect_eq(line(r, "margin").actual, 0.2)                 -- 800 triệu of spend on 1 tỷ
  expect_eq(line(r, "retention").actual, 1.0)              -- both billed the quarter before and this one
  expect_eq(line(r, "csat").actual, 4.0)                   -- 4,2 from the client, 3,8 from the quarter's account kpi
  expect_eq(line(r, "on_time_delivery").actual, 0.95)      -- 19 of 20 in the quarter; the quarter before left out
  expect_true(has(reasons, "revenue_managed: 1.000.000.000 ₫ against 1.000.000.000 ₫ (kpi target) = 100,0%"))
  -- attainments 1, 1.111, 1, 0.952 and 1: with the shipped weights, 102 (meets)
  local s, rt = expected(r)
  expect_eq(r.score, s)
  expect_eq(r.rating, rt)
end)

test("without kpi rows, targets come from the plans and the defaults", function()
  local r, reasons = decide("kpi", "ST-PLAN")
  expect_eq(line(r, "revenue_managed").target, 300 * TR)
  expect_eq(line(r, "revenue_managed").attainment, 0.9)
  expect_eq(line(r, "margin").target, T.default_targets.margin)
  expect_true(has(reasons, "(plans)"))
  expect_true(has(reasons, "retention: no data in the period, not scored"))
  expect_true(has(reasons, "on_time_delivery: no data in the period, not scored"))
end)

test("an attainment counts at most the cap", function()
  local r, reasons = decide("kpi", "ST-CAP")               -- no spend: margin 100% against the default target
  expect_eq(line(r, "margin").attainment, M.rate(1 / T.default_targets.margin))
  expect_true(has(reasons, "counted as " .. M.pct(T.attainment_cap)))
  -- retention and delivery have no data: the other weights share the score
  local s, rt = expected(r)
  expect_eq(r.score, s)
  expect_eq(r.rating, rt)
end)

test("a score at the start of meets meets, a point less is below", function()
  local r = decide("kpi", "ST-93")
  expect_eq(r.score, math.floor(MEETS * 100 + 0.5))
  expect_eq(r.rating, "meets")
  local r2, reasons = decide("kpi", "ST-92")
  expect_eq(r2.score, math.floor(BELOW * 100 + 0.5))
  expect_eq(r2.rating, B.find(T.ratings, r2.score / 100).rating)
  expect_true(r2.rating ~= "meets")
  expect_true(has(reasons, "actual from the kpi row"))
  expect_true(has(reasons, "revenue_managed: no target, not scored"))
end)

test("no clients and no targets: nothing to score", function()
  local r, reasons = decide("kpi", "ST-NEW")
  expect_eq(r.rating, "n/a")
  expect_eq(r.score, nil)
  expect_true(has(reasons, "0 clients owned"))
end)

test("other roles and people who left get no scorecard", function()
  local r, reasons = decide("kpi", "ST-TL")
  expect_eq(r, nil)
  expect_eq(reasons[1], "Nguyễn Thị Lan is team_lead: scorecards are for account roles")
  expect_eq(decide("kpi", "ST-GONE"), nil)
end)
