-- class: writes | expect: ok policy=refused commit=refused | legit-write: run eval | decide() opens kam.tx and updates a client: a script may, a policy (eval or --commit) may not; the book unchanged
kam.tx(function() db.clients:update("CL-000001", {city = "written by decide"}) end)
return "wrote"
