-- policy/engine.lua — the policy engine: finding and loading a policy,
-- evaluating it for one subject (its reasons kept), and the forms a result
-- takes in a table cell and in the book. The commands, kam test and kam check
-- build on it (policy.lua hands it to them through `need`).
local K = ...
local root = K.root()

local function die(f, ...) error(string.format(f, ...), 0) end

local function rel(path)
  if path:sub(1, #root + 1) == root .. "/" then return path:sub(#root + 2) end
  return path
end

local function policy_path(name)
  if name:find("/") or name:find("%.lua$") then return name end
  return root .. "/rules/" .. name .. ".lua"
end

-- how a result reads in a table cell
local function show(v)
  if type(v) == "table" then return K.json(v) end
  if v == nil then return "" end
  if math.type(v) == "float" then
    if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
    return (string.format("%.10g", v))
  end
  return tostring(v)
end

-- Output for programs: JSON, YAML and Lua text get values as they are (numbers,
-- booleans, tables), where a table shows text for people. Absent is JSON's
-- null (K.null, as a Lua table cannot hold nil); the other formats leave the
-- key out.
local as_values = K.format() ~= "table" and K.format() ~= "csv"
local null = K.format() == "json" and K.null or nil
local function or_null(v)
  if v == nil then return null end
  return v
end

------------------------------------------------------------------ loading

-- A guard (kind = "guard") watches writes, `on = {"spend:insert", ...}`, and
-- its check(row, old, why) decides each: allow, hold, flag or refuse.
local GUARD_OPS = {insert = true, update = true, delete = true}
local function load_guard(P, r, src, chunk)
  if type(P.check) ~= "function" then die("%s: the guard has no check(row, old, why) function", r) end
  -- writes find their guards by this text (core/policy/guards.lua): a kind computed some other way
  -- would be a guard that never runs
  if not (src:find('kind%s*=%s*"guard"') or src:find("kind%s*=%s*'guard'")) then
    die("%s: write kind = \"guard\" as such in the guard's table, so that kam finds it", r)
  end
  if type(P.on) ~= "table" or #P.on == 0 then
    die("%s: the guard watches no writes (on = {\"spend:insert\", \"spend:update\"})", r)
  end
  local on, subject = {}, nil
  for i, w in ipairs(P.on) do
    local coll, op = tostring(w):match("^([%w_]+):(%a+)$")
    if not coll or not GUARD_OPS[op] then
      die("%s: on[%d] = %q: expected \"COLLECTION:insert\", \":update\" or \":delete\"", r, i, tostring(w))
    end
    if not K.schema(coll) then die("%s: on[%d] = %q: %s is not a collection", r, i, w, coll) end
    if subject and coll ~= subject then die("%s: a guard watches one collection (%s, not also %s)", r, subject, coll) end
    subject = coll
    on[#on + 1] = w
  end
  -- only_if = {"period", "project"}: asked only about writes where the record (as written or as
  -- it was) has one of these fields; kam skips the rest without running Lua
  local only_if
  if P.only_if ~= nil then
    if type(P.only_if) ~= "table" or #P.only_if == 0 then die("%s: only_if lists field names ({\"period\"})", r) end
    local sch = K.schema(subject)
    only_if = {}
    for i, f in ipairs(P.only_if) do
      local known = false
      for _, x in ipairs(sch.fields) do if x.name == f then known = true end end
      if not known then die("%s: only_if[%d] = %q: %s has no such field", r, i, tostring(f), subject) end
      only_if[#only_if + 1] = f
    end
  end
  return {name = P.name, kind = "guard", subject = subject, on = on, only_if = only_if, description = P.description,
          thresholds = P.thresholds, src = src, hash = K.sha256(src), chunk = chunk, path = r, P = P}
end

local function load_policy(path, src)
  local r = rel(path)
  if not src then
    local err
    src, err = K.read(path)
    if not src then
      local bare = r:match("^rules/([%w_%-]+)%.lua$")
      if bare and not K.exists(path) then die("no policy '%s' in rules/ (kam policy list)", bare) end
      die("%s", err)
    end
  end
  local chunk, err = K.compile(src, "@" .. r)
  if not chunk then die("%s", err) end
  -- the file's top level runs read-only and under the policy budget, also
  -- for list, show and check
  K.arm("policy file " .. r)
  local ok, P = pcall(K.instantiate, chunk)
  K.disarm()
  if not ok then die("%s", P) end
  if type(P) ~= "table" then die("%s: a policy returns its table (local P = {...} ... return P)", r) end
  if type(P.name) ~= "string" then die("%s: the policy has no name", r) end
  if P.kind == "guard" then return load_guard(P, r, src, chunk) end
  if type(P.subject) ~= "string" then die("%s: the policy has no subject (the collection it decides about)", r) end
  if type(P.decide) ~= "function" then die("%s: the policy has no decide(subject, why) function", r) end
  local sch = K.schema(P.subject)
  if not sch then die("%s: subject '%s' is not a collection", r, P.subject) end
  if P.writes ~= nil then
    local known = false
    for _, f in ipairs(sch.fields) do if f.name == P.writes then known = true end end
    if not known then die("%s: writes '%s', which %s does not have", r, tostring(P.writes), P.subject) end
  end
  return {name = P.name, subject = P.subject, writes = P.writes, description = P.description,
          thresholds = P.thresholds, src = src, hash = K.sha256(src), chunk = chunk, path = r, P = P}
end

-- One evaluation: the policy's file runs afresh in its own environment, under
-- its own time budget; decide's errors are returned, a budget stop is not.
local function evaluate(pol, e)
  K.arm(string.format("policy %s, %s %s", pol.name, pol.subject, e.id))
  local okP, P = pcall(K.instantiate, pol.chunk)
  if not okP then K.disarm() return false, P, {} end
  local reasons = {}
  local function why(f, ...)
    local ok, s = pcall(string.format, tostring(f), ...)
    reasons[#reasons + 1] = ok and s or tostring(f)
  end
  local ok, res = pcall(P.decide, e, why)
  K.disarm()
  return ok, res, reasons, P
end

-- the field that names a subject, per collection
local label_field = {}
local function name_of(e, coll)
  local f = label_field[coll]
  if f == nil then
    f = false
    local sch = K.schema(coll)
    for _, want in ipairs{"name", "title", "description", "kind"} do
      for _, x in ipairs(sch.fields) do if not f and x.name == want then f = want end end
    end
    label_field[coll] = f
  end
  return f and e[f] or ""
end

-- results as stored: JSON, with the common scalars done here
local function to_json(v)
  if v == nil then return "null" end
  local t = type(v)
  if t == "string" and not v:find('[%c"\\]') then return '"' .. v .. '"' end
  if math.type(v) == "integer" or t == "boolean" then return tostring(v) end
  return K.json(v)
end

-- a usage error: exit 2, and the line says how the command is called
local function usage(f, ...) K.fail(2, "usage: " .. string.format(f, ...)) end

return {root = root, die = die, rel = rel, policy_path = policy_path, show = show, load_policy = load_policy,
        evaluate = evaluate, name_of = name_of, to_json = to_json, as_values = as_values, or_null = or_null,
        usage = usage}
