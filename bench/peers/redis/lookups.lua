-- Point lookups by id (bench/jobs.md) as a server-side script:
--   redis-cli -s SOCK --eval bench/peers/redis/lookups.lua , N
-- Returns "@lookups SECONDS found=.. amount=..", timed inside the server.
local t = redis.call("TIME")
local t0 = t[1] + t[2] / 1e6
local N = tonumber(ARGV[1])
local n = redis.call("SCARD", "invoices:ids")
local fmt = "invoices:INV-%0" .. (#tostring(n) < 8 and 8 or #tostring(n)) .. "d"
local format = string.format
local x, found, sum = 1, 0, 0
for _ = 1, N do
  x = x * 48271 % 2147483647
  local a = redis.call("HGET", format(fmt, x % n + 1), "amount")
  if a then found = found + 1; sum = sum + tonumber(a) end
end
t = redis.call("TIME")
return format("@lookups %.6f found=%d amount=%d", t[1] + t[2] / 1e6 - t0, found, sum)
