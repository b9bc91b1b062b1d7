-- The Tarantool peer: memtx spaces with kam's indexes, the benchmark's jobs
-- (bench/jobs.md) as Lua procedures inside the server.
--   tarantool server.lua WORKDIR SOCKET MEMTX_MIB SPEC.lua
-- Listens on a unix socket only. Each procedure returns "@JOB SECONDS
-- ANSWER", SECONDS measured inside the server (no client round trip).
local workdir, socket, memtx_mib, specpath = arg[1], arg[2], tonumber(arg[3]), arg[4]
box.cfg{
  listen = socket,
  work_dir = workdir,
  memtx_memory = memtx_mib * 1024 * 1024,
  checkpoint_count = 1,
  log = workdir .. "/tarantool.log",
  log_level = 4,
}
box.schema.user.grant("guest", "super", nil, nil, {if_not_exists = true})

local clock, csv = require("clock"), require("csv")
local spec = dofile(specpath)
local format = string.format
local BATCH = 10000

local function tt_type(kind)
  if kind == "i" then return "integer" end
  if kind == "n" then return "number" end
  return "string"
end

-- 1. import: every CSV into its space, in transactions of BATCH rows, then
-- kam's secondary indexes (built by sorting, memtx's fastest way on a full
-- space); the primary key (id) is there from the start.
function bench_import(csvdir)
  local t0 = clock.monotonic()
  local rows = 0
  for _, c in ipairs(spec) do
    if box.space[c.name] then box.space[c.name]:drop() end
    local fmt = {}
    for j, col in ipairs(c.columns) do
      fmt[j] = {name = col, type = tt_type(c.kinds[j]), is_nullable = j > 1}
    end
    local s = box.schema.space.create(c.name, {format = fmt})
    s:create_index("primary", {type = "TREE", parts = {{field = 1, type = "string"}}})
    -- plain io: fio would yield, which ends a transaction
    local fh = assert(io.open(csvdir .. "/" .. c.name .. ".csv", "rb"))
    local f = {read = function(_, size) return fh:read(size) or "" end}
    local ncol, kinds = #c.columns, c.kinds
    local first, n = true, 0
    box.begin()
    for _, cells in csv.iterate(f, {chunk_size = 1048576}) do
      if first then
        first = false
      elseif #cells > 1 or cells[1] ~= "" then
        local t = {}
        for j = 1, ncol do
          local v = cells[j]
          if v == nil or v == "" then v = box.NULL
          elseif kinds[j] ~= "s" and kinds[j] ~= "d" then v = tonumber(v) end
          t[j] = v
        end
        s:insert(t)
        n = n + 1
        if n % BATCH == 0 then box.commit(); box.begin() end
      end
    end
    box.commit()
    fh:close()
    rows = rows + n
    for _, x in ipairs(c.indexes) do
      local parts = {}
      for _, p in ipairs(x.on) do
        for j, col in ipairs(c.columns) do
          if col == p then parts[#parts + 1] = {field = j, type = tt_type(kinds[j]), is_nullable = j > 1} end
        end
      end
      s:create_index(x.name, {type = "TREE", unique = false, parts = parts})
    end
  end
  return format("@import %.6f rows=%d invoices=%d", clock.monotonic() - t0, rows, box.space.invoices:len())
end

local function fieldno(space, name)
  for j, f in ipairs(box.space[space]:format()) do
    if f.name == name then return j end
  end
  error(space .. " has no field " .. name)
end

-- 2. point lookups by id
function bench_lookups(N)
  local t0 = clock.monotonic()
  local s = box.space.invoices
  local fa = fieldno("invoices", "amount")
  local n = s:len()
  local fmt = "INV-%0" .. (#tostring(n) < 8 and 8 or #tostring(n)) .. "d"
  local x, found, sum = 1, 0, 0
  for _ = 1, N do
    x = x * 48271 % 2147483647
    local t = s:get(format(fmt, x % n + 1))
    if t then found = found + 1; sum = sum + t[fa] end
  end
  return format("@lookups %.6f found=%d amount=%d", clock.monotonic() - t0, found, sum)
end

-- 3. full-book tiering, per client as the policy asks it: a range of the
-- [client, issued] index, and of [project, date] for each of its projects
local function tier(rev, cost, overdue)
  if rev <= 0 then return "D" end
  local margin100, overdue100 = 100 * (rev - cost), 100 * overdue
  if rev >= 5000000000 and margin100 >= 25 * rev and overdue100 <= 10 * rev then return "A" end
  if rev >= 1000000000 and margin100 >= 15 * rev and overdue100 <= 15 * rev then return "B" end
  if rev >= 200000000 and margin100 >= 0 then return "C" end
  return "D"
end

function bench_tiering(since)
  local t0 = clock.monotonic()
  local inv = box.space.invoices.index.invoices_client_issued
  local prj = box.space.projects.index.projects_client
  local spd = box.space.spend.index.spend_project_date
  local ic, ia, is = fieldno("invoices", "client"), fieldno("invoices", "amount"), fieldno("invoices", "status")
  local sp, sa = fieldno("spend", "project"), fieldno("spend", "amount")
  local n = {A = 0, B = 0, C = 0, D = 0}
  local R, C, O = 0, 0, 0
  for _, c in box.space.clients:pairs() do
    local id = c[1]
    local rev, od, cost = 0, 0, 0
    for _, t in inv:pairs({id, since}, {iterator = "GE"}) do
      if t[ic] ~= id then break end
      local s = t[is]
      if s ~= "draft" then
        local a = t[ia]
        rev = rev + a
        if s == "overdue" then od = od + a end
      end
    end
    for _, p in prj:pairs({id}, {iterator = "EQ"}) do
      local pid = p[1]
      for _, t in spd:pairs({pid, since}, {iterator = "GE"}) do
        if t[sp] ~= pid then break end
        cost = cost + t[sa]
      end
    end
    local k = tier(rev, cost, od)
    n[k] = n[k] + 1
    R, C, O = R + rev, C + cost, O + od
  end
  return format("@tiering %.6f A=%d B=%d C=%d D=%d revenue=%d cost=%d overdue=%d",
    clock.monotonic() - t0, n.A, n.B, n.C, n.D, R, C, O)
end

-- 4. the one-line count
function bench_count()
  return format("invoices=%d", box.space.invoices:len())
end
