-- Tests of rules/recommend.lua: cross-sell, upsell, investment and at-risk suggestions.
-- Triggers, shares and limits come from the policy's thresholds.

local T = require("recommend").thresholds
local M = require "lib.money"
local TR = M.TRIEU
local CSAT = (T.low_csat + T.upsell_csat) / 2          -- neither a recovery nor an upsell
local function est(v) return M.round(v, T.round_to) end  -- an estimate as the policy rounds it

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

local function kinds(list)
  local out = {}
  for _, s in ipairs(list) do out[#out + 1] = s.kind end
  return out
end

-- paid invoices: `now` a month ago and `q` in the trend's window before (the trend), `before` 18
-- months ago (growth)
local Q = T.trend_months + 1
local function billing(client, now, q, before)
  local rows = {
    {client = client, amount = now, issued = kam.months_ago(1), due = kam.months_ago(1), status = "paid", paid_date = kam.months_ago(1)},
    {client = client, amount = q, issued = kam.months_ago(Q), due = kam.months_ago(Q), status = "paid", paid_date = kam.months_ago(Q)},
  }
  if before then
    rows[3] = {client = client, amount = before, issued = kam.months_ago(18), due = kam.months_ago(18), status = "paid",
               paid_date = kam.months_ago(18)}
  end
  return rows
end

local function rows(...)
  local out = {}
  for _, list in ipairs({...}) do for _, r in ipairs(list) do out[#out + 1] = r end end
  return out
end

local function met(client, days) return {client = client, kind = "call", date = kam.days_ago(days or 3)} end

------------------------------------------------------------------ cross-sell, upsell, investment

local REV = M.round(2 * T.cross_sell_min_revenue)       -- enough for a cross-sell
local SMALL = M.round(T.cross_sell_min_revenue) - TR    -- not enough
local S_REV = 2000 * TR                                  -- a strategic account growing just enough to invest in
local S_BEFORE = M.whole(S_REV / (1 + T.investment_growth + 0.01))
local U_REV = M.whole(1000 * TR * (1 + T.upsell_growth))  -- growing exactly enough for an upsell
local U_LEFT = est(U_REV * T.upsell_share * 0.6)          -- budget left outside the agency: less than the share
local U14 = M.whole(1000 * TR * (1 + T.upsell_growth - 0.01))

fixture{
  services = {
    {id = "SV-ADS", name = "Quản lý quảng cáo Meta & TikTok", category = "ads", list_price = 30 * TR, standard_cost = 15 * TR,
     target_margin = 0.5, industries = {"cosmetics", "F&B"}},
    {id = "SV-AFF", name = "Chương trình affiliate CPS", category = "affiliate", list_price = 35 * TR, standard_cost = 20 * TR,
     target_margin = 0.4, industries = {"cosmetics"}},
    {id = "SV-COMM", name = "Hoa hồng affiliate (thu hộ)", category = "affiliate", list_price = 1100000, standard_cost = 1 * TR,
     target_margin = 0.09, industries = {"cosmetics", "F&B"}},
    {id = "SV-SHOP", name = "Vận hành gian hàng sàn", category = "ecommerce", list_price = 45 * TR, standard_cost = 28 * TR,
     target_margin = 0.35, industries = {"fashion"}},
  },
  clients = {
    {id = "CL-X", name = "Sao Mai Group", industry = "cosmetics", status = "active", csat = CSAT},
    {id = "CL-PIPE", name = "Hana Beauty", industry = "cosmetics", status = "active", csat = CSAT},
    {id = "CL-SMALL", name = "Nước hoa Aria", industry = "cosmetics", status = "active", csat = CSAT},
    {id = "CL-S", name = "Bếp Việt", industry = "F&B", status = "active", csat = 4.5, strategic = true, annual_budget = S_REV},
    {id = "CL-SP", name = "Strategic, request pending", industry = "F&B", status = "active", csat = 4.5, strategic = true},
    {id = "CL-U", name = "Growing just enough", industry = "other", status = "active", csat = T.upsell_csat,
     annual_budget = U_REV + U_LEFT},
    {id = "CL-U14", name = "Growing a point too little", industry = "other", status = "active", csat = T.upsell_csat,
     annual_budget = 3000 * TR},
    {id = "CL-UC", name = "Growing, CSAT a little low", industry = "other", status = "active", csat = T.upsell_csat - 0.1,
     annual_budget = 3000 * TR},
    {id = "CL-PROS", name = "Prospect", industry = "cosmetics"},
    {id = "CL-GONE", name = "Churned", industry = "cosmetics", status = "churned"},
  },
  invoices = rows(
    billing("CL-X", REV // 2, REV - REV // 2, REV), billing("CL-PIPE", REV // 2, REV - REV // 2, REV),
    billing("CL-SMALL", SMALL // 2, SMALL - SMALL // 2, SMALL),
    billing("CL-S", S_REV // 2, S_REV // 2, S_BEFORE), billing("CL-SP", S_REV // 2, S_REV // 2, S_BEFORE),
    billing("CL-U", U_REV // 2, U_REV - U_REV // 2, 1000 * TR), billing("CL-U14", U14 // 2, U14 - U14 // 2, 1000 * TR),
    billing("CL-UC", 600 * TR, 600 * TR, 1000 * TR)),
  quotes = {
    {client = "CL-X", status = "accepted", issued = kam.months_ago(6), lines = {{service = "SV-ADS", qty = 12, unit_price = 30 * TR}}},
    {client = "CL-PIPE", status = "accepted", issued = kam.months_ago(6), lines = {{service = "SV-ADS", qty = 12, unit_price = 30 * TR}}},
    {client = "CL-SMALL", status = "accepted", issued = kam.months_ago(6), lines = {{service = "SV-ADS", qty = 6, unit_price = 30 * TR}}},
    {client = "CL-S", status = "accepted", issued = kam.months_ago(6), lines = {{service = "SV-ADS", qty = 12, unit_price = 30 * TR}}},
    {client = "CL-SP", status = "accepted", issued = kam.months_ago(6), lines = {{service = "SV-ADS", qty = 12, unit_price = 30 * TR}}},
  },
  opportunities = {
    {id = "OP-AFF", client = "CL-PIPE", kind = "cross_sell", services = {"SV-AFF"}, value = 300 * TR, stage = "proposal"},
  },
  requests = {{id = "RQ-INV", kind = "investment", subject = "CL-SP", amount = 60 * TR}},
  activities = {met("CL-X"), met("CL-PIPE"), met("CL-SMALL"), met("CL-S"), met("CL-SP"), met("CL-U"), met("CL-U14"), met("CL-UC")},
}

test("a cosmetics client buying ads but not affiliate: cross-sell affiliate", function()
  local list, reasons = decide("recommend", "CL-X")
  expect_eq(#list, 1)
  expect_eq(list[1].kind, "cross_sell")
  expect_eq(list[1].value, est(REV * T.cross_sell_share.affiliate))
  expect_eq(list[1].text, "Sao Mai Group buys ads but no affiliate: propose Chương trình affiliate CPS (SV-AFF), which suits cosmetics")
  expect_true(has(reasons, "12-month revenue " .. M.fmt(REV)))
end)

test("no cross-sell for what is already in the pipeline", function()
  local list, reasons = decide("recommend", "CL-PIPE")
  expect_eq(list, {})
  expect_true(has(reasons, "cross_sell affiliate: already in the pipeline (OP-AFF)"))
  expect_true(has(reasons, "nothing to suggest"))
end)

test("no cross-sell under the minimum revenue", function()
  expect_eq(decide("recommend", "CL-SMALL"), {})
end)

test("a growing strategic account: an investment proposal, a share of its revenue", function()
  local list = decide("recommend", "CL-S")
  expect_eq(kinds(list), {"investment"})
  expect_eq(list[1].value, est(S_REV * T.investment_share))
end)

test("no second investment proposal while one waits for approval", function()
  local list, reasons = decide("recommend", "CL-SP")
  expect_eq(list, {})
  expect_true(has(reasons, "RQ-INV is already waiting for approval"))
end)

test("upsell from the growth and CSAT it takes, up to the budget left", function()
  local list = decide("recommend", "CL-U")
  expect_eq(kinds(list), {"upsell"})
  expect_eq(list[1].value, U_LEFT)
end)

test("no upsell a point of growth short, or at a CSAT a little low", function()
  expect_eq(decide("recommend", "CL-U14"), {})
  expect_eq(decide("recommend", "CL-UC"), {})
end)

test("prospects and churned clients get no suggestions", function()
  local list, reasons = decide("recommend", "CL-PROS")
  expect_eq(list, {})
  expect_true(reasons[1]:find("prospect", 1, true))
  expect_eq(decide("recommend", "CL-GONE"), {})
end)

------------------------------------------------------------------ at-risk actions

local function owed(client, amount, days)
  return {client = client, amount = amount, tax = 0, issued = kam.months_ago(9), due = kam.days_ago(days), status = "overdue"}
end

local OD, QUIET = T.overdue_days, T.no_contact_days
local F_NOW = M.whole(100 * TR * (1 + T.falling))        -- down exactly as far as falling

fixture{
  clients = {
    {id = "CL-OD", name = "Overdue a day past the limit", industry = "other", status = "active", csat = CSAT},
    {id = "CL-OD30", name = "Overdue to the limit", industry = "other", status = "active", csat = CSAT},
    {id = "CL-Q45", name = "Quiet for the limit", industry = "other", status = "active", csat = CSAT},
    {id = "CL-Q44", name = "Quiet a day less", industry = "other", status = "active", csat = CSAT},
    {id = "CL-F20", name = "Falling", industry = "other", status = "active", csat = CSAT},
    {id = "CL-F19", name = "Falling a little less", industry = "other", status = "active", csat = CSAT},
    {id = "CL-LOW", name = "CSAT under the limit", industry = "other", status = "active", csat = T.low_csat - 0.1},
    {id = "CL-35", name = "CSAT at the limit", industry = "other", status = "active", csat = T.low_csat},
    {id = "CL-ESC", name = "Escalated", industry = "other", status = "active", csat = CSAT},
    {id = "CL-ALL", name = "Everything wrong", industry = "cosmetics", status = "active", csat = T.low_csat - 0.5},
  },
  contacts = {
    {client = "CL-OD", name = "Vũ Phương Yến", title = "Kế toán trưởng", decision_role = "finance"},
    {client = "CL-Q45", name = "Trần Hữu Quân", title = "Tổng Giám đốc", decision_role = "decision_maker"},
  },
  services = {
    {id = "SV-AFF", name = "Chương trình affiliate CPS", category = "affiliate", list_price = 35 * TR, standard_cost = 20 * TR,
     target_margin = 0.4, industries = {"cosmetics"}},
  },
  invoices = rows(
    billing("CL-OD", 300 * TR, 300 * TR), {owed("CL-OD", 100 * TR, OD + 1)},
    billing("CL-OD30", 300 * TR, 300 * TR), {owed("CL-OD30", 100 * TR, OD)},
    billing("CL-Q45", 300 * TR, 300 * TR), billing("CL-Q44", 300 * TR, 300 * TR),
    billing("CL-F20", F_NOW, 100 * TR), billing("CL-F19", F_NOW + TR, 100 * TR),
    billing("CL-LOW", 300 * TR, 300 * TR), billing("CL-35", 300 * TR, 300 * TR), billing("CL-ESC", 300 * TR, 300 * TR),
    billing("CL-ALL", 300 * TR, 600 * TR), {owed("CL-ALL", 200 * TR, OD + 30)}),
  risks = {
    {id = "RK-1", client = "CL-ESC", kind = "escalation", severity = "high", description = "CMO disputes the September figures"},
    {id = "RK-2", client = "CL-ESC", kind = "risk", severity = "medium", description = "Late brief"},
    {id = "RK-3", client = "CL-ALL", kind = "escalation", severity = "critical", description = "Threatens to change agency"},
    {id = "RK-4", client = "CL-ALL", kind = "risk", severity = "high", description = "Revenue falling"},
  },
  activities = {
    met("CL-OD"), met("CL-OD30"), met("CL-Q45", QUIET), met("CL-Q44", QUIET - 1), met("CL-F20"), met("CL-F19"),
    met("CL-LOW"), met("CL-35"), met("CL-ESC"), met("CL-ALL", QUIET + 35),
  },
}

test("money overdue past the limit: collect, calling the finance contact", function()
  local list = decide("recommend", "CL-OD")
  expect_eq(list, {{kind = "at_risk_action", value = est(100 * TR),
    text = string.format("Collect 100.000.000 ₫ overdue on 1 invoice (oldest %d days past due): call Vũ Phương Yến (Kế toán trưởng)",
      OD + 1)}})
  expect_eq(decide("recommend", "CL-OD30"), {})
end)

test("no contact for the limit's days: meet the decision maker; a day less: nothing", function()
  local list = decide("recommend", "CL-Q45")
  expect_eq(kinds(list), {"at_risk_action"})
  expect_true(list[1].text:find("Meet Trần Hữu Quân (Tổng Giám đốc): no contact for " .. QUIET .. " days", 1, true))
  expect_eq(list[1].value, est(600 * TR))
  expect_eq(decide("recommend", "CL-Q44"), {})
end)

test("revenue down as far as falling over the trend's months: business review; a point less: nothing", function()
  local list = decide("recommend", "CL-F20")
  expect_eq(kinds(list), {"at_risk_action"})
  expect_true(list[1].text:find("(" .. M.change(T.falling) .. ")", 1, true))
  expect_eq(list[1].value, est((100 * TR - F_NOW) * 12 / T.trend_months))   -- the loss, for a year
  expect_eq(decide("recommend", "CL-F19"), {})
end)

test("CSAT under the limit: service recovery; at it: nothing", function()
  local list = decide("recommend", "CL-LOW")
  expect_true(list[1].text:find("Service recovery: CSAT " .. M.decimal(T.low_csat - 0.1), 1, true))
  expect_eq(decide("recommend", "CL-35"), {})
end)

test("an open high escalation is to be resolved; a medium risk is not listed", function()
  local list = decide("recommend", "CL-ESC")
  expect_eq(#list, 1)
  expect_eq(list[1].text, "Resolve RK-1 (high escalation): CMO disputes the September figures")
end)

test("at most max_suggestions suggestions, the largest first", function()
  local list, reasons = decide("recommend", "CL-ALL")     -- collect, meet, review, recover, resolve, cross-sell
  local n = 5 + (T.escalation_severities.critical and 1 or 0) + (T.escalation_severities.high and 1 or 0)
  expect_eq(#list, math.min(n, T.max_suggestions))
  for i = 2, #list do expect_true(list[i - 1].value >= list[i].value) end
  if n > T.max_suggestions then
    expect_true(has(reasons, string.format("%d suggestions; the %d largest kept", n, T.max_suggestions)))
  end
end)
