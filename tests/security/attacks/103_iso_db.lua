-- class: isolation | expect: ok | flags: same | db.clients swapped for db.invoices (rawset) and db's metatable's __index replaced: the next evaluation (and the engine, which reads its subjects through db) must see the real db
local seen = tostring(db.clients) .. "/" .. tostring(db.staff) .. "/" .. tostring(rawget(db, "kam_mark"))
pcall(rawset, db, "clients", db.invoices)
pcall(rawset, db, "kam_mark", "added")
pcall(function() getmetatable(db).__index = function(_, k) return db.invoices end end)
return seen
