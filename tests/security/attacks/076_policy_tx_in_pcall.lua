-- class: writes | expect: ok | legit-write: run eval | decide() writes through kam.tx inside pcall, so that a refusal does not fail the evaluation: a policy's write must still not happen (eval or --commit)
pcall(kam.tx, function() db.clients:update("CL-000002", {city = "written by decide in pcall"}) end)
return "ok"
