-- class: memory | expect: ok | a finalizer made inside a kam.tx that rolls back touches the entity, query and first row it captured there, after the rollback and again at exit: a clear error or a right answer, no crash
local keep = {}
pcall(kam.tx, function()
  local e = db.clients:get("CL-000001")
  local q = db.invoices:where{client = e}
  local first = q:first()
  keep[1] = setmetatable({}, {__gc = function()
    pcall(function() return e.name, first.amount end)
    pcall(function() return q:count(), q:sum("amount") end)
    pcall(function() for x in q:each() do local _ = x.amount end end)
  end})
  keep[2], keep[3], keep[4] = e, q, first
  kam_keep_09 = setmetatable({}, getmetatable(keep[1]))
  error("rolled back on purpose")
end)
pcall(function() return keep[2].name, keep[4].amount, keep[3]:count() end)
keep[1] = nil
collectgarbage()
collectgarbage()
return "ok"
