-- class: isolation | expect: ok | flags: same | setmetatable(_G, {__index = ...}) so that unknown globals answer: the next evaluation must not see it
local seen = tostring(kam_mark_90)
pcall(setmetatable, _G, {__index = function(_, k) if k == "kam_mark_90" then return "answered by _G's metatable" end end})
return seen
