-- Tests of rules/health.lua: each factor, its bands and caps, and the score's band.
-- Points, bands and caps come from the policy's thresholds: each test checks how the score
-- is made, whatever the numbers a manager sets.

local T = require("health").thresholds
local B = require "lib.bands"
local M = require "lib.money"
local TR = M.TRIEU

local function band(list, label) for _, b in ipairs(list) do if b.label == label then return b end end end
local function pts(list, v) local b = B.find(list, v) return b and b.points or 0 end
local function show(n)
  if n == 0 then return "0 points" end
  return string.format("%+d points", math.floor(n + 0.5))
end
-- the score from the start and each factor's points, as the policy rounds and bounds it
local function score(...)
  local s = T.start
  for _, p in ipairs({...}) do s = s + p end
  s = math.max(0, math.min(100, s))
  return math.floor(s + 0.5)
end
local function band_of(s) return B.find(T.bands, s).band end

local TOP_CSAT = T.csat[#T.csat]
for _, b in ipairs(T.csat) do if b.max == nil then TOP_CSAT = b end end
local CSAT_OK = (TOP_CSAT.min + 5) / 2         -- a satisfied client
local STEADY = pts(T.trend, 0)                  -- the same revenue in both windows
local NOW, BEFORE = 1, T.trend_months + 1       -- months ago: in the last window, in the one before
-- the points of a steady, satisfied client met `days` ago
local function base(days) return STEADY + pts(T.contact, days) + pts(T.csat, CSAT_OK) end

-- steady billing: 100 triệu in the last window and 100 triệu in the one before, both paid
local function steady(client, now, before)
  return {
    {client = client, amount = now or 100 * TR, issued = kam.months_ago(NOW), due = kam.months_ago(NOW), status = "paid",
     paid_date = kam.months_ago(NOW)},
    {client = client, amount = before or 100 * TR, issued = kam.months_ago(BEFORE), due = kam.months_ago(BEFORE),
     status = "paid", paid_date = kam.months_ago(BEFORE)},
  }
end

local function met(client, days) return {client = client, kind = "meeting", date = kam.days_ago(days)} end

local function rows(...)
  local out = {}
  for _, list in ipairs({...}) do for _, r in ipairs(list) do out[#out + 1] = r end end
  return out
end

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

------------------------------------------------------------------ trend, contact, CSAT

local falling, collapsing, growing = band(T.trend, "falling"), band(T.trend, "collapsing"), band(T.trend, "growing")
local fair, lukewarm = band(T.csat, "fair"), band(T.csat, "lukewarm")
local QUIET = T.contact[3]                      -- a contact band with one before it
local FAIR_CSAT = (fair.min + fair.max) / 2

fixture{
  clients = {
    {id = "CL-OK", name = "All well", status = "active", csat = CSAT_OK},
    {id = "CL-HALF", name = "Falling exactly at its start", status = "active", csat = CSAT_OK},
    {id = "CL-60", name = "Collapsing", status = "active", csat = CSAT_OK},
    {id = "CL-UP", name = "Growing, fair CSAT", status = "active", csat = FAIR_CSAT},
    {id = "CL-IDLE", name = "Nothing billed", status = "active", csat = CSAT_OK},
    {id = "CL-Q44", name = "Quiet a day short", status = "active", csat = CSAT_OK},
    {id = "CL-Q45", name = "Quiet", status = "active", csat = CSAT_OK},
    {id = "CL-LE", name = "Only last_engaged", status = "active", csat = CSAT_OK, last_engaged = kam.days_ago(70)},
    {id = "CL-NOCSAT", name = "No CSAT", status = "active"},
    {id = "CL-C3", name = "CSAT at the start of lukewarm", status = "active", csat = lukewarm.min},
    {id = "CL-C29", name = "CSAT just under lukewarm", status = "active", csat = lukewarm.min - 0.1},
    {id = "CL-GONE", name = "Churned", status = "churned"},
    {id = "CL-PROS", name = "Prospect"},
  },
  invoices = rows(steady("CL-OK"), steady("CL-HALF", M.whole(100 * TR * (1 + falling.min))),
    steady("CL-60", M.whole(100 * TR * (1 + collapsing.max - 0.10))), steady("CL-UP", M.whole(100 * TR * (1 + growing.min))),
    steady("CL-Q44"), steady("CL-Q45"), steady("CL-LE"), steady("CL-NOCSAT"), steady("CL-C3"), steady("CL-C29")),
  activities = {
    met("CL-OK", 5), met("CL-HALF", 5), met("CL-60", 5), met("CL-UP", 5), met("CL-IDLE", 5), met("CL-Q44", QUIET.min - 1),
    met("CL-Q45", QUIET.min), met("CL-NOCSAT", 5), met("CL-C3", 5), met("CL-C29", 5), met("CL-Q45", 200),
  },
}

test("a steady, satisfied, recently met client: a reason per factor, then the score", function()
  local r, reasons = decide("health", "CL-OK")
  local s = score(base(5))
  expect_eq(r, {score = s, band = band_of(s)})
  expect_eq(#reasons, 6)
  expect_eq(reasons[6], string.format("score %d: %s", s, band_of(s)))
end)

test("revenue down exactly the start of falling is falling", function()
  local r, reasons = decide("health", "CL-HALF")
  expect_eq(r.score, score(base(5) - STEADY + falling.points))
  expect_true(has(reasons, string.format("(%s, falling): %s", M.change(falling.min), show(falling.points))))
end)

test("revenue down further is collapsing", function()
  local r = decide("health", "CL-60")
  local s = score(base(5) - STEADY + collapsing.points)
  expect_eq(r, {score = s, band = band_of(s)})
end)

test("growth earns points back, which offset a fair CSAT", function()
  local r, reasons = decide("health", "CL-UP")
  expect_eq(r.score, score(growing.points + pts(T.contact, 5) + fair.points))
  expect_true(has(reasons, "growing): " .. show(growing.points)))
  expect_true(has(reasons, string.format("CSAT %s (fair): %s", kam.fmt.number(FAIR_CSAT), show(fair.points))))
end)

test("nothing billed in either window costs the no-billing points", function()
  local r, reasons = decide("health", "CL-IDLE")
  expect_eq(r.score, score(base(5) - STEADY + T.no_billing_points))
  expect_true(has(reasons, string.format("no invoices in the last %d months: %s", 2 * T.trend_months, show(T.no_billing_points))))
end)

test("a contact band starts on its first day; the day before is the band before", function()
  expect_eq(decide("health", "CL-Q44").score, score(base(QUIET.min - 1)))
  local r, reasons = decide("health", "CL-Q45")
  expect_eq(r.score, score(base(QUIET.min)))
  expect_true(has(reasons, string.format("%d days ago (%s): %s", QUIET.min, QUIET.label, show(QUIET.points))))
end)

test("with no activity the client's last_engaged date counts", function()
  local r, reasons = decide("health", "CL-LE")
  expect_eq(r.score, score(base(70)))
  expect_true(has(reasons, "70 days ago"))
end)

test("no CSAT recorded costs nothing and says so", function()
  local r, reasons = decide("health", "CL-NOCSAT")
  expect_eq(r.score, score(STEADY + pts(T.contact, 5)))
  expect_true(has(reasons, "no CSAT recorded: 0 points"))
end)

test("CSAT exactly at the start of lukewarm is lukewarm, under it unhappy", function()
  expect_eq(decide("health", "CL-C3").score, score(STEADY + pts(T.contact, 5) + lukewarm.points))
  expect_eq(decide("health", "CL-C29").score, score(STEADY + pts(T.contact, 5) + pts(T.csat, lukewarm.min - 0.1)))
end)

test("churned clients and prospects without invoices get no score", function()
  local r, reasons = decide("health", "CL-GONE")
  expect_eq(r, nil)
  expect_eq(reasons[1], "no health score: churned")
  expect_eq(decide("health", "CL-PROS"), nil)
end)

test("a missing client is an error", function()
  expect_error(function() decide("health", "CL-404") end, "no clients CL-404")
end)

------------------------------------------------------------------ overdue invoices and risks

-- an unpaid invoice `days` past due, issued long before the trend windows
local function owed(client, amount, days, status)
  return {client = client, amount = amount, tax = 0, issued = kam.months_ago(2 * T.trend_months + 2), due = kam.days_ago(days),
          status = status or "overdue"}
end

local AGE1 = T.overdue_age[1].up_to            -- the last day of the first aging bucket
local LARGE = T.overdue_amount[2].min          -- where the second amount band starts
local ESC, RISK = T.risk_points.escalation, T.risk_points.risk

fixture{
  clients = {
    {id = "CL-30", name = "Overdue to the end of the first bucket", status = "active", csat = CSAT_OK},
    {id = "CL-31", name = "A day later", status = "active", csat = CSAT_OK},
    {id = "CL-BIG", name = "Large amount overdue", status = "active", csat = CSAT_OK},
    {id = "CL-MANY", name = "Many overdue", status = "active", csat = CSAT_OK},
    {id = "CL-PART", name = "Half paid", status = "active", csat = CSAT_OK},
    {id = "CL-ESC", name = "Escalations", status = "active", csat = CSAT_OK},
    {id = "CL-MIT", name = "Mitigating", status = "active", csat = CSAT_OK},
  },
  invoices = rows(steady("CL-30"), steady("CL-31"), steady("CL-BIG"), steady("CL-MANY"), steady("CL-PART"),
    steady("CL-ESC"), steady("CL-MIT"), {
      owed("CL-30", 20 * TR, AGE1), owed("CL-31", 20 * TR, AGE1 + 1), owed("CL-BIG", M.whole(LARGE), 10),
      owed("CL-MANY", 200 * TR, 100), owed("CL-MANY", 200 * TR, 95, "disputed"), owed("CL-MANY", 200 * TR, 70),
      {id = "INV-P", client = "CL-PART", amount = 200 * TR, tax = 20 * TR, issued = kam.months_ago(2 * T.trend_months + 2),
       due = kam.days_ago(20), status = "overdue"},
    }),
  payments = {{invoice = "INV-P", amount = 120 * TR, date = kam.days_ago(10)}},
  activities = {met("CL-30", 1), met("CL-31", 1), met("CL-BIG", 1), met("CL-MANY", 1), met("CL-PART", 1), met("CL-ESC", 1),
    met("CL-MIT", 1)},
  risks = {
    {client = "CL-ESC", kind = "escalation", severity = "critical", description = "Threatens to leave"},
    {client = "CL-ESC", kind = "risk", severity = "medium", description = "Late brief"},
    {client = "CL-ESC", kind = "escalation", severity = "high", description = "Old complaint", status = "resolved"},
    {client = "CL-MIT", kind = "risk", severity = "high", description = "Budget cut", status = "mitigating"},
    {client = "CL-MIT", kind = "escalation", severity = "critical", description = "Closed", status = "closed"},
  },
}

-- the overdue factor's points, before and after its cap
local function sum(...)
  local p = 0
  for _, x in ipairs({...}) do p = p + x end
  return p
end
local function overdue(...) return math.max(sum(...), T.overdue_cap) end

test("the first aging bucket holds its last day; a day later is the next bucket", function()
  local r, reasons = decide("health", "CL-30")
  local p = overdue(pts(T.overdue_age, AGE1), pts(T.overdue_amount, 20 * TR))
  expect_eq(r.score, score(base(1), p))
  expect_true(has(reasons, string.format("1 overdue invoice, 20.000.000 ₫ outstanding, oldest %d days past due: %s", AGE1,
    show(p))))
  expect_eq(decide("health", "CL-31").score, score(base(1), overdue(T.overdue_age[2].points, pts(T.overdue_amount, 20 * TR))))
end)

test("the amount outstanding adds its band's points to the age", function()
  expect_eq(decide("health", "CL-BIG").score,
    score(base(1), overdue(pts(T.overdue_age, 10), T.overdue_amount[2].points)))
end)

test("overdue points are capped", function()
  local r, reasons = decide("health", "CL-MANY")
  local raw = sum(pts(T.overdue_age, 100), pts(T.overdue_age, 95), pts(T.overdue_age, 70), pts(T.overdue_amount, 600 * TR))
  local p = math.max(raw, T.overdue_cap)
  local s = score(base(1), p)
  expect_eq(r, {score = s, band = band_of(s)})
  expect_true(has(reasons, string.format("3 overdue invoices (1 disputed), 600.000.000 ₫ outstanding, oldest 100 days past due: %s%s",
    show(p), raw < T.overdue_cap and string.format(" (capped from %s)", show(raw)) or "")))
end)

test("a partial payment lowers what is outstanding", function()
  local _, reasons = decide("health", "CL-PART")
  expect_true(has(reasons, "100.000.000 ₫ outstanding"))
end)

test("open escalations and risks cost points; resolved ones do not", function()
  local r, reasons = decide("health", "CL-ESC")
  local p = math.max(ESC.critical + RISK.medium, T.risk_cap)
  expect_eq(r.score, score(base(1), p))
  expect_true(has(reasons, show(p)))
  expect_true(not has(reasons, "Old complaint"))
end)

test("a mitigating risk counts its share; a closed one nothing", function()
  expect_eq(decide("health", "CL-MIT").score, score(base(1), math.max(RISK.high * T.mitigating_share, T.risk_cap)))
end)

------------------------------------------------------------------ bands of the score

fixture{
  clients = {
    {id = "CL-80", name = "80", status = "active", csat = CSAT_OK},
    {id = "CL-76", name = "76", status = "active", csat = CSAT_OK},
    {id = "CL-50", name = "50", status = "active", csat = CSAT_OK},
    {id = "CL-40", name = "40", status = "active", csat = CSAT_OK},
  },
  invoices = rows(steady("CL-80"), steady("CL-76"), {owed("CL-76", 10 * TR, 5)}),
  activities = {met("CL-80", 60), met("CL-76", 60), met("CL-50", 60), met("CL-40", 90)},
}

-- with the shipped numbers these land on 80 and 76, 50 and 40: each side of two band starts
test("a score gets the band that holds it (healthy from its start, watch under it)", function()
  local s80 = score(base(60))
  local s76 = score(base(60), overdue(pts(T.overdue_age, 5), pts(T.overdue_amount, 10 * TR)))
  expect_eq(decide("health", "CL-80"), {score = s80, band = band_of(s80)})
  expect_eq(decide("health", "CL-76"), {score = s76, band = band_of(s76)})
end)

test("a score gets the band that holds it (watch from its start, at risk under it)", function()
  local s50 = score(T.no_billing_points + pts(T.contact, 60) + pts(T.csat, CSAT_OK))
  local s40 = score(T.no_billing_points + pts(T.contact, 90) + pts(T.csat, CSAT_OK))
  expect_eq(decide("health", "CL-50"), {score = s50, band = band_of(s50)})
  expect_eq(decide("health", "CL-40"), {score = s40, band = band_of(s40)})
end)
