-- rules/invoice_gate.lua — invoices only for what the client accepted (nghiệm thu) and what was
-- reconciled (đối soát).
--
-- A write guard on invoices. An invoice that is not a draft bills a period of a project (or of a
-- contract): it needs a signed acceptance for that period, may bill no more than the accepted
-- value less what was invoiced for it already, and, when the project had spend in the period, a
-- reconciliation of that period that is matched or resolved. An invoice that names no period (an
-- advance, a one-off fee) is not checked, unless period_required says every invoice names one.
local M = require "lib.money"

local G = {
  name = "invoice_gate", kind = "guard",
  on = {"invoices:insert", "invoices:update"},
  description = "An invoice needs a signed acceptance and a matched reconciliation, up to the accepted value",
  thresholds = {
    period_required = false,   -- true: every invoice that is not a draft names the period it bills
  },
}
local T = G.thresholds
-- an invoice that names neither is not this guard's (unless every invoice must name a period):
-- kam does not even run it, so an import of invoices without periods costs nothing more
G.only_if = not T.period_required and {"period", "project"} or nil

local function billed_same(row, old)
  return old and old.status ~= "draft" and old.amount == row.amount and old.period == row.period
    and old.project == row.project and old.contract == row.contract
end

-- Invoiced already for the same project (or contract) and period: the client's invoices, which are
-- few (not this invoice, not drafts).
local function invoiced(row)
  local n = 0
  for inv in db.invoices:where{client = row.client}:each() do
    if inv.id ~= row.id and inv.status ~= "draft" and inv.period == row.period
       and (row.project and inv.project == row.project or not row.project and inv.contract == row.contract) then
      n = n + inv.amount
    end
  end
  return n
end

local function had_spend(project, period)
  local p = kam.period(period)
  for s in db.spend:where{project = project, date = {"between", p.from, p.to}}:each() do
    if s.status ~= "rejected" then return true end
  end
  return false
end

function G.check(row, old, why, ctx)
  if row.status == "draft" or billed_same(row, old) then return "allow" end
  if not row.period then
    if row.project or T.period_required then
      why("the invoice names no period (period: 2026-11): it bills what was accepted for one")
      return "refuse", {field = "period"}
    end
    return "allow"                        -- an advance or a one-off fee: no acceptance to check
  end

  local ok, per = pcall(kam.period, row.period)
  if not ok then why("period %q is not a month or quarter like 2026-11", tostring(row.period)) return "refuse", {field = "period"} end
  local filter = row.project and {project = row.project, period = row.period} or {contract = row.contract, period = row.period}
  local what = row.project or row.contract
  if not what then
    why("an invoice for a period names its project (or contract)")
    return "refuse", {field = "project"}
  end
  local accepted, states = 0, {}
  for a in db.acceptances:where(filter):each() do
    if a.status == "signed" then accepted = accepted + (a.value or 0) else states[#states + 1] = a.id .. " " .. a.status end
  end
  if accepted == 0 then
    why("no signed acceptance (nghiệm thu) for %s %s%s", what, row.period,
      #states > 0 and (": " .. table.concat(states, ", ")) or "")
    return "refuse", {field = "period"}
  end
  local before = invoiced(row)
  if before + row.amount > accepted then
    why("%s accepted for %s %s, %s invoiced already: %s more is over it", M.fmt(accepted), what, row.period,
      M.fmt(before), M.fmt(row.amount))
    return "refuse", {field = "amount"}
  end
  if row.project and had_spend(row.project, row.period) then
    local good, bad = false, {}
    for r in db.reconciliations:where{project = row.project, period = row.period}:each() do
      if r.status == "matched" or r.status == "resolved" then good = true else bad[#bad + 1] = r.id .. " " .. r.status end
    end
    if #bad > 0 or not good then
      why("the reconciliation (đối soát) of %s %s is not matched or resolved%s", row.project, row.period,
        #bad > 0 and (": " .. table.concat(bad, ", ")) or ": there is none")
      return "refuse", {field = "period"}
    end
  end
  return "allow"
end

return G
