-- class: budget | expect: stopped | an endless loop in xpcall's message handler: stopped with the budget's message, not "error in error handling"
xpcall(error, function(m) while true do end end)
