-- class: budget | expect: stopped | endless loops under xpcall with a handler that returns the message, again and again: the stop cannot be caught
while true do xpcall(function() while true do end end, function(m) return m end) end
