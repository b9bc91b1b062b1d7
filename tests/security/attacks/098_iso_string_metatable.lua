-- class: isolation | expect: ok | flags: same | getmetatable("").__index replaced, and __add set so that "1" + 1 lies: the next evaluation's strings must behave as before
local ok, m = pcall(function() return ("x").kam_mark end)
local seen = tostring(ok and m) .. "/" .. tostring("1" + 1)
local mt = getmetatable("")
if type(mt) == "table" then
  pcall(function() mt.__index = setmetatable({kam_mark = "added to strings"}, {__index = string}) end)
  pcall(function() mt.__add = function() return 42 end end)
end
return seen
