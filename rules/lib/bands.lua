-- lib/bands.lua — look a value up in a list of bands.
--
-- A band is {min = a, max = b, ...}: min inclusive, max exclusive, a missing
-- min or max is open (the convention of rules/README.md, checked by kam check).
local B = {}

-- The band holding v, or nil when v is nil or falls in no band.
function B.find(bands, v)
  if v == nil then return nil end
  for _, b in ipairs(bands) do
    if (b.min == nil or v >= b.min) and (b.max == nil or v < b.max) then return b end
  end
  return nil
end

return B
