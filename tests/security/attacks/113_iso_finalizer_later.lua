-- class: isolation | expect: ok | flags: same | a finalizer left by one evaluation changes the string library and _G when it runs, during a later evaluation (each evaluation starts with a collection): that later evaluation must not see it
collectgarbage()
collectgarbage()
local seen = tostring(string.kam_mark_106) .. "/" .. tostring(_G.kam_mark_106)
pcall(setmetatable, {}, {__gc = function()
  pcall(function() string.kam_mark_106 = "set by an old finalizer" end)
  pcall(function() _G.kam_mark_106 = "set by an old finalizer" end)
end})
return seen
