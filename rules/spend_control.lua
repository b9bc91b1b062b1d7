-- rules/spend_control.lua — spend within the approved budget, charged to the right line.
--
-- A write guard: kam runs check() inside every write of a spend row (kam.tx, import, requests,
-- scheduled jobs) and no role skips it.
--   * a spend on a line its contract does not have is refused;
--   * the project and the contract must agree (the project's contract is the spend's);
--   * a spend bigger than what is left on its contract line (the line's budget minus every spend
--     on it that is not rejected: recorded, held and approved alike) is held, and a
--     budget_overrun request goes to leadership (rules/approval.lua routes it);
--   * a spend whose category is not the line's service is stored, flagged "wrong_line", and its
--     client's owner gets an alert.
-- A spend whose budget_ref names an approved budget_overrun request that covers it passes.
local M = require "lib.money"

local G = {
  name = "spend_control", kind = "guard",
  on = {"spend:insert", "spend:update"},
  description = "Spend within its contract line's approved budget, on a line the contract has, of the line's service",
  thresholds = {
    slack = 0,                 -- đồng a spend may go past what is left before it is held
  },
}
local T = G.thresholds

-- The categories a line can be of: a line named after one is of that service.
local SERVICES = {media = true, production = true, creative = true, affiliate = true, ops = true, other = true}

-- Memo of one transaction (this file runs afresh for each): contracts' lines, and what each line
-- has used so far, kept in step with the writes this guard lets through.
local lines_of, used, contract_of = {}, {}, {}

local function contract_lines(id)
  local l = lines_of[id]
  if l == nil then
    l = false
    local k = db.contracts:get(id)
    if k then
      l = {}
      for _, line in ipairs(k.lines or {}) do
        if type(line) == "table" and line.line then l[line.line] = line end
      end
    end
    lines_of[id] = l
  end
  return l
end

-- What each line of a contract has used: asked once per contract (two grouped sums), then kept.
local function line_used(contract, line)
  local byline = used[contract]
  if not byline then
    byline = db.spend:where{contract = contract}:group("contract_line", "sum", "amount")
    for l, r in pairs(db.spend:where{contract = contract, status = "rejected"}:group("contract_line", "sum", "amount")) do
      byline[l] = byline[l] - r
    end
    used[contract] = byline
  end
  return byline[line] or 0, byline
end

local function counts(s) return s and s.status ~= "rejected" and s.contract and s.contract_line end

-- The contract a project belongs to (false: no such project, or none).
local function project_contract(id)
  local k = contract_of[id]
  if k == nil then
    local p = db.projects:get(id)
    k = p and p.contract or false
    contract_of[id] = k
  end
  return k
end

-- Keeps the memo in step with the write about to be made.
local function note(row, old)
  if counts(old) then
    local u, byline = line_used(old.contract, old.contract_line)
    byline[old.contract_line] = u - (old.amount or 0)
  end
  if counts(row) then
    local u, byline = line_used(row.contract, row.contract_line)
    byline[row.contract_line] = u + (row.amount or 0)
  end
end

-- A budget_overrun request approved for this spend (or its line), covering how far the line
-- goes over its budget with it.
local function approved_overrun(ref, over_total)
  if not ref then return nil end
  local r = db.requests:get(ref)
  if r and r.kind == "budget_overrun" and r.status == "approved" and (r.amount or 0) >= over_total then return r end
end

function G.check(row, old, why, ctx)
  if row.status == "rejected" then note(row, old) return "allow" end
  local same = old and old.amount == row.amount and old.contract == row.contract
    and old.contract_line == row.contract_line and old.project == row.project and old.category == row.category
  if same then note(row, old) return "allow" end           -- a status move (approval) or a note

  local pk = project_contract(row.project)
  local contract = row.contract or pk or nil
  if pk and row.contract and pk ~= row.contract then
    why("project %s belongs to contract %s, not %s", row.project, pk, row.contract)
    return "refuse", {field = "contract"}
  end
  if not contract then
    why("project %s has no contract: a spend is charged to a contract line", row.project)
    return "refuse", {field = "contract"}
  end
  local lines = contract_lines(contract)
  local line = lines and lines[row.contract_line]
  if not line then
    local have = {}
    for name in pairs(lines or {}) do have[#have + 1] = name end
    table.sort(have)
    why("contract %s has no line %q (its lines: %s)", contract, tostring(row.contract_line),
      #have > 0 and table.concat(have, ", ") or "none")
    return "refuse", {field = "contract_line"}
  end

  local verdict, extra = "allow", nil
  if row.contract == nil then extra = {set = {contract = contract}} end
  local service = line.service or line.category or (SERVICES[line.line] and line.line)
  if service and row.category and row.category ~= service then
    why("a %s cost charged to the %s line %q of %s", row.category, service, row.contract_line, contract)
    extra = extra or {}
    verdict, extra.flag, extra.field = "flag", "wrong_line", "category"
  end

  local budget = line.budget
  if budget then
    local u = line_used(contract, row.contract_line)
    if ctx.existing or (old and counts(old) and old.contract == contract and old.contract_line == row.contract_line) then
      u = u - ((ctx.existing and row or old).amount or 0)
    end
    local left = budget - u
    local overrun = (row.amount or 0) - math.max(left, 0)
    if overrun > T.slack then
      local over_total = u + (row.amount or 0) - budget
      local ok = approved_overrun(row.budget_ref, over_total)
      if ok then
        why("the line goes %s over its budget, approved by %s", M.fmt(over_total), ok.id)
      else
        why("%s on line %s of %s with %s left of %s: %s over", M.fmt(row.amount), row.contract_line, contract,
          M.fmt(math.max(left, 0)), M.fmt(budget), M.fmt(overrun))
        verdict = "hold"
        extra = extra or {}
        extra.request, extra.field = {kind = "budget_overrun", amount = overrun}, "amount"
      end
    end
  end
  if not ctx.existing then note(row, old) end
  return verdict, extra
end

return G
