-- class: budget | expect: stopped | an endless loop in __lt, called by table.sort without a comparator
local mt = {__lt = function() while true do end end}
local t = {setmetatable({}, mt), setmetatable({}, mt), setmetatable({}, mt)}
table.sort(t)
