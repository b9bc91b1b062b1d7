-- class: writes | expect: ok policy=refused commit=refused | legit-write: run eval | kam.tx reached from a coroutine, a where() predicate, a sort comparator and a gsub callback inside decide(): none of these doors lets a policy write
coroutine.wrap(function() kam.tx(function() db.clients:update("CL-000003", {city = "via coroutine"}) end) end)()
db.staff:where(function() kam.tx(function() db.clients:update("CL-000004", {city = "via predicate"}) end) return false end):count()
string.gsub("a", "a", function() kam.tx(function() db.clients:update("CL-000005", {city = "via gsub"}) end) end)
return "wrote"
