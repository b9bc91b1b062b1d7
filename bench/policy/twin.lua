-- The plain-Lua twin of `kam policy eval`: the same policy file (rules/NAME.lua) and the
-- same rules/lib modules, run by plain Lua 5.4 over the generated CSVs loaded into tables
-- in memory. `db` and `kam` here are what a team would write for that: rows as tables,
-- each collection grouped by the field its queries name (invoices by client, spend by
-- project ...), a where{} that filters a group with its conditions compiled once per query.
--
--   lua5.4 bench/policy/twin.lua RULES CSVDIR POLICY TODAY [--explain] [--runs N] [--check FILE]
--
-- Prints one line per subject, "id,result" (with --explain, "id,result,reason|reason|...")
-- in id order, and on stderr "@load SECONDS" and one "@eval SECONDS" per run (CPU seconds;
-- the load is not part of the comparison). --check FILE compares the results with the JSON
-- of `kam policy eval POLICY --format json [--explain]` and says how many differ.
local rules, dir, policy, today = arg[1], arg[2], arg[3], arg[4]
assert(rules and dir and policy and today, "usage: twin.lua RULES CSVDIR POLICY TODAY [--explain] [--runs N] [--check FILE]")
local explain, runs, check = false, 1, nil
do
  local i = 5
  while arg[i] do
    if arg[i] == "--explain" then explain = true; i = i + 1
    elseif arg[i] == "--runs" then runs = assert(tonumber(arg[i + 1]), "--runs N"); i = i + 2
    elseif arg[i] == "--check" then check = assert(arg[i + 1], "--check FILE"); i = i + 2
    else error("twin.lua: unknown option " .. arg[i]) end
  end
end

local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/../peers/lua/?.lua;" .. rules .. "/?.lua;" .. package.path
local csv = require "csv"

local fmt, floor, tointeger = string.format, math.floor, math.tointeger

------------------------------------------------------------------ the book in memory

-- column types the policies compare or add up (others stay text)
local INT = {amount = true, tax = true, budget = true, annual_budget = true}
local NUM = {csat = true, progress = true}
local BOOL = {strategic = true}

-- grouping: the fields whose equality a where{} can use to pick a group
local GROUPS = {
  invoices = {"client", "contract"},
  payments = {"invoice"},
  projects = {"client"},
  spend = {"project"},
  activities = {"client"},
  contracts = {"client"},
  opportunities = {"client"},
}

local tables = {}

