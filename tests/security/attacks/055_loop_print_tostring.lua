-- class: budget | expect: stopped | an endless loop in __tostring, called by print
print(setmetatable({}, {__tostring = function() while true do end end}))
