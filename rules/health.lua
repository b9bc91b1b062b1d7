-- rules/health.lua — account health score 0–100 and band (sức khỏe khách hàng).
--
-- Starts at 100; the revenue trend, overdue invoices, open risks and escalations, days since the
-- last contact and CSAT each take points off (a growing account earns a few back). Every factor
-- says how many points it cost.
local T = {
  start = 100,                   -- a perfect account / điểm tối đa

  -- Revenue trend: invoiced revenue of the last `trend_months` months against the months before
  -- Xu hướng doanh thu: N tháng gần nhất so với N tháng trước đó
  trend_months = 3,
  trend = {
    {label = "collapsing", max = -0.50, points = -30},             -- down more than half / giảm hơn 50%
    {label = "falling", min = -0.50, max = -0.20, points = -15},   -- down more than 20%, at most half / giảm hơn 20% đến 50%
    {label = "softening", min = -0.20, max = -0.05, points = -5},  -- down more than 5%, at most 20%
    {label = "stable", min = -0.05, max = 0.10, points = 0},       -- from -5% to under +10%
    {label = "growing", min = 0.10, points = 5},                   -- up 10% or more / tăng từ 10%
  },
  no_billing_points = -30,       -- billed nothing in either window / không phát sinh doanh thu

  -- Overdue invoices: points per invoice by whole days past due (aging buckets, a ladder: each
  -- up to and including its number), plus points for the amount still owed (with tax), capped
  -- Hóa đơn quá hạn: trừ điểm theo tuổi nợ từng hóa đơn và theo tổng số tiền, có mức trần
  overdue_age = {
    {label = "0–30 days", up_to = 30, points = -4},
    {label = "31–60 days", up_to = 60, points = -8},
    {label = "61–90 days", up_to = 90, points = -12},
    {label = "over 90 days", points = -18},
  },
  overdue_amount = {
    {label = "small", max = 1e8, points = 0},                       -- under 100 triệu
    {label = "large", min = 1e8, max = 5e8, points = -5},           -- from 100 to under 500 triệu
    {label = "very large", min = 5e8, points = -10},                -- from 500 triệu
  },
  overdue_cap = -40,

  -- Open risks and escalations by severity; a mitigating one counts this share, the total is capped
  -- Rủi ro và khiếu nại đang mở theo mức độ; đang xử lý tính một phần; có mức trần
  risk_points = {
    escalation = {critical = -25, high = -15, medium = -10, low = -5},
    risk = {critical = -15, high = -10, medium = -5, low = -2},
  },
  mitigating_share = 0.5,
  risk_cap = -30,

  -- Days since the last contact (meeting, call, QBR, e-mail ...)
  -- Số ngày kể từ lần liên hệ gần nhất
  contact = {
    {label = "in touch", max = 30, points = 0},
    {label = "quiet", min = 30, max = 45, points = -5},
    {label = "no contact for 45 days", min = 45, max = 60, points = -15},
    {label = "no contact for 60 days", min = 60, max = 90, points = -20},
    {label = "no contact for 90 days", min = 90, points = -30},
  },
  never_contacted_points = -30,

  -- CSAT (1–5) / Điểm hài lòng khách hàng
  csat = {
    {label = "unhappy", max = 3.0, points = -20},
    {label = "lukewarm", min = 3.0, max = 3.5, points = -12},
    {label = "fair", min = 3.5, max = 4.0, points = -5},
    {label = "satisfied", min = 4.0, points = 0},
  },

  -- The band of the final score / Phân loại theo điểm
  bands = {
    {band = "at_risk", max = 50},
    {band = "watch", min = 50, max = 80},
    {band = "healthy", min = 80},
  },
}

local P = {
  name = "health",
  subject = "clients",
  description = "Health score 0-100 and band from revenue trend, overdue invoices, risks, contact and CSAT",
  thresholds = T,
}

local M = require "lib.money"
local D = require "lib.dates"
local B = require "lib.bands"
local book = require "lib.book"

