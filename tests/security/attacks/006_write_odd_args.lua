-- class: memory | expect: refused | says: rolled back on purpose | insert, update and delete with odd values (NaN, inf, math.maxinteger, huge text, 100.000-item lists, cyclic and deep tables, wrong types, nil ids) inside kam.tx, then a rollback: no crash, and the book unchanged
local cyc = {} cyc[1] = cyc
local deep = {} local cur = deep for i = 1, 10000 do cur[1] = {} cur = cur[1] end
local long = {} for i = 1, 100000 do long[i] = i end
local vals = {n = 0}
local function add(v) vals.n = vals.n + 1 vals[vals.n] = v end
for _, v in ipairs{0/0, math.huge, -math.huge, math.maxinteger, math.mininteger, -1, 1e300, ""} do add(v) end
add(string.rep("x", 200000)) add(nil) add(true) add(cyc) add(deep) add(long) add(print) add(db.clients)
add(db.clients:get("CL-000001")) add({a = {b = {c = cyc}}}) add(setmetatable({}, {__index = function() error("no") end}))
kam.tx(function()
  for i = 1, vals.n do
    local v = vals[i]
    for _, f in ipairs{"annual_budget", "csat", "name", "kpis", "tier", "owner", "strategic", "first_engaged", "id"} do
      pcall(db.clients.insert, db.clients, {name = "odd " .. i, [f] = v})
      pcall(db.clients.update, db.clients, "CL-000001", {[f] = v})
    end
    pcall(db.clients.update, db.clients, v, {name = "x"})
    pcall(db.clients.update, db.clients, "CL-000002", v)
    pcall(db.clients.insert, db.clients, v)
    pcall(db.clients.delete, db.clients, v)
    pcall(db.projects.update, db.projects, db.projects:all():first().id, {results = v, milestones = v})
    pcall(db.clients.insert, v, {name = "wrong self"})
  end
  pcall(db.clients.insert, db.clients, {[string.rep("f", 100000)] = 1})
  pcall(db.clients.insert, db.clients, {[1] = "positional"})
  pcall(db.clients.insert, db.clients, {[db.clients] = 1})
  error("rolled back on purpose")
end)
