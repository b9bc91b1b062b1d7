-- policy/guards.lua — write guards: the files of rules/ with kind = "guard",
-- run by kam inside every write they watch (core/guard.c calls run before the
-- record is stored and after when it was). A guard's check(row, old, why)
-- sees the record as it will be stored and as it was (nil for an insert) and
-- returns one of
--   "allow" (or nothing)  the write goes on;
--   "hold"                stored with status "held", and a request is raised
--                         through the approval engine (kam requests);
--   "flag"                stored with its flag field set, and an alert raised
--                         for the client's owner (kam alerts);
--   "refuse"              the whole transaction rolls back with the reasons;
-- and, optionally, a table: {field = "the field it is about", set = {field =
-- value, ...} (stored with the record), request = {kind =, amount =} (hold),
-- flag = "tag" (flag)}.
--
-- The runner is made once per command and kept; each guard file is run
-- afresh once per transaction (its upvalues are that transaction's memo),
-- and each check runs under the policy budget, reading the whole book (a
-- guard is the book's rule, not the user's view of it) and writing nothing.
local K, need = ...
local E = need("engine")

local RANK = {allow = 0, flag = 1, hold = 2, refuse = 3}

local M = {}
local watch = {}      -- "coll:op" -> the guards watching it, by name
local all = {}        -- name -> loaded guard
local inst, inst_gen = {}, nil

-- Which files are guards: their table says kind = "guard". Only those are
-- run here, so a policy being drafted in rules/ never stops a write.
local function is_guard_src(src)
  return src:find('kind%s*=%s*"guard"') or src:find("kind%s*=%s*'guard'")
end

-- Which writes the guards watch: {{key = "spend:insert", only_if = {fields} or nil}, ...}; a key's
-- only_if is the union of its guards' (nil when one of them looks at every write).
function M.load()
  local dir = E.root .. "/rules"
  local keys = {}
  for _, f in ipairs(K.ls(dir, ".lua")) do
    if not f:find("_test%.lua$") then
      local path = dir .. "/" .. f
      local src = K.read(path)
      if src and is_guard_src(src) then
        local g = E.load_policy(path, src)
        if g.kind == "guard" then
          if all[g.name] then E.die("%s: a guard named %s is also in %s", g.path, g.name, all[g.name].path) end
          all[g.name] = g
          for _, w in ipairs(g.on) do
            if not watch[w] then watch[w] = {} keys[#keys + 1] = w end
            local l = watch[w]
            l[#l + 1] = g
          end
        end
      end
    end
  end
  local out = {}
  for _, w in ipairs(keys) do
    local union, all_rows = {}, false
    for _, g in ipairs(watch[w]) do
      if not g.only_if then all_rows = true else for _, f in ipairs(g.only_if) do union[#union + 1] = f end end
    end
    out[#out + 1] = {key = w, only_if = not all_rows and union or nil}
  end
  return out
end

-- Does a guard look at this write (its only_if)?
local function asks(g, row, old)
  local only = g.only_if
  if not only then return true end
  for i = 1, #only do
    local f = only[i]
    if (row and row[f] ~= nil) or (old and old[f] ~= nil) then return true end
  end
  return false
end

function M.list() return all end

-- The guard's file run in its own environment, once per transaction (gen, a
-- number from C), or once per what-if run (gen, a table of its own).
local side = setmetatable({}, {__mode = "k"})
local function instance(g, gen, armed)
  local cache
  if type(gen) == "table" then
    cache = side[gen]
    if not cache then cache = {} side[gen] = cache end
  else
    if gen ~= inst_gen then inst, inst_gen = {}, gen end
    cache = inst
  end
  local P = cache[g.name]
  if P then return P end
  local ok, res
  if armed then ok, res = pcall(K.instantiate, g.chunk) else ok, res = K.guard_call(K.instantiate, g.chunk) end
  if not ok then return nil, res end
  if type(res) ~= "table" or type(res.check) ~= "function" then return nil, g.path .. ": the guard has no check function" end
  cache[g.name] = res
  return res
end

-- The reasons of the check running now: why() adds to them, made only when a
-- check gives one (a write that is allowed costs no table).
local reasons, lines
local function why(f, ...)
  local ok, s = pcall(string.format, tostring(f), ...)
  if not reasons then reasons, lines = {}, {} end
  reasons[#reasons + 1] = ok and s or tostring(f)
  lines[#lines + 1] = K.where(2)
end
local function read_only() error("the ctx of a check is read-only", 2) end
local NO_CTX = setmetatable({}, {__newindex = read_only})
local EXISTING = setmetatable({}, {__index = {existing = true}, __newindex = read_only})

-- One guard's decision on a write: verdict, and what it gave (reasons with
-- the file:line of each, the field, set, request, flag); nil for a plain
-- allow. The check runs under the policy budget, the book read whole and not
-- written: armed by core/guard.c around run() for a write (armed), else here
-- by K.guard_call.
local function decide(g, P, row, old, ctx, armed)
  reasons, lines = nil, nil
  local ok, v, extra
  if armed then ok, v, extra = pcall(P.check, row, old, why, ctx or NO_CTX)
  else ok, v, extra = K.guard_call(P.check, row, old, why, ctx or NO_CTX) end
  local r, l = reasons, lines
  reasons, lines = nil, nil
  if not ok then
    return "refuse", {reasons = {"the guard failed: " .. tostring(v)}, lines = {g.path}}
  end
  if v == nil then v = "allow" end
  if not RANK[v] then
    return "refuse", {reasons = {string.format("check returned %s (allow, hold, flag or refuse)", tostring(v))}, lines = {g.path}}
  end
  if v == "allow" and extra == nil and not r then return v, nil end
  local out = {reasons = r or {}, lines = l or {}}
  if type(extra) == "table" then
    out.field, out.set, out.request, out.flag = extra.field, extra.set, extra.request, extra.flag
  end
  return v, out
end

-- Runs every guard watching key ("spend:insert") on a write; returns nil when
-- each allows it as it is, else the strongest verdict and what the guards
-- said: {verdict =, guard =, path =, reasons =, lines =, field =, set =,
-- request =, flag =, flags = {...}}.
function M.run(key, row, old, gen)
  local list = watch[key]
  if not list then return nil end
  local best, set
  for i = 1, #list do
    local g = list[i]
    local P, err
    if asks(g, row, old) then P, err = instance(g, gen, true) else P, err = nil, false end
    local v, out
    if err == false then
      v, out = "allow", nil
    elseif not P then
      v, out = "refuse", {reasons = {"the guard did not load: " .. tostring(err)}, lines = {g.path}}
    else
      v, out = decide(g, P, row, old, nil, true)
    end
    if out then
      best = best or {verdict = "allow"}
      if out.set then
        set = set or {}
        for k, x in pairs(out.set) do set[k] = x end
      end
      if v == "flag" then
        best.flags = best.flags or {}
        best.flags[#best.flags + 1] = {guard = g.name, path = g.path, reasons = out.reasons, flag = out.flag, field = out.field}
      end
      if RANK[v] > RANK[best.verdict] then
        best.verdict, best.guard, best.path = v, g.name, g.path
        best.reasons, best.lines, best.field, best.request, best.flag = out.reasons, out.lines, out.field, out.request, out.flag
      end
    end
  end
  if not best then return nil end
  best.set = set
  return best
end

-- What a verdict does once the record is stored (core/guard.c calls it, as the
-- engine, inside the same transaction): a held write raises its request, a
-- flagged one an alert for the client's owner.
-- The writer is told (on stderr, the first few of a run): a held or flagged write is stored, and
-- is not what they asked for. A book's maker and root loading data are not (kam init --demo).
local told, TELL = 0, 10
local function tell(fmt, ...)
  if not (kam.user and kam.user.staff) then return end
  told = told + 1
  if told <= TELL then K.warn(string.format(fmt, ...))
  elseif told == TELL + 1 then K.warn("... and more held or flagged (kam requests --pending, kam alerts)") end
end

function M.after(coll, id, res, row)
  local R = need("requests")
  if res.verdict == "hold" then
    local rq = res.request or {}
    local rid, chain = R.raise_held{kind = rq.kind or "budget_overrun", subject = id, amount = rq.amount or row.amount or 0,
                 reason = string.format("%s (rules: %s)", table.concat(res.reasons or {}, "; "), res.guard)}
    tell("%s %s held by guard %s: %s; %s raised, waiting for the %s", coll, id, res.guard,
      table.concat(res.reasons or {}, "; "), tostring(rid), chain and chain[1] or "?")
  end
  for _, f in ipairs(res.flags or {}) do
    R.flag_alert(coll, id, row, f)
    tell("%s %s flagged by guard %s: %s", coll, id, f.guard, table.concat(f.reasons or {}, "; "))
  end
end

-- kam test: one guard's decision on a write, the guard's file run afresh.
function M.check_one(g, row, old)
  local P, err = instance(g, {})
  if not P then error(err, 0) end
  local v, out = decide(g, P, row, old)
  return v, out or {reasons = {}, lines = {}}
end

-- kam policy whatif GUARD: what the guard would now decide of a record already
-- in the book, as if it were written now (ctx.existing tells the guard the
-- record is counted in the book already).
function M.decide_existing(g, row, gen)
  local P, err = instance(g, gen)
  if not P then return "refuse", {reasons = {"the guard did not load: " .. tostring(err)}} end
  local v, out = decide(g, P, row, nil, EXISTING)
  return v, out or {reasons = {}, lines = {}}
end

return M
