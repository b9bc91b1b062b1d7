-- rules/capacity.lua — accounts assigned within each staff member's capacity.
--
-- A write guard on clients: making a staff member the owner of one more account than their
-- capacity (staff.capacity) is refused with who, how many and the limit, unless a hiring request
-- for them or their team was approved lately (the extra account waits for the new hire).
-- Accounts are the clients a person owns that are not churned.
local G = {
  name = "capacity", kind = "guard",
  on = {"clients:insert", "clients:update"},
  description = "No one owns more accounts than their capacity, unless a hiring request was approved",
  thresholds = {
    hiring_days = 90,          -- an approved hiring request lets a team go past capacity this long
  },
}
local T = G.thresholds
G.only_if = {"owner"}          -- a client with no owner (before or after) adds to no one's book

local function counts(c) return c and c.owner and c.status ~= "churned" end

local function approved_hiring(s)
  local since = kam.days_ago(T.hiring_days)
  for _, subject in ipairs{s.id, s.team} do
    if subject then
      for r in db.requests:where{subject = subject, kind = "hiring", status = "approved"}:each() do
        if (r.raised or "") >= since then return r end
      end
    end
  end
end

-- Memo of one transaction: accounts per owner, kept in step with the writes let through.
local owned = {}
local function accounts_of(owner)
  local n = owned[owner]
  if n == nil then
    n = db.clients:where{owner = owner}:count() - db.clients:where{owner = owner, status = "churned"}:count()
    owned[owner] = n
  end
  return n
end

local function note(row, old)
  if counts(old) then owned[old.owner] = accounts_of(old.owner) - 1 end
  if counts(row) then owned[row.owner] = accounts_of(row.owner) + 1 end
end

function G.check(row, old, why, ctx)
  local adds = counts(row) and not (counts(old) and old.owner == row.owner)
  if ctx.existing then adds = counts(row) end
  if not adds then note(row, old) return "allow" end
  local s = db.staff:get(row.owner)
  local n = accounts_of(row.owner) - (ctx.existing and 1 or 0)
  local cap = s and s.capacity
  if cap and n + 1 > cap then
    local hire = approved_hiring(s)
    if not hire then
      why("%s (%s) owns %d accounts, capacity %d: %s would be account %d", s.name or s.id, s.id, n, cap,
        row.name or row.id or "this client", n + 1)
      return "refuse", {field = "owner"}
    end
    why("%s is at capacity (%d), hiring request %s approved on %s", s.name or s.id, cap, hire.id, hire.decided_at or hire.raised or "?")
  end
  if not ctx.existing then note(row, old) end
  return "allow"
end

return G
