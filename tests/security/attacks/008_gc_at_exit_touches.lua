-- class: memory | expect: ok | finalizers left for exit (after the statement's snapshots ended) read an entity, an index-scan entity, run queries and step an open iterator: refusing finalizers is fine; if they run, a clear error inside or a right answer, no crash, nothing leaked
local e = db.clients:get("CL-000001")
local ie = db.invoices:where{client = "CL-000001"}:first()
local q = db.invoices:where{client = "CL-000001"}
local it = db.invoices:all():each()
it()
kam_keep_08 = select(2, pcall(setmetatable, {}, {__gc = function()
  pcall(function() return e.name end)
  pcall(function() return ie.amount, ie.note end)
  pcall(function() return q:count() end)
  pcall(function() return q:sum("amount"), q:list() end)
  pcall(function() return db.clients:get("CL-000002").name end)
  pcall(it)
  pcall(function() for x in q:each() do local _ = x.amount end end)
  pcall(function() for k, v in pairs(e) do end end)
end}))
return "ok"
