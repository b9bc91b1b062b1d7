-- class: writes | expect: refused | an insert outside kam.tx (then an update and a delete, if it got that far): refused everywhere, the book unchanged
db.activities:insert{client = "CL-000001", kind = "call", date = "2026-11-01"}
db.clients:update("CL-000001", {city = "written outside kam.tx"})
db.activities:delete(db.activities:all():first().id)
