-- The in-memory peer: the generated CSVs loaded into plain Lua tables, then
-- the benchmark's jobs (bench/jobs.md) as plain loops. Runs unchanged on
-- Lua 5.4 and LuaJIT, which is the point: the interpreter's own limit.
--   lua5.4 bench/peers/lua/mem.lua SPEC.lua CSVDIR SINCE LOOKUPS
-- Prints one line per job: "@JOB SECONDS ANSWER" (CPU seconds of that job
-- alone; the load is the import job).
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local csv = require "csv"
local spec = dofile(arg[1])
local dir, since, L = arg[2], arg[3], tonumber(arg[4]) or 100000

local clock, format = os.clock, string.format
local gmatch, find = string.gmatch, string.find

-- Each collection: one array per column (struct of arrays: far less memory
-- than a table per row, and faster to scan), an id -> row map, and n.
local db = {}
local function load(c)
  local path = dir .. "/" .. c.name .. ".csv"
  local f = assert(io.open(path, "rb"))
  local lines = f:lines()
  lines() -- header; spec.columns has it
  local ncol, kinds, cols = #c.columns, c.kinds, {}
  for j = 1, ncol do cols[j] = {} end
  local ids, n = {}, 0
  local num = {}
  for j = 1, ncol do num[j] = kinds[j] == "i" or kinds[j] == "n" end
  local function more() return lines() end
  for line in lines do
    n = n + 1
    if find(line, '"', 1, true) then
      local t = csv.split(line, more)
      for j = 1, ncol do
        local v = t[j] or ""
        if v == "" then v = false elseif num[j] then v = tonumber(v) end
        cols[j][n] = v
      end
    else
      local j = 0
      for v in gmatch(line .. ",", "([^,]*),") do
        j = j + 1
        if v == "" then v = false elseif num[j] then v = tonumber(v) end
        cols[j][n] = v
      end
    end
    ids[cols[1][n]] = n
  end
  f:close()
  local t = {n = n, ids = ids}
  for j = 1, ncol do t[c.columns[j]] = cols[j] end
  db[c.name] = t
end

local t0 = clock()
for _, c in ipairs(spec) do load(c) end
local rows = 0
for _, c in ipairs(spec) do rows = rows + db[c.name].n end
print(format("@import %.6f rows=%d invoices=%d", clock() - t0, rows, db.invoices.n))

-- 2. point lookups: the invoice ids of bench/jobs.md, amount of each
do
  t0 = clock()
  local inv = db.invoices
  local ids, amount, n = inv.ids, inv.amount, inv.n
  local w = #tostring(n) < 8 and 8 or #tostring(n)
  local fmt = "INV-%0" .. w .. "d"
  local x, found, sum = 1, 0, 0
  for _ = 1, L do
    x = x * 48271 % 2147483647
    local r = ids[format(fmt, x % n + 1)]
    if r then found = found + 1; sum = sum + amount[r] end
  end
  print(format("@lookups %.6f found=%d amount=%d", clock() - t0, found, sum))
end

-- 3. full-book tiering (bench/jobs.md): one pass over invoices and spend
local function tier(rev, cost, overdue)
  if rev <= 0 then return "D" end
  local margin100, overdue100 = 100 * (rev - cost), 100 * overdue
  if rev >= 5000000000 and margin100 >= 25 * rev and overdue100 <= 10 * rev then return "A" end
  if rev >= 1000000000 and margin100 >= 15 * rev and overdue100 <= 15 * rev then return "B" end
  if rev >= 200000000 and margin100 >= 0 then return "C" end
  return "D"
end
do
  t0 = clock()
  local inv, sp, prj, cl = db.invoices, db.spend, db.projects, db.clients
  local rev, od, cost = {}, {}, {}
  local client, amount, issued, status = inv.client, inv.amount, inv.issued, inv.status
  for i = 1, inv.n do
    if issued[i] >= since then
      local s = status[i]
      if s ~= "draft" then
        local c, a = client[i], amount[i]
        rev[c] = (rev[c] or 0) + a
        if s == "overdue" then od[c] = (od[c] or 0) + a end
      end
    end
  end
  local project, samount, sdate = sp.project, sp.amount, sp.date
  local prow, pclient = prj.ids, prj.client
  for i = 1, sp.n do
    if sdate[i] >= since then
      local c = pclient[prow[project[i]]]
      cost[c] = (cost[c] or 0) + samount[i]
    end
  end
  local n = {A = 0, B = 0, C = 0, D = 0}
  local R, C, O = 0, 0, 0
  local cid = cl.id
  for i = 1, cl.n do
    local c = cid[i]
    local r, k, o = rev[c] or 0, cost[c] or 0, od[c] or 0
    local t = tier(r, k, o)
    n[t] = n[t] + 1
    R, C, O = R + r, C + k, O + o
  end
  print(format("@tiering %.6f A=%d B=%d C=%d D=%d revenue=%d cost=%d overdue=%d",
    clock() - t0, n.A, n.B, n.C, n.D, R, C, O))
end
