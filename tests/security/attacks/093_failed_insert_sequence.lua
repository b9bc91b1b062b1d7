-- class: writes | expect: ok policy=refused commit=refused | inside a kam.tx that commits, inserts of invoices that validation refuses (an unknown client, a bad status) are caught by pcall: they must not use up invoice numbers (the next new invoice gets the next number; invoice numbering has no gaps)
kam.tx(function()
  for _, bad in ipairs{{client = "CL-009999", amount = 1, issued = "2026-11-01", due = "2026-12-01"},
                       {client = "CL-000001", amount = 1, issued = "2026-11-01", due = "2026-12-01", status = "stolen"},
                       {client = "CL-000001", amount = "lots", issued = "2026-11-01", due = "2026-12-01"}} do
    if pcall(db.invoices.insert, db.invoices, bad) then error("an invalid invoice was inserted") end
  end
end)
return "ok"
