-- class: budget | expect: stopped/refused | an endless loop in a __gc finalizer run by collectgarbage (Lua turns finalizer errors into warnings): refused (no finalizers), or the stop must still end the run, which must not go on to return "after"
setmetatable({}, {__gc = function() while true do end end})
collectgarbage()
collectgarbage()
return "after"
