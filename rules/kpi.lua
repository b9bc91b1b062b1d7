-- rules/kpi.lua — staff scorecard for account roles (chấm điểm KPI nhân sự).
--
-- For the last complete quarter (or month): revenue managed, margin, retention, CSAT and on-time
-- delivery over the clients the person owns, each against its target (the kpis rows of the
-- period, else the clients' plans, else the defaults below), weighted into one score and a rating.
local T = {
  -- The period scored: "last_quarter" or "last_month" / Kỳ đánh giá: quý trước hoặc tháng trước
  period = "last_quarter",

  -- Weights of the metrics (they need not add up to 1: the score divides by their sum)
  -- Trọng số các chỉ tiêu
  weights = {
    revenue_managed = 0.35,      -- doanh thu quản lý
    margin = 0.25,               -- biên lợi nhuận
    retention = 0.15,            -- giữ chân khách hàng
    csat = 0.15,                 -- mức độ hài lòng
    on_time_delivery = 0.10,     -- giao hàng đúng cam kết
  },

  -- Targets when the book has no kpis row for the period / Chỉ tiêu mặc định khi chưa giao
  default_targets = {margin = 0.18, retention = 0.95, csat = 4.2, on_time_delivery = 0.95},

  -- An attainment counts at most this much (130%) / Mức đạt tối đa được tính
  attainment_cap = 1.3,

  -- Rating by score, the weighted attainment (0.93 = 93%) / Xếp loại theo điểm (mức đạt có trọng số)
  ratings = {
    {rating = "unsatisfactory", max = 0.80},           -- under 80% / dưới 80%
    {rating = "below", min = 0.80, max = 0.93},
    {rating = "meets", min = 0.93, max = 1.03},        -- from 93% to under 103% / từ 93% đến dưới 103%
    {rating = "exceeds", min = 1.03},
  },

  -- The roles scored / Các vai trò được chấm
  roles = {account_executive = true, account_manager = true, key_account_manager = true},
}

local P = {
  name = "kpi",
  subject = "staff",
  description = "Account staff scorecard for the last complete period: weighted attainment and rating",
  thresholds = T,
}

local M = require "lib.money"
local D = require "lib.dates"
local B = require "lib.bands"
local book = require "lib.book"

-- names the kpis rows may use for a metric
local ALIASES = {on_time_delivery = {"on_time_delivery", "delivery_quality"}}
local ORDER = {"revenue_managed", "margin", "retention", "csat", "on_time_delivery"}

local function kpi_row(staff_id, metric, period)
  for _, name in ipairs(ALIASES[metric] or {metric}) do
    local r = db.kpis:where{scope = "staff", subject = staff_id, metric = name, period = period}:first()
    if r then return r end
  end
  return nil
end

local function csat_fmt(v) return (string.format("%.2f", v):gsub("%.", ",")) end

local function months_of(p)
  return p.from:sub(1, 7), p.to:sub(1, 7)
end

function P.decide(staff, why)
  if not T.roles[staff.role] then
    why("%s is %s: scorecards are for account roles", staff.name, staff.role)
    return nil
  end
  if staff.status == "left" then
    why("%s has left: no scorecard", staff.name)
    return nil
  end

  local p = D.period(T.period)
  local prev = D.period(D.previous(p.name))
  local clients = db.clients:where{owner = staff.id, status = {"~=", "prospect"}}:list()
  why("%s, %s: %d client%s owned", staff.name, p.name, #clients, #clients == 1 and "" or "s")

  local act = {}
  -- revenue managed and margin
  local rev, cost, plan_target = 0, 0, 0
  local billed_before, retained = 0, 0
  local csat_sum, csat_n = 0, 0
  local committed, delivered = 0, 0
  local m_from, m_to = months_of(p)
  for _, c in ipairs(clients) do
    local r = book.revenue(c.id, p.from, p.to)
    rev = rev + r
    cost = cost + book.cost(c.id, p.from, p.to)
    for plan in db.plans:where{client = c.id, period = p.name}:each() do
      if plan.kind ~= "JBP" then plan_target = plan_target + (plan.target_revenue or 0) end
    end
    if book.revenue(c.id, prev.from, prev.to) > 0 then
      billed_before = billed_before + 1
      if r > 0 then retained = retained + 1 end
    end
    if c.status == "active" or r > 0 then
      local k = db.kpis:where{scope = "account", subject = c.id, metric = "csat", period = p.name}:first()
      local v = (k and k.actual) or c.csat
      if v then csat_sum, csat_n = csat_sum + v, csat_n + 1 end
    end
    for _, kid in ipairs(db.contracts:where{client = c.id}:ids()) do
      for a in db.acceptances:where{contract = kid, period = {"between", m_from, m_to}}:each() do
        committed = committed + (a.committed or 0)
        delivered = delivered + (a.delivered or 0)
      end
    end
  end
  act.revenue_managed = rev
  if rev > 0 then act.margin = (rev - cost) / rev end
  if billed_before > 0 then act.retention = retained / billed_before end
  if csat_n > 0 then act.csat = csat_sum / csat_n end
  if committed > 0 then act.on_time_delivery = delivered / committed end

  local lines, wsum, score = {}, 0, 0
  for _, metric in ipairs(ORDER) do
    local w = T.weights[metric] or 0
    local row = kpi_row(staff.id, metric, p.name)
    local target = row and row.target
    local source = "kpi target"
    if target == nil and metric == "revenue_managed" and plan_target > 0 then
      target, source = plan_target, "plans"
    end
    if target == nil then target, source = T.default_targets[metric], "default" end
    local actual = act[metric]
    if actual == nil and row and row.actual ~= nil and metric ~= "revenue_managed" then
      actual = row.actual
      source = source .. ", actual from the kpi row"
    end
    local att = (actual ~= nil and target and target > 0) and M.rate(actual / target) or nil
    local show = metric == "revenue_managed" and M.fmt or (metric == "csat" and csat_fmt or M.pct)
    if att then
      local counted = math.min(att, T.attainment_cap)
      score = score + w * counted
      wsum = wsum + w
      why("%s: %s against %s (%s) = %s%s, weight %s", metric, show(actual), show(target), source, M.pct(att),
        att > T.attainment_cap and (", counted as " .. M.pct(T.attainment_cap)) or "", M.pct(w))
    else
      why("%s: no %s, not scored", metric, actual == nil and "data in the period" or "target")
    end
    lines[#lines + 1] = {metric = metric, target = target, actual = actual ~= nil and (metric == "revenue_managed" and M.whole(actual) or M.rate(actual)) or nil,
                         attainment = M.rate(att), weight = w}
  end
  if wsum == 0 then
    why("nothing to score in %s", p.name)
    return {period = p.name, score = nil, rating = "n/a", lines = lines}
  end
  -- the score is a whole percentage; the ratings are read on the same rounded figure, as a share
  local s = math.floor(score / wsum * 100 + 0.5)
  local r = B.find(T.ratings, s / 100)
  why("score %d (weighted attainment, %%): %s", s, r.rating)
  return {period = p.name, score = s, rating = r.rating, clients = #clients, lines = lines}
end

return P
