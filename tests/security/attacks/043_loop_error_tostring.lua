-- class: budget | expect: stopped | an error object whose __tostring loops (called when the error is reported): stopped with the budget's message
error(setmetatable({}, {__tostring = function() while true do end end}))
