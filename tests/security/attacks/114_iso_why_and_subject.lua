-- class: isolation | expect: ok | flags: same | the subject entity's metatable (reached through decide's argument) gets __eq and __len: the next evaluation must see plain entities
local c = ... or db.clients:get("CL-000001")
local ok, n = pcall(function() return #c end)
local seen = tostring(ok and n) .. "/" .. tostring(db.clients:get("CL-000001") == db.clients:get("CL-000001"))
local mt = getmetatable(c)
if type(mt) == "table" then
  pcall(function() mt.__len = function() return 42 end end)
  pcall(function() mt.__eq = function() return false end end)
end
return seen
