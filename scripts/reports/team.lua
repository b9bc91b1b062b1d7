-- The team report (internal): each account person's KPI scorecard as
-- rules/kpi.lua scores it, their accounts and workload against capacity, and
-- the performance reviews due (kam report team --period 2026-Q3 --lang vi).
--
-- Periods. The scorecard is the policy's: kpi.lua scores a complete period
-- (thresholds.period, "last_quarter"). Without --period the page is about
-- that period. With --period P:
--   * P has ended: P is scored (the policy's own rules, on P instead of its
--     default period: the loaded copy's thresholds.period is set to P; the file
--     is not touched), and the reviews due are those of P;
--   * P is still running: a partial period would score everyone low, so the
--     scorecard stays on the policy's period and the page says so.
-- Workload is the book as it is now (accounts owned, open projects, pending
-- requests), with the contacts logged in P; the page states both periods.
local page = require "lib.page"
local C = require "reports.common"
local kpi = require "kpi"

local T = kpi.thresholds
local OPEN = {"planned", "running"}
local RATING_CLASS = {exceeds = "good", meets = "good", below = "warn", unsatisfactory = "bad"}
local CHART_PEOPLE = 30   -- the workload chart shows at most the 30 most loaded (the table has everyone)
local METRIC_FORMAT = {revenue_managed = "money", margin = "pct", retention = "pct", csat = "csat", on_time_delivery = "pct"}

local today = kam.today()
local policy_p = kam.period(T.period)
local p = C.period(T.period)
local upto = C.upto(p)
local kp = policy_p          -- the period scored
local scored_asked = false
if report.period and p.to < today then
  kp, scored_asked = p, true
  T.period = p.name          -- kpi.decide reads it on each call
end

local P = page.new{
  kind = "team", lang = report.lang, labels = require "reports.labels",
  as_of = report.as_of, period = p, audience = "internal",
}
local L = function(...) return P:L(...) end
P.title = L("team_title")
P.subtitle = L("team_subtitle", P:period_name(kp))

-- a label named after a value the policy owns (a role, a rating, a metric): the
-- policy may gain one this file has no text for yet; then the value shows as is
local LABELS = require "reports.labels"
local function named(prefix, value)
  if LABELS[prefix .. tostring(value)] then return L(prefix .. value) end
  return tostring(value)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- a metric's value as text: money, a share, or a CSAT score
local function show(metric, v)
  local f = METRIC_FORMAT[metric]
  if v == nil then return P:num(nil) end
  if f == "money" then return P:money(v) elseif f == "pct" then return P:pct(v) end
  return P:num(v, 2)
end

-- attainment coloured as the policy's rating bands read a score
local function att_cell(att)
  if att == nil then return {value = nil, text = P:pct(nil)} end
  local class
  for _, band in ipairs(T.ratings) do
    if (band.min == nil or att >= band.min) and (band.max == nil or att < band.max) then class = RATING_CLASS[band.rating] end
  end
  return {value = att, text = P:pct(att), class = class}
end

------------------------------------------------------------ the people