local function pts(n)
  if n == 0 then return "0 points" end
  return string.format("%+d points", math.floor(n + 0.5))
end

local function trend(client, why)
  local now, before = book.revenue_trend(client.id, T.trend_months)
  if now == 0 and before == 0 then
    why("no invoices in the last %d months: %s", 2 * T.trend_months, pts(T.no_billing_points))
    return T.no_billing_points
  end
  if before == 0 then
    why("revenue %s in the last %d months, nothing the %d before (new billing): %s",
      M.fmt(now), T.trend_months, T.trend_months, pts(0))
    return 0
  end
  local change = M.rate(now / before - 1)
  local b = B.find(T.trend, change)
  local p = b and b.points or 0
  why("revenue %s in the last %d months against %s the %d before (%s, %s): %s",
    M.fmt(now), T.trend_months, M.fmt(before), T.trend_months, M.change(change), b and b.label or "no band", pts(p))
  return p
end

local function overdue(client, why)
  local list = book.overdue(client.id)
  if #list == 0 then
    why("no overdue invoices: %s", pts(0))
    return 0
  end
  local p, total, disputed = 0, 0, 0
  for _, inv in ipairs(list) do
    local b = B.find(T.overdue_age, inv.days)
    p = p + (b and b.points or 0)
    total = total + inv.outstanding
    if inv.status == "disputed" then disputed = disputed + 1 end
  end
  local ab = B.find(T.overdue_amount, total)
  p = p + (ab and ab.points or 0)
  local capped = ""
  if p < T.overdue_cap then
    capped = string.format(" (capped from %s)", pts(p))
    p = T.overdue_cap
  end
  why("%d overdue invoice%s%s, %s outstanding, oldest %d days past due: %s%s", #list, #list == 1 and "" or "s",
    disputed > 0 and string.format(" (%d disputed)", disputed) or "", M.fmt(total), list[1].days, pts(p), capped)
  return p
end

local function risks(client, why)
  local list = book.open_risks(client.id)
  if #list == 0 then
    why("no open risks or escalations: %s", pts(0))
    return 0
  end
  local p, parts = 0, {}
  for _, r in ipairs(list) do
    local base = (T.risk_points[r.kind] or T.risk_points.risk)[r.severity] or 0
    local x = r.status == "mitigating" and base * T.mitigating_share or base
    p = p + x
    parts[#parts + 1] = string.format("%s %s %s%s", r.id, r.severity, r.kind, r.status == "mitigating" and " (mitigating)" or "")
  end
  local capped = ""
  if p < T.risk_cap then
    capped = string.format(" (capped from %s)", pts(p))
    p = T.risk_cap
  end
  why("open: %s: %s%s", table.concat(parts, ", "), pts(p), capped)
  return p
end

local function contact(client, why)
  local last = book.last_contact(client)
  if not last then
    why("no contact on record: %s", pts(T.never_contacted_points))
    return T.never_contacted_points
  end
  local days = D.days_since(last)
  local b = B.find(T.contact, days)
  local p = b and b.points or 0
  why("last contact %s, %d days ago (%s): %s", last, days, b and b.label or "no band", pts(p))
  return p
end

local function csat(client, why)
  if client.csat == nil then
    why("no CSAT recorded: %s", pts(0))
    return 0
  end
  local b = B.find(T.csat, client.csat)
  local p = b and b.points or 0
  why("CSAT %s (%s): %s", kam.fmt.number(client.csat), b and b.label or "no band", pts(p))
  return p
end

function P.decide(client, why)
  local ok, not_why = book.is_account(client)
  if not ok then
    why("no health score: %s", not_why)
    return nil
  end
  local score = T.start
  score = score + trend(client, why)
  score = score + overdue(client, why)
  score = score + risks(client, why)
  score = score + contact(client, why)
  score = score + csat(client, why)
  if score > 100 then score = 100 end
  if score < 0 then score = 0 end
  score = math.tointeger(math.floor(score + 0.5))
  local band = B.find(T.bands, score)
  why("score %d: %s", score, band.band)
  return {score = score, band = band.band}
end

return P
