-- Full-book tiering (bench/jobs.md) as a team would write it over SQLite:
-- the sums in SQL (GROUP BY, on the covering indexes), the tiers in Lua.
--   lua5.4 bench/peers/sqlite/tiering.lua DB SINCE
local driver = require "luasql.sqlite3"
local env = driver.sqlite3()
local conn = assert(env:connect(arg[1]))
local since = assert(arg[2]):gsub("[^%d-]", "")
local format, tointeger = string.format, math.tointeger

local rev, od, cost = {}, {}, {}
local cur = assert(conn:execute(format([[
  SELECT client, sum(amount), sum(CASE WHEN status = 'overdue' THEN amount ELSE 0 END)
  FROM invoices WHERE issued >= '%s' AND status <> 'draft' GROUP BY client]], since)))
local c, r, o = cur:fetch()
while c do
  rev[c], od[c] = tointeger(r), tointeger(o)
  c, r, o = cur:fetch()
end
cur:close()
cur = assert(conn:execute(format([[
  SELECT p.client, sum(s.amount) FROM spend s JOIN projects p ON p.id = s.project
  WHERE s.date >= '%s' GROUP BY p.client]], since)))
c, r = cur:fetch()
while c do
  cost[c] = tointeger(r)
  c, r = cur:fetch()
end
cur:close()

local function tier(rev, cost, overdue)
  if rev <= 0 then return "D" end
  local margin100, overdue100 = 100 * (rev - cost), 100 * overdue
  if rev >= 5000000000 and margin100 >= 25 * rev and overdue100 <= 10 * rev then return "A" end
  if rev >= 1000000000 and margin100 >= 15 * rev and overdue100 <= 15 * rev then return "B" end
  if rev >= 200000000 and margin100 >= 0 then return "C" end
  return "D"
end
local n = {A = 0, B = 0, C = 0, D = 0}
local R, C, O = 0, 0, 0
cur = assert(conn:execute("SELECT id FROM clients"))
c = cur:fetch()
while c do
  local r, k, o = rev[c] or 0, cost[c] or 0, od[c] or 0
  local t = tier(r, k, o)
  n[t] = n[t] + 1
  R, C, O = R + r, C + k, O + o
  c = cur:fetch()
end
cur:close()
print(format("A=%d B=%d C=%d D=%d revenue=%d cost=%d overdue=%d", n.A, n.B, n.C, n.D, R, C, O))
conn:close()
env:close()
