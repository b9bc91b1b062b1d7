-- class: writes | expect: ok policy=refused commit=refused | flags: top | legit-write: run eval | the policy file's top level (run by kam policy list, show, check and every evaluation) updates a client through kam.tx: never written
kam.tx(function() db.clients:update("CL-000001", {city = "written at load"}) end)
