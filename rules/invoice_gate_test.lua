-- Tests of rules/invoice_gate.lua: an invoice for a project and period needs a signed acceptance,
-- no more than the accepted value, and a matched or resolved reconciliation when there was spend.
local G = require "invoice_gate"
local M = require "lib.money"
local TR = M.TRIEU
local VALUE = 300 * TR

fixture{
  clients = {{id = "CL-1", name = "Sữa Đồng Xanh", status = "active"}},
  contracts = {{id = "HD-1", client = "CL-1", value = 3600 * TR, status = "active", lines = {{line = "media", budget = 2000 * TR}}}},
  projects = {
    {id = "PRJ-1", client = "CL-1", contract = "HD-1", name = "Retainer"},
    {id = "PRJ-2", client = "CL-1", contract = "HD-1", name = "Quiet"},
  },
  spend = {{project = "PRJ-1", contract = "HD-1", contract_line = "media", category = "media", amount = 90 * TR, date = "2026-10-12"}},
  acceptances = {
    {id = "NT-OK", project = "PRJ-1", contract = "HD-1", period = "2026-10", value = VALUE, status = "signed"},
    {id = "NT-P", project = "PRJ-1", contract = "HD-1", period = "2026-11", value = VALUE, status = "pending"},
    {id = "NT-Q", project = "PRJ-2", contract = "HD-1", period = "2026-10", value = VALUE, status = "signed"},
  },
  reconciliations = {
    {id = "DS-1", client = "CL-1", project = "PRJ-1", period = "2026-10", ours = 90 * TR, theirs = 90 * TR, status = "open"},
  },
  invoices = {{id = "INV-0", client = "CL-1", contract = "HD-1", project = "PRJ-2", period = "2026-10", amount = 100 * TR, status = "issued"}},
}

local NONE = {}                                  -- a field left out
local function inv(t)
  local r = {client = "CL-1", contract = "HD-1", project = "PRJ-1", period = "2026-10", amount = VALUE, status = "issued",
             issued = "2026-11-05", due = "2026-12-05"}
  for k, v in pairs(t) do if v == NONE then r[k] = nil else r[k] = v end end
  return r
end

test("no signed acceptance: refused, naming the acceptance that is pending", function()
  local v, reasons, out = check("invoice_gate", inv{period = "2026-11"})
  expect_eq(v, "refuse")
  expect_eq(out.field, "period")
  expect_true(reasons[1]:find("NT-P pending", 1, true), reasons[1])
end)

test("accepted and reconciled: the reconciliation must be matched or resolved", function()
  local v, reasons = check("invoice_gate", inv{})
  expect_eq(v, "refuse")
  expect_true(reasons[1]:find("DS-1 open", 1, true), reasons[1])
  kam.tx(function() db.reconciliations:update("DS-1", {status = "matched"}) end)
  expect_eq(check("invoice_gate", inv{}), "allow")
end)

test("no more than the accepted value, less what was invoiced already", function()
  expect_eq(check("invoice_gate", inv{project = "PRJ-2", amount = VALUE - 100 * TR}), "allow")   -- no spend: no đối soát
  local v, reasons, out = check("invoice_gate", inv{project = "PRJ-2", amount = VALUE - 100 * TR + 1})
  expect_eq(v, "refuse")
  expect_eq(out.field, "amount")
  expect_true(reasons[1]:find(M.fmt(VALUE) .. " accepted", 1, true), reasons[1])
end)

test("a draft needs nothing; a project without a period is refused", function()
  expect_eq(check("invoice_gate", inv{period = "2026-11", status = "draft"}), "allow")
  expect_eq(check("invoice_gate", inv{period = NONE}), "refuse")
end)

test("an invoice of no project and no period passes unless the thresholds require a period", function()
  expect_eq(check("invoice_gate", inv{project = NONE, period = NONE}), G.thresholds.period_required and "refuse" or "allow")
end)
