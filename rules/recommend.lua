-- rules/recommend.lua — what to propose to a client next (đề xuất cho khách hàng).
--
-- A list of suggestions {kind, text, value}, largest value first:
--   cross_sell      a service category the client's industry suits but the client does not buy
--   upsell          a growing, satisfied client with budget left outside the agency
--   investment      a strategic account that is growing: propose an investment (pilot, dedicated team)
--   at_risk_action  overdue money, no contact, falling revenue, low CSAT, open escalations
-- value is an estimate in đồng: the deal, the investment, or the money at stake.
local T = {
  -- What a client buys: accepted quotes, won opportunities and spend of the last N months
  -- Dịch vụ khách đang mua: báo giá đã chốt, cơ hội đã thắng, chi phí trong N tháng gần nhất
  bought_months = 24,

  -- Cross-sell value: this share of the client's 12-month revenue, by category
  -- Giá trị bán chéo ước tính: tỷ lệ doanh thu 12 tháng theo nhóm dịch vụ
  cross_sell_share = {marketing = 0.10, ecommerce = 0.15, affiliate = 0.10, operations = 0.05, ads = 0.10},
  cross_sell_min_revenue = 5e8,     -- only for clients billing at least 500 triệu a year / doanh thu tối thiểu

  -- Upsell: growth and CSAT at least these; value: this share of 12-month revenue, at most the
  -- budget the client spends elsewhere / Bán thêm: tăng trưởng và CSAT tối thiểu; giá trị tối đa phần ngân sách còn lại
  upsell_growth = 0.15,
  upsell_csat = 4.2,
  upsell_share = 0.20,

  -- Investment proposal for strategic accounts growing at least this; value: this share of
  -- 12-month revenue / Đề xuất đầu tư cho khách chiến lược tăng trưởng tốt
  investment_growth = 0.10,
  investment_share = 0.03,

  -- At-risk triggers / Dấu hiệu rủi ro
  overdue_days = 30,                -- invoices more than 30 days past due: collect / nợ quá 30 ngày
  no_contact_days = 45,             -- no contact for 45 days: meet / 45 ngày chưa liên hệ
  trend_months = 3,                 -- revenue of the last 3 months against the 3 before
  falling = -0.20,                  -- down 20% or more: business review / giảm từ 20%
  low_csat = 3.5,                   -- CSAT under 3.5: service recovery / CSAT dưới 3,5
  escalation_severities = {high = true, critical = true},

  round_to = 1e7,                   -- estimates rounded to 10 triệu / làm tròn 10 triệu
  max_suggestions = 6,              -- at most this many, largest value first / tối đa số đề xuất
}

local P = {
  name = "recommend",
  subject = "clients",
  description = "Upsell, cross-sell, investment and at-risk suggestions with an estimated value",
  thresholds = T,
}

local M = require "lib.money"
local D = require "lib.dates"
local book = require "lib.book"

local SPEND_CATEGORY = {media = "ads", affiliate = "affiliate"}

-- categories the client bought in the window, and the services
local function bought(client_id, since)
  local cats, services = {}, {}
  local function add_service(id)
    local sv = db.services:get(id)
    if sv then cats[sv.category] = true; services[id] = true end
  end
  for q in db.quotes:where{client = client_id, status = "accepted"}:each() do
    if (q.issued or since) >= since then
      for _, l in ipairs(q.lines or {}) do if l.service then add_service(l.service) end end
    end
  end
  for o in db.opportunities:where{client = client_id, stage = "won"}:each() do
    for _, s in ipairs(o.services or {}) do add_service(s) end
  end
  for _, pid in ipairs(db.projects:where{client = client_id}:ids()) do
    for cat, _ in pairs(SPEND_CATEGORY) do
      if db.spend:where{project = pid, category = cat, date = {">=", since}}:count() > 0 then
        cats[SPEND_CATEGORY[cat]] = true
      end
    end
  end
  return cats, services
end

-- open opportunities of the client, by service category
local function in_pipeline(client_id)
  local cats = {}
  for o in db.opportunities:where{client = client_id, stage = {"in", {"lead", "qualified", "proposal", "negotiation"}}}:each() do
    for _, s in ipairs(o.services or {}) do
      local sv = db.services:get(s)
      if sv then cats[sv.category] = cats[sv.category] or o.id end
    end
  end
  return cats
end

local function contact(client_id, role)
  local c = db.contacts:where{client = client_id, decision_role = role}:first()
  if c then return string.format("%s (%s)", c.name, c.title or role) end
  return nil
end

