-- Tests of rules/pricing.lua: tier and volume discounts, floors, pass-through lines, the offer.

local TR = 1000000

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

fixture{
  services = {
    {id = "SV-ADS", name = "Quản lý quảng cáo Meta & TikTok", category = "ads", list_price = 30 * TR, standard_cost = 15 * TR, target_margin = 0.5},
    {id = "SV-KOL", name = "KOL / KOC booking", category = "marketing", list_price = 15 * TR, standard_cost = 11500000, target_margin = 0.22},
    {id = "SV-X", name = "Chiến lược thương hiệu", category = "marketing", list_price = 100 * TR, standard_cost = 50 * TR, target_margin = 0.45},
    {id = "SV-Y", name = "Sản xuất TVC", category = "marketing", list_price = 499999999, standard_cost = 300 * TR, target_margin = 0.3},
    {id = "SV-MEDIA", name = "Ngân sách media (thu hộ, phí 8%)", category = "ads", list_price = 1080000, standard_cost = 1 * TR, target_margin = 0.07},
  },
  clients = {
    {id = "CL-A", name = "Tier A", status = "active", tier = "A"},
    {id = "CL-B", name = "Tier B", status = "active", tier = "B"},
    {id = "CL-D", name = "Tier D", status = "active", tier = "D"},
    {id = "CL-P", name = "Prospect"},
  },
  quotes = {
    {id = "QT-B", client = "CL-B", lines = {{service = "SV-ADS", qty = 1, unit_price = 30 * TR, cost = 15 * TR}}},
    {id = "QT-V1", client = "CL-D", lines = {{service = "SV-X", qty = 5, unit_price = 100 * TR}}},
    {id = "QT-V0", client = "CL-D", lines = {{service = "SV-Y", qty = 1, unit_price = 499999999}}},
    {id = "QT-CAP", client = "CL-A", lines = {{service = "SV-X", qty = 60, unit_price = 100 * TR}}},
    {id = "QT-FLOOR", client = "CL-A", lines = {{service = "SV-KOL", qty = 10, unit_price = 15 * TR}}},
    {id = "QT-MEDIA", client = "CL-A", lines = {{service = "SV-ADS", qty = 2, unit_price = 30 * TR},
                                                {service = "SV-MEDIA", qty = 500, unit_price = 1080000}}},
    {id = "QT-T3", client = "CL-D", lines = {{service = "SV-ADS", qty = 1, unit_price = 29100000}}},
    {id = "QT-T4", client = "CL-D", lines = {{service = "SV-ADS", qty = 1, unit_price = 29090000}}},
    {id = "QT-KOL", client = "CL-D", discount = 0.10, lines = {{service = "SV-KOL", qty = 4, unit_price = 14 * TR}}},
    {id = "QT-UNDER", client = "CL-D", discount = 0.10, lines = {{service = "SV-ADS", qty = 1, unit_price = 30 * TR},
                                                                 {service = "SV-MEDIA", qty = 100, unit_price = 1080000}}},
    {id = "QT-OFF", client = "CL-D", lines = {{service = "SV-404", qty = 1, unit_price = 10 * TR, cost = 5 * TR}}},
    {id = "QT-EMPTY", client = "CL-D", lines = {}},
    {id = "QT-NOPRICE", client = "CL-P", lines = {{service = "SV-ADS", qty = 3}}},
  },
}

test("tier B: 5% off list; the offer at list is above the policy price", function()
  local r, reasons = decide("pricing", "QT-B")
  expect_eq(r.lines[1].list_price, 30 * TR)
  expect_eq(r.lines[1].unit_price, 28500000)
  expect_eq(r.lines[1].discount, 0.05)
  expect_eq(r.total, 28500000)
  expect_eq(r.cost, 15 * TR)
  expect_eq(r.offered, 30 * TR)
  expect_eq(r.needs_approval, false)
  expect_eq(r.below_floor, {})
  expect_true(has(reasons, "tier B discount 5,0%, volume discount 0,0% (under 500 triệu)"))
end)

test("a quote worth exactly 500 triệu at list earns the 2% volume discount", function()
  local r = decide("pricing", "QT-V1")
  expect_eq(r.lines[1].unit_price, 98 * TR)
  expect_eq(r.discount, 0.02)
end)

test("one đồng under 500 triệu earns none", function()
  expect_eq(decide("pricing", "QT-V0").discount, 0)
end)

test("tier A and 6 tỷ at list: 8% + 6% is capped at 12%", function()
  local r, reasons = decide("pricing", "QT-CAP")
  expect_eq(r.discount, 0.12)
  expect_eq(r.lines[1].unit_price, 88 * TR)
  expect_true(has(reasons, "together 14,0%, capped at 12,0%"))
end)

test("the discount stops at the category floor", function()
  local r, reasons = decide("pricing", "QT-FLOOR")       -- KOL: cost 11,5 triệu, marketing floor 20%
  expect_eq(r.lines[1].unit_price, 14375000)
  expect_eq(r.lines[1].margin, 0.2)
  expect_true(has(reasons, "stops at the category floor for SV-KOL"))
end)

test("pass-through media stays at list price", function()
  local r = decide("pricing", "QT-MEDIA")
  expect_eq(r.lines[1].unit_price, 27 * TR)              -- tier A 8% + volume 2% (600 triệu at list) on the fee
  expect_eq(r.lines[2].unit_price, 1080000)
  expect_eq(r.lines[2].discount, 0)
  expect_eq(r.needs_approval, false)
end)

test("an offer exactly 3% under the policy price passes; more needs approval", function()
  local r = decide("pricing", "QT-T3")
  expect_eq(r.needs_approval, false)
  local r2, reasons = decide("pricing", "QT-T4")
  expect_eq(r2.needs_approval, true)
  expect_true(has(reasons, "more than 3,0% under the policy price"))
end)

test("an offer under a category's floor needs approval", function()
  local r, reasons = decide("pricing", "QT-KOL")         -- 14 triệu less 10% = 12,6 triệu against 11,5 triệu cost
  expect_eq(r.below_floor, {"marketing"})
  expect_eq(r.needs_approval, true)
  expect_true(has(reasons, "marketing: margin 8,7% on the offer is under the 20,0% floor"))
end)

test("pass-through offered under its cost is below the floor", function()
  local r, reasons = decide("pricing", "QT-UNDER")
  expect_eq(r.below_floor, {"ads"})
  expect_true(has(reasons, "SV-MEDIA (ads, pass-through) offered at 972.000 ₫, under its cost of 1.000.000 ₫"))
end)

test("a service not in the catalogue is priced as written and needs approval", function()
  local r, reasons = decide("pricing", "QT-OFF")
  expect_eq(r.total, 10 * TR)
  expect_eq(r.needs_approval, true)
  expect_true(has(reasons, "not in the catalogue: SV-404"))
end)

test("a quote without lines prices to nothing", function()
  local r, reasons = decide("pricing", "QT-EMPTY")
  expect_eq(r.total, 0)
  expect_eq(r.needs_approval, false)
  expect_eq(reasons[1], "the quote has no lines")
end)

test("lines without a price are offered at the policy price; no tier, no tier discount", function()
  local r, reasons = decide("pricing", "QT-NOPRICE")
  expect_eq(r.total, 90 * TR)
  expect_eq(r.offered, 90 * TR)
  expect_eq(r.margin, 0.5)
  expect_true(has(reasons, "tier none discount 0,0%"))
end)

test("a missing quote is an error", function()
  expect_error(function() decide("pricing", "QT-404") end, "no quotes QT-404")
end)
