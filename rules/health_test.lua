-- Tests of rules/health.lua: each factor, its bands and caps, and the score's band.

local TR = 1000000

-- steady billing: 100 triệu a month ago and 100 triệu four months ago, both paid
local function steady(client, now, before)
  return {
    {client = client, amount = now or 100 * TR, issued = kam.months_ago(1), due = kam.months_ago(1), status = "paid",
     paid_date = kam.months_ago(1)},
    {client = client, amount = before or 100 * TR, issued = kam.months_ago(4), due = kam.months_ago(4), status = "paid",
     paid_date = kam.months_ago(4)},
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

fixture{
  clients = {
    {id = "CL-OK", name = "All well", status = "active", csat = 4.5},
    {id = "CL-HALF", name = "Down exactly half", status = "active", csat = 4.5},
    {id = "CL-60", name = "Down 60%", status = "active", csat = 4.5},
    {id = "CL-UP", name = "Growing, fair CSAT", status = "active", csat = 3.7},
    {id = "CL-IDLE", name = "Nothing billed", status = "active", csat = 4.5},
    {id = "CL-Q44", name = "44 days quiet", status = "active", csat = 4.5},
    {id = "CL-Q45", name = "45 days quiet", status = "active", csat = 4.5},
    {id = "CL-LE", name = "Only last_engaged", status = "active", csat = 4.5, last_engaged = kam.days_ago(70)},
    {id = "CL-NOCSAT", name = "No CSAT", status = "active"},
    {id = "CL-C3", name = "CSAT exactly 3", status = "active", csat = 3.0},
    {id = "CL-C29", name = "CSAT 2.9", status = "active", csat = 2.9},
    {id = "CL-GONE", name = "Churned", status = "churned"},
    {id = "CL-PROS", name = "Prospect"},
  },
  invoices = rows(steady("CL-OK"), steady("CL-HALF", 50 * TR), steady("CL-60", 40 * TR), steady("CL-UP", 110 * TR),
    steady("CL-Q44"), steady("CL-Q45"), steady("CL-LE"), steady("CL-NOCSAT"), steady("CL-C3"), steady("CL-C29")),
  activities = {
    met("CL-OK", 5), met("CL-HALF", 5), met("CL-60", 5), met("CL-UP", 5), met("CL-IDLE", 5), met("CL-Q44", 44),
    met("CL-Q45", 45), met("CL-NOCSAT", 5), met("CL-C3", 5), met("CL-C29", 5), met("CL-Q45", 200),
  },
}

test("a steady, satisfied, recently met client scores 100", function()
  local r, reasons = decide("health", "CL-OK")
  expect_eq(r, {score = 100, band = "healthy"})
  expect_eq(#reasons, 6)
  expect_eq(reasons[6], "score 100: healthy")
end)

test("revenue down exactly half is falling: -15", function()
  local r, reasons = decide("health", "CL-HALF")
  expect_eq(r.score, 85)
  expect_true(has(reasons, "(-50,0%, falling): -15 points"))
end)

test("revenue down 60% is collapsing: -30", function()
  local r = decide("health", "CL-60")
  expect_eq(r, {score = 70, band = "watch"})
end)

test("growth earns points back: +5 offsets a fair CSAT", function()
  local r, reasons = decide("health", "CL-UP")
  expect_eq(r.score, 100)
  expect_true(has(reasons, "growing): +5 points"))
  expect_true(has(reasons, "CSAT 3,7 (fair): -5 points"))
end)

test("nothing billed in six months costs 30 points", function()
  local r, reasons = decide("health", "CL-IDLE")
  expect_eq(r.score, 70)
  expect_true(has(reasons, "no invoices in the last 6 months: -30 points"))
end)

test("44 days without contact is quiet (-5), 45 days is -15", function()
  expect_eq(decide("health", "CL-Q44").score, 95)
  local r, reasons = decide("health", "CL-Q45")
  expect_eq(r.score, 85)
  expect_true(has(reasons, "45 days ago (no contact for 45 days): -15 points"))
end)

test("with no activity the client's last_engaged date counts", function()
  local r, reasons = decide("health", "CL-LE")
  expect_eq(r.score, 80)
  expect_true(has(reasons, "70 days ago"))
end)

test("no CSAT recorded costs nothing and says so", function()
  local r, reasons = decide("health", "CL-NOCSAT")
  expect_eq(r.score, 100)
  expect_true(has(reasons, "no CSAT recorded: 0 points"))
end)

test("CSAT exactly 3.0 is lukewarm (-12), under 3.0 unhappy (-20)", function()
  expect_eq(decide("health", "CL-C3").score, 88)
  expect_eq(decide("health", "CL-C29").score, 80)
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
  return {client = client, amount = amount, tax = 0, issued = kam.months_ago(8), due = kam.days_ago(days),
          status = status or "overdue"}
end

fixture{
  clients = {
    {id = "CL-30", name = "30 days overdue", status = "active", csat = 4.5},
    {id = "CL-31", name = "31 days overdue", status = "active", csat = 4.5},
    {id = "CL-BIG", name = "100 triệu overdue", status = "active", csat = 4.5},
    {id = "CL-MANY", name = "Many overdue", status = "active", csat = 4.5},
    {id = "CL-PART", name = "Half paid", status = "active", csat = 4.5},
    {id = "CL-ESC", name = "Escalations", status = "active", csat = 4.5},
    {id = "CL-MIT", name = "Mitigating", status = "active", csat = 4.5},
  },
  invoices = rows(steady("CL-30"), steady("CL-31"), steady("CL-BIG"), steady("CL-MANY"), steady("CL-PART"),
    steady("CL-ESC"), steady("CL-MIT"), {
      owed("CL-30", 20 * TR, 30), owed("CL-31", 20 * TR, 31), owed("CL-BIG", 100 * TR, 10),
      owed("CL-MANY", 200 * TR, 100), owed("CL-MANY", 200 * TR, 95, "disputed"), owed("CL-MANY", 200 * TR, 70),
      {id = "INV-P", client = "CL-PART", amount = 200 * TR, tax = 20 * TR, issued = kam.months_ago(8), due = kam.days_ago(20),
       status = "overdue"},
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

test("an invoice 30 days overdue costs 4 points, 31 days 8", function()
  local r, reasons = decide("health", "CL-30")
  expect_eq(r.score, 96)
  expect_true(has(reasons, "1 overdue invoice, 20.000.000 ₫ outstanding, oldest 30 days past due: -4 points"))
  expect_eq(decide("health", "CL-31").score, 92)
end)

test("100 triệu outstanding adds 5 points to the age", function()
  expect_eq(decide("health", "CL-BIG").score, 91)
end)

test("overdue points are capped at 40", function()
  local r, reasons = decide("health", "CL-MANY")                  -- -18 -18 -12 -10 = -58
  expect_eq(r, {score = 60, band = "watch"})
  expect_true(has(reasons, "3 overdue invoices (1 disputed), 600.000.000 ₫ outstanding, oldest 100 days past due: -40 points (capped from -58 points)"))
end)

test("a partial payment lowers what is outstanding", function()
  local _, reasons = decide("health", "CL-PART")
  expect_true(has(reasons, "100.000.000 ₫ outstanding"))
end)

test("open escalations and risks cost points; resolved ones do not", function()
  local r, reasons = decide("health", "CL-ESC")                   -- critical escalation -25, medium risk -5
  expect_eq(r.score, 70)
  expect_true(has(reasons, "-30 points"))
  expect_true(not has(reasons, "Old complaint"))
end)

test("a mitigating risk counts half; a closed one nothing", function()
  expect_eq(decide("health", "CL-MIT").score, 95)                  -- high risk -10, mitigating: -5
end)

------------------------------------------------------------------ bands of the score

fixture{
  clients = {
    {id = "CL-80", name = "80", status = "active", csat = 4.5},
    {id = "CL-76", name = "76", status = "active", csat = 4.5},
    {id = "CL-50", name = "50", status = "active", csat = 4.5},
    {id = "CL-40", name = "40", status = "active", csat = 4.5},
  },
  invoices = rows(steady("CL-80"), steady("CL-76"), {owed("CL-76", 10 * TR, 5)}),
  activities = {met("CL-80", 60), met("CL-76", 60), met("CL-50", 60), met("CL-40", 90)},
}

test("80 is healthy, under 80 watch", function()
  expect_eq(decide("health", "CL-80"), {score = 80, band = "healthy"})
  expect_eq(decide("health", "CL-76"), {score = 76, band = "watch"})
end)

test("50 is watch, under 50 at risk", function()
  expect_eq(decide("health", "CL-50"), {score = 50, band = "watch"})   -- nothing billed -30, 60 days quiet -20
  expect_eq(decide("health", "CL-40"), {score = 40, band = "at_risk"}) -- nothing billed -30, 90 days quiet -30
end)