function P.decide(client, why)
  local ok, not_why = book.is_account(client)
  if not ok then
    why("no suggestions: %s", not_why)
    return {}
  end
  local out = {}
  local function suggest(kind, value, fmt, ...)
    local text = string.format(fmt, ...)
    out[#out + 1] = {kind = kind, text = text, value = M.round(value, T.round_to)}
    why("%s: %s (%s)", kind, text, M.fmt(M.round(value, T.round_to)))
  end

  local rev = book.revenue_12m(client.id)
  local prev_w = D.window(24, 12)
  local prev = book.revenue(client.id, prev_w.from, prev_w.to)
  local growth = prev > 0 and M.rate(rev / prev - 1) or nil
  local overdue = book.overdue(client.id)
  local old_overdue, old_amount, oldest = 0, 0, 0
  for _, inv in ipairs(overdue) do
    if inv.days > T.overdue_days then
      old_overdue = old_overdue + 1
      old_amount = old_amount + inv.outstanding
      if inv.days > oldest then oldest = inv.days end
    end
  end
  local risks = book.open_risks(client.id)
  local escalations = {}
  for _, r in ipairs(risks) do
    if r.kind == "escalation" or T.escalation_severities[r.severity] then
      if T.escalation_severities[r.severity] then escalations[#escalations + 1] = r end
    end
  end
  why("12-month revenue %s, growth %s, CSAT %s", M.fmt(rev), M.change(growth),
    M.decimal(client.csat))
  local dm = contact(client.id, "decision_maker") or "the decision maker"

  -- at-risk actions -------------------------------------------------------------------
  if old_overdue > 0 then
    suggest("at_risk_action", old_amount, "Collect %s overdue on %d invoice%s (oldest %d days past due): call %s",
      M.fmt(old_amount), old_overdue, old_overdue == 1 and "" or "s", oldest,
      contact(client.id, "finance") or "the client's finance contact")
  end
  local last = book.last_contact(client)
  local quiet = last and D.days_since(last) or nil
  if quiet == nil or quiet >= T.no_contact_days then
    suggest("at_risk_action", rev, "Meet %s: %s", dm,
      quiet and string.format("no contact for %d days (last %s)", quiet, last) or "no contact on record")
  end
  local now3, before3 = book.revenue_trend(client.id, T.trend_months)
  local change = before3 > 0 and M.rate(now3 / before3 - 1) or nil
  if change and change <= T.falling then
    suggest("at_risk_action", (before3 - now3) * 12 / T.trend_months,
      "Business review with %s: revenue of the last %d months %s against %s the %d before (%s); agree a recovery plan",
      dm, T.trend_months, M.fmt(now3), M.fmt(before3), T.trend_months, M.change(change))
  end
  if client.csat and client.csat < T.low_csat then
    suggest("at_risk_action", rev, "Service recovery: CSAT %s; review delivery with the teams and agree fixes with %s",
      M.decimal(client.csat), dm)
  end
  for _, r in ipairs(escalations) do
    suggest("at_risk_action", rev, "Resolve %s (%s %s): %s", r.id, r.severity, r.kind, r.description)
  end
  local troubled = old_overdue > 0 or #escalations > 0

  -- investment -----------------------------------------------------------------------
  if client.strategic and growth and growth >= T.investment_growth then
    local pending = db.requests:where{kind = "investment", subject = client.id, status = "pending"}:first()
    if pending then
      why("investment: %s is already waiting for approval", pending.id)
    elseif troubled then
      why("investment: growing strategic account, but overdue money or an open escalation comes first")
    else
      suggest("investment", rev * T.investment_share,
        "Propose an investment of %s in %s (strategic, %s growth): a pilot or a dedicated team to deepen the account",
        M.fmt(M.round(rev * T.investment_share, T.round_to)), client.name, M.change(growth))
    end
  end

  -- upsell ---------------------------------------------------------------------------
  if growth and growth >= T.upsell_growth and client.csat and client.csat >= T.upsell_csat and not troubled then
    local headroom = (client.annual_budget or 0) - rev
    local open = db.opportunities:where{client = client.id, kind = {"in", {"upsell", "scope_expansion"}},
      stage = {"in", {"lead", "qualified", "proposal", "negotiation"}}}:first()
    if open then
      why("upsell: already in the pipeline (%s, %s)", open.id, open.stage)
    elseif headroom > 0 then
      local value = math.min(rev * T.upsell_share, headroom)
      suggest("upsell", value, "Grow the current scope: %s growth, CSAT %s; the client's annual budget is %s, we bill %s",
        M.change(growth), M.decimal(client.csat), M.fmt(client.annual_budget), M.fmt(rev))
    end
  end

  -- cross-sell -----------------------------------------------------------------------
  if rev >= T.cross_sell_min_revenue and client.industry then
    local cats = bought(client.id, kam.months_ago(T.bought_months))
    local pipe = in_pipeline(client.id)
    local best = {}
    for sv in db.services:all():each() do
      local suits = false
      for _, ind in ipairs(sv.industries or {}) do if ind == client.industry then suits = true end end
      if suits and not cats[sv.category] and (sv.target_margin or 0) >= 0.15 then
        local b = best[sv.category]
        if not b or sv.target_margin > b.margin then
          best[sv.category] = {id = sv.id, name = sv.name, margin = sv.target_margin}
        end
      end
    end
    local bought_list = {}
    for k in pairs(cats) do bought_list[#bought_list + 1] = k end
    table.sort(bought_list)
    local keys = {}
    for k in pairs(best) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      if pipe[k] then
        why("cross_sell %s: already in the pipeline (%s)", k, pipe[k])
      else
        local b = best[k]
        suggest("cross_sell", rev * (T.cross_sell_share[k] or 0.05),
          "%s buys %s but no %s: propose %s (%s), which suits %s", client.name,
          #bought_list > 0 and table.concat(bought_list, ", ") or "nothing in the catalogue", k, b.name, b.id, client.industry)
      end
    end
  end

  table.sort(out, function(a, b)
    if a.value ~= b.value then return a.value > b.value end
    return a.text < b.text
  end)
  if #out > T.max_suggestions then
    why("%d suggestions; the %d largest kept", #out, T.max_suggestions)
    for i = #out, T.max_suggestions + 1, -1 do out[i] = nil end
  end
  if #out == 0 then why("nothing to suggest") end
  return out
end

return P
