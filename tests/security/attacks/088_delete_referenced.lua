-- class: writes | expect: ok policy=refused commit=refused | deletes of a client that invoices point to, a staff member who owns clients, a contract with invoices: each refused, nothing written
kam.tx(function()
  local owner = db.clients:get("CL-000001").owner
  local contract = db.invoices:where{client = "CL-000001"}:first().contract
  for _, t in ipairs{{db.clients, "CL-000001"}, {db.staff, owner}, {db.contracts, contract}} do
    if t[2] and pcall(t[1].delete, t[1], t[2]) then error("deleted " .. t[2] .. ", which other records point to") end
  end
end)
return "ok"
