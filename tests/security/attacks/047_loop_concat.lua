-- class: budget | expect: stopped | an endless loop in a __concat metamethod, reached through the .. operator
local o = setmetatable({}, {__concat = function() while true do end end})
return "x" .. o
