-- rules/tiering.lua — client tier A–D (phân tầng khách hàng).
--
-- The tier starts from 12-month revenue; margin, growth and payment punctuality can move it
-- one tier down (or, for a fast-growing account close to the next tier, one up); strategic
-- accounts have a floor. Each tier implies a service model (meeting cadence, QBRs, senior owner).
local T = {
  -- 12-month invoiced revenue (đồng), the starting tier
  -- Doanh thu xuất hóa đơn 12 tháng (đồng): hạng khởi điểm
  revenue = {
    {tier = "A", min = 5e9},                    -- from 5 tỷ / từ 5 tỷ
    {tier = "B", min = 2e9, max = 5e9},         -- from 2 tỷ to under 5 tỷ / từ 2 tỷ đến dưới 5 tỷ
    {tier = "C", min = 5e8, max = 2e9},         -- from 500 triệu to under 2 tỷ / từ 500 triệu đến dưới 2 tỷ
    {tier = "D", max = 5e8},                    -- under 500 triệu / dưới 500 triệu
  },

  -- Margin over 12 months: (revenue - spend on the client's projects) / revenue
  -- Biên lợi nhuận 12 tháng: (doanh thu - chi phí dự án của khách) / doanh thu
  margin = {
    {label = "negative", max = 0, drop = 1},            -- loss-making: one tier down / lỗ: hạ 1 hạng
    {label = "thin", min = 0, max = 0.10, drop = 1},    -- under 10%: one tier down / dưới 10%: hạ 1 hạng
    {label = "healthy", min = 0.10},
  },

  -- Growth: 12-month revenue against the 12 months before
  -- Tăng trưởng: doanh thu 12 tháng so với 12 tháng trước đó
  growth = {
    {label = "falling", max = -0.30, drop = 1},         -- down more than 30%: one tier down / giảm quá 30%: hạ 1 hạng
    {label = "steady", min = -0.30, max = 0.50},
    {label = "growing fast", min = 0.50, lift = 1},     -- up 50% or more: may go one tier up / tăng từ 50%: có thể lên 1 hạng
  },
  -- a fast-growing account goes up only if its revenue is at least this share of the next tier's start
  -- chỉ lên hạng khi doanh thu đạt ít nhất tỷ lệ này của ngưỡng hạng trên
  lift_within = 0.90,

  -- Payment punctuality: share of the invoices due in the last 12 months that were paid more
  -- than `late_grace_days` after the due date or are still open past it
  -- Thanh toán: tỷ lệ hóa đơn đến hạn trong 12 tháng trả trễ quá số ngày ân hạn hoặc còn nợ
  late_grace_days = 30,
  payment = {
    {label = "punctual", max = 0.30},
    {label = "poor", min = 0.30, drop = 1},             -- 30% or more late: one tier down / từ 30% trễ: hạ 1 hạng
  },

  -- at most this many tiers below the revenue tier, whatever the reasons
  -- hạ tối đa bấy nhiêu hạng so với hạng theo doanh thu
  max_drop = 1,

  -- strategic accounts are never below this tier ("B" would keep them at B whatever their revenue)
  -- khách hàng chiến lược không bao giờ thấp hơn hạng này
  strategic_floor = "C",
}

local P = {
  name = "tiering",
  subject = "clients",
  writes = "tier",
  description = "Tier A-D from 12-month revenue, moved by margin, growth and payment record; strategic floor",
  thresholds = T,
}

local M = require "lib.money"
local D = require "lib.dates"
local B = require "lib.bands"
local book = require "lib.book"

-- The money a client carries: invoiced revenue of the last 12 months.
function P.measure(client)
  return book.revenue_12m(client.id)
end

-- tiers from the best down, by the start of their revenue band
local function ladder()
  local bands = {}
  for _, b in ipairs(T.revenue) do bands[#bands + 1] = b end
  table.sort(bands, function(a, b) return (a.min or -math.huge) > (b.min or -math.huge) end)
  local order, index = {}, {}
  for i, b in ipairs(bands) do order[i] = b.tier; index[b.tier] = i end
  return order, index, bands
end

local function range(b)
  if b.min and b.max then return string.format("from %s to under %s", M.fmt(b.min), M.fmt(b.max)) end
  if b.min then return "from " .. M.fmt(b.min) end
  if b.max then return "under " .. M.fmt(b.max) end
  return "any revenue"
end

function P.decide(client, why)
  local ok, not_why = book.is_account(client)
  if not ok then
    why("no tier: %s", not_why)
    return nil
  end

  local order, index, sorted = ladder()
  local rev = P.measure(client)
  local band = B.find(T.revenue, rev)
  if not band then
    error(string.format("12-month revenue %s falls in no band of thresholds.revenue (run kam check)", M.fmt(rev)))
  end
  why("12-month revenue %s: tier %s (%s)", M.fmt(rev), band.tier, range(band))
  local base = index[band.tier]

  local drops, lifts = {}, {}

  -- margin
  if rev > 0 then
    local year = D.window(12, 0)
    local cost = book.cost(client.id, year.from)
    local margin = M.rate((rev - cost) / rev)
    local mb = B.find(T.margin, margin)
    why("margin %s over 12 months (project spend %s): %s", M.pct(margin), M.fmt(cost), mb and mb.label or "no band")
    if mb and (mb.drop or 0) > 0 then drops[#drops + 1] = {n = mb.drop, what = mb.label .. " margin"} end
  end

  -- growth
  local prev_w = D.window(24, 12)
  local prev = book.revenue(client.id, prev_w.from, prev_w.to)
  if prev > 0 then
    local growth = M.rate(rev / prev - 1)
    local gb = B.find(T.growth, growth)
    why("growth %s on the 12 months before (%s): %s", M.change(growth), M.fmt(prev), gb and gb.label or "no band")
    if gb and (gb.drop or 0) > 0 then drops[#drops + 1] = {n = gb.drop, what = gb.label .. " revenue"} end
    if gb and (gb.lift or 0) > 0 and base > 1 then
      local next_min = sorted[base - 1].min
      if next_min and rev >= T.lift_within * next_min then
        lifts[#lifts + 1] = {n = gb.lift, what = string.format("fast growth with revenue within %s of tier %s",
          M.pct(1 - T.lift_within), order[base - 1])}
      else
        why("fast growth, but revenue is not yet %s of tier %s's %s: no lift", M.pct(T.lift_within), order[base - 1],
          M.fmt(next_min or 0))
      end
    end
  elseif rev > 0 then
    why("no revenue in the 12 months before: no growth figure (a new account)")
  end

  -- payment punctuality
  local rec = book.payment_record(client.id, kam.months_ago(12), T.late_grace_days)
  if rec.share then
    local pb = B.find(T.payment, M.rate(rec.share))
    why("payment: %d of %d invoices due in 12 months paid more than %d days late or still open (%s): %s%s",
      rec.late + rec.unpaid, rec.due, T.late_grace_days, M.pct(rec.share), pb and pb.label or "no band",
      rec.after_due > 0 and string.format(" (%d after the due date, %d days late on average)", rec.after_due,
        math.floor(rec.avg_days_late + 0.5)) or "")
    if pb and (pb.drop or 0) > 0 then drops[#drops + 1] = {n = pb.drop, what = pb.label .. " payment"} end
  else
    why("payment: no invoice fell due in the last 12 months")
  end

  -- moves
  local down, up = 0, 0
  local downs, ups = {}, {}
  for _, d in ipairs(drops) do down = down + d.n; downs[#downs + 1] = d.what end
  for _, l in ipairs(lifts) do up = up + l.n; ups[#ups + 1] = l.what end
  if down > T.max_drop then
    why("%s would drop %d tiers; capped at %d", table.concat(downs, " and "), down, T.max_drop)
    down = T.max_drop
  end
  local i = base + down - up
  if i < 1 then i = 1 end
  if i > #order then i = #order end
  if down > 0 and up == 0 then
    why("%s: %s → %s", table.concat(downs, " and "), order[base], order[i])
  elseif up > 0 and down == 0 then
    why("%s: %s → %s", table.concat(ups, " and "), order[base], order[i])
  elseif up > 0 or down > 0 then
    why("%s up, %s down: %s → %s", table.concat(ups, " and "), table.concat(downs, " and "), order[base], order[i])
  end

  -- strategic floor
  local tier = order[i]
  if client.strategic then
    local floor = index[T.strategic_floor]
    if floor and i > floor then
      why("strategic account: never below %s (%s → %s)", T.strategic_floor, tier, T.strategic_floor)
      tier = T.strategic_floor
    else
      why("strategic account (floor %s)", T.strategic_floor)
    end
  end
  return tier
end

return P
