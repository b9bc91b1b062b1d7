-- class: budget | expect: stopped | an endless loop inside a coroutine made before the budget ran out (coroutine.wrap): the stop reaches coroutines too
local f = coroutine.wrap(function() while true do end end)
f()
