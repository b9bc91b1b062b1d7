-- rules/pricing.lua — price a quote from the catalogue (định giá báo giá).
--
-- Each line starts at the service's list price; the client's tier and the quote's size earn a
-- discount, which stops at the margin floor of the service's category. Pass-through lines (media
-- budget, affiliate commission) stay at list price. The offer as written on the quote (its unit
-- prices less its discount) is then checked: under a category's floor, or further under the
-- policy price than the tolerance, the quote needs approval.
local T = {
  -- Discount by the client's tier (no tier yet: "none") / Chiết khấu theo hạng khách hàng
  tier_discount = {A = 0.08, B = 0.05, C = 0.02, D = 0.00, none = 0.00},

  -- Volume discount by the quote's value at list price / Chiết khấu theo giá trị báo giá (giá niêm yết)
  volume = {
    {label = "under 500 triệu", max = 5e8, discount = 0.00},
    {label = "500 triệu – 2 tỷ", min = 5e8, max = 2e9, discount = 0.02},
    {label = "2 – 5 tỷ", min = 2e9, max = 5e9, discount = 0.04},
    {label = "from 5 tỷ", min = 5e9, discount = 0.06},
  },

  -- Tier and volume discounts together never exceed this / Tổng chiết khấu tối đa
  max_discount = 0.12,

  -- Lowest margin accepted per service category (price - cost) / price
  -- Biên lợi nhuận sàn theo nhóm dịch vụ
  floors = {marketing = 0.20, ecommerce = 0.25, affiliate = 0.25, operations = 0.20, ads = 0.30},

  -- Services whose target margin is under this are pass-through (media budget, commission):
  -- list price, no discount, no floor / Dịch vụ thu hộ: giữ giá niêm yết, không chiết khấu, không xét sàn
  pass_through_margin = 0.15,

  -- The offer may sit this far under the policy price without approval
  -- Báo giá được thấp hơn giá theo chính sách tối đa mức này mà không cần duyệt
  price_tolerance = 0.03,
}

local P = {
  name = "pricing",
  subject = "quotes",
  description = "Quote pricing: list price, tier and volume discounts, margin floors per category; approval below them",
  thresholds = T,
}

local M = require "lib.money"
local B = require "lib.bands"

local function margin_of(price, cost)
  if not price or price <= 0 then return nil end
  return (price - cost) / price
end

