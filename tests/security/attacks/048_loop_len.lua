-- class: budget | expect: stopped | an endless loop in __len, called by table.insert
local t = setmetatable({}, {__len = function() while true do end end})
table.insert(t, 1)
