-- scripts/overdue.lua — the nightly step that marks issued invoices past their due date as
-- overdue (hóa đơn quá hạn). Invoices are finance's book: the step writes with the rights of
-- whoever runs it (the nightly schedule's owner, the admin; or finance by hand).
--
--   kam run scripts/overdue.lua        → "invoices: N marked overdue"
if arg[1] then kam.usage("overdue.lua") end

local n = 0
kam.tx(function()
  local ids = db.invoices:where{status = "issued", due = {"<", kam.today()}}:ids()
  for _, id in ipairs(ids) do
    db.invoices:update(id, {status = "overdue"})
    n = n + 1
  end
end)
return string.format("invoices: %d marked overdue", n)
