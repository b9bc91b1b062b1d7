-- Tests of rules/pricing.lua: tier and volume discounts, floors, pass-through lines, the offer.
-- Discounts, floors and tolerances come from the policy's thresholds.

local T = require("pricing").thresholds
local B = require "lib.bands"
local M = require "lib.money"
local TR = M.TRIEU

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

local TD, MAX = T.tier_discount, T.max_discount
local function vol(list_total) return B.find(T.volume, list_total) end
-- the policy's discount for a tier and a quote's value at list price
local function disc(tier, list_total) return math.min(TD[tier] + vol(list_total).discount, MAX) end
-- a unit price after a discount the floor does not stop, rounded as the policy rounds it
local function price(list, d)
  if d <= 0 then return list end
  return math.min(list, M.round(list * (1 - d), 1000))
end

-- where the volume bands start: the second band, and the top one
local V2, VTOP = T.volume[1], T.volume[1]
for _, b in ipairs(T.volume) do
  if b.min and (V2.min == nil or b.min < V2.min) then V2 = b end
  if b.max == nil then VTOP = b end
end
local X = M.whole(V2.min / 5)                          -- five of them are worth exactly V2's start
local FLOOR_M = T.floors.marketing
local D_FLOOR = disc("A", 10 * 15 * TR)                -- the discount on ten KOL bookings for tier A
-- a KOL cost whose floor price sits between the discounted price and the list price
local KOL_COST = M.whole(15 * TR * (1 - FLOOR_M) * (1 - D_FLOOR / 2))
local CAP_QTY = math.ceil(VTOP.min * 1.2 / X)

fixture{
  services = {
    {id = "SV-ADS", name = "Quản lý quảng cáo Meta & TikTok", category = "ads", list_price = 30 * TR, standard_cost = 15 * TR, target_margin = 0.5},
    {id = "SV-KOL", name = "KOL / KOC booking", category = "marketing", list_price = 15 * TR, standard_cost = KOL_COST, target_margin = 0.22},
    {id = "SV-X", name = "Chiến lược thương hiệu", category = "marketing", list_price = X, standard_cost = M.whole(X / 2), target_margin = 0.45},
    {id = "SV-Y", name = "Sản xuất TVC", category = "marketing", list_price = M.whole(V2.min) - 1, standard_cost = M.whole(V2.min * 0.6), target_margin = 0.3},
    {id = "SV-MEDIA", name = "Ngân sách media (thu hộ, phí 8%)", category = "ads", list_price = 1080000, standard_cost = 1 * TR,
     target_margin = T.pass_through_margin / 2},
  },
  clients = {
    {id = "CL-A", name = "Tier A", status = "active", tier = "A"},
    {id = "CL-B", name = "Tier B", status = "active", tier = "B"},
    {id = "CL-D", name = "Tier D", status = "active", tier = "D"},
    {id = "CL-P", name = "Prospect"},
  },
  quotes = {
    {id = "QT-B", client = "CL-B", lines = {{service = "SV-ADS", qty = 1, unit_price = 30 * TR, cost = 15 * TR}}},
    {id = "QT-V1", client = "CL-D", lines = {{service = "SV-X", qty = 5, unit_price = X}}},
    {id = "QT-V0", client = "CL-D", lines = {{service = "SV-Y", qty = 1, unit_price = M.whole(V2.min) - 1}}},
    {id = "QT-CAP", client = "CL-A", lines = {{service = "SV-X", qty = CAP_QTY, unit_price = X}}},
    {id = "QT-FLOOR", client = "CL-A", lines = {{service = "SV-KOL", qty = 10, unit_price = 15 * TR}}},
    {id = "QT-MEDIA", client = "CL-A", lines = {{service = "SV-ADS", qty = 2, unit_price = 30 * TR},
                                                {service = "SV-MEDIA", qty = 500, unit_price = 1080000}}},
    {id = "QT-T3", client = "CL-D", lines = {{service = "SV-ADS", qty = 1, unit_price = M.whole(price(30 * TR, disc("D", 30 * TR)) * (1 - T.price_tolerance))}}},
    {id = "QT-T4", client = "CL-D", lines = {{service = "SV-ADS", qty = 1, unit_price = M.whole(price(30 * TR, disc("D", 30 * TR)) * (1 - T.price_tolerance)) - 10000}}},
    {id = "QT-KOL", client = "CL-D", discount = 0.10, lines = {{service = "SV-KOL", qty = 4, unit_price = 14 * TR}}},
    {id = "QT-UNDER", client = "CL-D", discount = 0.10, lines = {{service = "SV-ADS", qty = 1, unit_price = 30 * TR},
                                                                 {service = "SV-MEDIA", qty = 100, unit_price = 1080000}}},
    {id = "QT-OFF", client = "CL-D", lines = {{service = "SV-404", qty = 1, unit_price = 10 * TR, cost = 5 * TR}}},
    {id = "QT-EMPTY", client = "CL-D", lines = {}},
    {id = "QT-NOPRICE", client = "CL-P", lines = {{service = "SV-ADS", qty = 3}}},
  },
}

