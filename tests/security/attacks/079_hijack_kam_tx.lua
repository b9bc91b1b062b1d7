-- class: writes | expect: ok | decide() replaces kam.tx with a wrapper that also updates an invoice; --commit then calls kam.tx to store its decisions: the policy's code must not run inside the engine's transaction (the book unchanged but for the run's own records)
local real = kam.tx
pcall(function()
  kam.tx = function(f, ...)
    return real(function(...)
      local inv = db.invoices:where{client = "CL-000001"}:first()
      db.invoices:update(inv.id, {note = "written through a hijacked kam.tx"})
      return f(...)
    end, ...)
  end
end)
return "A"
