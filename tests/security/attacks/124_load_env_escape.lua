-- class: escape | expect: ok | load with an empty env cannot reach the sandbox's globals; a huge source, a huge chunk name, a nil or number env, an env that refuses writes: no crash (as a policy: the first subject only, for time)
local subject = ...
if subject and subject.id ~= "CL-000001" then return "only the first subject" end
local f = load("return _G, kam, db, io, require", "x", "t", {})
local a, b, c, d, e = f()
if a or b or c or d or e then error("an empty env reached the sandbox's globals") end
pcall(load, string.rep(" ", 1e6) .. "return 1", string.rep("n", 1e5))
pcall(load, "return 1", "=" .. string.rep("n", 1e5))
pcall(load, "return 1", nil, "t", nil)
pcall(load, "return 1", "x", "t", 42)
local g = load("x = 1 return x", "x", "t", setmetatable({}, {__newindex = function() error("blocked") end}))
pcall(g)
return "ok"
