-- class: writes | expect: ok | policy-writes: tier | decide() leaves finalizers that keep trying db.invoices:update and re-arm themselves, with the collector made eager, so that one runs inside --commit's transaction: a policy's finalizer must never write (refusing finalizers is fine)
local invoices = db.invoices
local target = invoices:where{client = "CL-000001"}:first().id
local mt = {}
mt.__gc = function()
  local ok = pcall(invoices.update, invoices, target, {note = "written by a policy's finalizer"})
  if not ok then pcall(setmetatable, {}, mt) local junk = {} for i = 1, 64 do junk[i] = {i} end end
end
for i = 1, 20 do pcall(setmetatable, {}, mt) end
pcall(collectgarbage, "incremental", 1, 1000)
local c = ...
return c and c.tier
