-- class: memory | expect: ok | an "in" list of 300 invoice ids (more than a filter keeps inline) through count and sum; the answer must be right (or a clear refusal), never silently cut
local ids = db.invoices:all():limit(300):ids()
assert(#ids == 300, "expected 300 ids, got " .. #ids)
local ok, n = pcall(function() return db.invoices:where{id = {"in", ids}}:count() end)
if ok and n ~= 300 then error("where{id = {\"in\", 300 ids}}:count() said " .. tostring(n)) end
local want = 0
for _, id in ipairs(ids) do want = want + db.invoices:get(id).amount end
local ok2, s = pcall(function() return db.invoices:where{id = {"in", ids}}:sum("amount") end)
if ok2 and s ~= want then error("sum over 300 ids: " .. tostring(s) .. ", expected " .. want) end
local ok3, got = pcall(function() return db.invoices:where{id = {"in", ids}}:ids() end)
if ok3 and #got ~= 300 then error("ids() over 300 ids gave " .. #got) end
return n
