-- class: budget | expect: stopped | kam.audit with odd arguments (no table, a table whose fields raise, an unknown collection or field, a limit past its bound, a date that is not one), each refused, then called without end from a coroutine: the budget stops it and nothing is written
for _, a in ipairs{{}, {coll = 1}, {coll = "nope"}, {coll = "clients", limit = 1e12}, {coll = "clients", field = "nope"},
                   {coll = "clients", since = "yesterday"}, {coll = "clients", limit = -1}} do
  assert(not pcall(kam.audit, a), "kam.audit took odd arguments")
end
assert(not pcall(kam.audit))
assert(not pcall(kam.audit, setmetatable({}, {__index = function() error("boom") end})))
local co = coroutine.wrap(function() while true do kam.audit{coll = "clients", limit = 5} coroutine.yield() end end)
while true do co() end
