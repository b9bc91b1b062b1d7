-- class: memory | expect: ok | an each() iterator stepped after 70 commits ended its snapshot, then closed twice: a clear error or the next row, never a read through an aborted transaction's cursor
local it, _, _, closer = db.invoices:all():each()
local first = it()
local it2 = db.invoices:where{client = "CL-000003"}:each()
local first2 = it2()
for i = 1, 70 do pcall(kam.tx, function() end) db.staff:count() end
local ok, v = pcall(it)
if ok and v ~= nil then
  local ok2, id = pcall(function() return v.id end)
  if ok2 and id <= first.id then error("the iterator went backwards: " .. id) end
end
pcall(it2)
pcall(it2)
if closer then
  local mt = getmetatable(closer)
  if type(mt) == "table" and mt.__close then pcall(mt.__close, closer) pcall(mt.__close, closer) end
end
pcall(it)
return "ok"
