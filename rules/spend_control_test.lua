-- Tests of rules/spend_control.lua: what is left on a line, the wrong line, the line that is not
-- there, project and contract. Amounts are set from what is left; the guard's slack is read.
local G = require "spend_control"
local M = require "lib.money"
local SLACK = G.thresholds.slack
local TR = M.TRIEU

local BUDGET, SPENT = 500 * TR, 420 * TR            -- 80 triệu left on the media line
local LEFT = BUDGET - SPENT

fixture{
  clients = {{id = "CL-MT", name = "Mộc Trà", status = "active"}},
  contracts = {
    {id = "HD-MT", client = "CL-MT", value = 2000 * TR, status = "active",
     lines = {{line = "media", budget = BUDGET}, {line = "production", budget = 200 * TR}}},
    {id = "HD-OT", client = "CL-MT", value = 100 * TR, status = "active", lines = {{line = "media", budget = TR}}},
  },
  projects = {{id = "PRJ-MT", client = "CL-MT", contract = "HD-MT", name = "Retainer"}},
  spend = {
    {id = "SP-1", project = "PRJ-MT", contract = "HD-MT", contract_line = "media", category = "media", amount = SPENT - 20 * TR, date = "2026-10-05", status = "approved"},
    {id = "SP-2", project = "PRJ-MT", contract = "HD-MT", contract_line = "media", category = "media", amount = 20 * TR, date = "2026-11-03", status = "recorded"},
    {id = "SP-X", project = "PRJ-MT", contract = "HD-MT", contract_line = "media", category = "media", amount = 900 * TR, date = "2026-11-04", status = "rejected"},
  },
  requests = {
    {id = "RQ-OK", kind = "budget_overrun", subject = "HD-MT", amount = 30 * TR, status = "approved"},
    {id = "RQ-LOW", kind = "budget_overrun", subject = "HD-MT", amount = 5 * TR, status = "approved"},
  },
}

local NONE = {}                                  -- a field left out
local function spend(t)
  local r = {project = "PRJ-MT", contract = "HD-MT", contract_line = "media", category = "media", date = "2026-11-20", status = "recorded"}
  for k, v in pairs(t) do if v == NONE then r[k] = nil else r[k] = v end end
  return r
end

test("scenario 5: 95 triệu against a line with 80 triệu left is held, a budget_overrun asked for the overrun", function()
  local amount = LEFT + 15 * TR
  local v, reasons, out = check("spend_control", spend{amount = amount})
  expect_eq(v, "hold")
  expect_eq(out.request, {kind = "budget_overrun", amount = amount - LEFT})
  expect_eq(out.field, "amount")
  expect_true(reasons[1]:find(M.fmt(LEFT) .. " left of " .. M.fmt(BUDGET), 1, true), reasons[1])
end)

test("what is left counts recorded and approved spend, not rejected", function()
  expect_eq(check("spend_control", spend{amount = LEFT + SLACK}), "allow")
  expect_eq(check("spend_control", spend{amount = LEFT + SLACK + 1}), "hold")
end)

test("a line the contract does not have is refused, naming the lines it has", function()
  local v, reasons, out = check("spend_control", spend{contract_line = "ops", category = "ops", amount = TR})
  expect_eq(v, "refuse")
  expect_eq(out.field, "contract_line")
  expect_true(reasons[1]:find("media, production", 1, true), reasons[1])
end)

test("a production cost on the media line is flagged as charged to the wrong line", function()
  local v, reasons, out = check("spend_control", spend{category = "production", amount = TR})
  expect_eq(v, "flag")
  expect_eq(out.flag, "wrong_line")
  expect_true(reasons[1]:find("production cost charged to the media line", 1, true), reasons[1])
end)

test("the project and the contract must agree", function()
  local v, _, out = check("spend_control", spend{contract = "HD-OT", amount = TR})
  expect_eq(v, "refuse")
  expect_eq(out.field, "contract")
  -- no contract given: the project's, set on the record
  local v2, _, out2 = check("spend_control", spend{contract = NONE, amount = TR})
  expect_eq(v2, "allow")
  expect_eq(out2.set, {contract = "HD-MT"})
end)

test("an approved budget_overrun named in budget_ref lets it through, if it covers the line's overrun", function()
  local over = 20 * TR
  expect_eq(check("spend_control", spend{amount = LEFT + over, budget_ref = "RQ-OK"}), "allow")
  expect_eq(check("spend_control", spend{amount = LEFT + over, budget_ref = "RQ-LOW"}), "hold")
end)

test("a held spend approved (its status moving) is not held again", function()
  local row = spend{id = "SP-H", amount = LEFT + 50 * TR, status = "approved"}
  local old = spend{id = "SP-H", amount = LEFT + 50 * TR, status = "held"}
  expect_eq(check("spend_control", row, old), "allow")
end)

test("an update that raises the amount is judged on the line without its old amount", function()
  local e = db.spend:get("SP-2")
  local old = {id = "SP-2", project = e.project, contract = e.contract, contract_line = e.contract_line,
               category = e.category, amount = e.amount, status = e.status}
  local row = spend{id = "SP-2", amount = old.amount + LEFT}
  expect_eq(check("spend_control", row, old), "allow")
  row.amount = old.amount + LEFT + SLACK + 1
  expect_eq(check("spend_control", row, old), "hold")
end)
