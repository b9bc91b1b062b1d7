-- class: writes | expect: ok policy=refused commit=refused | legit-write: run eval | decide() calls the request engine (kam.request, kam.approve, kam.reject, kam.withdraw, each under pcall) and then writes with kam.tx: the engine's own evaluations must not end the policy's read-only spell, so the write is refused (eval or --commit) and nothing is written; a script (root, no staff member) may write but raises no request
for _, f in ipairs{function() return kam.request{kind = "discount", subject = "CL-000001", amount = 1, reason = "x"} end,
                   function() return kam.approve("RQ-000003", "x") end, function() return kam.reject("RQ-000003", "x") end,
                   function() return kam.withdraw("RQ-000003") end} do
  local ok = pcall(f)
  assert(not ok, "the request engine answered")
end
kam.tx(function() db.clients:update("CL-000001", {city = "after the engine"}) end)
