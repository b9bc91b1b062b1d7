-- class: memory | expect: ok | an entity and an index-scan entity kept while 70 commits (and new reads) end the snapshot they came from, then read, iterated, compared and used as ids: a clear error or the right value, never a read of unmapped memory
local e = db.clients:get("CL-000001")
local ie = db.invoices:where{client = "CL-000001"}:first()
local want_name = e.name
local want_amount = db.invoices:get(ie.id).amount
for i = 1, 70 do pcall(kam.tx, function() end) db.staff:count() db.clients:get("CL-000002") end
local ok1, v1 = pcall(function() return e.name end)
if ok1 and v1 ~= want_name then error("an entity of an ended snapshot read " .. tostring(v1)) end
local ok2, v2 = pcall(function() return ie.amount end)
if ok2 and v2 ~= want_amount then error("an index entity of an ended snapshot read " .. tostring(v2)) end
pcall(function() return ie.note, ie.contract end)
pcall(function() for k, v in pairs(e) do end end)
pcall(function() return e == ie, tostring(e), tostring(ie) end)
pcall(function() return db.invoices:where{client = e}:count() end)
pcall(function() return db.clients:get(e) end)
pcall(function() return db.invoices:where{client = {"in", {e, ie}}}:count() end)
return "ok"
