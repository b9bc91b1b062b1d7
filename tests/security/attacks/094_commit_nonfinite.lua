-- class: writes | expect: ok commit=refused | policy-writes: csat | NaN and infinities as values of a number field: refused by update in a script, and by --commit of a policy that writes csat (a careful user wants a real number there)
local c = ...
if c then
  if c.id == "CL-000001" then return 0/0 elseif c.id == "CL-000002" then return math.huge elseif c.id == "CL-000003" then return -math.huge end
  return c.csat
end
kam.tx(function()
  for _, v in ipairs{0/0, math.huge, -math.huge} do
    if pcall(db.clients.update, db.clients, "CL-000001", {csat = v}) then error("csat took " .. tostring(v)) end
  end
end)
return "ok"
