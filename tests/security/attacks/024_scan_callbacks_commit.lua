-- class: memory | expect: ok | where() predicates, sort comparators and each() loop bodies that commit kam.tx (and read) while the scan that calls them is open, until its snapshot ends: the scan goes on or stops with a clear error, no use of a closed cursor
local n = 0
local function churn(k) for i = 1, k do pcall(kam.tx, function() end) db.staff:count() end end
pcall(function()
  return db.clients:where(function(c) churn(3) n = n + 1 return true end):count()
end)
pcall(function()
  return db.invoices:where{client = "CL-000001"}:where(function(i) churn(5) return true end):sum("amount")
end)
pcall(function()
  return db.clients:all():sort(function(a, b) churn(1) return a.id < b.id end):list()
end)
pcall(function() for c in db.clients:all():each() do churn(5) local _ = c.name end end)
pcall(function() for i in db.invoices:where{client = "CL-000002"}:each() do churn(10) local _ = i.amount end end)
pcall(function() return db.clients:all():sum(function(c) churn(2) return c.annual_budget end) end)
return n
