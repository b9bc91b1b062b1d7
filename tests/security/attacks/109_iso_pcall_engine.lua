-- class: isolation | expect: ok | flags: same | pcall replaced (through _G) by one that never calls anything and says "A": the engine runs the next evaluation with pcall, so it must not be fooled into deciding "A" for everyone
local ok, v = pcall(function() return "real" end)
local seen = tostring(ok) .. "/" .. tostring(v)
pcall(function() _G.pcall = function() return true, "A" end end)
return seen
