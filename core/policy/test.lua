-- policy/test.lua — `kam test`: *_test.lua files, each test on a fresh book
-- from its fixture (required fields filled in), decide() through the engine,
-- and with --coverage the lines of each policy that ran.
local K, need, args, opts = ...
local E = need("engine")
local root, die, rel, policy_path = E.root, E.die, E.rel, E.policy_path
local load_policy, evaluate, as_values, or_null = E.load_policy, E.evaluate, E.as_values, E.or_null

local function deep_eq(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then
    if type(a) == "number" and type(b) == "number" then return a == b end
    return false
  end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local function repr(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return K.json(v) end
  return tostring(v)
end

-- required fields the fixture leaves out get values that satisfy the schema
local function fill_defaults(fx)
  local counters = {}
  local function ensure_ids(coll)
    local sch = K.schema(coll)
    if not sch then die("fixture: no collection '%s'", coll) end
    for i, r in ipairs(fx[coll]) do
      if r.id == nil then r.id = string.format("%s%06d", sch.prefix, i) end
    end
    return sch
  end
  local done = {}
  local function fill(coll)
    if done[coll] then return end
    done[coll] = true
    local sch = ensure_ids(coll)
    for i, r in ipairs(fx[coll]) do
      for _, f in ipairs(sch.fields) do
        if f.required and not f.has_default and r[f.name] == nil then
          local t = f.type
          if t == "ref" then
            if not fx[f.ref] or #fx[f.ref] == 0 then fx[f.ref] = {{}} end
            if fx[f.ref] ~= fx[coll] then fill(f.ref) else ensure_ids(coll) end
            r[f.name] = fx[f.ref][1].id
          elseif t == "enum" then r[f.name] = f.values[1]
          elseif t == "money" or t == "int" then r[f.name] = 0
          elseif t == "number" then r[f.name] = 0.0
          elseif t == "bool" then r[f.name] = false
          elseif t == "date" then r[f.name] = kam.today()
          elseif t == "datetime" then r[f.name] = kam.now()
          elseif t == "list" then r[f.name] = {}
          elseif t == "map" then r[f.name] = {}
          else r[f.name] = string.format("%s %d", coll, i) end
        end
      end
    end
  end
  local colls = {}
  for coll in pairs(fx) do colls[#colls + 1] = coll end
  table.sort(colls)
  for _, coll in ipairs(colls) do fill(coll) end
  return fx
end

local function copy(t)
  if type(t) ~= "table" then return t end
  local r = {}
  for k, v in pairs(t) do r[k] = copy(v) end
  return r
end

local function test_files(paths)
  local files = {}
  if #paths == 0 then paths = {root .. "/rules"} end
  for _, p in ipairs(paths) do
    if K.exists(p) then files[#files + 1] = p
    else
      local found = K.ls(p, "_test.lua")
      for _, f in ipairs(found) do files[#files + 1] = p .. "/" .. f end
      if #found == 0 and not p:find("%.lua$") then
        for _, f in ipairs(K.ls(p, "")) do
          for _, g in ipairs(K.ls(p .. "/" .. f, "_test.lua")) do files[#files + 1] = p .. "/" .. f .. "/" .. g end
        end
      end
      if #found == 0 and p:find("%.lua$") then die("%s: no such file", p) end
    end
  end
  return files
end

-- One result per test, and one for a file that fails to load or run. For
-- programs (--format json) a failure is located where its message points
-- (file:line of the expect_ that failed, or of the policy that raised),
-- else at the test file.
local function result(file, tname, err)
  local r = {test_file = rel(file), file = rel(file), name = or_null(tname), ok = err == nil,
             line = or_null(nil), message = or_null(err ~= nil and tostring(err) or nil)}
  if err ~= nil then
    local at, line, msg = tostring(err):match("^([^%s:]+%.lua):(%d+): (.*)$")
    if at then r.file, r.line, r.message = at, tonumber(line), msg end
  end
  return r
end

local function run_tests()
  local files = test_files(args)
  local results = {}
  if #files == 0 and not as_values then print("no *_test.lua files") print("0 passed, 0 failed") return 0 end
  local passed, failed = 0, 0
  -- a failure: printed as it happens for people, kept for programs
  local function failure(file, tname, err, text)
    failed = failed + 1
    if as_values then results[#results + 1] = result(file, tname, err) else print(text) end
  end
  if opts.coverage then K.coverage(true) end
  local loaded = {}
  for _, file in ipairs(files) do
    local fixture = nil
    local policies = {}
    local env = setmetatable({}, {__index = _ENV or _G})
    env.fixture = function(t) fixture = t end
    env.decide = function(pname, id)
      local pol = policies[pname]
      if not pol then pol = load_policy(policy_path(pname)) policies[pname] = pol loaded[pol.path] = pol end
      local e = db[pol.subject]:get(id)
      if not e then error(string.format("no %s %s", pol.subject, tostring(id)), 2) end
      local ok, res, reasons = evaluate(pol, e)
      if not ok then error(res, 0) end
      return res, reasons
    end
    -- a write guard's verdict on a write of row (old: the record before; nil for an insert):
    -- verdict, reasons, and what it gave (field, set, request, flag)
    env.check = function(gname, row, old)
      local pol = policies[gname]
      if not pol then pol = load_policy(policy_path(gname)) policies[gname] = pol loaded[pol.path] = pol end
      if pol.kind ~= "guard" then error(string.format("%s is a policy: decide(%q, id)", gname, gname), 2) end
      local v, out = need("guards").check_one(pol, row, old)
      return v, out.reasons, out
    end
    env.expect_eq = function(actual, expected)
      if not deep_eq(actual, expected) then
        error(string.format("expected %s, got %s", repr(expected), repr(actual)), 2)
      end
    end
    env.expect_true = function(v, what)
      if not v then error("expected a true value" .. (what and (": " .. what) or "") .. ", got " .. repr(v), 2) end
    end
    env.expect_error = function(fn, want)
      local ok, err = pcall(fn)
      if ok then error("expected an error" .. (want and (" with \"" .. want .. "\"") or "") .. ", got none", 2) end
      if want and not tostring(err):find(want, 1, true) then
        error(string.format("expected an error with %q, got %q", want, tostring(err)), 2)
      end
    end
    env.test = function(tname, fn)
      K.fresh_book()
      local ok, err = true, nil
      if fixture then
        ok, err = pcall(function() K.import(K.json(fill_defaults(copy(fixture)))) end)
      end
      if ok then ok, err = pcall(fn) end
      if ok then
        passed = passed + 1
        if as_values then results[#results + 1] = result(file, tname, nil) end
      else
        failure(file, tname, err, string.format("FAIL %s: %s\n     %s", rel(file), tname, tostring(err)))
      end
    end
    local src, rerr = K.read(file)
    if not src then die("%s", rerr) end
    local chunk, err = load(src, "@" .. rel(file), "t", env)
    if not chunk then
      failure(file, nil, err, "FAIL " .. tostring(err))
    else
      local ok, e2 = pcall(chunk)
      if not ok then failure(file, nil, e2, string.format("FAIL %s: %s", rel(file), tostring(e2))) end
    end
  end
  local coverage = nil
  if opts.coverage then
    local hits = K.coverage(false) or {}
    coverage = {}
    if not as_values then
      print("")
      print("coverage of policies:")
    end
    local paths = {}
    for p in pairs(loaded) do paths[#paths + 1] = p end
    table.sort(paths)
    for _, p in ipairs(paths) do
      local listing = K.luac(root .. "/" .. p) or ""
      local code, seen = {}, {}
      for l, op in listing:gmatch("\t%d+\t%[(%d+)%]%s+(%u+)") do
        if op == "VARARGPREP" then l = "0" end
        l = tonumber(l)
        if l > 0 and not seen[l] then seen[l] = true code[#code + 1] = l end
      end
      table.sort(code)
      local h = hits[p] or {}
      local ran, missed = 0, {}
      for _, l in ipairs(code) do if h[l] then ran = ran + 1 else missed[#missed + 1] = l end end
      coverage[#coverage + 1] = {file = p, lines = #code, ran = ran, missed = missed}
      if not as_values then
        print(string.format("  %s: %d of %d lines ran%s", p, ran, #code,
          #missed > 0 and ("; not run: " .. table.concat(missed, ", ")) or ""))
      end
    end
  end
  if as_values then
    K.print({passed = passed, failed = failed, tests = results, coverage = or_null(coverage)})
  else
    print(string.format("%d passed, %d failed", passed, failed))
  end
  if failed > 0 then K.warn(string.format("%d of %d tests failed", failed, passed + failed)) end
  return failed > 0 and 1 or 0
end

return {run = run_tests}
