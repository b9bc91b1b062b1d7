-- The executive report: the book for the board, one period against the one
-- before and the same period a year before (kam report executive --period
-- 2026-Q4 --lang vi). Every figure is defined in the page's footnote; the
-- figures themselves are computed here, where a manager can read how.
--
-- A period still running (this quarter) is compared like for like: its days
-- so far against the same number of days of the periods it is compared with.
local page = require "lib.page"
local C = require "reports.common"

local TOP = 10             -- accounts shown by name; the rest are one row
local RENEWAL_DAYS = 120   -- contracts ending within this many days
local RENEWALS_SHOWN = 20  -- the largest of them by name
local MOVES_SHOWN = 15     -- tier moves listed one by one
local RISKS_SHOWN = 15
local REQUESTS_SHOWN = 12
local OWNERS_SHOWN = 8     -- receivables: owners by name; the rest are one bar
local ADVISED = 30         -- recommend.lua asks about the largest accounts ...
local ADVISED_AT_RISK = 20 -- ... and those with an open high or critical risk
local ACTIONS_SHOWN = 10
local OPEN_STAGES = {"lead", "qualified", "proposal", "negotiation"}
local SEVERITY_RANK = {critical = 1, high = 2, medium = 3, low = 4}
local BUCKETS = {"not_due", "d1_30", "d31_60", "d61_90", "d90_plus"}

local p = C.period("this_quarter")
local today = kam.today()
local upto = C.upto(p)
local running = upto < p.to
-- charts over months end with the last complete one: a month just begun is not a fall
local last_month = kam.date_add(kam.date_add(upto, 1):sub(1, 7) .. "-01", -1)
local span = kam.days_between(p.from, upto) -- days after the first: 0 on the first day

-- the window of an earlier period compared with this one: as many days as this one has so far
local function window(q)
  local to = kam.date_add(q.from, span)
  if to > q.to or not running then to = q.to end
  return {name = q.name, from = q.from, to = to}
end
local cur = {name = p.name, from = p.from, to = upto}
local prev = window(C.previous(p))
local yb = window(C.year_before(p))

local P = page.new{
  kind = "executive", lang = report.lang, labels = require "reports.labels",
  title = nil, as_of = report.as_of, period = p, audience = "internal",
}
local L = function(...) return P:L(...) end
P.title = L("exec_title", kam.config.agency and kam.config.agency.name or "kam")
P.subtitle = running and L("exec_running", P:date(upto)) or nil

-- records read once each: a client is named in several sections, an owner in many rows
local function reader(coll)
  local seen = {}
  return function(id)
    if not id then return nil end
    local e = seen[id]
    if e == nil then
      e = db[coll]:get(id) or false
      seen[id] = e
    end
    return e or nil
  end
end
local client_of, staff_of = reader("clients"), reader("staff")
local function client_name(id)
  if not id then return L("exec_no_client") end
  local c = client_of(id)
  return c and c.name or id
end
local function staff_name(id)
  if not id then return L("exec_no_owner") end
  local s = staff_of(id)
  return s and s.name or id
end
-- a month on a chart's axis, short enough for twelve side by side: "11/25"
local function month_label(name)
  local y, m = name:match("^%d%d(%d%d)%-(%d%d)$")
  return m .. "/" .. y
end
-- a role an approval waits on, by its label; a role the labels do not name, as it is
local function role_name(role)
  local ok, text = pcall(L, "exec_role_" .. role)
  return ok and text or role
end
local function sorted_keys(t, cmp)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, cmp)
  return keys
end

------------------------------------------------------------ revenue and margin
-- each window's revenue by client, read once: the totals, retention and the accounts come from them
local by_cur, by_prev, by_yb = C.revenue_by_client(cur.from, cur.to), C.revenue_by_client(prev.from, prev.to),
                               C.revenue_by_client(yb.from, yb.to)
local function total(by)
  local t = 0
  for _, v in pairs(by) do t = t + v end
  return t
end
local rev = {cur = total(by_cur), prev = total(by_prev), yb = total(by_yb)}
local cost = {cur = C.cost(cur.from, cur.to), prev = C.cost(prev.from, prev.to), yb = C.cost(yb.from, yb.to)}
-- no spend booked in a window: its margin is unknown, not 100 %
local function margin(k) return cost[k] > 0 and C.ratio(rev[k] - cost[k], rev[k]) or nil end
local gm = {cur = margin("cur"), prev = margin("prev"), yb = margin("yb")}

