-- class: isolation | expect: ok | flags: same | setmetatable(kam, ...) and setmetatable(kam.fmt, ...) so that unknown names answer: the next evaluation must not see it
local seen = tostring(kam.kam_mark_95) .. "/" .. tostring(kam.fmt.kam_mark_95)
local mt = {__index = function(_, k) if k == "kam_mark_95" then return "answered by a metatable" end end}
pcall(setmetatable, kam, mt)
pcall(setmetatable, kam.fmt, mt)
return seen
