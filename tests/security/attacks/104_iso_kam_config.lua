-- class: isolation | expect: ok | flags: same | kam.config written directly, by rawset, and through its metatable (its __index table and __newindex): it is read-only, and the next evaluation must see config/kam.yaml
local cfg = kam.config
local seen = tostring(cfg.kam_mark) .. "/" .. tostring(cfg.agency and cfg.agency.name) .. "/" .. tostring(cfg.timezone)
pcall(function() cfg.kam_mark = "direct" end)
pcall(rawset, cfg, "kam_mark", "rawset")
pcall(function() cfg.agency.name = "changed" end)
pcall(function() rawset(cfg.agency, "name", "changed by rawset") end)
pcall(function()
  local mt = getmetatable(cfg)
  if type(mt) == "table" then
    rawset(mt.__index, "timezone", "+00:00")
    mt.__newindex = nil
    cfg.kam_mark = "through the metatable"
  end
end)
pcall(function()
  local mt = getmetatable(cfg.agency)
  if type(mt) == "table" then rawset(mt.__index, "name", "changed through the metatable") end
end)
return seen
