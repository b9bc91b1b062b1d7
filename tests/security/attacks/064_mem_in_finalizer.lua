-- class: budget | expect: stopped/refused | a 2 GiB allocation inside a __gc finalizer (whose error Lua turns into a warning): refused (no finalizers), or the memory stop must end the run, which must not return "after"
setmetatable({}, {__gc = function() local s = string.rep("x", 2^31) end})
collectgarbage()
collectgarbage()
return "after"
