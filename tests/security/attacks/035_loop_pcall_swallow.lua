-- class: budget | expect: stopped | an endless loop inside pcall, inside an endless loop that ignores pcall's result: the stop cannot be caught
while true do pcall(function() while true do end end) end