function P.decide(quote, why)
  local client = db.clients:get(quote.client)
  local tier = client and client.tier or nil
  local lines = quote.lines or {}
  if #lines == 0 then
    why("the quote has no lines")
    return {lines = {}, total = 0, cost = 0, margin = nil, needs_approval = false, below_floor = {}}
  end

  -- the catalogue for each line; the quote's value at list price
  local rows, unknown, list_total = {}, {}, 0
  for i, l in ipairs(lines) do
    local sv = l.service and db.services:get(l.service)
    local qty = l.qty or 1
    if not sv then
      unknown[#unknown + 1] = tostring(l.service)
      rows[i] = {service = l.service, qty = qty, list_price = l.unit_price or 0, cost = l.cost or 0, off = true, line = l}
    else
      rows[i] = {service = sv.id, name = sv.name, category = sv.category, qty = qty, list_price = sv.list_price,
                 cost = l.cost or sv.standard_cost or 0, pass = (sv.target_margin or 1) < T.pass_through_margin, line = l}
    end
    list_total = list_total + qty * rows[i].list_price
  end

  -- the discount the policy gives
  local td = T.tier_discount[tier or "none"] or 0
  local vb = B.find(T.volume, list_total)
  local vd = vb and vb.discount or 0
  local d = td + vd
  why("%s for %s (tier %s): %s at list price", quote.id, client and client.name or quote.client, tier or "none", M.fmt(list_total))
  why("tier %s discount %s, volume discount %s (%s)", tier or "none", M.pct(td), M.pct(vd), vb and vb.label or "no band")
  if d > T.max_discount then
    why("together %s, capped at %s", M.pct(d), M.pct(T.max_discount))
    d = T.max_discount
  end

  -- policy prices, line by line
  local out, total, cost = {}, 0, 0
  local offered_total = 0
  local cat = {}                      -- category -> {price, cost} of the offer's fee lines
  local floored = {}
  local under_cost = {}               -- pass-through lines offered under their cost
  local qd = quote.discount or 0
  for i, r in ipairs(rows) do
    local unit = r.list_price
    if not r.off and not r.pass and d > 0 then
      unit = r.list_price * (1 - d)
      local floor = T.floors[r.category]
      if floor then
        local floor_price = r.cost / (1 - floor)
        if unit < floor_price then
          unit = math.min(r.list_price, floor_price)
          floored[#floored + 1] = r.service
        end
      end
    end
    unit = M.round(unit, 1000)
    if unit > r.list_price then unit = r.list_price end
    local offered = (r.line.unit_price or unit) * (1 - qd)
    out[i] = {service = r.service, category = r.category, qty = r.qty, list_price = r.list_price, unit_price = unit,
              discount = M.rate(r.list_price > 0 and (1 - unit / r.list_price) or 0), cost = r.cost,
              margin = M.rate(margin_of(unit, r.cost)), offered_price = M.whole(offered)}
    total = total + r.qty * unit
    cost = cost + r.qty * r.cost
    offered_total = offered_total + r.qty * offered
    if not r.off and not r.pass and r.category then
      local c = cat[r.category] or {price = 0, cost = 0}
      c.price = c.price + r.qty * offered
      c.cost = c.cost + r.qty * r.cost
      cat[r.category] = c
    elseif r.pass and offered < r.cost then
      under_cost[#under_cost + 1] = r
    end
  end
  if #floored > 0 then
    why("the discount stops at the category floor for %s", table.concat(floored, ", "))
  end
  total, offered_total = M.whole(total), M.whole(offered_total)
  local margin = margin_of(total, cost)
  why("policy price %s, cost %s, margin %s", M.fmt(total), M.fmt(cost), M.pct(margin))

  -- the offer on the quote
  local needs = false
  local offered_margin = margin_of(offered_total, cost)
  local gap = total > 0 and M.rate(offered_total / total - 1) or 0
  why("offer on the quote %s (its discount %s), margin %s: %s against the policy price", M.fmt(offered_total), M.pct(qd),
    M.pct(offered_margin), M.change(gap))
  if gap < -T.price_tolerance then
    why("the offer is more than %s under the policy price: needs approval", M.pct(T.price_tolerance))
    needs = true
  end

  local below, seen = {}, {}
  local cats = {}
  for k in pairs(cat) do cats[#cats + 1] = k end
  table.sort(cats)
  for _, k in ipairs(cats) do
    local c = cat[k]
    local m = M.rate(margin_of(c.price, c.cost))
    local floor = T.floors[k]
    if floor and m and m < floor then
      seen[k] = true
      why("%s: margin %s on the offer is under the %s floor", k, M.pct(m), M.pct(floor))
    end
  end
  for _, r in ipairs(under_cost) do
    seen[r.category] = true
    why("%s (%s, pass-through) offered at %s, under its cost of %s", r.service, r.category,
      M.fmt(r.line.unit_price and r.line.unit_price * (1 - qd) or r.list_price), M.fmt(r.cost))
  end
  for k in pairs(seen) do below[#below + 1] = k end
  table.sort(below)
  if #below > 0 then needs = true end
  if #unknown > 0 then
    why("not in the catalogue: %s (priced as written): needs approval", table.concat(unknown, ", "))
    needs = true
  end
  if not needs then why("within policy: no approval needed") end

  return {lines = out, total = total, cost = M.whole(cost), margin = M.rate(margin), discount = M.rate(d),
          offered = offered_total, offered_margin = M.rate(offered_margin),
          needs_approval = needs, below_floor = below}
end

return P
