-- class: isolation | expect: ok | flags: same | a global set through _G, and through rawset(_G, ...): the next evaluation must not see either
local seen = tostring(_G.kam_mark_89a) .. "/" .. tostring(rawget(_G, "kam_mark_89b"))
pcall(function() _G.kam_mark_89a = "via _G" end)
pcall(rawset, _G, "kam_mark_89b", "via rawset")
return seen
