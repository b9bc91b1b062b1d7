-- class: writes | expect: ok policy=refused commit=refused | a nested kam.tx writes and fails; the outer one catches it with pcall and commits: the failed nested transaction's write must not be committed
kam.tx(function()
  local ok = pcall(kam.tx, function()
    db.clients:update("CL-000001", {city = "written by a failed nested kam.tx"})
    db.activities:insert{client = "CL-000001", kind = "call", date = "2026-11-01"}
    error("nested failure")
  end)
  assert(not ok)
end)
return "ok"
