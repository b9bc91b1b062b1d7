-- The account report: one client's quarter (or month, half, year) for the
-- business review with the client (kam report account CL-000002 --period
-- 2026-Q4 --lang vi). It is the page the account team hands over, so it is
-- built only from what the client may see: plans and their attainment,
-- campaign results, spend against the contract's budget lines, what the client
-- accepted, and the next steps.
--
-- NEVER on this page: our cost, margin or standard cost, quote cost/margin,
-- internal notes (activities.notes, invoices.note, review or request text),
-- risks, requests, alerts, spend flags, opportunity probabilities, project
-- lessons. Nothing below reads those fields, so nothing can leak them; keep it
-- so when adding a section (tests/e2e/report_account_team.sh checks it).
local page = require "lib.page"
local C = require "reports.common"

local MILESTONE_DAYS = 90      -- open milestones due within this many days are next steps
local PROPOSED = {"proposal", "negotiation"}   -- opportunities the client has been shown
-- Spend the client sees: everything booked except what was rejected (held
-- spend is still spend on their budget, waiting for a decision).
local SPENT = {"recorded", "held", "approved"}
-- The targets of a plan's `targets` map this page shows, in this order, and
-- how each is formatted. Any other key (margin above all) is internal and is
-- left out: an allow-list, so a new internal target cannot leak by default.
local METRICS = {"revenue", "spend", "growth", "csat", "roas", "new_services"}
local METRIC_KIND = {revenue = "money", spend = "money", growth = "pct", csat = "csat", roas = "x", new_services = "int"}
-- Metrics summed over time: a running period is judged against its elapsed share.
local CUMULATIVE = {revenue = true, spend = true, new_services = true}
-- The campaign results shown (project.results), in this order; others are left out.
local RESULTS = {"impressions", "clicks", "orders", "gmv", "roas", "cpa"}
local RESULT_KIND = {impressions = "int", clicks = "int", orders = "int", gmv = "money", roas = "num", cpa = "money"}

if not report.id then kam.usage("kam report account ID") end
local p = C.period("this_quarter")
local client = db.clients:get(report.id)
if not client then error(string.format("report account: %s: no such client", report.id), 0) end
local cid = client.id

local today = kam.today()
local upto = C.upto(p)                      -- the last day with figures
local running = upto < p.to
local year = p.name:sub(1, 4)

local P = page.new{
  kind = "account", lang = report.lang, labels = require "reports.labels",
  as_of = report.as_of, period = p, audience = "client",
}
local L = function(...) return P:L(...) end
P.title = L("acct_title", client.name)
P.subtitle = running and L("acct_running", P:date(upto)) or nil

------------------------------------------------------------ helpers

-- the share of a period elapsed on `upto` (1 once it has ended, 0 before it starts)
local function elapsed(q)
  if upto >= q.to then return 1 end
  if upto < q.from then return 0 end
  return (kam.days_between(q.from, upto) + 1) / (kam.days_between(q.from, q.to) + 1)
end

local function overlaps(q) return q.from <= p.to and q.to >= p.from end

-- the calendar months of the period (at least 3, so a one-month page still shows a trend)
local function months_of(q)
  local n = 0
  local m = q.from:sub(1, 7)
  while m <= q.to:sub(1, 7) do
    n = n + 1
    m = kam.date_add(m .. "-01", 1, "months"):sub(1, 7)
  end
  return C.months(q.to, math.max(n, 3))
end
local months = months_of(p)

-- a metric value as text in the page language
local function show(kind, v)
  if v == nil then return P:num(nil) end
  if kind == "money" then return P:money(v)
  elseif kind == "pct" then return P:pct(v)
  elseif kind == "csat" then return P:num(v, 2)
  elseif kind == "x" then return P:num(v, 2) .. "×"
  elseif kind == "int" then return P:num(v) end
  return P:num(v, 2)
end

