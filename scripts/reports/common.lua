-- What the reports share: the period asked for and the ones it is compared
-- with, and the figures every report defines the same way. One place, so
-- that "revenue" means the same in the executive, client and team reports
-- (and as rules/lib/book.lua, which the policies read).
local D = require "lib.dates"
local C = {}

-- Revenue: invoiced amounts before tax by issue date, drafts left out
-- (asked as status ~= "draft", which reads the issue date's index: an "in"
-- list of the four other statuses would read the status index instead).
C.BILLED = {"~=", "draft"}
-- Unpaid: what the client still owes.
C.UNPAID = {"issued", "overdue", "disputed"}
-- Cost: spend booked on projects by spend date, held or rejected spend left out.
C.NOT_COSTED = {"held", "rejected"}

-- The period of the page: --period, else `default` ("this_quarter").
-- A period kam does not know is the user's mistake (exit 2), named as given.
function C.period(default)
  local asked = report.period or default or "this_quarter"
  local ok, p = pcall(kam.period, asked)
  if not ok then
    kam.usage(string.format("kam report %s --period %s: not a period (2026-Q4, 2026-11, 2026-H1, 2026)",
      report.kind, asked))
  end
  return p
end

-- The period before (2026-Q3 for 2026-Q4) and the same period a year before (2025-Q4).
function C.previous(p) return kam.period(D.previous(p.name)) end
function C.year_before(p)
  return kam.period(string.format("%04d%s", tonumber(p.name:sub(1, 4)) - 1, p.name:sub(5)))
end

-- The last day of the period the book has figures for: its end, or today when it is running.
function C.upto(p)
  local today = kam.today()
  return p.to < today and p.to or today
end

-- Revenue between two dates, of one client or of all.
function C.revenue(from, to, client)
  return db.invoices:where{client = client, issued = {"between", from, to}, status = C.BILLED}:sum("amount")
end

-- Revenue between two dates by client: {[client id] = đồng}.
function C.revenue_by_client(from, to)
  return db.invoices:where{issued = {"between", from, to}, status = C.BILLED}:group("client", "sum", "amount")
end

-- Cost between two dates, of all projects: all the spend of the dates less
-- the held and rejected (few, found by their status).
function C.cost(from, to)
  local dates = {"between", from, to}
  local total = db.spend:where{date = dates}:sum("amount")
  for _, st in ipairs(C.NOT_COSTED) do total = total - db.spend:where{status = st, date = dates}:sum("amount") end
  return total
end

-- The n months ending with the month of `day`, oldest first: {{name = "2026-11", from, to}, ...}.
function C.months(day, n)
  local list = {}
  for i = n - 1, 0, -1 do
    list[#list + 1] = kam.period(kam.date_add(day:sub(1, 7) .. "-01", -i, "months"):sub(1, 7))
  end
  return list
end

-- Monthly revenue of one client (or of all) over the n months ending with `day`.
function C.monthly_revenue(day, n, client)
  local values = {}
  for i, m in ipairs(C.months(day, n)) do values[i] = C.revenue(m.from, m.to, client) end
  return values
end

-- a / b, or nil when b is 0
function C.ratio(a, b)
  if not b or b == 0 or not a then return nil end
  return a / b
end

-- Growth of `now` on `before`: nil when there was nothing before.
function C.growth(now, before) return C.ratio((now or 0) - (before or 0), before) end

return C
