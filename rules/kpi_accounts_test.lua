-- Tests of rules/kpi_accounts.lua: plan attainment and pace.
-- The status bands come from the policy's thresholds.

local T = require("kpi_accounts").thresholds
local B = require "lib.bands"
local TR = 1000000
local LQ = kam.period("last_quarter")
local TQ = kam.period("this_quarter")
local function final(name) for _, b in ipairs(T.final) do if b.status == name then return b end end end
local MET, EXCEEDED = final("met").min, final("exceeded").min    -- where they start: shares of the target

local function sale(client, amount, date)
  return {client = client, amount = amount, issued = date, due = kam.date_add(date, 30), status = "paid", paid_date = date}
end

fixture{
  clients = {
    {id = "CL-MET", name = "Met", status = "active"},
    {id = "CL-EDGE", name = "Exactly at the start of met", status = "active"},
    {id = "CL-MISS", name = "Just under it", status = "active"},
    {id = "CL-EXC", name = "Exceeded", status = "active"},
    {id = "CL-NOW", name = "This quarter", status = "active"},
  },
  invoices = {
    sale("CL-MET", 1000 * TR, LQ.from), sale("CL-EDGE", math.floor(1000 * TR * MET + 0.5), LQ.to),
    sale("CL-MISS", math.floor(1000 * TR * MET + 0.5) - TR, LQ.from),
    sale("CL-EXC", math.floor(1000 * TR * EXCEEDED + 0.5), LQ.from), sale("CL-EXC", 700 * TR, kam.date_add(LQ.from, -1)),
    sale("CL-NOW", 2000 * TR, TQ.from),
  },
  plans = {
    {id = "PL-MET", client = "CL-MET", kind = "QBP", period = LQ.name, target_revenue = 1000 * TR, status = "closed"},
    {id = "PL-EDGE", client = "CL-EDGE", kind = "QBP", period = LQ.name, target_revenue = 1000 * TR, status = "closed"},
    {id = "PL-MISS", client = "CL-MISS", kind = "QBP", period = LQ.name, target_revenue = 1000 * TR, status = "closed"},
    {id = "PL-EXC", client = "CL-EXC", kind = "QBP", period = LQ.name, target_revenue = 1000 * TR, status = "closed"},
    {id = "PL-AHEAD", client = "CL-NOW", kind = "QBP", period = TQ.name, target_revenue = 1000 * TR, status = "signed"},
    {id = "PL-BEHIND", client = "CL-MET", kind = "QBP", period = TQ.name, target_revenue = 1000 * TR, status = "signed"},
    {id = "PL-LATER", client = "CL-NOW", kind = "JBP", period = "2099", target_revenue = 1000 * TR, status = "proposed"},
    {id = "PL-DRAFT", client = "CL-NOW", kind = "JBP", period = "2099", target_revenue = 1000 * TR, status = "draft"},
    {id = "PL-ZERO", client = "CL-NOW", kind = "MBP", period = TQ.name, target_revenue = 0, status = "signed"},
    {id = "PL-BAD", client = "CL-NOW", kind = "MBP", period = "Tết", target_revenue = 1000 * TR, status = "signed"},
  },
}

test("a closed quarter at target gets the band that holds 100%", function()
  local r, reasons = decide("kpi_accounts", "PL-MET")
  expect_eq(r, {period = LQ.name, actual = 1000 * TR, target = 1000 * TR, attainment = 1.0, status = B.find(T.final, 1.0).status})
  expect_eq(reasons[1], "QBP " .. LQ.name .. " of Met (closed): revenue 1.000.000.000 ₫ against a target of 1.000.000.000 ₫")
end)

test("exactly the start of met is met, just under is missed", function()
  expect_eq(decide("kpi_accounts", "PL-EDGE").status, "met")
  expect_eq(decide("kpi_accounts", "PL-MISS").status, "missed")
end)

test("the start of exceeded is exceeded; revenue outside the period does not count", function()
  local r = decide("kpi_accounts", "PL-EXC")
  expect_eq(r.actual, math.floor(1000 * TR * EXCEEDED + 0.5))
  expect_eq(r.status, "exceeded")
end)

test("a running quarter is judged on pace", function()
  local r, reasons = decide("kpi_accounts", "PL-AHEAD")
  expect_eq(r.status, "ahead")
  expect_true(r.expected > 0 and r.expected <= 1000 * TR)
  expect_true(reasons[2]:find("of the period elapsed", 1, true))
  expect_eq(decide("kpi_accounts", "PL-BEHIND").status, "behind")
end)

test("a period that has not started, a draft, no target and an unknown period", function()
  expect_eq(decide("kpi_accounts", "PL-LATER").status, "not_started")
  local r, reasons = decide("kpi_accounts", "PL-DRAFT")
  expect_eq(r, nil)
  expect_true(reasons[1]:find("draft plan: not tracked", 1, true))
  expect_eq(decide("kpi_accounts", "PL-ZERO").status, "no_target")
  local bad, why = decide("kpi_accounts", "PL-BAD")
  expect_eq(bad, nil)
  expect_true(why[1]:find("is not a period", 1, true))
end)
