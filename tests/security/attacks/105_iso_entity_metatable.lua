-- class: isolation | expect: ok | flags: same | the entity metatable (getmetatable of an entity) gets a new __index and __tostring: the next evaluation's entities must behave as before
local e = db.clients:get("CL-000001")
local ok, v = pcall(function() return e.kam_mark end)
local seen = tostring(ok and v) .. "/" .. tostring(e) .. "/" .. tostring(e.name)
local mt = getmetatable(e)
if type(mt) == "table" then
  local old = mt.__index
  pcall(function()
    mt.__index = function(t, k) if k == "kam_mark" then return "added" end if k == "name" then return "renamed" end return old(t, k) end
    mt.__tostring = function() return "hijacked" end
  end)
end
return seen
