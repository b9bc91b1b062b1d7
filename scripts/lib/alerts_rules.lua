-- scripts/lib/alerts_rules.lua — what the nightly run flags (cảnh báo), and who must act on it.
--
-- Each rule returns the conditions that hold now, as a list of
--   {key, kind, subject, client, owner, severity, message}
-- where `key` names the condition ("invoice_overdue:INV-000123"): scripts/alerts.lua raises an
-- alert for a key with no open alert, refreshes the one that is open, and resolves an open alert
-- whose key no rule returns any more. The rules only read; the numbers a manager changes are in
-- the table below (same convention as rules/README.md: money in whole đồng, shares as fractions,
-- days as whole days; ladders `up_to` include their number, bands are [min, max)).
local T = {
  -- Invoices unpaid more than this many days after their due date (issued, overdue or disputed,
  -- with something still owed) / Hóa đơn quá hạn hơn N ngày
  overdue_days = 30,
  -- Severity by whole days past due / Mức độ theo số ngày quá hạn
  overdue_age = {
    {severity = "medium", up_to = 60},
    {severity = "high", up_to = 90},
    {severity = "critical"},
  },
  -- Still owed (with tax) from this amount: one step more severe / Từ số tiền này: tăng một mức
  overdue_large = 5e8,

  -- Spend over budget, on an active contract's line (spend charged to the line against the
  -- line's budget on the contract) and on a running project (its spend against its budget).
  -- Spend that is held or rejected is not counted; budget_overrun requests that were approved
  -- add to the budget (a request about a contract covers its lines and projects, one about a
  -- spend row its line). Severity by the overrun as a share of the budget.
  -- Chi vượt ngân sách: theo tỷ lệ vượt so với ngân sách
  overrun = {
    {severity = "medium", up_to = 0.05},
    {severity = "high", up_to = 0.10},
    {severity = "critical"},
  },

  -- Margin of an active contract (the projects under it: invoices name a contract, not a
  -- project) over the last `margin_months` complete months of work, against the floor of
  -- rules/pricing.lua (its lowest category floor: a blended margin under it is under the floor
  -- of every category). Invoices go out `billing_lag_months` after the work they bill, so the
  -- revenue of a work month is what was invoiced that many months later. Severity by how far
  -- under the floor (a ladder on floor - margin); a margin under zero is critical.
  -- Biên lợi nhuận dưới sàn (sàn lấy từ rules/pricing.lua)
  margin_months = 6,
  billing_lag_months = 1,
  margin_min_months = 3,        -- at least this many months of work in the window, else not judged
  margin_gap = {
    {severity = "low", up_to = 0.05},
    {severity = "medium", up_to = 0.10},
    {severity = "high"},
  },

  -- Active clients with no activity (meeting, call, QBR, e-mail ...) for this many days or more
  -- Khách hàng đang hoạt động không có liên hệ từ N ngày
  no_contact_days = 45,
  no_contact = {
    {severity = "medium", min = 45, max = 60},
    {severity = "high", min = 60, max = 90},
    {severity = "critical", min = 90},
  },
  never_contacted_severity = "high",

  -- A pending request waiting more than this many days at one step of its approval chain is
  -- escalated to the manager of that step's approver (the request itself is never changed)
  -- Đề xuất chờ duyệt quá N ngày ở một bước: chuyển cấp cho quản lý của người duyệt
  request_wait_days = 5,
  request_wait = {
    {severity = "medium", up_to = 10},
    {severity = "high", up_to = 20},
    {severity = "critical"},
  },

  -- Disputed reconciliations: severity by the difference (either way) / Đối soát đang tranh chấp
  reconciliation_difference = {
    {severity = "medium", up_to = 5e7},
    {severity = "high", up_to = 2e8},
    {severity = "critical"},
  },
  -- who acts: "finance" (the lead of the Finance team) or "client" (the client's owner)
  reconciliation_owner = "finance",
}

local bands = require "lib.bands"
local book = require "lib.book"
local PRICING = require("pricing").thresholds

local M = {thresholds = T}

local SEVERITY = {"low", "medium", "high", "critical"}
local RANK = {low = 1, medium = 2, high = 3, critical = 4}
local function bump(sev) return SEVERITY[math.min(#SEVERITY, (RANK[sev] or 2) + 1)] end
local function sev_of(list, v) local b = bands.find(list, v) return b and b.severity or "medium" end

local money = kam.fmt.money
local function pct(r) return kam.fmt.pct(r) end

-- caches for one run of the rules
local client_cache, staff_cache = {}, {}
local function client(id)
  if not id then return nil end
  local c = client_cache[id]
  if c == nil then c = db.clients:get(id) or false; client_cache[id] = c end
  return c or nil
end
local function staff(id)
  if not id then return nil end
  local s = staff_cache[id]
  if s == nil then s = db.staff:get(id) or false; staff_cache[id] = s end
  return s or nil
end
local function cname(c) return c and c.name or "?" end
local function sname(id) local s = staff(id) return s and s.name or (id or "nobody") end

local function cond(kind, id, t)
  t.kind, t.key = kind, kind .. ":" .. id
  t.subject = t.subject or id
  return t
end

------------------------------------------------------------------ invoice_overdue
-- Unpaid invoices more than T.overdue_days past due; owner: the client's owner.
function M.invoice_overdue()
  local out = {}
  local today = kam.today()
  local before = kam.date_add(today, -T.overdue_days)          -- due before this: more than N days
  for inv in db.invoices:where{status = {"in", {"issued", "overdue", "disputed"}}, due = {"<", before}}:each() do
    local owed = inv.amount + (inv.tax or 0) - db.payments:where{invoice = inv.id}:sum("amount")
    if owed > 0 then
      local days = kam.days_between(inv.due, today)
      local sev = sev_of(T.overdue_age, days)
      if owed >= T.overdue_large then sev = bump(sev) end
      local c = client(inv.client)
      out[#out + 1] = cond("invoice_overdue", inv.id, {
        client = inv.client, owner = c and c.owner, severity = sev,
        message = string.format("%s of %s: %s still owed, %d days past due (due %s)%s", inv.id, cname(c), money(owed), days,
          inv.due, inv.status == "disputed" and "; the invoice is disputed" or ""),
      })
    end
  end
  return out
end

------------------------------------------------------------------ spend_over_budget
local COUNTED = {"recorded", "held", "approved"}   -- what rules/spend_control.lua counts against a line

-- approved budget_overrun requests: by contract, by project, by "contract/line"
local function allowances()
  local by = {}
  for r in db.requests:where{kind = "budget_overrun", status = "approved"}:each() do
    local key = r.subject
    local sp = db.spend:get(r.subject)
    if sp then key = (sp.contract or "?") .. "/" .. sp.contract_line end
    by[key] = (by[key] or 0) + (r.amount or 0)
  end
  return by
end

local function overrun(out, id, subject, client_id, owner, what, spent, budget, extra)
  local allowed = budget + extra
  if spent <= allowed then return end
  local over = spent - allowed
  local share = allowed > 0 and over / allowed or 1
  local c = client(client_id)
  out[#out + 1] = cond("spend_over_budget", id, {
    subject = subject, client = client_id, owner = owner or (c and c.owner), severity = sev_of(T.overrun, share),
    message = string.format("%s of %s: spent %s against a budget of %s%s, %s over (%s)", what, cname(c), money(spent),
      money(budget), extra > 0 and (" + " .. money(extra) .. " approved over it") or "", money(over), pct(share)),
  })
end

-- Contract lines of active contracts, and running projects, whose spend is over the budget.
function M.spend_over_budget()
  local out = {}
  local extra = allowances()
  -- what is counted, by contract and line and by project, in two passes over the spend
  local counted = db.spend:where{status = {"in", COUNTED}}
  local by_line, by_project = counted:group({"contract", "contract_line"}, "sum", "amount"), counted:group("project", "sum", "amount")
  for k in db.contracts:where{status = "active"}:each() do
    local lines = by_line[k.id] or {}
    for _, l in ipairs(k.lines or {}) do
      if l.line and tonumber(l.budget) then
        local spent = lines[l.line] or 0
        overrun(out, k.id .. "/" .. l.line, k.id, k.client, nil, string.format("%s line %s", k.id, l.line), spent,
          math.tointeger(l.budget) or l.budget, (extra[k.id] or 0) + (extra[k.id .. "/" .. l.line] or 0))
      end
    end
  end
  for p in db.projects:where{status = "running"}:each() do
    if (p.budget or 0) > 0 then
      local spent = by_project[p.id] or 0
      overrun(out, p.id, p.id, p.client, p.owner, string.format("%s %s", p.id, p.name), spent, p.budget,
        (extra[p.id] or 0) + (p.contract and extra[p.contract] or 0))
    end
  end
  return out
end

------------------------------------------------------------------ margin_below_floor
-- The floor: the lowest category floor of rules/pricing.lua.
function M.margin_floor()
  local f
  for _, v in pairs(PRICING.floors) do if not f or v < f then f = v end end
  return f
end

local function month(k) return kam.period(kam.months_ago(k):sub(1, 7)) end

-- Each month's cost and revenue of every contract at once: one pass over the month's spend
-- and one over its invoices, grouped by contract, instead of two queries per contract and month.
local function month_sums(lag)
  local months = {}
  for i = T.margin_months + lag, 1 + lag, -1 do          -- complete work months, oldest first
    local w, b = month(i), month(i - lag)                -- the work month, the month it is billed
    months[#months + 1] = {
      work = w,
      cost = db.spend:where{date = {"between", w.from, w.to}, status = {"in", COUNTED}}:group("contract", "sum", "amount"),
      rev = db.invoices:where{issued = {"between", b.from, b.to}, status = {"~=", "draft"}}:group("contract", "sum", "amount"),
    }
  end
  return months
end

function M.margin_below_floor()
  local out = {}
  local floor = M.margin_floor()
  local by_month = month_sums(T.billing_lag_months)
  for k in db.contracts:where{status = "active"}:each() do
    local rev, cost, months = 0, 0, 0
    local first, last
    for _, m in ipairs(by_month) do
      local w = m.work
      if not k.start or w.to >= k.start then
        months = months + 1
        first, last = first or w.name, w.name
        cost = cost + (m.cost[k.id] or 0)
        rev = rev + (m.rev[k.id] or 0)
      end
    end
    if months >= T.margin_min_months and rev > 0 then
      local m = (rev - cost) / rev
      if m < floor then
        local sev = m < 0 and "critical" or sev_of(T.margin_gap, floor - m)
        local c = client(k.client)
        local names = {}
        for p in db.projects:where{contract = k.id}:each() do names[#names + 1] = p.id end
        out[#out + 1] = cond("margin_below_floor", k.id, {
          client = k.client, owner = c and c.owner, severity = sev,
          message = string.format("%s of %s (%s): margin %s over %s–%s (revenue %s, cost %s), under the %s floor", k.id, cname(c),
            #names > 0 and table.concat(names, ", ") or "no project", pct(m), first, last, money(rev), money(cost), pct(floor)),
        })
      end
    end
  end
  return out
end

------------------------------------------------------------------ no_contact
function M.no_contact()
  local out = {}
  for c in db.clients:where{status = "active"}:each() do
    local last = book.last_contact(c)
    local days = last and kam.days_between(last, kam.today())
    if not last or days >= T.no_contact_days then
      out[#out + 1] = cond("no_contact", c.id, {
        client = c.id, owner = c.owner,
        severity = last and sev_of(T.no_contact, days) or T.never_contacted_severity,
        message = last and string.format("%s: no contact for %d days (last %s)", c.name, days, last)
          or string.format("%s: no contact on record", c.name),
      })
    end
  end
  return out
end

------------------------------------------------------------------ request_waiting
-- The person who holds a role for a request: up the requester's managers first, then the
-- lead of the team of that role's kind, then the most senior active staff member in the role.
local TEAM_OF_ROLE = {finance = "Finance", team_lead = "Account", director = "Leadership", ceo = "Leadership"}
local function holder(role, requester)
  local s, seen = staff(requester), {}
  while s and s.manager and not seen[s.manager] do
    seen[s.manager] = true
    s = staff(s.manager)
    if s and s.role == role and s.status ~= "left" then return s end
  end
  local kind = TEAM_OF_ROLE[role]
  if kind then
    for t in db.teams:where{kind = kind}:each() do
      local l = staff(t.lead)
      if l and l.role == role and l.status ~= "left" then return l end
    end
  end
  local best
  for x in db.staff:where{role = role, status = "active"}:each() do
    local m = staff(x.manager)
    if not (m and m.role == role) then return x end
    best = best or x
  end
  return best
end

-- The chain of a request: its own, else what rules/approval.lua decides for it now.
local function chain_of(req)
  local chain = req.chain or {}
  if #chain > 0 then return chain, "its chain" end
  local ok, P = pcall(require, "approval")
  if not ok or type(P) ~= "table" or type(P.decide) ~= "function" then return {}, "no chain" end
  local ok2, res = pcall(P.decide, req, function() end)
  if ok2 and type(res) == "table" then return res, "the approval policy" end
  return {}, "no chain"
end

local KIND = {scope_change = "scope change", discount = "discount", budget_overrun = "budget overrun",
              investment = "investment", hiring = "hiring"}

function M.request_waiting()
  local out = {}
  local today = kam.today()
  for req in db.requests:where{status = "pending"}:each() do
    local chain = chain_of(req)
    -- approvals given, in order: the step waiting is the first of the chain not approved
    local done, since = 0, req.raised or (req.created_at or ""):sub(1, 10)
    for _, a in ipairs(req.approvals or {}) do
      if a.decision == "approved" then done = done + 1 end
      if a.date and a.date > since then since = a.date end
    end
    local role = chain[done + 1]
    local days = since ~= "" and kam.days_between(since, today) or 0
    if role and days > T.request_wait_days then
      local who = holder(role, req.requested_by)
      local to = who and (who.manager and staff(who.manager) or who)
      local c = book.client_of(req.subject)
      local team = not c and db.teams:get(req.subject)
      out[#out + 1] = cond("request_waiting", req.id .. ":" .. (done + 1), {
        subject = req.id, client = c and c.id, owner = to and to.id, severity = sev_of(T.request_wait, days),
        message = string.format("%s (%s%s, %s) has waited %d days at step %d (%s: %s): escalated to %s; the request itself is unchanged",
          req.id, KIND[req.kind] or req.kind, (req.amount or 0) > 0 and (" of " .. money(req.amount)) or "",
          c and c.name or (team and ("team " .. team.name)) or req.subject, days, done + 1, role, who and who.name or "nobody holds the role",
          to and to.name or "nobody"),
      })
    end
  end
  return out
