-- The book on one screen: clients by tier and industry, revenue over the
-- last 12 months, overdue invoices by owner, and the pipeline by stage.
-- Run by `make run` and `kam summary`.
local text = require "lib.text"
local money = kam.fmt.money
local out = {}
local function say(s) out[#out + 1] = s end

local agency = kam.config.agency and kam.config.agency.name or "kam"
say(("%s — tổng quan sổ khách hàng / book summary, %s"):format(agency, kam.today()))

-- clients by tier and industry
local active = db.clients:where{status = {"in", {"active", "paused"}}}
local by_tier = db.clients:all():group("tier", "count")
local by_industry = db.clients:all():group("industry", "count")
say(text.heading(("Khách hàng / Clients: %d (%d active or paused)"):format(db.clients:count(), active:count())))
local rows = {}
for _, t in ipairs{"A", "B", "C", "D", "(none)"} do
  if by_tier[t] then rows[#rows + 1] = {t == "(none)" and "chưa xếp / none" or t, tostring(by_tier[t])} end
end
say(text.table{headers = {"tier", "clients"}, rows = rows, right = {[2] = true}})
rows = {}
for _, k in ipairs(text.by_value_desc(by_industry)) do rows[#rows + 1] = {k, tostring(by_industry[k])} end
say("")
say(text.table{headers = {"industry / ngành", "clients"}, rows = rows, right = {[2] = true}})

-- revenue over the last 12 months, month by month
say(text.heading("Doanh thu 12 tháng / Revenue, last 12 months (invoiced)"))
rows = {}
local total = 0
local today = kam.today()
for i = 11, 0, -1 do
  local m = kam.months_ago(i):sub(1, 7)
  local p = kam.period(m)
  local q = db.invoices:where{issued = {"between", p.from, p.to}, status = {"in", {"issued", "paid", "overdue", "disputed"}}}
  local rev = q:sum("amount")
  total = total + rev
  rows[#rows + 1] = {m, money(rev), tostring(q:count())}
end
rows[#rows + 1] = {"total", money(total), ""}
say(text.table{headers = {"month", "revenue", "invoices"}, rows = rows, right = {[2] = true, [3] = true}})

-- overdue invoices by owner, with aging
say(text.heading("Công nợ quá hạn theo người phụ trách / Overdue by owner"))
local owed, count, oldest = {}, {}, {}
for inv in db.invoices:where{status = "overdue"}:each() do
  local c = db.clients:get(inv.client)
  local owner = c and c.owner or "(none)"
  owed[owner] = (owed[owner] or 0) + inv.amount
  count[owner] = (count[owner] or 0) + 1
  local days = kam.days_between(inv.due, today)
  if not oldest[owner] or days > oldest[owner] then oldest[owner] = days end
end
rows = {}
local sum_owed = 0
for _, o in ipairs(text.by_value_desc(owed)) do
  local s = db.staff:get(o)
  rows[#rows + 1] = {s and s.name or o, tostring(count[o]), money(owed[o]), oldest[o] .. " ngày"}
  sum_owed = sum_owed + owed[o]
end
if #rows == 0 then say("  không có hoá đơn quá hạn / nothing overdue")
else
  rows[#rows + 1] = {"total", "", money(sum_owed), ""}
  say(text.table{headers = {"owner", "invoices", "overdue", "oldest"}, rows = rows, right = {[2] = true, [3] = true, [4] = true}})
end

-- pipeline by stage
say(text.heading("Pipeline theo giai đoạn / by stage"))
local stages = {"lead", "qualified", "proposal", "negotiation", "won", "lost"}
local value = db.opportunities:all():group("stage", "sum", "value")
local n = db.opportunities:all():group("stage", "count")
rows = {}
local weighted = 0
for o in db.opportunities:where{stage = {"in", {"lead", "qualified", "proposal", "negotiation"}}}:each() do
  weighted = weighted + o.value * (o.probability or 0)
end
for _, s in ipairs(stages) do
  rows[#rows + 1] = {s, tostring(n[s] or 0), money(value[s] or 0)}
end
say(text.table{headers = {"stage", "deals", "value"}, rows = rows, right = {[2] = true, [3] = true}})
say(("  weighted open pipeline / dự báo có trọng số: %s"):format(money(math.floor(weighted + 0.5))))

print(table.concat(out, "\n"))
