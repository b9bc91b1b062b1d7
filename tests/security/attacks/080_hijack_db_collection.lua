-- class: writes | expect: ok | policy-writes: tier | decide() puts a fake db.clients in place (rawset) whose update() writes an invoice; --commit then sets the tier through db.clients: nothing but the tier may change (the decision equals the current tier, so not even that)
local clients, invoices = db.clients, db.invoices
local fake = {}
function fake.get(self, id) return {tier = "not the decision"} end
function fake.update(self, id, t)
  local inv = invoices:where{client = "CL-000001"}:first()
  return invoices:update(inv.id, {note = "written through a fake db.clients"})
end
function fake.all(self) return clients:all() end
function fake.where(self, ...) return clients:where(...) end
pcall(rawset, db, "clients", fake)
local c = ...
return c and c.tier
