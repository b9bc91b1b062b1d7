-- lib/bands.lua — look a value up in a list of bands or the steps of a ladder.
--
-- The convention of rules/README.md, checked by kam check: a band is
-- {min = a, max = b, ...}, from a (included) to under b, a missing min or max
-- open; a ladder lists steps {up_to = x, ...} in increasing order, each up to
-- and including its x, the last one open.
local B = {}

local function is_ladder(list)
  for _, s in ipairs(list) do if s.up_to ~= nil then return true end end
  return false
end

-- The band or step holding v, or nil when v is nil or falls in none.
function B.find(list, v)
  if v == nil then return nil end
  if is_ladder(list) then
    for _, s in ipairs(list) do
      if s.up_to == nil or v <= s.up_to then return s end
    end
    return nil
  end
  for _, b in ipairs(list) do
    if (b.min == nil or v >= b.min) and (b.max == nil or v < b.max) then return b end
  end
  return nil
end

return B
