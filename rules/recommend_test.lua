-- Tests of rules/recommend.lua: cross-sell, upsell, investment and at-risk suggestions.

local TR = 1000000

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

local function kinds(list)
  local out = {}
  for _, s in ipairs(list) do out[#out + 1] = s.kind end
  return out
end

-- paid invoices: `now` a month ago and `q` four months ago (the trend), `before` 18 months ago (growth)
local function billing(client, now, q, before)
  local rows = {
    {client = client, amount = now, issued = kam.months_ago(1), due = kam.months_ago(1), status = "paid", paid_date = kam.months_ago(1)},
    {client = client, amount = q, issued = kam.months_ago(4), due = kam.months_ago(4), status = "paid", paid_date = kam.months_ago(4)},
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
    {id = "CL-X", name = "Sao Mai Group", industry = "cosmetics", status = "active", csat = 4.0},
    {id = "CL-PIPE", name = "Hana Beauty", industry = "cosmetics", status = "active", csat = 4.0},
    {id = "CL-SMALL", name = "Nước hoa Aria", industry = "cosmetics", status = "active", csat = 4.0},
    {id = "CL-S", name = "Bếp Việt", industry = "F&B", status = "active", csat = 4.5, strategic = true, annual_budget = 2000 * TR},
    {id = "CL-SP", name = "Strategic, request pending", industry = "F&B", status = "active", csat = 4.5, strategic = true},
    {id = "CL-U", name = "Growing 15%", industry = "other", status = "active", csat = 4.2, annual_budget = 1300 * TR},
    {id = "CL-U14", name = "Growing 14%", industry = "other", status = "active", csat = 4.2, annual_budget = 3000 * TR},
    {id = "CL-UC", name = "Growing, CSAT 4.1", industry = "other", status = "active", csat = 4.1, annual_budget = 3000 * TR},
    {id = "CL-PROS", name = "Prospect", industry = "cosmetics"},
    {id = "CL-GONE", name = "Churned", industry = "cosmetics", status = "churned"},
  },
  invoices = rows(
    billing("CL-X", 500 * TR, 500 * TR, 1000 * TR), billing("CL-PIPE", 500 * TR, 500 * TR, 1000 * TR),
    billing("CL-SMALL", 249 * TR, 250 * TR, 499 * TR),
    billing("CL-S", 1000 * TR, 1000 * TR, 1800 * TR), billing("CL-SP", 1000 * TR, 1000 * TR, 1800 * TR),
    billing("CL-U", 575 * TR, 575 * TR, 1000 * TR), billing("CL-U14", 570 * TR, 570 * TR, 1000 * TR),
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
  expect_eq(list[1].value, 100 * TR)                       -- 10% of 1 tỷ
  expect_eq(list[1].text, "Sao Mai Group buys ads but no affiliate: propose Chương trình affiliate CPS (SV-AFF), which suits cosmetics")
  expect_true(has(reasons, "12-month revenue 1.000.000.000 ₫"))
end)

test("no cross-sell for what is already in the pipeline", function()
  local list, reasons = decide("recommend", "CL-PIPE")
  expect_eq(list, {})
  expect_true(has(reasons, "cross_sell affiliate: already in the pipeline (OP-AFF)"))
  expect_true(has(reasons, "nothing to suggest"))
end)

test("no cross-sell under 500 triệu a year", function()
  expect_eq(decide("recommend", "CL-SMALL"), {})
end)

test("a growing strategic account: an investment proposal of 3% of its revenue", function()
  local list = decide("recommend", "CL-S")                 -- 2 tỷ, +11,1%
  expect_eq(kinds(list), {"investment"})
  expect_eq(list[1].value, 60 * TR)
end)

test("no second investment proposal while one waits for approval", function()
  local list, reasons = decide("recommend", "CL-SP")
  expect_eq(list, {})
  expect_true(has(reasons, "RQ-INV is already waiting for approval"))
end)

test("upsell from 15% growth with CSAT 4.2, up to the budget left", function()
  local list = decide("recommend", "CL-U")                 -- 1,15 tỷ, budget 1,3 tỷ
  expect_eq(kinds(list), {"upsell"})
  expect_eq(list[1].value, 150 * TR)
end)

test("no upsell at 14% growth or CSAT 4.1", function()
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

fixture{
  clients = {
    {id = "CL-OD", name = "Overdue 31 days", industry = "other", status = "active", csat = 4.0},
    {id = "CL-OD30", name = "Overdue 30 days", industry = "other", status = "active", csat = 4.0},
    {id = "CL-Q45", name = "Quiet 45 days", industry = "other", status = "active", csat = 4.0},
    {id = "CL-Q44", name = "Quiet 44 days", industry = "other", status = "active", csat = 4.0},
    {id = "CL-F20", name = "Down 20%", industry = "other", status = "active", csat = 4.0},
    {id = "CL-F19", name = "Down 19%", industry = "other", status = "active", csat = 4.0},
    {id = "CL-LOW", name = "CSAT 3.4", industry = "other", status = "active", csat = 3.4},
    {id = "CL-35", name = "CSAT 3.5", industry = "other", status = "active", csat = 3.5},
    {id = "CL-ESC", name = "Escalated", industry = "other", status = "active", csat = 4.0},
    {id = "CL-ALL", name = "Everything wrong", industry = "cosmetics", status = "active", csat = 3.0},
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
    billing("CL-OD", 300 * TR, 300 * TR), {owed("CL-OD", 100 * TR, 31)},
    billing("CL-OD30", 300 * TR, 300 * TR), {owed("CL-OD30", 100 * TR, 30)},
    billing("CL-Q45", 300 * TR, 300 * TR), billing("CL-Q44", 300 * TR, 300 * TR),
    billing("CL-F20", 80 * TR, 100 * TR), billing("CL-F19", 81 * TR, 100 * TR),
    billing("CL-LOW", 300 * TR, 300 * TR), billing("CL-35", 300 * TR, 300 * TR), billing("CL-ESC", 300 * TR, 300 * TR),
    billing("CL-ALL", 300 * TR, 600 * TR), {owed("CL-ALL", 200 * TR, 60)}),
  risks = {
    {id = "RK-1", client = "CL-ESC", kind = "escalation", severity = "high", description = "CMO disputes the September figures"},
    {id = "RK-2", client = "CL-ESC", kind = "risk", severity = "medium", description = "Late brief"},
    {id = "RK-3", client = "CL-ALL", kind = "escalation", severity = "critical", description = "Threatens to change agency"},
    {id = "RK-4", client = "CL-ALL", kind = "risk", severity = "high", description = "Revenue falling"},
  },
  activities = {
    met("CL-OD"), met("CL-OD30"), met("CL-Q45", 45), met("CL-Q44", 44), met("CL-F20"), met("CL-F19"),
    met("CL-LOW"), met("CL-35"), met("CL-ESC"), met("CL-ALL", 80),
  },
}

test("money more than 30 days overdue: collect, calling the finance contact", function()
  local list = decide("recommend", "CL-OD")
  expect_eq(list, {{kind = "at_risk_action", value = 100 * TR,
    text = "Collect 100.000.000 ₫ overdue on 1 invoice (oldest 31 days past due): call Vũ Phương Yến (Kế toán trưởng)"}})
  expect_eq(decide("recommend", "CL-OD30"), {})
end)

test("45 days without contact: meet the decision maker; 44 days: nothing", function()
  local list = decide("recommend", "CL-Q45")
  expect_eq(kinds(list), {"at_risk_action"})
  expect_true(list[1].text:find("Meet Trần Hữu Quân (Tổng Giám đốc): no contact for 45 days", 1, true))
  expect_eq(list[1].value, 600 * TR)
  expect_eq(decide("recommend", "CL-Q44"), {})
end)

test("revenue down 20% over three months: business review; 19%: nothing", function()
  local list = decide("recommend", "CL-F20")
  expect_eq(kinds(list), {"at_risk_action"})
  expect_true(list[1].text:find("(-20,0%)", 1, true))
  expect_eq(list[1].value, 80 * TR)                        -- 20 triệu a quarter, a year of it
  expect_eq(decide("recommend", "CL-F19"), {})
end)

test("CSAT under 3.5: service recovery; 3.5: nothing", function()
  local list = decide("recommend", "CL-LOW")
  expect_true(list[1].text:find("Service recovery: CSAT 3,4", 1, true))
  expect_eq(decide("recommend", "CL-35"), {})
end)

test("an open high escalation is to be resolved; a medium risk is not listed", function()
  local list = decide("recommend", "CL-ESC")
  expect_eq(#list, 1)
  expect_eq(list[1].text, "Resolve RK-1 (high escalation): CMO disputes the September figures")
end)

test("at most six suggestions, the largest first", function()
  local list, reasons = decide("recommend", "CL-ALL")
  expect_eq(#list, 6)
  for i = 2, #list do expect_true(list[i - 1].value >= list[i].value) end
  expect_true(has(reasons, "7 suggestions; the 6 largest kept"))
end)
