-- class: escape | expect: stopped | a kam error value (a refused write caught by pcall) is turned on itself: its metatable, fields and string methods, passed through a coroutine, re-raised from a finalizer-less table, then an endless loop over its methods; nothing is written and the budget stops it
local ok, e = pcall(kam.tx, function() db.clients:update("CL-000001", {tier = "Z"}) end)
assert(not ok and e.code and e.kind)
assert(getmetatable(e) == "kam.error")
assert(not pcall(setmetatable, e, {}))
assert(not pcall(function() e.code = 4 end))
assert(not pcall(rawset, e, "code", 4))
local co = coroutine.create(function() error(e, 0) end)
local ok2, e2 = coroutine.resume(co)
assert(not ok2 and rawequal(e2, e))
assert(#e:rep(1000) == 1000 * #e)
while true do local _ = e:upper() .. tostring(e) .. #e; _ = e:gsub(".", "%0") end
