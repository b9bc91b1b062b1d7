-- class: budget | expect: stopped | an endless loop in a query's sort function (called from C while the rows are sorted)
return db.clients:all():sort(function(a, b) while true do end end):list()
