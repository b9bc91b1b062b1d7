-- class: budget | expect: stopped | an endless loop inside pcall inside a where() predicate, over and over: kam's own protected call of the predicate must not catch the stop
while true do
  db.clients:where(function() return pcall(function() while true do end end) end):count()
end
