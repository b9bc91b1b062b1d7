-- The book on one screen (about 44 lines of 80 columns, so that `make run`
-- fits a 50-line terminal): clients by tier and industry, revenue over the
-- last 12 months, overdue invoices by owner, and the pipeline by stage.
-- Run by `make run` and `kam summary`; `kam summary --format json` (arg[1]
-- "json") gives the same figures as JSON: money in whole đồng, absent as null.
local text = require "lib.text"
local json = require "lib.json"
local money = kam.fmt.money
local today = kam.today()
local OWNERS = 8 -- owners shown by name; the rest are one line

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
items = {}
for _, t in ipairs(F.clients.by_industry) do items[#items + 1] = label(t.industry, "(none)") .. " " .. t.clients end
say(text.flow("ngành / industry", items, 80))

-- twelve months as two columns of six, so that the screen holds the rest
say(text.heading(("Doanh thu 12 tháng / Revenue, last 12 months: %s, %d invoices"):format(
  money(F.revenue.total), F.revenue.invoices)))
local rows = {}
for i = 1, 6 do
  local a, b = F.revenue.months[i], F.revenue.months[i + 6]
  rows[i] = {a.month, money(a.revenue), tostring(a.invoices), "", b.month, money(b.revenue), tostring(b.invoices)}
end
say(text.table{headers = {"month", "revenue", "invoices", "", "month", "revenue", "invoices"}, rows = rows,
               right = {[2] = true, [3] = true, [6] = true, [7] = true}})

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
rows = {}
for _, s in ipairs(F.pipeline.stages) do rows[#rows + 1] = {s.stage, tostring(s.deals), money(s.value)} end
say(text.table{headers = {"stage", "deals", "value"}, rows = rows, right = {[2] = true, [3] = true}})

return table.concat(out, "\n")
