-- Point lookups by id (bench/jobs.md) from Lua through LuaSQL:
--   lua5.4 bench/peers/sqlite/lookups.lua DB [N]
local driver = require "luasql.sqlite3"
local env = driver.sqlite3()
local conn = assert(env:connect(arg[1]))
local N = tonumber(arg[2]) or 100000
local format = string.format

local cur = assert(conn:execute("SELECT count(*) FROM invoices"))
local n = math.tointeger(tonumber(cur:fetch()))
cur:close()
local fmt = "INV-%0" .. (#tostring(n) < 8 and 8 or #tostring(n)) .. "d"
local x, found, sum = 1, 0, 0
for _ = 1, N do
  x = x * 48271 % 2147483647
  -- LuaSQL has no bound parameters; ids are [A-Z0-9-], safe to inline
  cur = assert(conn:execute(format("SELECT amount FROM invoices WHERE id = '%s'", format(fmt, x % n + 1))))
  local amount = cur:fetch()
  cur:close()
  if amount then found = found + 1; sum = sum + math.tointeger(amount) end
end
print(format("found=%d amount=%d", found, sum))
conn:close()
env:close()
