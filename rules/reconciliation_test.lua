-- Tests of rules/reconciliation.lua: matched only within the tolerance, the difference always
-- ours − theirs. The tolerance is read from the guard.
local G = require "reconciliation"
local M = require "lib.money"
local T = G.thresholds
local TR = M.TRIEU

fixture{clients = {{id = "CL-1", name = "Kova Mobile", status = "active"}}}

local function rec(ours, theirs, status)
  return {client = "CL-1", period = "2026-11", ours = ours, theirs = theirs, difference = 0, status = status or "matched"}
end

test("4.999.999 ₫ apart on 100 triệu is disputed with the difference, never matched", function()
  local ours = 100 * TR
  local tol = G.tolerance(ours, ours)
  local apart = 4999999
  expect_true(apart > tol, "the tolerance is under 4.999.999 ₫: " .. M.fmt(tol))
  local v, reasons, out = check("reconciliation", rec(ours, ours - apart))
  expect_eq(v, "flag")
  expect_eq(out.set, {status = "disputed", difference = apart})
  expect_true(reasons[1]:find(M.fmt(apart) .. " apart", 1, true), reasons[1])
end)

test("within the tolerance it stays matched; one đồng over is disputed", function()
  local ours = 1000 * TR
  local tol = M.whole(G.tolerance(ours, ours))
  expect_eq(math.max(T.tolerance_vnd, T.tolerance_pct * ours), G.tolerance(ours, ours))
  local v, _, out = check("reconciliation", rec(ours, ours - tol))
  expect_eq(v, "allow")
  expect_eq(out.set, {difference = tol})
  expect_eq(check("reconciliation", rec(ours, ours - tol - 1)), "flag")
end)

test("a disputed or open reconciliation is stored as it is, its difference put right", function()
  local v, _, out = check("reconciliation", rec(50 * TR, 10 * TR, "disputed"))
  expect_eq(v, "allow")
  expect_eq(out.set, {difference = 40 * TR})
end)
