-- class: budget | expect: stopped | an endless loop in an __index metamethod
local t = setmetatable({}, {__index = function() while true do end end})
return t.x
