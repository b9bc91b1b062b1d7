-- class: writes | expect: refused | says: rolled back on purpose | a finalizer kept for exit writes through kam.tx; the script's own kam.tx then fails and rolls back, ending the run with an error: nothing may be written after that
kam_keep_79 = select(2, pcall(setmetatable, {}, {__gc = function()
  pcall(kam.tx, function() db.clients:update("CL-000002", {city = "written by a finalizer after a rollback"}) end)
end}))
kam.tx(function()
  db.clients:update("CL-000001", {city = "rolled back"})
  error("rolled back on purpose")
end)
