-- class: isolation | expect: ok | flags: same | table.concat, table.sort, math.floor and math.max replaced: the next evaluation (and the engine, which sorts and formats with them) must see the real ones
local t = {3, 1, 2}
table.sort(t)
local seen = table.concat(t, ",") .. "/" .. math.floor(2.5) .. "/" .. math.max(1, 9)
pcall(function()
  table.concat = function() return "hijacked" end
  table.sort = function(x) end
  math.floor = function() return -1 end
  math.max = function() return -1 end
end)
return seen
