-- class: memory | expect: ok | every query method with odd arguments (math.maxinteger, -1, NaN, inf, huge text, nil, wrong types, a query or an entity or a coroutine where a value goes, wrong self); each may refuse, none may crash
local vals = {n = 0}
local function add(v) vals.n = vals.n + 1 vals[vals.n] = v end
for _, v in ipairs{math.maxinteger, math.mininteger, -1, 0, 2^53, 1e300} do add(v) end
add(0/0) add(math.huge) add(-math.huge) add(nil) add("") add(string.rep("x", 70000)) add("amount") add("desc")
add(true) add({}) add({"in"}) add({">="}) add({"between", 1}) add(print) add(db.clients) add(db.clients:get("CL-000001"))
add(coroutine.create(print))
local q = db.invoices:where{client = "CL-000001"}
local methods = {"where", "all", "sort", "limit", "each", "list", "ids", "first", "count", "sum", "avg", "min", "max",
                 "group", "explain", "get"}
local calls = 0
for i = 1, vals.n do
  local v = vals[i]
  for _, m in ipairs(methods) do
    local f = q[m]
    pcall(f, q, v)
    pcall(f, q, v, v, v)
    pcall(f, v)
    pcall(f, v, "amount")
    calls = calls + 4
  end
  pcall(q.where, q, {amount = v})
  pcall(q.where, q, {client = v})
  pcall(q.where, q, {amount = {">=", v}})
  pcall(q.where, q, {amount = {"between", v, v}})
  pcall(q.where, q, {client = {"in", {v, v, v}}})
  pcall(function() return q:where{issued = {"<", v}}:count() end)
  pcall(function() return q:where{status = v}:count() end)
  pcall(function() return q:limit(v):list() end)
  pcall(function() return q:sort(v, v):first() end)
  pcall(function() return q:sort("amount", v):limit(3):ids() end)
  pcall(function() return q:group("status", v, "amount") end)
  pcall(function() return q:group("status", "sum", v) end)
  pcall(function() return db.invoices:all():limit(v):count() end)
  pcall(function() return db.clients:get(v) end)
end
pcall(function() return q:where(q) end)
pcall(function() return q:where{[1] = "x", [q] = 1} end)
pcall(function() for e in q:each(), q:each() do end end)
return calls