local function load(name)
  local path = dir .. "/" .. name .. ".csv"
  local f = io.open(path, "rb")
  if not f then return end
  f:close()
  local header, rows = csv.rows(path)
  local list, byid, groups = {}, {}, {}
  for _, g in ipairs(GROUPS[name] or {}) do groups[g] = {} end
  for cells in rows do
    local r = {}
    for j, col in ipairs(header) do
      local v = cells[j]
      if v == nil or v == "" then v = nil
      elseif INT[col] then v = tointeger(tonumber(v)) or tonumber(v)
      elseif NUM[col] then v = tonumber(v)
      elseif BOOL[col] then v = (v == "true" or v == "1" or v == "yes")
      end
      r[col] = v
    end
    list[#list + 1] = r
    byid[r.id] = r
    for g, idx in pairs(groups) do
      local k = r[g]
      if k ~= nil then
        local l = idx[k]
        if not l then l = {}; idx[k] = l end
        l[#l + 1] = r
      end
    end
  end
  table.sort(list, function(a, b) return a.id < b.id end)
  tables[name] = {name = name, list = list, byid = byid, groups = groups}
end

------------------------------------------------------------------ queries

local EMPTY = {}

-- one condition, compiled: a function of the row's value
local function compile(cond)
  if type(cond) ~= "table" then return function(v) return v == cond end end
  local op, a, b = cond[1], cond[2], cond[3]
  if op == "=" or op == "==" then return function(v) return v == a end
  elseif op == "~=" or op == "!=" then return function(v) return v ~= a end
  elseif op == "<" then return function(v) return v ~= nil and v < a end
  elseif op == "<=" then return function(v) return v ~= nil and v <= a end
  elseif op == ">" then return function(v) return v ~= nil and v > a end
  elseif op == ">=" then return function(v) return v ~= nil and v >= a end
  elseif op == "between" then return function(v) return v ~= nil and v >= a and v <= b end
  elseif op == "in" then
    local set = {}
    for _, x in ipairs(a) do set[x] = true end
    return function(v) return v ~= nil and set[v] == true end
  end
  error("twin: unknown operator " .. tostring(op))
end

local Q = {}
Q.__index = Q

local function where(t, conds)
  local rows, fields, tests = nil, {}, {}
  for f, c in pairs(conds) do
    if rows == nil and type(c) ~= "table" and t.groups[f] then
      rows = t.groups[f][c] or EMPTY
    else
      fields[#fields + 1] = f
      tests[#tests + 1] = compile(c)
    end
  end
  return setmetatable({rows = rows or t.list, fields = fields, tests = tests, n = #fields}, Q)
end

local function matches(q, r)
  for i = 1, q.n do
    if not q.tests[i](r[q.fields[i]]) then return false end
  end
  return true
end

function Q:each()
  local rows, i, n = self.rows, 0, #self.rows
  return function()
    while i < n do
      i = i + 1
      local r = rows[i]
      if matches(self, r) then return r end
    end
  end
end

function Q:sum(f)
  local s = 0
  for _, r in ipairs(self.rows) do
    if matches(self, r) then s = s + (r[f] or 0) end
  end
  return s
end

function Q:count()
  local n = 0
  for _, r in ipairs(self.rows) do if matches(self, r) then n = n + 1 end end
  return n
end

function Q:max(f)
  local m
  for _, r in ipairs(self.rows) do
    local v = r[f]
    if v ~= nil and matches(self, r) and (m == nil or v > m) then m = v end
  end
  return m
end

function Q:ids()
  local out = {}
  for _, r in ipairs(self.rows) do if matches(self, r) then out[#out + 1] = r.id end end
  return out
end

function Q:list()
  local out = {}
  for _, r in ipairs(self.rows) do if matches(self, r) then out[#out + 1] = r end end
  return out
end

local C = {}
C.__index = C
function C:where(conds) return where(self, conds) end
function C:get(id) return self.byid[id] end
function C:count() return #self.list end

db = setmetatable({}, {__index = function(_, name)
  local t = tables[name]
  if not t then
    t = {name = name, list = {}, byid = {}, groups = {}}
    tables[name] = t
  end
  return setmetatable(t, C)
end})

------------------------------------------------------------------ dates and formats

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m > 2 and m - 3 or m + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return m <= 2 and y + 1 or y, m, d
end

local function parse(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)")
  if not y then error("expected a date YYYY-MM-DD, got " .. tostring(s), 3) end
  return tonumber(y), tonumber(m), tonumber(d)
end

local function dim(y, m)
  local t = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
  if m == 2 and (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) then return 29 end
  return t[m]
end

local function add_months(s, n)
  local y, m, d = parse(s)
  local total = y * 12 + (m - 1) + n
  y, m = total // 12, total % 12 + 1
  if d > dim(y, m) then d = dim(y, m) end
  return fmt("%04d-%02d-%02d", y, m, d)
end

local function money(n, sign)
  local neg = n < 0
  local s = tostring(neg and -n or n)
  local out = s:reverse():gsub("(%d%d%d)", "%1."):reverse()
  if out:sub(1, 1) == "." then out = out:sub(2) end
  if neg then out = "-" .. out end
  if sign ~= false then out = out .. " ₫" end
  return out
end

local function number(x, dec)
  local raw = fmt("%." .. dec .. "f", x)
  local ip, fp = raw:match("^(-?%d+)%.?(%d*)$")
  local iv = tointeger(tonumber(ip))
  local s = money(iv, false)
  if iv == 0 and ip:sub(1, 1) == "-" then s = "-" .. s end
  if fp ~= "" then s = s .. "," .. fp end
  return s
end

kam = {
  today = function() return today end,
  months_ago = function(n, from) return add_months(from or today, -n) end,
  date_add = function(d, n, unit)
    if unit == "months" then return add_months(d, n) end
    local y, m, dd = civil_from_days(days_from_civil(parse(d)) + n)
    return fmt("%04d-%02d-%02d", y, m, dd)
  end,
  days_between = function(a, b) return days_from_civil(parse(b)) - days_from_civil(parse(a)) end,
  fmt = {
    money = function(n, sign)
      n = tointeger(n) or tointeger(floor(n + (n < 0 and -0.5 or 0.5)))
      return money(n, sign)
    end,
    pct = function(r) return number(r * 100, 1) .. "%" end,
  },
}

------------------------------------------------------------------ the run

local clock = os.clock
local t0 = clock()
local P0 = dofile(rules .. "/" .. policy .. ".lua")
for _, name in ipairs{P0.subject, "clients", "invoices", "payments", "projects", "spend"} do
  if not tables[name] then load(name) end
end
io.stderr:write(fmt("@load %.3f\n", clock() - t0))

local P = P0
if os.getenv("TWIN_GC") then collectgarbage(os.getenv("TWIN_GC")) end
local subjects = tables[P.subject].list
local results, reasons_of = {}, {}
for run = 1, runs do
  local t1 = clock()
  for i, s in ipairs(subjects) do
    local reasons = {}
    local function why(f, ...) reasons[#reasons + 1] = fmt(f, ...) end
    local ok, res = pcall(P.decide, s, why)
    if not ok then res = "error: " .. tostring(res) end
    results[i] = res == nil and "" or tostring(res)
    reasons_of[i] = reasons
  end
  io.stderr:write(fmt("@eval %.3f subjects=%d\n", clock() - t1, #subjects))
end

local out = {}
for i, s in ipairs(subjects) do
  out[i] = explain and (s.id .. "," .. results[i] .. "," .. table.concat(reasons_of[i], "|")) or (s.id .. "," .. results[i])
end
io.write(table.concat(out, "\n"), "\n")

-- the same answers as kam? (its JSON: one object per subject, keys in order)
if check then
  local f = assert(io.open(check, "rb"))
  local text = f:read("a")
  f:close()
  local kam = {}
  for obj in text:gmatch("%b{}") do
    local id = obj:match('"id":"(.-)"')
    local res = obj:match('"result":"(.-)"') or obj:match('"result":([^,}]*)') or ""
    if res == "null" then res = "" end
    local rs = obj:match('"reasons":(%b[])')
    if id then kam[id] = {res, rs} end
  end
  local differ, missing, shown = 0, 0, 0
  for i, s in ipairs(subjects) do
    local k = kam[s.id]
    if not k then missing = missing + 1
    else
      local same = k[1] == results[i]
      if same and explain and k[2] then
        local list = {}
        for r in k[2]:gmatch('"(.-)"[,%]]') do list[#list + 1] = r end
        same = table.concat(list, "|") == table.concat(reasons_of[i], "|")
      end
      if not same then
        differ = differ + 1
        if shown < 3 then
          shown = shown + 1
          io.stderr:write(fmt("differs: %s kam %s, twin %s\n", s.id, k[1], results[i]))
        end
      end
    end
  end
  io.stderr:write(fmt("@check subjects=%d differ=%d missing=%d\n", #subjects, differ, missing))
  if differ > 0 or missing > 0 then os.exit(1) end
end