test("a tier's discount off list; the offer at list is above the policy price", function()
  local r, reasons = decide("pricing", "QT-B")
  local d = disc("B", 30 * TR)
  local unit = price(30 * TR, d)
  expect_eq(r.lines[1].list_price, 30 * TR)
  expect_eq(r.lines[1].unit_price, unit)
  expect_eq(r.lines[1].discount, M.rate(1 - unit / (30 * TR)))
  expect_eq(r.total, unit)
  expect_eq(r.cost, 15 * TR)
  expect_eq(r.offered, 30 * TR)
  expect_eq(r.needs_approval, false)
  expect_eq(r.below_floor, {})
  local vb = vol(30 * TR)
  expect_true(has(reasons, string.format("tier B discount %s, volume discount %s (%s)", M.pct(TD.B), M.pct(vb.discount), vb.label)))
end)

test("a quote worth exactly the start of a volume band at list earns its discount", function()
  local r = decide("pricing", "QT-V1")
  expect_eq(r.lines[1].unit_price, price(X, disc("D", V2.min)))
  expect_eq(r.discount, M.rate(TD.D + V2.discount))
end)

test("one đồng under it earns the band below's", function()
  expect_eq(decide("pricing", "QT-V0").discount, M.rate(disc("D", V2.min - 1)))
end)

test("a tier's and the top volume discount together are capped", function()
  local r, reasons = decide("pricing", "QT-CAP")
  local sum = TD.A + VTOP.discount
  expect_eq(r.discount, M.rate(math.min(sum, MAX)))
  expect_eq(r.lines[1].unit_price, price(X, math.min(sum, MAX)))
  if sum > MAX then expect_true(has(reasons, string.format("together %s, capped at %s", M.pct(sum), M.pct(MAX)))) end
end)

test("the discount stops at the category floor", function()
  local r, reasons = decide("pricing", "QT-FLOOR")
  expect_eq(r.lines[1].unit_price, M.round(KOL_COST / (1 - FLOOR_M), 1000))
  expect_true(math.abs(r.lines[1].margin - FLOOR_M) < 0.001)
  expect_true(has(reasons, "stops at the category floor for SV-KOL"))
end)

test("pass-through media stays at list price", function()
  local r = decide("pricing", "QT-MEDIA")
  expect_eq(r.lines[1].unit_price, price(30 * TR, disc("A", 600 * TR)))   -- the fee, on 600 triệu at list
  expect_eq(r.lines[2].unit_price, 1080000)
  expect_eq(r.lines[2].discount, 0)
  expect_eq(r.needs_approval, false)
end)

test("an offer exactly the tolerance under the policy price passes; more needs approval", function()
  local r = decide("pricing", "QT-T3")
  expect_eq(r.needs_approval, false)
  local r2, reasons = decide("pricing", "QT-T4")
  expect_eq(r2.needs_approval, true)
  expect_true(has(reasons, string.format("more than %s under the policy price", M.pct(T.price_tolerance))))
end)

test("an offer under a category's floor needs approval", function()
  local r, reasons = decide("pricing", "QT-KOL")         -- 14 triệu less 10%, against the KOL cost
  local offered = 14 * TR * 0.9
  expect_eq(r.below_floor, {"marketing"})
  expect_eq(r.needs_approval, true)
  expect_true(has(reasons, string.format("marketing: margin %s on the offer is under the %s floor",
    M.pct(M.rate(1 - KOL_COST / offered)), M.pct(FLOOR_M))))
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

test("lines without a price are offered at the policy price; no tier, the 'none' discount", function()
  local r, reasons = decide("pricing", "QT-NOPRICE")
  local unit = price(30 * TR, disc("none", 90 * TR))
  expect_eq(r.total, 3 * unit)
  expect_eq(r.offered, 3 * unit)
  expect_eq(r.margin, M.rate(1 - 15 * TR / unit))
  expect_true(has(reasons, "tier none discount " .. M.pct(TD.none)))
end)

test("a missing quote is an error", function()
  expect_error(function() decide("pricing", "QT-404") end, "no quotes QT-404")
end)
