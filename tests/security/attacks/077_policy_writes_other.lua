-- class: writes | expect: ok policy=refused commit=refused | legit-write: run eval | policy-writes: tier | a policy that writes `tier` also updates an invoice through kam.tx: only its writes field, and only through --commit, may change
kam.tx(function()
  local inv = db.invoices:where{client = "CL-000001"}:first()
  db.invoices:update(inv.id, {note = "written by a tiering policy"})
end)
local c = ...
return c and c.tier
