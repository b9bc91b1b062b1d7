-- class: memory | expect: ok | each() iterators held by coroutines: one suspended while 70 commits end its snapshot then resumed, one closed by coroutine.close, one left suspended until exit
local co = coroutine.wrap(function() for e in db.invoices:all():each() do coroutine.yield(e.id) end end)
co()
co()
for i = 1, 70 do pcall(kam.tx, function() end) db.staff:count() end
pcall(co)
pcall(co)
local co2 = coroutine.create(function() for e in db.invoices:all():each() do coroutine.yield(e) end end)
local _, e2 = coroutine.resume(co2)
coroutine.close(co2)
pcall(coroutine.close, co2)
pcall(function() return e2.amount end)
local co3 = coroutine.create(function() for e in db.clients:all():each() do coroutine.yield(e) end end)
coroutine.resume(co3)
kam_keep_23 = co3
local co4 = coroutine.create(function()
  local q = db.invoices:where{client = "CL-000002"}
  for e in q:each() do coroutine.yield(e) error("inside the loop") end
end)
coroutine.resume(co4)
coroutine.resume(co4)
return "ok"
