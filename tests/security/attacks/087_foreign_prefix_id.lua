-- class: writes | expect: ok policy=refused commit=refused | inserts whose id carries another collection's prefix (an invoice "CL-009999", an activity "CL-000001", a client "INV-000001"): each refused, nothing written
kam.tx(function()
  local tries = {
    {db.invoices, {id = "CL-009999", client = "CL-000001", amount = 1, issued = "2026-01-01", due = "2026-02-01"}},
    {db.activities, {id = "CL-000001", client = "CL-000001", kind = "call", date = "2026-11-01"}},
    {db.clients, {id = "INV-000001", name = "an invoice's id"}},
    {db.clients, {id = "cl-000999", name = "lower case"}},
  }
  for _, t in ipairs(tries) do
    if pcall(t[1].insert, t[1], t[2]) then error("accepted the id " .. t[2].id) end
  end
end)
return "ok"
