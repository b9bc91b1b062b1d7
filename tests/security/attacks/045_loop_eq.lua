-- class: budget | expect: stopped | an endless loop in an __eq metamethod
local mt = {__eq = function() while true do end end}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
return a == b
