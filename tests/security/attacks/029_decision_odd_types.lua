-- class: memory | expect: ok/refused | each subject's decision is an odd value (a function, a coroutine, an entity, a query, NaN, inf, -0.0, math.mininteger, a table with NaN keys, a mixed table, a table holding an entity): shown, stored or refused, no crash
local c = ...
local odd = {print, coroutine.create(print), db.clients:get("CL-000001"), db.clients, 0/0, math.huge, -math.huge, -0.0,
  math.mininteger, {[0/0 ~= 0/0 and 1 or 2] = 1, [1.5] = 2, [true] = 3}, {1, 2, x = 3, [10] = 4},
  {db.clients:get("CL-000002")}, {a = {b = {c = math.huge}}}, string.rep("\0", 100), ""}
local i = c and tonumber(c.id:match("%d+")) or 1
return odd[(i - 1) % #odd + 1]