-- an attainment cell, coloured: a finished period (or a rate) against 100 %,
-- a running total against the share of the period elapsed
local function attainment_cell(att, share)
  if att == nil then return {value = nil, text = P:pct(nil)} end
  local pace = share and share > 0 and att / share or att
  local class = pace >= 0.95 and "good" or (pace >= 0.85 and "warn" or "bad")
  return {value = att, text = P:pct(att), class = class}
end

local function by_id(a, b) return a.id < b.id end

------------------------------------------------------------ the book of this client

-- projects and contracts, read once (a client has a handful)
local projects = db.projects:where{client = cid}:list()
table.sort(projects, by_id)
local contracts = db.contracts:where{client = cid}:list()
table.sort(contracts, by_id)
local project_name = {}
for _, pr in ipairs(projects) do project_name[pr.id] = pr.name end

-- spend booked on the client's projects between two dates (the (project, date)
-- index carries amount and status, so no record is opened)
local function spend(from, to)
  local total = 0
  for _, pr in ipairs(projects) do
    total = total + db.spend:where{project = pr.id, date = {"between", from, to}, status = {"in", SPENT}}:sum("amount")
  end
  return total
end

local function project_spend(pid, to)
  return db.spend:where{project = pid, date = {"<=", to}, status = {"in", SPENT}}:sum("amount")
end

