-- The book on one screen (about 41 lines of 80 columns, so that `make run`,
-- which first makes the demo book and runs the nightly schedule, fits a
-- 50-line terminal): clients by tier and industry, revenue over the last 12
-- months, overdue invoices by owner, the pipeline by stage, and the open
-- alerts (raised by the nightly run, scripts/alerts.lua) by severity and kind
-- with the most severe. Run by `make run` and `kam summary`; `kam summary
-- --format json` (arg[1] "json") gives the same figures as JSON: money in
-- whole đồng, absent as null.
--
-- The tiers are the clients' tiers now; the moves are those the policy's
-- commits made since yesterday (the nightly `policy tiering --commit`), read
-- from the audit trail (kam.audit).
local text = require "lib.text"
local json = require "lib.json"
local money = kam.fmt.money
local today = kam.today()
local OWNERS = 4 -- owners shown by name; the rest are one line
local TOP_ALERTS = 3 -- the most severe open alerts shown one by one
local SEVERITIES = {"critical", "high", "medium", "low"}

------------------------------------------------------------------ the figures
local F = {agency = kam.config.agency and kam.config.agency.name or json.null, today = today}

local function counts(field, order)
  local by = db.clients:all():group(field, "count")
  local keys = order or text.by_value_desc(by)
  local list = json.array{}
  for _, k in ipairs(keys) do
    if by[k] then list[#list + 1] = {[field] = k == "(none)" and json.null or k, clients = by[k]} end
  end
  return list
end
F.clients = {
  total = db.clients:count(),
  active_or_paused = db.clients:where{status = {"in", {"active", "paused"}}}:count(),
  by_tier = counts("tier", {"A", "B", "C", "D", "(none)"}),
  by_industry = counts("industry"),
}
-- tier moves written by a policy commit since yesterday, by old → new
do
  local since = kam.date_add(today, -1)
  local moves, seen = {}, {}
  for _, e in ipairs(kam.audit{coll = "clients", field = "tier", via = "policy", since = since, limit = 100000}) do
    if not seen[e.id] then -- the newest move of each client
      seen[e.id] = true
      local k = (e.from or "-") .. "→" .. (e.to or "-")
      moves[k] = (moves[k] or 0) + 1
    end
  end
  local list, n = json.array{}, 0
  for _, k in ipairs(text.by_value_desc(moves)) do
    list[#list + 1] = {move = k, clients = moves[k]}
    n = n + moves[k]
  end
  F.clients.tier_moves = {since = since, clients = n, moves = list}
end

F.revenue = {months = json.array{}, total = 0, invoices = 0}
for i = 11, 0, -1 do
  local p = kam.period(kam.months_ago(i):sub(1, 7))
  local q = db.invoices:where{issued = {"between", p.from, p.to}, status = {"in", {"issued", "paid", "overdue", "disputed"}}}
  local m = {month = p.name, revenue = q:sum("amount"), invoices = q:count()}
  F.revenue.months[#F.revenue.months + 1] = m
  F.revenue.total = F.revenue.total + m.revenue
  F.revenue.invoices = F.revenue.invoices + m.invoices
end

local owed = {}
F.overdue = {owners = json.array{}, total = 0, invoices = 0}
for inv in db.invoices:where{status = "overdue"}:each() do
  local c = db.clients:get(inv.client)
  local key = c and c.owner or "(none)"
  local o = owed[key]
  if not o then
    local s = c and c.owner and db.staff:get(c.owner)
    o = {owner = c and c.owner or json.null, name = s and s.name or json.null, invoices = 0, amount = 0, oldest_days = 0}
    owed[key] = o
    F.overdue.owners[#F.overdue.owners + 1] = o
  end
  local days = kam.days_between(inv.due, today)
  o.invoices, o.amount = o.invoices + 1, o.amount + inv.amount
  if days > o.oldest_days then o.oldest_days = days end
  F.overdue.total, F.overdue.invoices = F.overdue.total + inv.amount, F.overdue.invoices + 1
end
table.sort(F.overdue.owners, function(a, b)
  if a.amount ~= b.amount then return a.amount > b.amount end
  return tostring(a.owner) < tostring(b.owner)
end)

local value = db.opportunities:all():group("stage", "sum", "value")
local deals = db.opportunities:all():group("stage", "count")
F.pipeline = {stages = json.array{}, weighted_open = 0}
for _, s in ipairs{"lead", "qualified", "proposal", "negotiation", "won", "lost"} do
  F.pipeline.stages[#F.pipeline.stages + 1] = {stage = s, deals = deals[s] or 0, value = value[s] or 0}
end
for o in db.opportunities:where{stage = {"in", {"lead", "qualified", "proposal", "negotiation"}}}:each() do
  F.pipeline.weighted_open = F.pipeline.weighted_open + o.value * (o.probability or 0)
end

-- the open alerts; the money each one is about (null when it is about none):
-- an invoice's amount still owed, a budget's overrun (as lib/alerts_rules.lua
-- counts it), a request's amount, a disputed reconciliation's difference
local RANK = {}
for i, sev in ipairs(SEVERITIES) do RANK[sev] = #SEVERITIES + 1 - i end
local COUNTED = {"recorded", "approved"}

local function allowance(...) -- approved budget_overrun requests about any of the subjects
  local n = 0
  for _, subject in ipairs{...} do
    n = n + db.requests:where{kind = "budget_overrun", status = "approved", subject = subject}:sum("amount")
  end
  return n
end

local function overrun(a)
  local what = a.key:match("^spend_over_budget:(.*)$") or ""
  local k, line = what:match("^([^/]+)/(.+)$")
  local spent, budget, extra
  if k then
    local c = db.contracts:get(k)
    for _, l in ipairs(c and c.lines or {}) do
      if l.line == line then budget = tonumber(l.budget) end
    end
    if not budget then return nil end
    spent = db.spend:where{contract = k, contract_line = line, status = {"in", COUNTED}}:sum("amount")
    extra = allowance(k)
    for sp in db.spend:where{contract = k, contract_line = line}:each() do extra = extra + allowance(sp.id) end
  else
    local p = db.projects:get(what)
    if not (p and p.budget) then return nil end
    spent, budget = db.spend:where{project = p.id, status = {"in", COUNTED}}:sum("amount"), p.budget
    extra = allowance(p.id, p.contract)
  end
  local over = spent - budget - extra
  return over > 0 and over or nil
end

local AMOUNT = {
  invoice_overdue = function(a)
    local inv = db.invoices:get(a.subject)
    return inv and inv.amount + (inv.tax or 0) - db.payments:where{invoice = inv.id}:sum("amount")
  end,
  spend_over_budget = overrun,
  request_waiting = function(a) local r = db.requests:get(a.subject) return r and r.amount end,
  reconciliation_disputed = function(a)
    local r = db.reconciliations:get(a.subject)
    return r and math.abs(r.difference or ((r.ours or 0) - (r.theirs or 0)))
  end,
}

local open, by_sev, by_kind = {}, {}, {}
for a in db.alerts:where{status = "open"}:each() do
  local sev = a.severity or "medium"
  by_sev[sev], by_kind[a.kind] = (by_sev[sev] or 0) + 1, (by_kind[a.kind] or 0) + 1
  local v = AMOUNT[a.kind] and AMOUNT[a.kind](a)
  open[#open + 1] = {e = a, amount = v and (math.tointeger(v) or v)}
end
table.sort(open, function(x, y)
  local rx, ry = RANK[x.e.severity] or 0, RANK[y.e.severity] or 0
  if rx ~= ry then return rx > ry end
  if (x.amount or 0) ~= (y.amount or 0) then return (x.amount or 0) > (y.amount or 0) end
  return x.e.id < y.e.id
end)
F.alerts = {open = #open, by_severity = json.array{}, by_kind = json.array{}, most_severe = json.array{}}
for _, sev in ipairs(SEVERITIES) do
  F.alerts.by_severity[#F.alerts.by_severity + 1] = {severity = sev, alerts = by_sev[sev] or 0}
end
for _, k in ipairs(text.by_value_desc(by_kind)) do F.alerts.by_kind[#F.alerts.by_kind + 1] = {kind = k, alerts = by_kind[k]} end
for i = 1, math.min(TOP_ALERTS, #open) do
  local a = open[i].e
  local c, s = a.client and db.clients:get(a.client), a.owner and db.staff:get(a.owner)
  F.alerts.most_severe[i] = {id = a.id, kind = a.kind, severity = a.severity or json.null, subject = a.subject or json.null,
    client = a.client or json.null, client_name = c and c.name or json.null,
    owner = a.owner or json.null, owner_name = s and s.name or json.null,
    amount = open[i].amount or json.null, message = a.message or json.null}
end

if arg and arg[1] == "json" then return print(json.encode(F)) end

------------------------------------------------------------------ the screen
local out = {}
local function say(s) out[#out + 1] = s end
local function label(v, none) return v == json.null and none or v end

say(("%s — tổng quan sổ khách hàng / book summary, %s"):format(label(F.agency, "kam"), today))

say(text.heading(("Khách hàng / Clients: %d (%d active or paused)"):format(F.clients.total, F.clients.active_or_paused)))
local items = {}
for _, t in ipairs(F.clients.by_tier) do items[#items + 1] = label(t.tier, "chưa xếp / none") .. " " .. t.clients end
say(text.flow("hạng / tier     ", items, 80))
local tm = F.clients.tier_moves
if tm.clients > 0 then
  local mv = {}
  for _, m in ipairs(tm.moves) do mv[#mv + 1] = m.move .. " " .. m.clients end
  say(text.flow("đổi hạng / moves", mv, 80))
end
-- the industries on one line: the largest, then how many more (all of them in json)
local line, lead = nil, "  ngành / industry  "
for i, t in ipairs(F.clients.by_industry) do
  local item = label(t.industry, "(none)") .. " " .. t.clients
  local more = i < #F.clients.by_industry and (", +%d khác / more"):format(#F.clients.by_industry - i) or ""
  local next_line = (line and line .. ", " or lead) .. item
  if text.width(next_line .. more) > 80 and line then
    line = line .. (", +%d khác / more"):format(#F.clients.by_industry - i + 1)
    break
  end
  line = next_line
end
say(line or lead .. "—")

-- twelve months as three columns of four (the invoices of each month are in
-- json), or two columns of six with them if three would pass 80 columns
say(text.heading(("Doanh thu 12 tháng / Revenue, last 12 months: %s, %d invoices"):format(
  money(F.revenue.total), F.revenue.invoices)))
local rows = {}
for i = 1, 4 do
  rows[i] = {}
  for j = 0, 2 do
    local m = F.revenue.months[i + 4 * j]
    table.insert(rows[i], m.month)
    table.insert(rows[i], money(m.revenue))
  end
end
local months = text.table{headers = {"month", "revenue", "month", "revenue", "month", "revenue"}, rows = rows,
                          right = {[2] = true, [4] = true, [6] = true}}
if text.width(months:match("^[^\n]*")) > 80 then
  rows = {}
  for i = 1, 6 do
    local a, b = F.revenue.months[i], F.revenue.months[i + 6]
    rows[i] = {a.month, money(a.revenue), tostring(a.invoices), "", b.month, money(b.revenue), tostring(b.invoices)}
  end
  months = text.table{headers = {"month", "revenue", "invoices", "", "month", "revenue", "invoices"}, rows = rows,
                      right = {[2] = true, [3] = true, [6] = true, [7] = true}}
end
say(months)

say(text.heading(("Quá hạn theo người phụ trách / Overdue by owner: %s, %d invoices"):format(
  money(F.overdue.total), F.overdue.invoices)))
if #F.overdue.owners == 0 then say("  không có hoá đơn quá hạn / nothing overdue")
else
  rows = {}
  local rest = {n = 0, invoices = 0, amount = 0, oldest = 0}
  for i, o in ipairs(F.overdue.owners) do
    if i <= OWNERS or #F.overdue.owners == OWNERS + 1 then
      rows[#rows + 1] = {label(o.name, label(o.owner, "(none)")), tostring(o.invoices), money(o.amount), o.oldest_days .. " ngày"}
    else
      rest.n, rest.invoices, rest.amount = rest.n + 1, rest.invoices + o.invoices, rest.amount + o.amount
      rest.oldest = math.max(rest.oldest, o.oldest_days)
    end
  end
  if rest.n > 0 then
    rows[#rows + 1] = {("%d người khác / others"):format(rest.n), tostring(rest.invoices), money(rest.amount), rest.oldest .. " ngày"}
  end
  say(text.table{headers = {"owner", "invoices", "overdue", "oldest"}, rows = rows, right = {[2] = true, [3] = true, [4] = true}})
end

say(text.heading(("Pipeline theo giai đoạn / by stage: weighted open %s"):format(money(F.pipeline.weighted_open))))
local open_items, closed_items = {}, {}
for i, s in ipairs(F.pipeline.stages) do
  local list = i <= 4 and open_items or closed_items
  list[#list + 1] = ("%d %s: %s"):format(s.deals, s.stage, money(s.value))   -- deals, stage: value
end
say(text.flow("mở / open    ", open_items, 80))
say(text.flow("chốt / closed", closed_items, 80))

-- the open alerts: the nightly run raises them (kam schedule run nightly)
local sev_items = {}
for _, s in ipairs(F.alerts.by_severity) do sev_items[#sev_items + 1] = s.severity .. " " .. s.alerts end
say(text.heading(("Cảnh báo / Alerts: %d open (%s)"):format(F.alerts.open, table.concat(sev_items, ", "))))
if F.alerts.open == 0 then
  say("  không có cảnh báo mở / no open alerts (kam schedule run nightly raises them)")
else
  items = {}
  -- the five largest kinds: the screen stays one screen
  local more = 0
  for i, k in ipairs(F.alerts.by_kind) do
    if i <= 5 then items[#items + 1] = k.kind .. " " .. k.alerts else more = more + 1 end
  end
  if more > 0 then items[#items + 1] = ("+%d khác / more"):format(more) end
  say(text.flow("loại / kind", items, 80))
  rows = {}
  for _, a in ipairs(F.alerts.most_severe) do
    rows[#rows + 1] = {label(a.severity, ""), label(a.subject, a.id), label(a.client_name, label(a.client, "—")),
                       label(a.owner_name, label(a.owner, "—")), a.amount == json.null and "—" or money(a.amount)}
  end
  local headers = {"most severe", "subject", "client", "owner", "amount"}
  -- long names are cut, so that the table keeps to 80 columns
  local w = {}
  for i, h in ipairs(headers) do
    w[i] = text.width(h)
    for _, r in ipairs(rows) do w[i] = math.max(w[i], text.width(r[i])) end
  end
  local room = 80 - 2 - 2 * (#headers - 1) - w[1] - w[2] - w[5]
  local owner_w = math.min(w[4], math.max(room // 2, room - w[3]))  -- half each, or what the client leaves
  local client_w = room - owner_w
  local function cut(str, width)
    if text.width(str) <= width then return str end
    while text.width(str) > width - 1 do str = str:sub(1, utf8.offset(str, -1) - 1) end
    return str .. "…"
  end
  for _, r in ipairs(rows) do r[3], r[4] = cut(r[3], client_w), cut(r[4], owner_w) end
  say(text.table{headers = headers, rows = rows, right = {[5] = true}})
end

return table.concat(out, "\n")
