-- class: memory | expect: refused | says: rolled back on purpose | inside kam.tx, where() predicates delete and insert rows of the collection their scan walks, and an each() loop updates what it reads; then the transaction rolls back: no crash, the book unchanged
kam.tx(function()
  db.activities:where(function(a) pcall(db.activities.delete, db.activities, a.id) return true end):count()
  local k = 0
  db.activities:where(function(a)
    if k < 20 then k = k + 1 pcall(db.activities.insert, db.activities, {client = "CL-000001", kind = "call", date = "2026-01-01"}) end
    return false
  end):count()
  for i in db.invoices:where{client = "CL-000001"}:each() do
    db.invoices:update(i.id, {note = "touched"})
    pcall(db.invoices.delete, db.invoices, i.id)
  end
  db.invoices:where{client = "CL-000002"}:where(function(i) pcall(db.invoices.update, db.invoices, i.id, {client = "CL-000003"}) return true end):sum("amount")
  error("rolled back on purpose")
end)
