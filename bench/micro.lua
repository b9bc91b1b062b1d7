-- Point lookups, a client's invoice total, and a whole-collection count,
-- timed from Lua inside kam: kam run bench/micro.lua [N]
local N = tonumber(arg[1]) or 200000
local ninv, ncl = db.invoices:count(), db.clients:count()
local w = #tostring(ninv) < 8 and 8 or #tostring(ninv)
local ids, cl = {}, {}
math.randomseed(7)
for i = 1, 4096 do
  ids[i] = string.format("INV-%0" .. w .. "d", math.random(ninv))
  cl[i] = string.format("CL-%06d", math.random(ncl))
end
local function time(n, f)
  local t = os.clock()
  for i = 1, n do f(i) end
  return (os.clock() - t) / n * 1e6
end
local get = time(N, function(i) return db.invoices:get(ids[i % 4096 + 1]) end)
local getf = time(N, function(i) return db.invoices:get(ids[i % 4096 + 1]).amount end)
local rows = 0
for i = 1, 200 do rows = rows + db.invoices:where{client = cl[i]}:count() end
local sum = time(N // 10, function(i) return db.invoices:where{client = cl[i % 4096 + 1]}:sum("amount") end)
local cnt = time(N, function() return db.invoices:count() end)
return string.format("%d invoices, %d clients: get %.2f µs, get + field %.2f µs, where{client}:sum(amount) %.2f µs (%.0f rows per client), count() %.2f µs",
  ninv, ncl, get, getf, sum, rows / 200, cnt)