end

------------------------------------------------------------------ reconciliation_disputed
local function finance_lead()
  for t in db.teams:where{kind = "Finance"}:each() do if t.lead then return t.lead end end
  local f = db.staff:where{role = "finance", status = "active"}:first()
  return f and f.id
end

function M.reconciliation_disputed()
  local out = {}
  local fin = T.reconciliation_owner == "finance" and finance_lead() or nil
  for r in db.reconciliations:where{status = "disputed"}:each() do
    local c = client(r.client)
    local diff = r.difference or ((r.ours or 0) - (r.theirs or 0))
    out[#out + 1] = cond("reconciliation_disputed", r.id, {
      client = r.client, owner = fin or (c and c.owner), severity = sev_of(T.reconciliation_difference, math.abs(diff)),
      message = string.format("%s of %s, %s: ours %s, theirs %s (%s), difference %s: disputed", r.id, cname(c), r.period,
        money(r.ours or 0), money(r.theirs or 0), r.source or "no source", money(diff)),
    })
  end
  return out
end

------------------------------------------------------------------ all of them
M.kinds = {"invoice_overdue", "spend_over_budget", "margin_below_floor", "no_contact", "request_waiting",
           "reconciliation_disputed"}

-- Every condition that holds now, rule by rule in the order above.
function M.current()
  client_cache, staff_cache = {}, {}
  local all = {}
  for _, kind in ipairs(M.kinds) do
    for _, c in ipairs(M[kind]()) do all[#all + 1] = c end
  end
  return all
end

M.severity_rank = RANK
return M
