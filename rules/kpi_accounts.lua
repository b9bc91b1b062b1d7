-- rules/kpi_accounts.lua — account attainment against plan targets (JBP / QBP / MBP).
--
-- Revenue invoiced to the client in the plan's period against the plan's target revenue. While
-- the period runs, the pace compares the revenue with the share of the target due by today.
local T = {
  -- Status by pace: revenue / (target × share of the period elapsed)
  -- Trạng thái theo tiến độ: doanh thu / (chỉ tiêu × phần kỳ đã qua)
  pace = {
    {status = "behind", max = 0.85},                 -- under 85% of pace / dưới 85% tiến độ
    {status = "on_track", min = 0.85, max = 1.05},
    {status = "ahead", min = 1.05},                  -- from 105% / từ 105%
  },
  -- Result of a period that has ended: revenue / target
  -- Kết quả khi kỳ đã kết thúc: doanh thu / chỉ tiêu
  final = {
    {status = "missed", max = 0.95},                 -- under 95% / dưới 95%
    {status = "met", min = 0.95, max = 1.05},
    {status = "exceeded", min = 1.05},               -- from 105% / từ 105%
  },
  -- Plans in these statuses are not tracked / Không theo dõi các kế hoạch ở trạng thái này
  skip_status = {draft = true},
}

local P = {
  name = "kpi_accounts",
  subject = "plans",
  description = "Plan attainment: revenue invoiced in the plan's period against its target revenue",
  thresholds = T,
}

local M = require "lib.money"
local D = require "lib.dates"
local B = require "lib.bands"
local book = require "lib.book"

function P.decide(plan, why)
  local client = db.clients:get(plan.client)
  local name = client and client.name or plan.client
  if T.skip_status[plan.status] then
    why("%s %s of %s is a %s plan: not tracked", plan.kind, plan.period, name, plan.status)
    return nil
  end
  local ok, p = pcall(D.period, plan.period)
  if not ok then
    why("%s: period %q is not a period kam knows", plan.id, tostring(plan.period))
    return nil
  end
  local target = plan.target_revenue or 0
  local actual = book.revenue(plan.client, p.from, p.to)
  local elapsed = D.elapsed(p)
  why("%s %s of %s (%s): revenue %s against a target of %s", plan.kind, p.name, name, plan.status, M.fmt(actual), M.fmt(target))
  if target <= 0 then
    why("no target revenue: not scored")
    return {period = p.name, actual = actual, target = target, status = "no_target"}
  end
  local attainment = actual / target
  if elapsed == 0 then
    why("the period starts on %s", p.from)
    return {period = p.name, actual = actual, target = target, attainment = M.rate(attainment), status = "not_started"}
  end
  if kam.today() > p.to then
    local band = B.find(T.final, M.rate(attainment))
    why("the period has ended: attainment %s, %s", M.pct(attainment), band.status)
    return {period = p.name, actual = actual, target = target, attainment = M.rate(attainment), status = band.status}
  end
  local expected = target * elapsed
  local pace = actual / expected
  local band = B.find(T.pace, M.rate(pace))
  why("%s of the period elapsed (it ends %s): %s expected by today, pace %s: %s", M.pct(elapsed), p.to, M.fmt(expected), M.pct(pace),
    band.status)
  return {period = p.name, actual = actual, target = target, attainment = M.rate(attainment),
          expected = M.whole(expected), pace = M.rate(pace), status = band.status}
end

return P
