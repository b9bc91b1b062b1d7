-- Full-book tiering (bench/jobs.md) as a server-side script, per client as
-- the policy asks it: the client's invoices from its sorted set by issue
-- date, then amount and status from each invoice's hash; cost from each of
-- its projects' spend, sorted by date.
--   redis-cli -s SOCK --eval bench/peers/redis/tiering.lua , SINCE
local t = redis.call("TIME")
local t0 = t[1] + t[2] / 1e6
local since = tonumber((ARGV[1]:gsub("-", "")))
local call = redis.call
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
for _, id in ipairs(call("SMEMBERS", "clients:ids")) do
  local rev, od, cost = 0, 0, 0
  for _, inv in ipairs(call("ZRANGEBYSCORE", "idx:invoices_client_issued:" .. id, since, "+inf")) do
    local v = call("HMGET", "invoices:" .. inv, "amount", "status")
    local s = v[2]
    if s ~= "draft" then
      local a = tonumber(v[1])
      rev = rev + a
      if s == "overdue" then od = od + a end
    end
  end
  for _, m in ipairs(call("ZRANGEBYLEX", "idx:projects_client", "[" .. id .. "\0", "[" .. id .. "\0\255")) do
    local p = m:sub(#id + 2)
    for _, sp in ipairs(call("ZRANGEBYSCORE", "idx:spend_project_date:" .. p, since, "+inf")) do
      cost = cost + tonumber(call("HGET", "spend:" .. sp, "amount"))
    end
  end
  local k = tier(rev, cost, od)
  n[k] = n[k] + 1
  R, C, O = R + rev, C + cost, O + od
end
t = redis.call("TIME")
return string.format("@tiering %.6f A=%d B=%d C=%d D=%d revenue=%d cost=%d overdue=%d",
  t[1] + t[2] / 1e6 - t0, n.A, n.B, n.C, n.D, R, C, O)
