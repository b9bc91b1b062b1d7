-- Point lookups by id (bench/jobs.md), as a kam script:
--   kam run bench/peers/kam/lookups.lua [N]
-- N invoice ids from the jobs.md sequence; the answer is how many were
-- found and the sum of their amounts.
local N = tonumber(arg[1]) or 100000
local invoices = db.invoices
local n = invoices:count()
local fmt = "INV-%0" .. (#tostring(n) < 8 and 8 or #tostring(n)) .. "d"
local format = string.format
local x, found, sum = 1, 0, 0
for _ = 1, N do
  x = x * 48271 % 2147483647
  local inv = invoices:get(format(fmt, x % n + 1))
  if inv then found = found + 1; sum = sum + inv.amount end
end
return format("found=%d amount=%d", found, sum)
