-- class: memory | expect: ok | "in" lists of 20.000 values (the real ones last), of mixed types, with holes, and reversed or huge ranges; a right answer or a clear refusal, no crash
local big = {}
for i = 1, 19950 do big[i] = string.format("XX-%06d", i) end
for i = 1, 50 do big[#big + 1] = string.format("CL-%06d", i) end
local ok, n = pcall(function() return db.invoices:where{client = {"in", big}}:count() end)
if ok and n ~= db.invoices:count() then
  error("in-list of 20.000 client ids counted " .. tostring(n) .. " of " .. db.invoices:count())
end
pcall(function() return db.invoices:where{client = {"in", {1, "CL-000001", true, 2.5, {}, "CL-000002", db.clients}}}:count() end)
pcall(function() return db.invoices:where{client = {"in", {"CL-000001", nil, "CL-000002"}}}:count() end)
pcall(function() return db.invoices:where{client = {"in", {}}}:count() end)
pcall(function() return db.invoices:where{client = {"in"}}:count() end)
pcall(function() return db.invoices:where{amount = {"between", 1e18, -1e18}}:count() end)
pcall(function() return db.invoices:where{amount = {"between", math.mininteger, math.maxinteger}}:sum("amount") end)
pcall(function() return db.invoices:where{amount = {"in", {0/0, math.huge, -math.huge, math.maxinteger}}}:count() end)
pcall(function() return db.invoices:where{issued = {"between", "9999-12-31", "0001-01-01"}}:count() end)
return n