------------------------------------------------------------ retention
-- by client: what they were billed in the base window and in this one
local function retention(base)
  local r = {base = 0, expansion = 0, contraction = 0, churn = 0, new = 0, now = 0, churned = 0, won = 0}
  for id, b in pairs(base) do
    local n = by_cur[id] or 0
    r.base = r.base + b
    if n == 0 then r.churn = r.churn + b; r.churned = r.churned + 1
    elseif n > b then r.expansion = r.expansion + (n - b)
    else r.contraction = r.contraction + (b - n) end
  end
  for id, n in pairs(by_cur) do
    r.now = r.now + n
    if not base[id] or base[id] == 0 then r.new = r.new + n; r.won = r.won + 1 end
  end
  r.grr = C.ratio(r.base - r.contraction - r.churn, r.base)
  r.nrr = C.ratio(r.base + r.expansion - r.contraction - r.churn, r.base)
  return r
end
local ret_yb = retention(by_yb)
local ret_prev = retention(by_prev)
-- the clients billed in the period, largest first (the top accounts, and whom recommend.lua is asked about)
local ranked = sorted_keys(by_cur, function(a, b)
  if by_cur[a] ~= by_cur[b] then return by_cur[a] > by_cur[b] end
  return a < b
end)

------------------------------------------------------------ pipeline
local plan_kind = p.name:match("Q%d$") and "QBP" or (p.name:match("^%d%d%d%d%-%d%d$") and "MBP" or (p.name:match("^%d%d%d%d$") and "JBP"))
local target = 0
if plan_kind then
  target = db.plans:where{kind = plan_kind, period = p.name, status = {"in", {"signed", "closed"}}}:sum("target_revenue")
end
local pipe = {by_stage = {}, value = 0, weighted = 0, closing = 0, n = 0}
for _, st in ipairs(OPEN_STAGES) do pipe.by_stage[st] = {n = 0, value = 0, weighted = 0} end
for o in db.opportunities:where{stage = {"in", OPEN_STAGES}}:each() do
  local s = pipe.by_stage[o.stage]
  local w = math.floor(o.value * (o.probability or 0) + 0.5)
  s.n, s.value, s.weighted = s.n + 1, s.value + o.value, s.weighted + w
  pipe.n, pipe.value, pipe.weighted = pipe.n + 1, pipe.value + o.value, pipe.weighted + w
  if o.expected_close and o.expected_close <= p.to then pipe.closing = pipe.closing + w end
end
local gap = math.max(0, target - rev.cur)
pipe.forecast = rev.cur + pipe.closing
pipe.coverage = C.ratio(pipe.weighted, gap)

------------------------------------------------------------ receivables
local function bucket(days)
  if days <= 0 then return "not_due" elseif days <= 30 then return "d1_30" elseif days <= 60 then return "d31_60"
  elseif days <= 90 then return "d61_90" end
  return "d90_plus"
end
local function owner_of(client)
  local c = client_of(client)
  return c and c.owner
end
local recv = {by_owner = {}, total = 0, overdue = 0, n = 0}
for _, b in ipairs(BUCKETS) do recv[b] = 0 end
for inv in db.invoices:where{status = {"in", C.UNPAID}}:each() do
  local key = owner_of(inv.client) or "(none)"
  local o = recv.by_owner[key]
  if not o then
    o = {total = 0}
    for _, b in ipairs(BUCKETS) do o[b] = 0 end
    recv.by_owner[key] = o
  end
  local b = bucket(kam.days_between(inv.due, today))
  o[b] = o[b] + inv.amount
  o.total = o.total + inv.amount
  recv[b] = recv[b] + inv.amount
  recv.total = recv.total + inv.amount
  recv.n = recv.n + 1
  if b ~= "not_due" then recv.overdue = recv.overdue + inv.amount end
end

------------------------------------------------------------ approvals
local pending = db.requests:where{status = "pending"}:list()
table.sort(pending, function(a, b)
  if (a.raised or "") ~= (b.raised or "") then return (a.raised or "") < (b.raised or "") end
  return a.id < b.id
end)
local pending_amount = 0
for _, r in ipairs(pending) do pending_amount = pending_amount + (r.amount or 0) end

