-- class: writes | expect: stopped | a finalizer kept for exit opens kam.tx and updates a client; the script is then stopped by its budget: nothing may be written after the stop (refusing finalizers is fine)
kam_keep_78 = select(2, pcall(setmetatable, {}, {__gc = function()
  kam.tx(function() db.clients:update("CL-000001", {city = "written by a finalizer after the stop"}) end)
end}))
while true do end
