-- class: writes | expect: ok | flags: top | legit-write: run eval | the policy file's top level tries kam.tx inside pcall and leaves a finalizer that tries again at exit: list, show, check and eval go on, and nothing is written
pcall(kam.tx, function() db.clients:update("CL-000002", {city = "written at load"}) end)
kam_keep_86 = select(2, pcall(setmetatable, {}, {__gc = function()
  pcall(kam.tx, function() db.clients:update("CL-000003", {city = "written at exit"}) end)
end}))
