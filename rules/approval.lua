-- rules/approval.lua — who approves a request (quyền hạn phê duyệt).
--
-- The result is the ordered chain of roles that must approve, e.g. {"team_lead", "director", "finance"}.
-- Each kind of request climbs a ladder: a role signs off alone up to its limit; above it the next
-- role joins. A margin under the floor brings in finance (and the CEO under the hard floor).
local T = {
  -- A ladder per kind of request: each role approves alone up to and including its `up_to`;
  -- the last role has no limit. Amounts in đồng; for discounts, the discount rate (0.10 = 10%).
  -- Thang phê duyệt theo loại đề xuất: mỗi cấp duyệt đến hạn mức của mình (bao gồm hạn mức),
  -- vượt hạn mức thì thêm cấp trên.
  scope_change = {                               -- thay đổi phạm vi hợp đồng
    {role = "team_lead", up_to = 50e6},          -- up to 50 triệu / đến 50 triệu
    {role = "director", up_to = 500e6},          -- up to 500 triệu / đến 500 triệu
    {role = "ceo"},                              -- above 500 triệu / trên 500 triệu
  },
  budget_overrun = {                             -- chi vượt ngân sách đã duyệt: luôn lên ban lãnh đạo
    {role = "director", up_to = 200e6},          -- always leadership; up to 200 triệu the director
    {role = "ceo"},                              -- above 200 triệu the CEO too
  },
  investment = {                                 -- đầu tư cho khách hàng (pilot, nhân sự riêng ...)
    {role = "director", up_to = 300e6},
    {role = "ceo"},
  },
  hiring = {                                     -- tuyển dụng / bổ sung nguồn lực (chi phí năm)
    {role = "director", up_to = 300e6},
    {role = "ceo"},
  },
  discount = {                                   -- chiết khấu (theo tỷ lệ)
    {role = "team_lead", up_to = 0.10},          -- up to 10% (see discount_team_lead by tier)
    {role = "director", up_to = 0.20},           -- up to 20%
    {role = "ceo"},                              -- above 20%
  },

  -- The team lead's discount limit by client tier (replaces the 10% above); no tier: "none"
  -- Hạn mức chiết khấu của trưởng nhóm theo hạng khách hàng
  discount_team_lead = {A = 0.12, B = 0.10, C = 0.07, D = 0.05, none = 0.05},

  -- Scope changes and discounts on accounts of these tiers always go to the director too
  -- Khách hạng A: giám đốc luôn duyệt thay đổi phạm vi và chiết khấu
  director_tiers = {A = true},

  -- Investment in an account that is not strategic is always the CEO's call
  -- Đầu tư cho khách không phải chiến lược: luôn cần CEO
  investment_ceo_unless_strategic = true,
  -- Investment money leaves the budget: finance always signs
  investment_finance = true,

  -- Margin after the change: under the floor finance signs; under the hard floor the CEO too
  -- Biên lợi nhuận sau thay đổi: dưới sàn cần tài chính duyệt; dưới sàn cứng cần thêm CEO
  margin_floor = 0.20,
  margin_hard_floor = 0.10,

  -- the order roles sign in / thứ tự ký duyệt
  order = {"team_lead", "director", "ceo", "finance"},
}

local P = {
  name = "approval",
  subject = "requests",
  description = "Approval chain from the request's kind, amount, margin after and the client's tier",
  thresholds = T,
}

local M = require "lib.money"
local book = require "lib.book"

local ROLE = {team_lead = "team lead", director = "director", ceo = "CEO", finance = "finance"}
local KIND = {scope_change = "scope change", discount = "discount", budget_overrun = "spend over the approved budget",
              investment = "investment in an account", hiring = "hiring / resource"}