------------------------------------------------------------ the page
P:section{id = "headline", title = L("exec_headline")}
P:figures{
  {id = "revenue", label = L("exec_revenue"), value = rev.cur, kind = "money_short",
   delta = C.growth(rev.cur, rev.prev), delta_label = L("exec_vs", P:period_name(prev))},
  {id = "revenue_yoy", label = L("exec_revenue_yoy"), value = C.growth(rev.cur, rev.yb), kind = "signed_pct",
   note = L("exec_vs", P:period_name(yb))},
  {id = "gross_margin", label = L("exec_gross_margin"), value = gm.cur, kind = "pct",
   delta = gm.cur and gm.prev and (gm.cur - gm.prev) or nil, delta_label = L("exec_vs", P:period_name(prev))},
  {id = "nrr", label = L("exec_nrr"), value = ret_yb.nrr, kind = "pct", note = L("exec_vs", P:period_name(yb))},
  {id = "grr", label = L("exec_grr"), value = ret_yb.grr, kind = "pct", note = L("exec_vs", P:period_name(yb))},
  {id = "pipeline_weighted", label = L("exec_pipeline_weighted"), value = pipe.weighted, kind = "money_short"},
  {id = "coverage", label = L("exec_coverage"), value = pipe.coverage, kind = "pct",
   note = L("exec_coverage_note", P:money_short(gap))},
  {id = "overdue", label = L("exec_overdue"), value = recv.overdue, kind = "money_short"},
  {id = "pending_requests", label = L("exec_pending_requests"), value = #pending, kind = "int"},
}

-- revenue and margin, three windows side by side
P:section{id = "revenue", title = L("exec_sec_revenue")}
P:table{id = "revenue_margin", title = L("exec_revenue_margin"),
  columns = {{key = "window", label = L("period"), kind = "text"}, {key = "from", label = L("exec_from"), kind = "date"},
             {key = "to", label = L("exec_to"), kind = "date"}, {key = "revenue", label = L("exec_revenue"), kind = "money"},
             {key = "cost", label = L("exec_cost"), kind = "money"}, {key = "gross_profit", label = L("exec_gross_profit"), kind = "money"},
             {key = "margin", label = L("exec_gross_margin"), kind = "pct"}},
  rows = {
    {window = P:period_name(cur), from = cur.from, to = cur.to, revenue = rev.cur, cost = cost.cur, gross_profit = rev.cur - cost.cur, margin = gm.cur},
    {window = P:period_name(prev), from = prev.from, to = prev.to, revenue = rev.prev, cost = cost.prev, gross_profit = rev.prev - cost.prev, margin = gm.prev},
    {window = P:period_name(yb), from = yb.from, to = yb.to, revenue = rev.yb, cost = cost.yb, gross_profit = rev.yb - cost.yb, margin = gm.yb},
  }}
do -- twelve months to the period's end, against the same months a year before
  local months = C.months(last_month, 12)
  local this_year = C.monthly_revenue(last_month, 12)
  local last_year = C.monthly_revenue(kam.date_add(last_month:sub(1, 7) .. "-01", -12, "months"), 12)
  local cats = {}
  for i, m in ipairs(months) do cats[i] = month_label(m.name) end
  P:chart{id = "revenue_months", type = "line", unit = "money", title = L("exec_revenue_months"), categories = cats,
    series = {{key = "revenue", name = L("exec_series_12m"), values = this_year},
              {key = "revenue_year_before", name = L("exec_series_12m_before"), values = last_year}}}
end

-- retention
P:section{id = "retention", title = L("exec_sec_retention"), lead = L("exec_retention_lead", P:period_name(yb))}
P:chart{id = "retention_waterfall", type = "waterfall", unit = "money", title = L("exec_waterfall", P:period_name(yb), P:period_name(cur)),
  categories = {P:period_name(yb), L("exec_churn"), L("exec_contraction"), L("exec_expansion"), L("exec_new"), P:period_name(cur)},
  series = {{key = "revenue", name = L("exec_revenue"),
             values = {ret_yb.base, -ret_yb.churn, -ret_yb.contraction, ret_yb.expansion, ret_yb.new, ret_yb.now}}},
  totals = {[1] = true, [6] = true}}
local function ret_row(key, label, kind, a, b) return {key = key, measure = label, yb = a[key], prev = b[key], kind = kind} end
do
  local rows = {}
  for _, m in ipairs{{"base", "exec_base", "money"}, {"expansion", "exec_expansion", "money"}, {"contraction", "exec_contraction", "money"},
                     {"churn", "exec_churn", "money"}, {"new", "exec_new", "money"}, {"now", "exec_revenue", "money"},
                     {"grr", "exec_grr", "pct"}, {"nrr", "exec_nrr", "pct"}, {"churned", "exec_churned_clients", "int"},
                     {"won", "exec_new_clients", "int"}} do
    local r = ret_row(m[1], L(m[2]), m[3], ret_yb, ret_prev)
    if m[3] ~= "money" then -- one column kind per table: ratios and counts are shown as text here, raw in json
      local fmt = m[3] == "pct" and function(x) return P:pct(x) end or function(x) return P:num(x) end
      r.yb = {value = r.yb, text = fmt(r.yb)}
      r.prev = {value = r.prev, text = fmt(r.prev)}
    end
    rows[#rows + 1] = r
  end
  P:table{id = "retention", title = L("exec_retention_table"),
    columns = {{key = "measure", label = L("category"), kind = "text"},
               {key = "yb", label = L("exec_vs", P:period_name(yb)), kind = "money"},
               {key = "prev", label = L("exec_vs", P:period_name(prev)), kind = "money"}},
    rows = rows}
end

-- accounts: the largest by revenue in the period, the rest as one row
P:section{id = "accounts", title = L("exec_sec_accounts")}
do
  local ids = ranked
  local prev_by, yb_by = by_prev, by_yb
  local rows, cats, vals = {}, {}, {}
  local rest = {n = 0, cur = 0, prev = 0, yb = 0}
  local shown = {}
  for i, id in ipairs(ids) do
    if i <= TOP then
      local c = client_of(id)
      shown[id] = true
      rows[#rows + 1] = {client = id, name = client_name(id), tier = c and c.tier or nil, owner = staff_name(c and c.owner),
                         revenue = by_cur[id], prev = prev_by[id] or 0, yb = yb_by[id] or 0,
                         growth = C.growth(by_cur[id], prev_by[id]), growth_yoy = C.growth(by_cur[id], yb_by[id]),
                         share = C.ratio(by_cur[id], rev.cur), trend = C.monthly_revenue(last_month, 12, id)}
      cats[#cats + 1] = client_name(id)
      vals[#vals + 1] = by_cur[id]
    else
      rest.n, rest.cur = rest.n + 1, rest.cur + by_cur[id]
    end
  end
  for id, v in pairs(prev_by) do if not shown[id] then rest.prev = rest.prev + v end end
  for id, v in pairs(yb_by) do if not shown[id] then rest.yb = rest.yb + v end end
  if rest.n > 0 or rest.prev > 0 or rest.yb > 0 then
    rows[#rows + 1] = {name = L("exec_rest", rest.n), revenue = rest.cur, prev = rest.prev, yb = rest.yb,
                       growth = C.growth(rest.cur, rest.prev), growth_yoy = C.growth(rest.cur, rest.yb), share = C.ratio(rest.cur, rev.cur)}
  end
  P:chart{id = "top_accounts", type = "hbar", unit = "money", title = L("exec_top_accounts", math.min(TOP, #ids)),
    categories = cats, series = {{key = "revenue", name = P:period_name(cur), values = vals}}}
  P:table{id = "accounts", title = L("exec_accounts_table"),
    columns = {{key = "name", label = L("exec_client"), kind = "text"}, {key = "tier", label = L("exec_tier"), kind = "text"},
               {key = "owner", label = L("exec_owner"), kind = "text"},
               {key = "revenue", label = P:period_name(cur), kind = "money"}, {key = "prev", label = P:period_name(prev), kind = "money"},
               {key = "yb", label = P:period_name(yb), kind = "money"}, {key = "growth", label = L("exec_growth_prev"), kind = "signed_pct"},
               {key = "growth_yoy", label = L("exec_growth_yoy"), kind = "signed_pct"}, {key = "share", label = L("exec_share"), kind = "pct"},
               {key = "trend", label = L("exec_trend_12m"), kind = "spark"}},
    rows = rows,
    total = {name = L("total"), revenue = rev.cur, prev = rev.prev, yb = rev.yb, growth = C.growth(rev.cur, rev.prev),
             growth_yoy = C.growth(rev.cur, rev.yb), share = rev.cur > 0 and 1 or nil}}
end

-- tiers: the mix now and at the period's start, and the moves in between with their reasons
P:section{id = "tiers", title = L("exec_sec_tiers")}
do
  -- the tiers now, then every change since the period began undone client by client: the
  -- oldest change since the start tells the tier at the start, the oldest after the end the
  -- tier at the end (audit times carry the book's zone: their date part decides)
  local now = db.clients:all():group("tier", "count")
  local moves, at_start, at_end = {}, {}, {}
  for _, a in ipairs(kam.audit{coll = "clients", field = "tier", since = p.from, limit = 100000}) do
    if a.when:sub(1, 10) <= p.to then moves[#moves + 1] = a
    else at_end[a.id] = a.from or "(none)" end
    at_start[a.id] = a.from or "(none)" -- newest first: the last kept is the oldest
  end
  local start, finish = {}, {}
  for k, v in pairs(now) do start[k], finish[k] = v, v end
  local function move(counts, id, was)
    local c = client_of(id)
    local t = c and c.tier or "(none)"
    counts[t] = (counts[t] or 0) - 1
    counts[was] = (counts[was] or 0) + 1
  end
  for id, was in pairs(at_start) do move(start, id, was) end
  for id, was in pairs(at_end) do move(finish, id, was) end
  local order = {"A", "B", "C", "D", "(none)"}
  local series = {}
  for _, t in ipairs(order) do
    if (finish[t] or 0) > 0 or (start[t] or 0) > 0 then
      series[#series + 1] = {key = t, name = t == "(none)" and L("exec_no_tier") or L("exec_tier_x", t), values = {start[t] or 0, finish[t] or 0}}
    end
  end
  P:chart{id = "tier_mix", type = "stacked", unit = "count", title = L("exec_tier_mix"),
    categories = {L("exec_at", P:date(p.from)), L("exec_at", P:date(upto))}, series = series}

  -- each move of the period, newest first: its cause from the stored decisions
  local transitions, causes = {}, {policy = 0, data = 0, manual = 0, first = 0}
  local rows = {}
  for i, a in ipairs(moves) do
    local cause, reasons = "manual", nil
    if a.via == "policy" then
      cause = "data"
      local ds = kam.decisions{coll = "clients", id = a.id, policy = "tiering"}
      -- the decision behind the move is the last one stamped at or before it: a
      -- commit stamps its decisions, then writes the moves, which may fall in the
      -- next second (only a move older than every decision takes the first)
      local k = #ds > 0 and 1 or 0
      for j, d in ipairs(ds) do
        if d.time <= a.when then k = j end
      end
      local at, before = ds[k], ds[k - 1]
      if at then reasons = at.reasons end
      if not before then cause = "first"
      elseif before.hash ~= (at and at.hash) then cause = "policy" end
    end
    causes[cause] = causes[cause] + 1
    local k = (a.from or "–") .. " → " .. (a.to or "–")
    transitions[k] = (transitions[k] or 0) + 1
    if i <= MOVES_SHOWN then
      rows[#rows + 1] = {client = a.id, name = client_name(a.id), from = a.from or "–", to = a.to or "–", date = a.when:sub(1, 10),
                         cause = L("exec_cause_" .. cause), reasons = reasons and table.concat(reasons, "; ") or L("exec_set_by", a.who or "?")}
    end
  end
  local trows = {}
  for _, k in ipairs(sorted_keys(transitions, function(a, b)
      if transitions[a] ~= transitions[b] then return transitions[a] > transitions[b] end
      return a < b end)) do
    trows[#trows + 1] = {move = k, clients = transitions[k]}
  end
  P:table{id = "tier_transitions", title = L("exec_tier_transitions", #moves),
    columns = {{key = "move", label = L("exec_move"), kind = "text"}, {key = "clients", label = L("exec_clients"), kind = "int"}},
    rows = trows, empty = L("exec_no_moves")}
  P:figures{
    {id = "moves_policy", label = L("exec_cause_policy"), value = causes.policy, kind = "int"},
    {id = "moves_data", label = L("exec_cause_data"), value = causes.data, kind = "int"},
    {id = "moves_first", label = L("exec_cause_first"), value = causes.first, kind = "int"},
    {id = "moves_manual", label = L("exec_cause_manual"), value = causes.manual, kind = "int"},
  }
  P:table{id = "tier_moves", title = L("exec_tier_moves", math.min(#moves, MOVES_SHOWN), #moves),
    columns = {{key = "name", label = L("exec_client"), kind = "text"}, {key = "from", label = L("exec_from_tier"), kind = "text"},
               {key = "to", label = L("exec_to_tier"), kind = "text"}, {key = "date", label = L("exec_date"), kind = "date"},
               {key = "cause", label = L("exec_cause"), kind = "text"}, {key = "reasons", label = L("exec_reasons"), kind = "text"}},
    rows = rows, empty = L("exec_no_moves")}
end

-- pipeline
P:section{id = "pipeline", title = L("exec_sec_pipeline")}
do
  local cats, vals, wvals, rows = {}, {}, {}, {}
  for i, st in ipairs(OPEN_STAGES) do
    local s = pipe.by_stage[st]
    cats[i], vals[i], wvals[i] = L("exec_stage_" .. st), s.value, s.weighted
    rows[i] = {stage = L("exec_stage_" .. st), n = s.n, value = s.value, weighted = s.weighted}
  end
  P:chart{id = "pipeline_stages", type = "bar", unit = "money", title = L("exec_pipeline_stages"), categories = cats,
    series = {{key = "value", name = L("exec_pipeline_value"), values = vals},
              {key = "weighted", name = L("exec_pipeline_weighted"), values = wvals}}}
  P:table{id = "pipeline_coverage", title = L("exec_pipeline_vs_target", plan_kind or "QBP"),
    columns = {{key = "measure", label = L("category"), kind = "text"}, {key = "value", label = L("exec_amount"), kind = "money"}},
    rows = {{measure = L("exec_target", plan_kind or "QBP"), value = target}, {measure = L("exec_booked"), value = rev.cur},
            {measure = L("exec_gap"), value = gap}, {measure = L("exec_pipeline_value"), value = pipe.value},
            {measure = L("exec_pipeline_weighted"), value = pipe.weighted},
            {measure = L("exec_pipeline_closing", P:date(p.to)), value = pipe.closing},
            {measure = L("exec_forecast"), value = pipe.forecast},
            {measure = L("exec_coverage"), value = {value = pipe.coverage, text = P:pct(pipe.coverage)}},
            {measure = L("exec_forecast_attainment"), value = {value = C.ratio(pipe.forecast, target), text = P:pct(C.ratio(pipe.forecast, target))}}}}
end

-- renewals due: the largest by name, every one in the chart by the month it ends
P:section{id = "renewals", title = L("exec_sec_renewals", RENEWAL_DAYS)}
do
  local horizon = kam.date_add(today, RENEWAL_DAYS)
  local list = db.contracts:where{status = "active", ["end"] = {"between", today, horizon}}:list()
  table.sort(list, function(a, b)
    if a.value ~= b.value then return a.value > b.value end
    if a["end"] ~= b["end"] then return a["end"] < b["end"] end
    return a.id < b.id
  end)
  local months, by_month = {}, {}
  for _, m in ipairs(C.months(horizon, 5)) do
    if m.to >= today then months[#months + 1] = m.name; by_month[m.name] = {with = 0, without = 0} end
  end
  local rows, total, uncovered, n_uncovered = {}, 0, 0, 0
  for i, k in ipairs(list) do
    local renewal = db.opportunities:where{client = k.client, kind = "renewal", stage = {"in", OPEN_STAGES}}:first()
    local m = by_month[k["end"]:sub(1, 7)]
    if renewal then m.with = m.with + k.value
    else m.without = m.without + k.value; uncovered = uncovered + k.value; n_uncovered = n_uncovered + 1 end
    total = total + k.value
    if i <= RENEWALS_SHOWN then
      local c = client_of(k.client)
      rows[#rows + 1] = {contract = k.id, client = k.client, name = client_name(k.client), tier = c and c.tier, owner = staff_name(c and c.owner),
                         ["end"] = k["end"], days = kam.days_between(today, k["end"]), value = k.value,
                         renewal = renewal and {value = renewal.id, text = L("exec_stage_" .. renewal.stage)} or {value = nil, text = L("exec_none_yet"), class = "warn"}}
    end
  end
  P:figures{
    {id = "renewals", label = L("exec_renewals_count"), value = #list, kind = "int"},
    {id = "renewals_value", label = L("exec_renewals_value"), value = total, kind = "money_short"},
    {id = "renewals_uncovered", label = L("exec_renewals_uncovered"), value = uncovered, kind = "money_short",
     note = L("exec_renewals_uncovered_note", n_uncovered)},
  }
  local with, without, cats = {}, {}, {}
  for i, name in ipairs(months) do
    cats[i] = month_label(name)
    with[i], without[i] = by_month[name].with, by_month[name].without
  end
  P:chart{id = "renewals_months", type = "stacked", unit = "money", title = L("exec_renewals_chart"), categories = cats,
    series = {{key = "with", name = L("exec_with_renewal"), values = with}, {key = "without", name = L("exec_without_renewal"), values = without}}}
  P:table{id = "renewals", title = L("exec_renewals_table", #rows, #list),
    columns = {{key = "name", label = L("exec_client"), kind = "text"}, {key = "contract", label = L("exec_contract"), kind = "text"},
               {key = "tier", label = L("exec_tier"), kind = "text"}, {key = "owner", label = L("exec_owner"), kind = "text"},
               {key = "end", label = L("exec_ends"), kind = "date"}, {key = "days", label = L("exec_days_left"), kind = "int"},
               {key = "value", label = L("exec_contract_value"), kind = "money"}, {key = "renewal", label = L("exec_renewal_opp"), kind = "text"}},
    rows = rows, empty = L("exec_no_renewals")}
end

-- risks and escalations
P:section{id = "risks", title = L("exec_sec_risks")}
do
  local list = db.risks:where{status = {"in", {"open", "mitigating"}}}:list()
  table.sort(list, function(a, b)
    local ra, rb = SEVERITY_RANK[a.severity] or 9, SEVERITY_RANK[b.severity] or 9
    if ra ~= rb then return ra < rb end
    if (a.raised or "") ~= (b.raised or "") then return (a.raised or "") < (b.raised or "") end
    return a.id < b.id
  end)
  local by_sev, rows = {}, {}
  for i, r in ipairs(list) do
    by_sev[r.severity] = (by_sev[r.severity] or 0) + 1
    if i <= RISKS_SHOWN then
      rows[#rows + 1] = {id = r.id, kind = L("exec_risk_" .. r.kind), severity = {value = r.severity, text = L("exec_sev_" .. r.severity),
                           class = (r.severity == "critical" or r.severity == "high") and "bad" or nil},
                         name = client_name(r.client), description = r.description, owner = staff_name(r.owner),
                         age = r.raised and kam.days_between(r.raised, today) or nil, due = r.due, status = L("exec_status_" .. r.status)}
    end
  end
  P:figures{
    {id = "risks_critical", label = L("exec_sev_critical"), value = by_sev.critical or 0, kind = "int"},
    {id = "risks_high", label = L("exec_sev_high"), value = by_sev.high or 0, kind = "int"},
    {id = "risks_medium", label = L("exec_sev_medium"), value = by_sev.medium or 0, kind = "int"},
    {id = "risks_low", label = L("exec_sev_low"), value = by_sev.low or 0, kind = "int"},
  }
  P:table{id = "risks", title = L("exec_risks_table", #rows, #list),
    columns = {{key = "severity", label = L("exec_severity"), kind = "text"}, {key = "kind", label = L("exec_kind"), kind = "text"},
               {key = "name", label = L("exec_client"), kind = "text"}, {key = "description", label = L("exec_description"), kind = "text"},
               {key = "owner", label = L("exec_owner"), kind = "text"}, {key = "age", label = L("exec_age_days"), kind = "int"},
               {key = "due", label = L("exec_due"), kind = "date"}, {key = "status", label = L("exec_status"), kind = "text"}},
    rows = rows, empty = L("exec_no_risks")}
end

-- receivables by age and owner
P:section{id = "receivables", title = L("exec_sec_receivables")}
do
  local keys = sorted_keys(recv.by_owner, function(a, b)
    local ta, tb = recv.by_owner[a].total, recv.by_owner[b].total
    if ta ~= tb then return ta > tb end
    return a < b
  end)
  local cats, rows = {}, {}
  local series = {}
  for i, b in ipairs(BUCKETS) do series[i] = {key = b, name = L("exec_bucket_" .. b), values = {}} end
  local others = {total = 0}
  for _, b in ipairs(BUCKETS) do others[b] = 0 end
  local n_others = 0
  for i, k in ipairs(keys) do
    local o = recv.by_owner[k]
    if i <= OWNERS_SHOWN then
      local name = k == "(none)" and L("exec_no_owner") or staff_name(k)
      cats[#cats + 1] = name
      for j, b in ipairs(BUCKETS) do series[j].values[#cats] = o[b] end
      local row = {owner = name, total = o.total}
      for _, b in ipairs(BUCKETS) do row[b] = o[b] end
      rows[#rows + 1] = row
    else
      n_others = n_others + 1
      for _, b in ipairs(BUCKETS) do others[b] = others[b] + o[b] end
      others.total = others.total + o.total
    end
  end
  if n_others > 0 then
    cats[#cats + 1] = L("exec_other_owners", n_others)
    for j, b in ipairs(BUCKETS) do series[j].values[#cats] = others[b] end
    local row = {owner = cats[#cats], total = others.total}
    for _, b in ipairs(BUCKETS) do row[b] = others[b] end
    rows[#rows + 1] = row
  end
  P:chart{id = "receivables_age", type = "stacked", unit = "money", title = L("exec_receivables_chart"), categories = cats, series = series}
  local cols = {{key = "owner", label = L("exec_owner"), kind = "text"}}
  for _, b in ipairs(BUCKETS) do cols[#cols + 1] = {key = b, label = L("exec_bucket_" .. b), kind = "money"} end
  cols[#cols + 1] = {key = "total", label = L("total"), kind = "money"}
  local total = {owner = L("total"), total = recv.total}
  for _, b in ipairs(BUCKETS) do total[b] = recv[b] end
  P:table{id = "receivables", title = L("exec_receivables_table", recv.n), columns = cols, rows = rows, total = total,
    empty = L("exec_no_receivables")}
end

-- approvals pending and exceptions
P:section{id = "approvals", title = L("exec_sec_approvals")}
do
  local rows = {}
  for i, r in ipairs(pending) do
    if i > REQUESTS_SHOWN then break end
    rows[#rows + 1] = {id = r.id, kind = L("exec_request_" .. r.kind), subject = r.subject, amount = r.amount,
                       by = staff_name(r.requested_by), waiting = r.waiting_role and role_name(r.waiting_role) or "–",
                       age = r.raised and kam.days_between(r.raised, today) or nil}
  end
  P:table{id = "pending_requests", title = L("exec_pending_table", #rows, #pending),
    columns = {{key = "id", label = L("exec_request"), kind = "text"}, {key = "kind", label = L("exec_kind"), kind = "text"},
               {key = "subject", label = L("exec_subject"), kind = "text"}, {key = "amount", label = L("exec_amount"), kind = "money"},
               {key = "by", label = L("exec_requested_by"), kind = "text"}, {key = "waiting", label = L("exec_waiting_on"), kind = "text"},
               {key = "age", label = L("exec_age_days"), kind = "int"}},
    rows = rows, total = #pending > 0 and {id = L("total"), amount = pending_amount} or nil, empty = L("exec_no_pending")}
  local held = db.spend:where{status = "held"}
  local flagged = db.alerts:where{kind = "flagged", status = "open"}
  local disputed = db.reconciliations:where{status = "disputed"}
  local long_overdue = recv.d90_plus
  P:table{id = "exceptions", title = L("exec_exceptions"),
    columns = {{key = "what", label = L("category"), kind = "text"}, {key = "n", label = L("exec_count"), kind = "int"},
               {key = "amount", label = L("exec_amount"), kind = "money"}},
    rows = {{what = L("exec_held_spend"), n = held:count(), amount = held:sum("amount")},
            {what = L("exec_flagged_open"), n = flagged:count(), amount = nil},
            {what = L("exec_disputed_recon"), n = disputed:count(), amount = disputed:sum("difference")},
            {what = L("exec_bucket_d90_plus"), n = nil, amount = long_overdue}}}
end

-- recommended actions (rules/recommend.lua), for the largest accounts and those at risk
P:section{id = "actions", title = L("exec_sec_actions"), lead = L("exec_actions_lead", ADVISED)}
do
  local recommend = require "recommend"
  local asked, order = {}, {}
  local ids = ranked
  for i = 1, math.min(ADVISED, #ids) do asked[ids[i]] = true; order[#order + 1] = ids[i] end
  local n_risk = 0
  for r in db.risks:where{status = {"in", {"open", "mitigating"}}, severity = {"in", {"high", "critical"}}}:each() do
    if r.client and not asked[r.client] and n_risk < ADVISED_AT_RISK then
      asked[r.client] = true; order[#order + 1] = r.client; n_risk = n_risk + 1
    end
  end
  local all = {}
  local quiet = function() end
  for _, id in ipairs(order) do
    local c = client_of(id)
    if c then
      for _, s in ipairs(recommend.decide(c, quiet) or {}) do
        all[#all + 1] = {client = id, name = c.name, owner = staff_name(c.owner), kind = s.kind, text = s.text, value = s.value}
      end
    end
  end
  table.sort(all, function(a, b)
    if a.value ~= b.value then return a.value > b.value end
    if a.client ~= b.client then return a.client < b.client end
    return a.text < b.text
  end)
  local rows = {}
  for i = 1, math.min(ACTIONS_SHOWN, #all) do
    local a = all[i]
    rows[i] = {name = a.name, owner = a.owner, kind = L("exec_action_" .. a.kind), text = a.text, value = a.value}
  end
  P:table{id = "actions", title = L("exec_actions_table", #rows, #all),
    columns = {{key = "name", label = L("exec_client"), kind = "text"}, {key = "owner", label = L("exec_owner"), kind = "text"},
               {key = "kind", label = L("exec_kind"), kind = "text"}, {key = "text", label = L("exec_action"), kind = "text"},
               {key = "value", label = L("exec_estimate"), kind = "money"}},
    rows = rows, empty = L("exec_no_actions")}
end

------------------------------------------------------------ definitions
for _, k in ipairs{"revenue", "cost", "gross_margin", "like_for_like", "grr", "nrr", "expansion", "contraction", "churn", "new",
                   "top", "tier_moves", "cause", "pipeline", "coverage", "forecast", "renewals", "risk_age", "receivables",
                   "exceptions", "actions"} do
  P:define(L("exec_def_" .. k .. "_term"), L("exec_def_" .. k, k == "renewals" and RENEWAL_DAYS or nil))
end

P:data("windows", {current = cur, previous = prev, year_before = yb, running = running})
P:data("revenue", rev)
P:data("cost", cost)
P:data("retention_year_before", ret_yb)
P:data("retention_previous", ret_prev)
P:data("pipeline", {target = target, booked = rev.cur, gap = gap, value = pipe.value, weighted = pipe.weighted,
                    closing = pipe.closing, forecast = pipe.forecast, coverage = pipe.coverage, opportunities = pipe.n})
P:data("receivables", {total = recv.total, overdue = recv.overdue, invoices = recv.n, not_due = recv.not_due, d1_30 = recv.d1_30,
                       d31_60 = recv.d31_60, d61_90 = recv.d61_90, d90_plus = recv.d90_plus})
P:data("pending_requests", {count = #pending, amount = pending_amount})

return P:render(report.format)
