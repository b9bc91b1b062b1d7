-- Full-book tiering (bench/jobs.md), as a kam script:
--   KAM_TODAY=2026-11-26 kam run bench/peers/kam/tiering.lua
-- Set-oriented, as a team would write it in kam: the 12-month invoice sums
-- by client and status in one group() (one pass over the index [client,
-- issued], which carries amount and status), the spend since then by its
-- project's client in another (a pass over [project, date], then each
-- project's client read once), and the tiers in Lua. The rule is the benchmark's own, simpler than the
-- shipped policy (rules/tiering.lua): bench/jobs.md says how they differ.
local since = kam.months_ago(12)

local function tier(rev, cost, overdue)
  if rev <= 0 then return "D" end
  local margin100, overdue100 = 100 * (rev - cost), 100 * overdue
  if rev >= 5000000000 and margin100 >= 25 * rev and overdue100 <= 10 * rev then return "A" end
  if rev >= 1000000000 and margin100 >= 15 * rev and overdue100 <= 15 * rev then return "B" end
  if rev >= 200000000 and margin100 >= 0 then return "C" end
  return "D"
end

local by_status = db.invoices:where{issued = {">=", since}}:group({"client", "status"}, "sum", "amount")
local cost_of = db.spend:where{date = {">=", since}}:group("project.client", "sum", "amount")

local n = {A = 0, B = 0, C = 0, D = 0}
local total_rev, total_cost, total_overdue = 0, 0, 0
for _, id in ipairs(db.clients:all():ids()) do
  local by = by_status[id] or {}
  local rev = (by.issued or 0) + (by.paid or 0) + (by.overdue or 0) + (by.disputed or 0)
  local overdue = by.overdue or 0
  local cost = cost_of[id] or 0
  local t = tier(rev, cost, overdue)
  n[t] = n[t] + 1
  total_rev, total_cost, total_overdue = total_rev + rev, total_cost + cost, total_overdue + overdue
end
return string.format("A=%d B=%d C=%d D=%d revenue=%d cost=%d overdue=%d",
  n.A, n.B, n.C, n.D, total_rev, total_cost, total_overdue)
