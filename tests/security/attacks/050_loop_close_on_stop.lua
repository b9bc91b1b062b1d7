-- class: budget | expect: stopped | an endless loop, and a __close that loops again while the stop unwinds: still stopped, within the budget
local x <close> = setmetatable({}, {__close = function() while true do end end})
while true do end