-- The roles a ladder needs for a value: every role up to the first whose limit covers it.
local function climb(ladder, value, show, why)
  local roles = {}
  for i, step in ipairs(ladder) do
    roles[#roles + 1] = step.role
    if i == 1 then
      if step.up_to == nil then
        why("%s: approves every request of this kind", ROLE[step.role] or step.role)
      elseif value <= step.up_to then
        why("%s: approves up to %s, and %s is within it", ROLE[step.role] or step.role, show(step.up_to), show(value))
      else
        why("%s: signs first (approves up to %s alone)", ROLE[step.role] or step.role, show(step.up_to))
      end
    else
      local prev = ladder[i - 1]
      why("%s: %s is over the %s's %s", ROLE[step.role] or step.role, show(value), ROLE[prev.role] or prev.role, show(prev.up_to))
    end
    if step.up_to == nil or value <= step.up_to then break end
  end
  return roles
end

local function ordered(set)
  local chain = {}
  for _, r in ipairs(T.order) do if set[r] then chain[#chain + 1] = r end end
  for r in pairs(set) do
    local known = false
    for _, o in ipairs(T.order) do if o == r then known = true end end
    if not known then chain[#chain + 1] = r end
  end
  return chain
end

function P.decide(req, why)
  local client = book.client_of(req.subject)
  local tier = client and client.tier or nil
  local amount = req.amount or 0
  local margin = req.margin_after

  -- what the subject adds: a change request's delta and margin, a quote's discount and margin
  local cr = db.change_requests:get(req.subject)
  local quote = db.quotes:get(req.subject)
  local reduction = false
  if cr then
    if amount == 0 then amount = math.abs(cr.value_delta or 0) end
    if margin == nil then margin = cr.margin_after end
    reduction = (cr.value_delta or 0) < 0
  end
  if quote and margin == nil then margin = quote.margin end

  local team = not client and db.teams:get(req.subject)
  why("%s%s%s for %s%s%s", KIND[req.kind] or req.kind, reduction and " (a reduction)" or "",
    amount > 0 and (" of " .. M.fmt(amount)) or "",
    client and client.name or (team and ("team " .. team.name)) or req.subject,
    client and string.format(" (tier %s%s)", tier or "none", client.strategic and ", strategic" or "") or "",
    margin and (", margin after " .. M.pct(margin)) or "")

  local set = {}
  local function add(list) for _, r in ipairs(list) do set[r] = true end end
  local ladder = T[req.kind]

  if req.kind == "discount" then
    local rate
    if quote and (quote.discount or 0) > 0 then rate = quote.discount
    elseif quote and amount > 0 and (quote.total or 0) > 0 then rate = amount / quote.total end
    if rate then
      local steps = {}
      for i, s in ipairs(ladder) do steps[i] = {role = s.role, up_to = s.up_to} end
      if steps[1].role == "team_lead" then
        steps[1].up_to = T.discount_team_lead[tier or "none"] or steps[1].up_to
        why("discount %s of %s; the team lead's limit for tier %s is %s", M.pct(rate), quote.id, tier or "none",
          M.pct(steps[1].up_to))
      end
      add(climb(steps, rate, M.pct, why))
    else
      why("no discount rate (the subject is not a quote with a discount): routed by amount as a scope change")
      add(climb(T.scope_change, amount, M.fmt, why))
    end
  elseif ladder then
    add(climb(ladder, amount, M.fmt, why))
  else
    why("no rule for requests of kind %s: the director decides", tostring(req.kind))
    set.director = true
  end

  if (req.kind == "scope_change" or req.kind == "discount") and tier and T.director_tiers[tier] and not set.director then
    why("director: tier %s account, the director sees every %s", tier, KIND[req.kind])
    set.director = true
  end

  if req.kind == "investment" then
    if T.investment_ceo_unless_strategic and not (client and client.strategic) and not set.ceo then
      why("CEO: %s is not a strategic account", client and client.name or req.subject)
      set.ceo = true
    end
    if T.investment_finance then
      why("finance: an investment is paid from the agency's budget")
      set.finance = true
    end
  end

  if margin ~= nil then
    if margin < T.margin_floor then
      why("finance: margin after %s is under the %s floor", M.pct(margin), M.pct(T.margin_floor))
      set.finance = true
    end
    if margin < T.margin_hard_floor and not set.ceo then
      why("CEO: margin after %s is under the hard floor of %s", M.pct(margin), M.pct(T.margin_hard_floor))
      set.ceo = true
    end
  end

  local chain = ordered(set)
  why("chain: %s", table.concat(chain, " → "))
  return chain
end

return P