-- CSAT of a period: the account's kpis rows whose period lies in it, else the
-- client's latest survey score
local function csat(q)
  local names = {q.name}       -- the period itself, and the quarters inside it (kpis rows are quarterly)
  for i = 1, 4 do
    local qn = string.format("%s-Q%d", q.name:sub(1, 4), i)
    local qq = kam.period(qn)
    if qq.from >= q.from and qq.to <= q.to and qn ~= q.name then names[#names + 1] = qn end
  end
  local rows = db.kpis:where{scope = "account", subject = cid, metric = "csat", period = {"in", names}}
  if rows:count() > 0 then return rows:avg("actual") end
  return client.csat
end

-- ROAS over the client's projects running in a period: their GMV over their ad
-- spend (GMV / ROAS of each), from the results each project reports to date
local function roas(q)
  local gmv, ads = 0, 0
  for _, pr in ipairs(projects) do
    local r = pr.results
    if r and r.gmv and r.roas and r.roas > 0 and (pr.start or "") <= q.to and (pr["end"] or "9999") >= q.from then
      gmv, ads = gmv + r.gmv, ads + r.gmv / r.roas
    end
  end
  return C.ratio(gmv, ads)
end

-- projects (campaigns) started in a period, cancelled ones left out
local function started(q)
  local n = 0
  for _, pr in ipairs(projects) do
    if pr.start and pr.start >= q.from and pr.start <= q.to and pr.status ~= "cancelled" then n = n + 1 end
  end
  return n
end

-- the actual of a plan metric over a plan's period (up to `upto`)
local function actual(metric, q)
  local to = q.to < upto and q.to or upto
  if q.from > to then return nil end
  if metric == "revenue" then return C.revenue(q.from, to, cid)
  elseif metric == "spend" then return spend(q.from, to)
  elseif metric == "growth" then
    local yb = C.year_before(q)
    return C.growth(C.revenue(q.from, to, cid), C.revenue(yb.from, kam.date_add(to, -12, "months"), cid))
  elseif metric == "csat" then return csat(q)
  elseif metric == "roas" then return roas(q)
  elseif metric == "new_services" then return started({from = q.from, to = to}) end
end

------------------------------------------------------------ objectives and plans

-- the plans that cover this period: the year's JBP, the QBPs of the quarters it
-- touches, the MBPs of its months; drafts are not agreed with the client yet
local names = {year}
for i = 1, 4 do
  local q = kam.period(string.format("%s-Q%d", year, i))
  if overlaps(q) then names[#names + 1] = q.name end
end
for _, m in ipairs(months) do if overlaps(m) then names[#names + 1] = m.name end end
local KIND_RANK = {JBP = 1, QBP = 2, MBP = 3}
local plans = {}
for pl in db.plans:where{client = cid, period = {"in", names}}:each() do
  if pl.status ~= "draft" then plans[#plans + 1] = pl end
end
table.sort(plans, function(a, b)
  if a.kind ~= b.kind then return KIND_RANK[a.kind] < KIND_RANK[b.kind] end
  if a.period ~= b.period then return a.period < b.period end
  return a.id < b.id
end)

-- a plan's target of a metric: the money fields first, then the targets map
local function target_of(pl, metric)
  local t = pl.targets or {}
  if metric == "revenue" and (pl.target_revenue or 0) > 0 then return pl.target_revenue end
  if metric == "spend" and (pl.target_spend or 0) > 0 then return pl.target_spend end
  return t[metric]
end

local plan_rows = {}
local plan_target = {revenue = 0, spend = 0}   -- of the plans matching the page's own period
local own_kind = p.name:match("^%d%d%d%d$") and "JBP" or (p.name:match("%-%d%d$") and "MBP" or "QBP")
for _, pl in ipairs(plans) do
  local q = kam.period(pl.period)
  local share = elapsed(q)
  for _, metric in ipairs(METRICS) do
    local target = target_of(pl, metric)
    if target then
      local a = actual(metric, q)
      local att = C.ratio(a, target)
      plan_rows[#plan_rows + 1] = {
        plan = {value = pl.kind .. " " .. pl.period, text = L("acct_plan_name", L("acct_kind_" .. pl.kind), P:period_name(q))},
        metric = L("acct_metric_" .. metric),
        target = {value = target, text = show(METRIC_KIND[metric], target)},
        actual = {value = a, text = show(METRIC_KIND[metric], a)},
        attainment = attainment_cell(att, CUMULATIVE[metric] and share or nil),
        elapsed = share,
        status = L("acct_plan_" .. pl.status),
      }
      if pl.kind == own_kind and q.from >= p.from and q.to <= p.to and plan_target[metric] then
        plan_target[metric] = plan_target[metric] + target
      end
    end
  end
end

------------------------------------------------------------ headline figures

local prev = C.previous(p)
local function clip(q)   -- the same number of days of an earlier period as this one has so far
  local to = kam.date_add(q.from, kam.days_between(p.from, upto))
  return {from = q.from, to = (to > q.to or not running) and q.to or to}
end
local pw = clip(prev)
local rev = C.revenue(p.from, upto, cid)
local rev_prev = C.revenue(pw.from, pw.to, cid)
local spent = spend(p.from, upto)
local spent_prev = spend(pw.from, pw.to)

-- acceptances signed for the client's contracts or projects, for the months of the period
local m_from, m_to = p.from:sub(1, 7), p.to:sub(1, 7)
local accepted, seen = {}, {}
local function take(q)
  for a in q:each() do
    if not seen[a.id] then
      seen[a.id] = true
      accepted[#accepted + 1] = {id = a.id, period = a.period, project = a.project, line = a.contract_line,
        committed = a.committed or 0, delivered = a.delivered or 0, value = a.value or 0,
        signed_by = a.signed_by, date = a.date}
    end
  end
end
for _, k in ipairs(contracts) do
  take(db.acceptances:where{contract = k.id, period = {"between", m_from, m_to}, status = "signed"})
end
for _, pr in ipairs(projects) do
  take(db.acceptances:where{project = pr.id, period = {"between", m_from, m_to}, status = "signed"})
end
table.sort(accepted, function(a, b)
  if a.period ~= b.period then return a.period < b.period end
  return a.id < b.id
end)
local acc = {committed = 0, delivered = 0, value = 0}
for _, a in ipairs(accepted) do
  acc.committed, acc.delivered, acc.value = acc.committed + a.committed, acc.delivered + a.delivered, acc.value + a.value
end

local active = 0
for _, pr in ipairs(projects) do
  if pr.status ~= "cancelled" and (pr.start or "") <= p.to and (pr["end"] or "9999") >= p.from then active = active + 1 end
end

local prev_label = L("acct_vs", P:period_name(prev))
P:section{id = "summary", title = L("acct_sec_summary"),
  lead = L("acct_summary_lead", client.name, P:period_name(p))}
P:figures{
  {id = "revenue", label = L("acct_fig_revenue"), value = rev, kind = "money_short",
   delta = C.growth(rev, rev_prev), delta_label = prev_label},
  {id = "revenue_attainment", label = L("acct_fig_rev_attainment"), value = C.ratio(rev, plan_target.revenue), kind = "pct",
   note = plan_target.revenue > 0 and L("acct_of_plan", P:money_short(plan_target.revenue)) or L("acct_no_plan")},
  {id = "spend", label = L("acct_fig_spend"), value = spent, kind = "money_short",
   delta = C.growth(spent, spent_prev), delta_label = prev_label},
  {id = "spend_attainment", label = L("acct_fig_spend_attainment"), value = C.ratio(spent, plan_target.spend), kind = "pct",
   note = plan_target.spend > 0 and L("acct_of_plan", P:money_short(plan_target.spend)) or L("acct_no_plan")},
  {id = "accepted", label = L("acct_fig_accepted"), value = acc.value, kind = "money_short",
   note = L("acct_n_acceptances", #accepted)},
  {id = "campaigns", label = L("acct_fig_campaigns"), value = active, kind = "int"},
  {id = "csat", label = L("acct_fig_csat"), value = csat(p), kind = "num"},
}
P:define(L("acct_fig_revenue"), L("acct_def_revenue"))
P:define(L("acct_fig_spend"), L("acct_def_spend"))
if running then P:define(L("acct_running_term"), L("acct_def_running")) end

------------------------------------------------------------ objectives and KPIs

P:section{id = "objectives", title = L("acct_sec_objectives")}
local goals = {}
if client.objective then goals[#goals + 1] = L("acct_objective", client.objective) end
if client.kpis and #client.kpis > 0 then
  local k = {}
  for i, v in ipairs(client.kpis) do k[i] = tostring(v) end
  goals[#goals + 1] = L("acct_kpis", table.concat(k, ", "))
end
if client.timeline then goals[#goals + 1] = L("acct_timeline", client.timeline) end
if #goals > 0 then P:list{id = "objectives", title = L("acct_objectives_title"), items = goals} end
P:table{id = "plans", title = L("acct_plans_title"),
  columns = {
    {key = "plan", label = L("acct_col_plan"), kind = "text"},
    {key = "status", label = L("acct_col_plan_status"), kind = "text"},
    {key = "metric", label = L("acct_col_metric"), kind = "text"},
    {key = "target", label = L("acct_col_target"), kind = "num"},
    {key = "actual", label = L("acct_col_actual"), kind = "num"},
    {key = "attainment", label = L("acct_col_attainment"), kind = "pct"},
    {key = "elapsed", label = L("acct_col_elapsed"), kind = "pct"},
  },
  rows = plan_rows, empty = L("acct_no_plans")}
P:define(L("acct_col_attainment"), L("acct_def_attainment"))
P:define(L("acct_col_elapsed"), L("acct_def_elapsed"))
P:define(L("acct_metric_growth"), L("acct_def_growth"))
P:define(L("acct_metric_roas"), L("acct_def_roas"))
P:define(L("acct_metric_new_services"), L("acct_def_new_services"))

-- month by month against the monthly plans (MBP)
local mbp, month_names = {}, {}
for i, m in ipairs(months) do month_names[i] = m.name end
for pl in db.plans:where{client = cid, kind = "MBP", period = {"in", month_names}}:each() do
  if pl.status ~= "draft" then mbp[pl.period] = pl end
end
local cats, rev_m, rev_t, sp_m, sp_t = {}, {}, {}, {}, {}
for i, m in ipairs(months) do
  local to = m.to < upto and m.to or upto
  cats[i] = P:period_name(m)
  rev_m[i] = m.from <= to and C.revenue(m.from, to, cid) or 0
  sp_m[i] = m.from <= to and spend(m.from, to) or 0
  local pl = mbp[m.name]
  rev_t[i] = pl and target_of(pl, "revenue") or nil
  sp_t[i] = pl and target_of(pl, "spend") or nil
end
P:chart{id = "monthly_revenue", type = "bar", unit = "money", title = L("acct_chart_revenue"), categories = cats,
  series = {{key = "actual", name = L("acct_col_actual"), values = rev_m}, {key = "plan", name = L("acct_series_plan"), values = rev_t}}}
P:chart{id = "monthly_spend", type = "bar", unit = "money", title = L("acct_chart_spend"), categories = cats,
  series = {{key = "actual", name = L("acct_col_actual"), values = sp_m}, {key = "plan", name = L("acct_series_plan"), values = sp_t}}}

------------------------------------------------------------ campaigns

P:section{id = "campaigns", title = L("acct_sec_campaigns")}
local camp_rows = {}
for _, pr in ipairs(projects) do
  if (pr.start or "") <= p.to and (pr["end"] or "9999") >= p.from then
    local r = pr.results or {}
    local row = {
      name = pr.name, kind = L("acct_pkind_" .. (pr.kind or "campaign")),
      status = {value = pr.status, text = L("acct_pstatus_" .. pr.status),
                class = pr.status == "done" and "good" or (pr.status == "cancelled" and "bad" or nil)},
      progress = pr.progress, start = pr.start, ["end"] = pr["end"],
      budget = pr.budget, spent = project_spend(pr.id, upto),
    }
    for _, k in ipairs(RESULTS) do row[k] = r[k] end
    camp_rows[#camp_rows + 1] = row
  end
end
local camp_cols = {
  {key = "name", label = L("acct_col_campaign"), kind = "text"},
  {key = "kind", label = L("acct_col_kind"), kind = "text"},
  {key = "status", label = L("acct_col_status"), kind = "text"},
  {key = "progress", label = L("acct_col_progress"), kind = "pct"},
  {key = "start", label = L("acct_col_start"), kind = "date"},
  {key = "end", label = L("acct_col_end"), kind = "date"},
  {key = "budget", label = L("acct_col_budget"), kind = "money"},
  {key = "spent", label = L("acct_col_spent_to_date"), kind = "money"},
}
P:table{id = "campaigns", title = L("acct_campaigns_title"), columns = camp_cols, rows = camp_rows,
  empty = L("acct_no_campaigns")}
-- the results each campaign reports (to date), in a table of their own: the first is already wide
local res_cols = {{key = "name", label = L("acct_col_campaign"), kind = "text"}}
for _, k in ipairs(RESULTS) do
  res_cols[#res_cols + 1] = {key = k, label = L("acct_res_" .. k), kind = RESULT_KIND[k]}
end
P:table{id = "results", title = L("acct_results_title"), columns = res_cols, rows = camp_rows,
  empty = L("acct_no_campaigns"), note = L("acct_results_note")}

------------------------------------------------------------ spend against budget per contract line

P:section{id = "budget", title = L("acct_sec_budget"), lead = L("acct_budget_lead")}
local line_rows, line_total = {}, {budget = 0, period = 0, to_date = 0}
local line_names = {}     -- the lines, in contract order, for the chart below
local function line_label(line)
  local lab = require("reports.labels")["acct_line_" .. tostring(line)]
  return lab and L("acct_line_" .. line) or tostring(line)
end
for _, k in ipairs(contracts) do
  local kq = {from = k.start or "0000-01-01", to = k["end"] or "9999-12-31"}
  if k.status ~= "draft" and overlaps(kq) then
    local budgets, order = {}, {}
    for _, ln in ipairs(k.lines or {}) do
      if type(ln) == "table" and ln.line then
        if not budgets[ln.line] then order[#order + 1] = ln.line end
        budgets[ln.line] = (budgets[ln.line] or 0) + (ln.budget or 0)
      end
    end
    -- spend on a line the contract does not list is still shown, after the listed ones
    local extra = {}
    for line in pairs(db.spend:where{contract = k.id}:group("contract_line", "count")) do
      if not budgets[line] then extra[#extra + 1] = line end
    end
    table.sort(extra)
    for _, line in ipairs(extra) do order[#order + 1] = line end
    for _, line in ipairs(order) do
      local in_period = db.spend:where{contract = k.id, contract_line = line, status = {"in", SPENT},
        date = {"between", p.from, upto}}:sum("amount")
      local to_date = db.spend:where{contract = k.id, contract_line = line, status = {"in", SPENT},
        date = {"<=", upto}}:sum("amount")
      local b = budgets[line]
      local used = C.ratio(to_date, b)
      line_rows[#line_rows + 1] = {
        contract = k.title or k.id, line = line_label(line), budget = b,
        period = in_period, to_date = to_date, remaining = b and (b - to_date) or nil,
        used = used and {value = used, text = P:pct(used), class = used > 1 and "bad" or (used > 0.9 and "warn" or nil)} or nil,
      }
      line_total.budget = line_total.budget + (b or 0)
      line_total.period = line_total.period + in_period
      line_total.to_date = line_total.to_date + to_date
      if not line_names[line] then
        line_names[line] = true
        line_names[#line_names + 1] = line
      end
    end
  end
end
line_total.remaining = line_total.budget - line_total.to_date
line_total.used = C.ratio(line_total.to_date, line_total.budget)
P:table{id = "budget_lines", title = L("acct_budget_title"),
  columns = {
    {key = "contract", label = L("acct_col_contract"), kind = "text"},
    {key = "line", label = L("acct_col_line"), kind = "text"},
    {key = "budget", label = L("acct_col_budget"), kind = "money"},
    {key = "period", label = L("acct_col_spent_period"), kind = "money"},
    {key = "to_date", label = L("acct_col_spent_to_date"), kind = "money"},
    {key = "remaining", label = L("acct_col_remaining"), kind = "money"},
    {key = "used", label = L("acct_col_used"), kind = "pct"},
  },
  rows = line_rows, total = #line_rows > 0 and line_total or nil, empty = L("acct_no_contracts")}
P:define(L("acct_col_used"), L("acct_def_used"))

-- spend of each month by line (whichever contract it was booked on)
local by_month_line = {}
for _, pr in ipairs(projects) do
  local g = db.spend:where{project = pr.id, date = {"between", months[1].from, upto}, status = {"in", SPENT}}
    :group(function(s) return s.date:sub(1, 7) .. "|" .. s.contract_line end, "sum", "amount")
  for key, v in pairs(g) do by_month_line[key] = (by_month_line[key] or 0) + v end
end
for key in pairs(by_month_line) do      -- lines spent on outside the contracts above
  local line = key:match("|(.*)$")
  if not line_names[line] then line_names[line] = true; line_names[#line_names + 1] = line end
end
local stacked = {}
for i, line in ipairs(line_names) do
  local values = {}
  for j, m in ipairs(months) do values[j] = by_month_line[m.name .. "|" .. line] or 0 end
  stacked[i] = {key = line, name = line_label(line), values = values}
end
P:chart{id = "spend_by_line", type = "stacked", unit = "money", title = L("acct_chart_lines"), categories = cats,
  series = stacked}

------------------------------------------------------------ accepted work

P:section{id = "accepted", title = L("acct_sec_accepted"), lead = L("acct_accepted_lead")}
local acc_rows = {}
for i, a in ipairs(accepted) do
  acc_rows[i] = {
    period = {value = a.period, text = P:period_name(kam.period(a.period))}, project = a.project and project_name[a.project] or a.project,
    line = a.line and line_label(a.line) or L("acct_all_lines"),
    committed = a.committed, delivered = a.delivered,
    rate = C.ratio(a.delivered, a.committed), value = a.value,
    signed_by = a.signed_by, date = a.date,
  }
end
P:table{id = "acceptances", title = L("acct_accepted_title"),
  columns = {
    {key = "period", label = L("acct_col_month"), kind = "text"},
    {key = "project", label = L("acct_col_campaign"), kind = "text"},
    {key = "line", label = L("acct_col_line"), kind = "text"},
    {key = "committed", label = L("acct_col_committed"), kind = "num"},
    {key = "delivered", label = L("acct_col_delivered"), kind = "num"},
    {key = "rate", label = L("acct_col_rate"), kind = "pct"},
    {key = "value", label = L("acct_col_value"), kind = "money"},
    {key = "signed_by", label = L("acct_col_signed_by"), kind = "text"},
    {key = "date", label = L("acct_col_signed_on"), kind = "date"},
  },
  rows = acc_rows, empty = L("acct_no_acceptances"),
  total = #acc_rows > 0 and {committed = acc.committed, delivered = acc.delivered,
    rate = C.ratio(acc.delivered, acc.committed), value = acc.value} or nil}
P:define(L("acct_col_rate"), L("acct_def_rate"))

------------------------------------------------------------ next steps

P:section{id = "next", title = L("acct_sec_next")}
-- Only what the client already shares with us: the campaigns' milestones and plans. An
-- activity's next_step is the account manager's own to-do ("chase their accountant"), as
-- internal as its notes, so the page never reads activities.
local steps = {}
-- the open milestones of the campaigns, due soon
local horizon = kam.date_add(upto, MILESTONE_DAYS)
local ms = {}
for _, pr in ipairs(projects) do
  if pr.status == "planned" or pr.status == "running" then
    for _, m in ipairs(pr.milestones or {}) do
      if type(m) == "table" and not m.done and m.date and m.date <= horizon then
        ms[#ms + 1] = {date = m.date, text = L("acct_step_milestone", tostring(m.name or ""), pr.name, P:date(m.date))}
      end
    end
  end
end
table.sort(ms, function(a, b) if a.date ~= b.date then return a.date < b.date end return a.text < b.text end)
for _, m in ipairs(ms) do steps[#steps + 1] = m.text end
-- campaigns planned to start after the period
for _, pr in ipairs(projects) do
  if pr.status == "planned" and (pr.start or "") > p.to then
    steps[#steps + 1] = L("acct_step_planned", pr.name, P:date(pr.start))
  end
end
P:list{id = "next_steps", title = L("acct_next_title"), items = steps}
if #steps == 0 then P:note(L("acct_no_steps")) end

-- what we have proposed and are discussing with the client (value and close date; never the
-- probability we put on it)
local service_name = {}
local function services_text(list)
  local t = {}
  for i, sid in ipairs(list or {}) do
    if service_name[sid] == nil then
      local s = db.services:get(sid)
      service_name[sid] = s and s.name or tostring(sid)
    end
    t[i] = service_name[sid]
  end
  return table.concat(t, ", ")
end
local prop_rows = {}
for o in db.opportunities:where{client = cid, stage = {"in", PROPOSED}}:sort("expected_close"):each() do
  prop_rows[#prop_rows + 1] = {id = o.id, kind = L("acct_okind_" .. o.kind), services = services_text(o.services),
    value = o.value, stage = L("acct_stage_" .. o.stage), close = o.expected_close}
end
table.sort(prop_rows, function(a, b)
  if (a.close or "") ~= (b.close or "") then return (a.close or "") < (b.close or "") end
  return a.id < b.id
end)
P:table{id = "proposals", title = L("acct_proposals_title"),
  columns = {
    {key = "kind", label = L("acct_col_kind"), kind = "text"},
    {key = "services", label = L("acct_col_services"), kind = "text"},
    {key = "stage", label = L("acct_col_stage"), kind = "text"},
    {key = "value", label = L("acct_col_value"), kind = "money"},
    {key = "close", label = L("acct_col_close"), kind = "date"},
  },
  rows = prop_rows, empty = L("acct_no_proposals")}

P:data("client", {id = cid, name = client.name})
return P:render(report.format)
