-- rules/reconciliation.lua — đối soát: ours against theirs, within a tolerance, never "matched"
-- outside it.
--
-- A write guard on reconciliations: the difference is always ours − theirs; a reconciliation
-- marked matched whose difference is outside the tolerance is stored as disputed, with the
-- difference, and flagged to the client's owner. kam reconcile reads the same tolerance.
local M = require "lib.money"

local G = {
  name = "reconciliation", kind = "guard",
  on = {"reconciliations:insert", "reconciliations:update"},
  description = "Ours vs theirs within the tolerance, else disputed with the difference",
  thresholds = {
    tolerance_pct = 0.005,     -- 0,5 % of the larger figure ...
    tolerance_vnd = 1000000,   -- ... or 1.000.000 ₫, whichever is larger
  },
}
local T = G.thresholds

-- The most two figures may differ by and still match.
function G.tolerance(ours, theirs)
  return math.max(T.tolerance_vnd, T.tolerance_pct * math.max(math.abs(ours or 0), math.abs(theirs or 0)))
end

function G.check(row, old, why, ctx)
  local ours, theirs = row.ours or 0, row.theirs or 0
  local diff = ours - theirs
  local set = nil
  if row.difference ~= diff then set = {difference = diff} end
  if row.status ~= "matched" then return "allow", {set = set} end
  local tol = G.tolerance(ours, theirs)
  if math.abs(diff) <= tol then return "allow", {set = set} end
  why("%s: ours %s, theirs %s: %s apart, over the tolerance of %s", row.period or "?", M.fmt(ours), M.fmt(theirs),
    M.fmt(math.abs(diff)), M.fmt(tol))
  set = set or {}
  set.status = "disputed"
  set.difference = diff
  return "flag", {set = set, field = "status", flag = "disputed"}
end

return G