-- the roles the policy scores, and everyone in them who has not left
local roles = sorted_keys(T.roles)
local people = {}
for s in db.staff:where{role = {"in", roles}, status = {"~=", "left"}}:each() do people[#people + 1] = s end
table.sort(people, function(a, b) return a.id < b.id end)

------------------------------------------------------------ scorecards

local cards = {}
for _, s in ipairs(people) do
  local r = kpi.decide(s, function() end)   -- the reasons are the policy's (kam decide kpi ID shows them)
  if r then cards[#cards + 1] = {staff = s, r = r} end
end
-- best first; the unscored last; then by name and id so ties always come out the same
table.sort(cards, function(a, b)
  local sa, sb = a.r.score or -1, b.r.score or -1
  if sa ~= sb then return sa > sb end
  if a.staff.name ~= b.staff.name then return a.staff.name < b.staff.name end
  return a.staff.id < b.staff.id
end)

local card_rows, detail_rows = {}, {}
local names, scores = {}, {}
local by_rating, score_sum, scored = {}, 0, 0
for _, c in ipairs(cards) do
  local s, r = c.staff, c.r
  local row = {
    name = s.name, role = named("team_role_", s.role), clients = r.clients or 0,
    score = r.score and {value = r.score / 100, text = P:pct(r.score / 100, 0)} or nil,
    rating = {value = r.rating, text = named("team_rating_", r.rating == "n/a" and "none" or r.rating), class = RATING_CLASS[r.rating]},
  }
  for _, line in ipairs(r.lines or {}) do
    row[line.metric] = att_cell(line.attainment)
    detail_rows[#detail_rows + 1] = {
      name = s.name, metric = named("team_metric_", line.metric),
      target = {value = line.target, text = show(line.metric, line.target)},
      actual = {value = line.actual, text = show(line.metric, line.actual)},
      attainment = att_cell(line.attainment), weight = line.weight,
    }
  end
  card_rows[#card_rows + 1] = row
  names[#names + 1], scores[#scores + 1] = s.name, r.score and r.score / 100 or 0
  by_rating[r.rating] = (by_rating[r.rating] or 0) + 1
  if r.score then score_sum, scored = score_sum + r.score, scored + 1 end
end

------------------------------------------------------------ workload

-- counted once for everyone: a group per question, not a query per person
local accounts = db.clients:where{status = {"~=", "churned"}}:group("owner", "count")
local open_projects = db.projects:where{status = {"in", OPEN}}:group("owner", "count")
local raised = db.requests:where{status = "pending"}:group("requested_by", "count")
local contacts = db.activities:where{date = {"between", p.from, upto}}:group("by", "count")
-- pending requests waiting on someone in one of these roles (of their team, when the step names one)
local waiting = {}
for rq in db.requests:where{status = "pending", waiting_role = {"in", roles}}:each() do
  for _, s in ipairs(people) do
    if s.role == rq.waiting_role and (rq.waiting_team == nil or rq.waiting_team == s.team) then
      waiting[s.id] = (waiting[s.id] or 0) + 1
    end
  end
end

local load_rows, cats, s_acc, s_cap, s_proj = {}, {}, {}, {}, {}
local tot = {accounts = 0, capacity = 0, projects = 0, contacts = 0, raised = 0, waiting = 0}
for _, s in ipairs(people) do
  local n, cap = accounts[s.id] or 0, s.capacity or 0
  local load = C.ratio(n, cap)
  load_rows[#load_rows + 1] = {
    name = s.name, role = named("team_role_", s.role),
    status = {value = s.status, text = named("team_status_", s.status), class = s.status ~= "active" and "warn" or nil},
    accounts = n, capacity = cap,
    load = load and {value = load, text = P:pct(load), class = load > 1 and "bad" or (load >= 0.9 and "warn" or nil)} or nil,
    projects = open_projects[s.id] or 0, contacts = contacts[s.id] or 0,
    raised = raised[s.id] or 0, waiting = waiting[s.id] or 0,
  }
  tot.accounts, tot.capacity = tot.accounts + n, tot.capacity + cap
  tot.projects, tot.contacts = tot.projects + (open_projects[s.id] or 0), tot.contacts + (contacts[s.id] or 0)
  tot.raised, tot.waiting = tot.raised + (raised[s.id] or 0), tot.waiting + (waiting[s.id] or 0)
end
tot.load = C.ratio(tot.accounts, tot.capacity)

-- the chart's people: everyone in the table's order, or the most loaded when there are many
local charted = {}
for i, s in ipairs(people) do charted[i] = {s = s, n = accounts[s.id] or 0, load = C.ratio(accounts[s.id] or 0, s.capacity or 0) or math.huge, i = i} end
if #charted > CHART_PEOPLE then
  table.sort(charted, function(a, b) if a.load ~= b.load then return a.load > b.load end return a.i < b.i end)
  for i = #charted, CHART_PEOPLE + 1, -1 do charted[i] = nil end
  table.sort(charted, function(a, b) return a.i < b.i end)
end
for _, c in ipairs(charted) do
  cats[#cats + 1], s_acc[#s_acc + 1], s_cap[#s_cap + 1], s_proj[#s_proj + 1] = c.s.name, c.n, c.s.capacity or 0, open_projects[c.s.id] or 0
end

------------------------------------------------------------ reviews due

-- due: no review for the period scored, nor for a later one
local due_rows = {}
for _, s in ipairs(people) do
  local last, last_to, covered
  for rv in db.reviews:where{staff = s.id}:each() do
    local ok, q = pcall(kam.period, rv.period)
    local to = ok and q.to or rv.period
    if to >= kp.to then covered = true end
    if not last_to or to > last_to or (to == last_to and rv.id > last.id) then last, last_to = rv, to end
  end
  if not covered then
    local card
    for _, c in ipairs(cards) do if c.staff.id == s.id then card = c.r end end
    due_rows[#due_rows + 1] = {
      name = s.name, role = named("team_role_", s.role),
      last = last and {value = last.period, text = P:period_name(kam.period(last.period))} or {value = nil, text = L("team_never")},
      last_rating = last and last.rating and named("team_rating_", last.rating) or nil,
      score = card and card.score and {value = card.score / 100, text = P:pct(card.score / 100, 0)} or nil,
      rating = card and {value = card.rating, text = named("team_rating_", card.rating == "n/a" and "none" or card.rating),
                         class = RATING_CLASS[card.rating]} or nil,
    }
  end
end

------------------------------------------------------------ the page

P:section{id = "summary", title = L("team_sec_summary"),
  lead = L(scored_asked and "team_lead_asked" or (report.period and "team_lead_policy_running" or "team_lead_policy"),
    P:period_name(kp), P:period_name(p))}
P:figures{
  {id = "scored", label = L("team_fig_scored"), value = scored, kind = "int"},
  {id = "avg_score", label = L("team_fig_avg_score"), value = scored > 0 and score_sum / scored / 100 or nil, kind = "pct"},
  {id = "exceeds", label = L("team_fig_exceeds"), value = by_rating.exceeds or 0, kind = "int"},
  {id = "below", label = L("team_fig_below"), value = (by_rating.below or 0) + (by_rating.unsatisfactory or 0), kind = "int"},
  {id = "load", label = L("team_fig_load"), value = tot.load, kind = "pct",
   note = L("team_fig_load_note", tot.accounts, tot.capacity)},
  {id = "reviews_due", label = L("team_fig_reviews_due"), value = #due_rows, kind = "int"},
}

P:section{id = "scorecard", title = L("team_sec_scorecard"), lead = L("team_scorecard_lead", P:period_name(kp))}
local card_cols = {
  {key = "name", label = L("team_col_name"), kind = "text"},
  {key = "role", label = L("team_col_role"), kind = "text"},
  {key = "clients", label = L("team_col_clients"), kind = "int"},
}
for _, line in ipairs((cards[1] and cards[1].r.lines) or {}) do
  card_cols[#card_cols + 1] = {key = line.metric, label = named("team_metric_", line.metric), kind = "pct"}
end
card_cols[#card_cols + 1] = {key = "score", label = L("team_col_score"), kind = "pct"}
card_cols[#card_cols + 1] = {key = "rating", label = L("team_col_rating"), kind = "text"}
P:table{id = "scorecard", title = L("team_scorecard_title"), columns = card_cols, rows = card_rows,
  empty = L("team_no_people"), note = L("team_scorecard_note")}
P:chart{id = "scores", type = "hbar", unit = "pct", title = L("team_chart_scores"), categories = names,
  series = {{key = "score", name = L("team_col_score"), values = scores}}}
P:table{id = "scorecard_lines", title = L("team_lines_title"),
  columns = {
    {key = "name", label = L("team_col_name"), kind = "text"},
    {key = "metric", label = L("team_col_metric"), kind = "text"},
    {key = "target", label = L("team_col_target"), kind = "num"},
    {key = "actual", label = L("team_col_actual"), kind = "num"},
    {key = "attainment", label = L("team_col_attainment"), kind = "pct"},
    {key = "weight", label = L("team_col_weight"), kind = "pct"},
  },
  rows = detail_rows, empty = L("team_no_people")}
P:define(L("team_col_score"), L("team_def_score", P:pct(T.attainment_cap, 0)))
do
  -- the rating bands as the policy has them, so the footnote follows a change of thresholds
  local bands = {}
  for _, band in ipairs(T.ratings) do
    local name = named("team_rating_", band.rating)
    if band.min and band.max then bands[#bands + 1] = L("team_band_between", name, P:pct(band.min, 0), P:pct(band.max, 0))
    elseif band.max then bands[#bands + 1] = L("team_band_below", name, P:pct(band.max, 0))
    else bands[#bands + 1] = L("team_band_from", name, P:pct(band.min, 0)) end
  end
  P:define(L("team_col_rating"), table.concat(bands, "; "))
end

P:section{id = "workload", title = L("team_sec_workload"), lead = L("team_workload_lead", P:date(today), P:period_name(p))}
P:table{id = "workload", title = L("team_workload_title"),
  columns = {
    {key = "name", label = L("team_col_name"), kind = "text"},
    {key = "role", label = L("team_col_role"), kind = "text"},
    {key = "status", label = L("team_col_status"), kind = "text"},
    {key = "accounts", label = L("team_col_accounts"), kind = "int"},
    {key = "capacity", label = L("team_col_capacity"), kind = "int"},
    {key = "load", label = L("team_col_load"), kind = "pct"},
    {key = "projects", label = L("team_col_projects"), kind = "int"},
    {key = "contacts", label = L("team_col_contacts"), kind = "int"},
    {key = "raised", label = L("team_col_raised"), kind = "int"},
    {key = "waiting", label = L("team_col_waiting"), kind = "int"},
  },
  rows = load_rows, total = #load_rows > 0 and tot or nil, empty = L("team_no_people")}
P:chart{id = "capacity", type = "bar", unit = "count", title = L("team_chart_load"), categories = cats,
  series = {{key = "accounts", name = L("team_col_accounts"), values = s_acc},
            {key = "capacity", name = L("team_col_capacity"), values = s_cap},
            {key = "projects", name = L("team_col_projects"), values = s_proj}},
  note = #people > CHART_PEOPLE and L("team_chart_load_note", CHART_PEOPLE) or nil}
P:define(L("team_col_accounts"), L("team_def_accounts"))
P:define(L("team_col_load"), L("team_def_load"))
P:define(L("team_col_projects"), L("team_def_projects"))
P:define(L("team_col_waiting"), L("team_def_waiting"))

P:section{id = "reviews", title = L("team_sec_reviews"), lead = L("team_reviews_lead", P:period_name(kp))}
P:table{id = "reviews_due", title = L("team_reviews_title"),
  columns = {
    {key = "name", label = L("team_col_name"), kind = "text"},
    {key = "role", label = L("team_col_role"), kind = "text"},
    {key = "last", label = L("team_col_last_review"), kind = "text"},
    {key = "last_rating", label = L("team_col_last_rating"), kind = "text"},
    {key = "score", label = L("team_col_score"), kind = "pct"},
    {key = "rating", label = L("team_col_proposed"), kind = "text"},
  },
  rows = due_rows, empty = L("team_no_reviews_due")}

P:data("kpi_period", {name = kp.name, from = kp.from, to = kp.to, policy = policy_p.name, asked = scored_asked})
return P:render(report.format)
