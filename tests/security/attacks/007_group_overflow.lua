-- class: memory | expect: refused | says: rolled back on purpose | two invoices of math.maxinteger (inside a kam.tx that rolls back) summed by sum, avg, group sum and group avg: a right (float) or clearly refused answer, never a wrapped negative sum or undefined behaviour
kam.tx(function()
  local ids = db.invoices:where{client = "CL-000001"}:limit(2):ids()
  db.invoices:update(ids[1], {amount = math.maxinteger})
  db.invoices:update(ids[2], {amount = math.maxinteger})
  local function check(what, f)
    local ok, v = pcall(f)
    if ok and (type(v) ~= "number" or v < 0) then error(what .. " gave " .. tostring(v)) end
  end
  check("sum", function() return db.invoices:where{client = "CL-000001"}:sum("amount") end)
  check("avg", function() return db.invoices:where{client = "CL-000001"}:avg("amount") end)
  check("sum(fn)", function() return db.invoices:where{client = "CL-000001"}:sum(function(i) return i.amount end) end)
  check("group sum", function() return db.invoices:all():group("client", "sum", "amount")["CL-000001"] end)
  check("group avg", function() return db.invoices:all():group("client", "avg", "amount")["CL-000001"] end)
  check("group max", function() return db.invoices:all():group("client", "max", "amount")["CL-000001"] end)
  check("index group sum", function() return db.invoices:where{client = "CL-000001"}:group("status", "sum", "amount")[db.invoices:get(ids[1]).status] end)
  error("rolled back on purpose")
end)
