-- class: memory | expect: ok | coroutine.yield from inside kam.tx (after a write), a where() predicate, a sort comparator, a gsub callback, a __index and a __close: refused ("yield across a C-call boundary") or done, and a write before the yield never committed
local function try(f) local co = coroutine.create(f) return coroutine.resume(co) end
try(function() kam.tx(function() db.clients:update("CL-000001", {city = "before a yield"}) coroutine.yield() end) end)
try(function() return db.clients:where(function() coroutine.yield() return true end):count() end)
try(function() return db.clients:all():sort(function(a, b) coroutine.yield() return a.id < b.id end):list() end)
try(function() return string.gsub("abc", ".", function() coroutine.yield() end) end)
try(function() local t = setmetatable({}, {__index = function() coroutine.yield() end}) return t.x end)
try(function() local x <close> = setmetatable({}, {__close = function() coroutine.yield() end}) end)
try(function() for e in db.invoices:all():each() do coroutine.yield(e) end end)
local ok = pcall(function() return db.clients:get("CL-000001").city end)
return "ok"
