-- lib/book.lua — figures the policies read from the book: revenue, cost, payment record,
-- overdue invoices, contact, risks, and which client a request is about.
--
-- Revenue is what we invoiced (amount before tax, drafts left out) by issue date; cost is the
-- spend booked on the client's projects (held or rejected spend left out) by spend date.
local D = require "lib.dates"

local B = {}

local UNPAID = {"issued", "overdue", "disputed"}

-- Invoiced revenue of a client between two dates (inclusive); `to` may be nil (up to today).
function B.revenue(client_id, from, to)
  local issued = to and {"between", from, to} or {">=", from}
  return db.invoices:where{client = client_id, issued = issued, status = {"~=", "draft"}}:sum("amount")
end

-- Invoiced revenue over the last 12 months.
function B.revenue_12m(client_id)
  return B.revenue(client_id, kam.months_ago(12))
end

-- Revenue of the last `months` months and of the `months` before them.
function B.revenue_trend(client_id, months)
  local now = D.window(months, 0)
  local before = D.window(2 * months, months)
  return B.revenue(client_id, now.from, now.to), B.revenue(client_id, before.from, before.to)
end

-- Cost booked on the client's projects between two dates (inclusive; `to` nil = up to today).
function B.cost(client_id, from, to)
  local date = to and {"between", from, to} or {">=", from}
  local total = 0
  for _, pid in ipairs(db.projects:where{client = client_id}:ids()) do
    total = total + db.spend:where{project = pid, date = date, status = {"in", {"recorded", "approved"}}}:sum("amount")
  end
  return total
end

-- The date an invoice was settled: its paid_date, or the last payment against it.
local function paid_on(inv)
  if inv.paid_date then return inv.paid_date end
  return db.payments:where{invoice = inv.id}:max("date")
end

-- Payment record over the invoices that fell due between `from` and yesterday:
-- {due = n, on_time = n, late = n, unpaid = n, share = (late + unpaid) / due,
--  after_due = n, avg_days_late = d}, where late means paid more than `grace` days after the due
-- date and unpaid means still open more than `grace` days after it; after_due counts every
-- invoice paid (or still open) after its due date, avg_days_late is their average delay.
-- share is nil when nothing fell due.
function B.payment_record(client_id, from, grace)
  local r = {due = 0, on_time = 0, late = 0, unpaid = 0, after_due = 0}
  local delay = 0
  local yesterday = D.before(kam.today())
  for inv in db.invoices:where{client = client_id, due = {"between", from, yesterday}}:each() do
    if inv.status ~= "draft" then
      r.due = r.due + 1
      local days
      if inv.status == "paid" then
        local d = paid_on(inv)
        days = d and kam.days_between(inv.due, d) or 0
        if days > grace then r.late = r.late + 1 else r.on_time = r.on_time + 1 end
      else
        days = D.days_since(inv.due)
        if days > grace then r.unpaid = r.unpaid + 1 else r.on_time = r.on_time + 1 end
      end
      if days > 0 then r.after_due = r.after_due + 1; delay = delay + days end
    end
  end
  if r.due > 0 then r.share = (r.late + r.unpaid) / r.due end
  if r.after_due > 0 then r.avg_days_late = delay / r.after_due end
  return r
end

-- The client's invoices past due and not paid, oldest first:
-- {{id, outstanding = amount + tax - payments, days = days past due, status}, ...}.
function B.overdue(client_id)
  local list = {}
  local today = kam.today()
  for inv in db.invoices:where{client = client_id, status = {"in", UNPAID}, due = {"<", today}}:each() do
    local paid = db.payments:where{invoice = inv.id}:sum("amount")
    local outstanding = inv.amount + (inv.tax or 0) - paid
    if outstanding > 0 then
      list[#list + 1] = {id = inv.id, outstanding = outstanding, days = D.days_since(inv.due), status = inv.status}
    end
  end
  table.sort(list, function(a, b) if a.days ~= b.days then return a.days > b.days end return a.id < b.id end)
  return list
end

-- The date of the last activity with the client (up to today), or the client's last_engaged.
function B.last_contact(client)
  local d = db.activities:where{client = client.id, date = {"<=", kam.today()}}:max("date")
  return d or client.last_engaged
end

-- Open risks and escalations of the client (open or mitigating).
function B.open_risks(client_id)
  return db.risks:where{client = client_id, status = {"in", {"open", "mitigating"}}}:list()
end

-- The client a record is about, from its id: a client, or a contract, quote, project,
-- brief, plan or invoice (their client), a change request (its contract's client) or a spend
-- row (its project's client). nil when the id names none of these (a team, a staff member).
local DIRECT = {"clients", "contracts", "quotes", "projects", "briefs", "plans", "invoices"}
function B.client_of(id)
  if type(id) ~= "string" or id == "" then return nil end
  local c = db.clients:get(id)
  if c then return c end
  for i = 2, #DIRECT do
    local e = db[DIRECT[i]]:get(id)
    if e then return e.client and db.clients:get(e.client) or nil end
  end
  local cr = db.change_requests:get(id)
  if cr then return B.client_of(cr.contract) end
  local sp = db.spend:get(id)
  if sp then return B.client_of(sp.project) end
  return nil
end

-- Is a client billed as an account (anything but a churned client or a prospect with no invoices)?
function B.is_account(client)
  if client.status == "churned" then return false, "churned" end
  if client.status == "prospect" and db.invoices:where{client = client.id}:count() == 0 then
    return false, "a prospect with no invoices yet"
  end
  return true
end

return B
