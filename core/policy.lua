-- policy.lua — the flow of `kam policy ...`, `kam test` and `kam check`.
-- Compiled into kam; runs in the sandbox with K, the engine's bindings
-- (core/policy.c): decisions and runs in the book, hashes, budgets, fresh
-- books for tests, bytecode listings for checks.
local K, cmd, args, opts = ...
local root = K.root()
local fmt = K.format()

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

------------------------------------------------------------------ loading

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

------------------------------------------------------------------ kam policy list / show

local function list()
  local rows = {}
  for _, f in ipairs(K.ls(root .. "/rules", ".lua")) do
    if not f:find("_test%.lua$") then
      local ok, pol = pcall(load_policy, root .. "/rules/" .. f)
      if ok then
        rows[#rows + 1] = {name = pol.name, subject = pol.subject, writes = pol.writes or "",
                           hash = pol.hash:sub(1, 12), description = pol.description or ""}
      else
        rows[#rows + 1] = {name = f:gsub("%.lua$", ""), subject = "", writes = "", hash = "",
                           description = "cannot load: " .. tostring(pol)}
      end
    end
  end
  if #rows == 0 then print("no policies in rules/") return 0 end
  K.print(rows, {"name", "subject", "writes", "hash", "description"})
  return 0
end

local function pretty(v, indent, out)
  indent = indent or ""
  out = out or {}
  if type(v) ~= "table" then out[#out + 1] = indent .. show(v) return out end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  for _, k in ipairs(keys) do
    local x = v[k]
    local label = type(k) == "number" and "-" or (tostring(k) .. ":")
    if type(x) == "table" then
      local flat = true
      for _, y in pairs(x) do if type(y) == "table" then flat = false end end
      if flat then out[#out + 1] = indent .. label .. " " .. K.json(x)
      else
        out[#out + 1] = indent .. label
        pretty(x, indent .. "  ", out)
      end
    else
      out[#out + 1] = indent .. label .. " " .. show(x)
    end
  end
  return out
end

local function show_policy(name)
  local pol = load_policy(policy_path(name))
  local _, committed = K.source(pol.name)
  if fmt == "json" then
    K.print({name = pol.name, file = pol.path, hash = pol.hash, subject = pol.subject, writes = pol.writes,
             description = pol.description, thresholds = pol.thresholds, committed_hash = committed})
    return 0
  end
  print("policy       " .. pol.name)
  print("file         " .. pol.path)
  print("hash         " .. pol.hash)
  print("subject      " .. pol.subject)
  print("writes       " .. (pol.writes or "(nothing)"))
  print("description  " .. (pol.description or ""))
  print("committed    " .. (committed and (committed == pol.hash and "this version" or committed:sub(1, 12) .. " (the file changed since)") or "never"))
  if pol.thresholds then
    print("thresholds")
    print(table.concat(pretty(pol.thresholds, "  "), "\n"))
  end
  return 0
end

------------------------------------------------------------------ kam policy eval

local function each_subject(pol, id, fn)
  if id then
    local e = db[pol.subject]:get(id)
    if not e then die("no %s %s", pol.subject, id) end
    fn(e)
    return
  end
  for e in db[pol.subject]:all():each() do fn(e) end
end

-- decisions, runs and history are kept by the policy's name: a file in
-- rules/ must carry its own name, or it would write under another's
local function own_name(pol, name)
  local base = pol.path:match("^rules/([^/]+)%.lua$")
  if base and base ~= pol.name then
    die("%s: the policy calls itself '%s'; a policy in rules/ is named after its file ('%s')", pol.path, pol.name, base)
  end
  return pol
end

local function eval(name)
  local pol = own_name(load_policy(policy_path(name)), name)
  local rows, out, failures = {}, {}, {}
  local n, changed = 0, 0
  each_subject(pol, opts.id, function(e)
    local ok, res, reasons = evaluate(pol, e)
    n = n + 1
    local last = K.last(e.id, pol.name)
    if not ok then
      if opts.strict then die("policy %s, %s %s: %s", pol.name, pol.subject, e.id, tostring(res)) end
      failures[#failures + 1] = {id = e.id, error = tostring(res)}
      out[#out + 1] = {id = e.id, name = name_of(e, pol.subject), result = "(error)", last = last and show(K.unjson(last.result)) or "", changed = ""}
      return
    end
    local json = to_json(res)
    local ch = not last or last.result ~= json
    if ch then changed = changed + 1 end
    -- for the commit: the decision, kept by the engine (not as Lua strings), and
    -- the field to set where it differs
    if opts.commit then
      K.stage(e.id, json, reasons)
      if pol.writes then rows[#rows + 1] = {id = e.id, result = res} end
    end
    out[#out + 1] = {id = e.id, name = name_of(e, pol.subject), result = show(res),
                     last = last and show(K.unjson(last.result)) or "", changed = ch and "yes" or ""}
    if opts.explain then out[#out].reasons = reasons end
  end)
  if opts.explain and fmt == "table" then
    for _, r in ipairs(out) do
      print(string.format("%s  %s  →  %s%s", r.id, r.name, r.result,
        r.changed == "yes" and ("   (was " .. (r.last ~= "" and r.last or "nothing") .. ")") or ""))
      for i, why in ipairs(r.reasons or {}) do print(string.format("    %d. %s", i, why)) end
    end
  else
    K.print(out, opts.explain and {"id", "name", "result", "last", "changed", "reasons"} or {"id", "name", "result", "last", "changed"})
  end
  for _, f in ipairs(failures) do
    K.warn(string.format("policy %s, %s %s: %s", pol.name, pol.subject, f.id, f.error))
  end
  local committed = ""
  if opts.commit then
    local staged
    kam.tx(function()
      local run = K.run(pol.name, pol.hash, "eval", n, changed, #failures)
      K.save_source(pol.name, pol.hash, pol.src)
      staged = K.put_staged(run, pol.name, pol.hash, pol.subject)
      local coll = db[pol.subject]
      for _, r in ipairs(rows) do
        if coll:get(r.id)[pol.writes] ~= r.result then coll:update(r.id, {[pol.writes] = r.result}) end
      end
    end)
    committed = string.format("; %d decisions committed", staged)
  end
  local line = string.format("%s: %d evaluated, %d changed, %d failed%s", pol.name, n, changed, #failures,
    opts.commit and committed or " (not committed: --commit stores them)")
  if fmt == "table" then print(line) else kam.log("info", "%s", line) end
  return #failures > 0 and 1 or 0
end

------------------------------------------------------------------ kam policy whatif

local function measure_fn(pol_new, pol_old)
  local s = opts.sum
  if s and s ~= true then
    local sch = K.schema(pol_new.subject)
    for _, f in ipairs(sch.fields) do
      if f.name == s then return function(e) return e[s] end, s end
    end
    local chunk, err = load("local __e = ... ; return function(__r) local _ENV = setmetatable({}, {__index = function(_, k) " ..
      "if __r and k ~= 'kam' and k ~= 'db' and k ~= 'math' and k ~= 'string' then local ok, v = pcall(function() return __r[k] end) if ok then return v end end return __e[k] end}) return (" ..
      s .. " ) end", "=--sum", "t")
    if not chunk then die("--sum: %s", err) end
    return chunk(_ENV or _G), s
  end
  local P = pol_new.P.measure and pol_new or (pol_old.P.measure and pol_old)
  if P then
    -- the instance that just decided about this subject (fresh for it), else a new one
    return function(e, inst) local Pm = inst or K.instantiate(P.chunk) return Pm.measure(e) end, "measure",
      P == pol_new and "new" or "old"
  end
  return nil
end

local function whatif(name)
  local with = opts.with
  if not with or with == true then die("policy whatif: --with FILE names the candidate policy") end
  local cur_path = policy_path(name)
  local base_src, base_hash = K.source(name)
  local base_label
  if base_src then
    base_label = "committed " .. base_hash:sub(1, 12)
  else
    base_src = K.read(cur_path)
    if not base_src then die("no policy %s (rules/%s.lua)", name, name) end
    base_label = rel(cur_path)
  end
  local base = load_policy(cur_path, base_src)
  local cand = load_policy(with:sub(1, 1) == "/" and with or with)
  if cand.subject ~= base.subject then die("the candidate decides about %s, the policy about %s", cand.subject, base.subject) end
  local measure, mname, mfrom = measure_fn(cand, base)
  -- both versions ask each subject much the same counts and sums: answered once
  K.memo(true)
  local trans, order, changes = {}, {}, {}
  local n, nchanged, failed, total = 0, 0, 0, 0
  each_subject(base, opts.id, function(e)
    local ok1, r1, w1, P1 = evaluate(base, e)
    local ok2, r2, w2, P2 = evaluate(cand, e)
    n = n + 1
    local a = ok1 and (r1 == nil and "(none)" or show(r1)) or "(error)"
    local b = ok2 and (r2 == nil and "(none)" or show(r2)) or "(error)"
    if not ok1 or not ok2 then failed = failed + 1 end
    local m = 0
    if measure then
      K.arm(string.format("policy %s, %s %s (measure)", cand.name, cand.subject, e.id))
      local ok, v = pcall(measure, e, mfrom == "new" and P2 or mfrom == "old" and P1 or nil)
      K.disarm()
      m = ok and tonumber(v) or 0
    end
    total = total + m
    local key = a .. "\0" .. b
    local t = trans[key]
    if not t then t = {from = a, to = b, subjects = 0, amount = 0} trans[key] = t order[#order + 1] = t end
    t.subjects = t.subjects + 1
    t.amount = t.amount + m
    if a ~= b then
      nchanged = nchanged + 1
      changes[#changes + 1] = {id = e.id, name = name_of(e, base.subject), from = a, to = b, amount = m,
                               before = ok1 and w1 or {tostring(r1)}, after = ok2 and w2 or {tostring(r2)}}
    end
  end)
  table.sort(order, function(x, y)
    if (x.from ~= x.to) ~= (y.from ~= y.to) then return x.from ~= x.to end
    if x.from ~= y.from then return x.from < y.from end
    return x.to < y.to
  end)
  if fmt ~= "table" then
    local tr = {}
    for _, t in ipairs(order) do tr[#tr + 1] = {from = t.from, to = t.to, subjects = t.subjects, amount = t.amount} end
    if fmt == "csv" then
      K.print(tr, {"from", "to", "subjects", "amount"})
    else
      K.print({policy = name, baseline = base_label, baseline_hash = base.hash, candidate = rel(with),
               candidate_hash = cand.hash, measure = mname, evaluated = n, changed = nchanged, failed = failed,
               transitions = tr, changes = changes})
    end
    return 0
  end
  print(string.format("what-if %s over %d %s: %s → %s (%s)", name, n, base.subject, base_label, rel(with), cand.hash:sub(1, 12)))
  print("")
  local rows = {}
  local mcol = mname and ("sum of " .. mname) or "amount"
  for _, t in ipairs(order) do
    rows[#rows + 1] = {transition = t.from .. " → " .. t.to, subjects = t.subjects,
                       [mcol] = measure and kam.fmt.money(t.amount) or ""}
  end
  K.print(rows, {"transition", "subjects", mcol})
  print("")
  print(string.format("%d of %d change%s; %s", nchanged, n,
    nchanged == 1 and "s" or "",
    measure and ("they carry " .. kam.fmt.money((function() local s = 0 for _, c in ipairs(changes) do s = s + c.amount end return s end)()) ..
      " of " .. kam.fmt.money(total) .. " (" .. mname .. ")") or "no measure (--sum FIELD_OR_EXPR)"))
  if failed > 0 then print(string.format("%d subject(s) failed in one version or both", failed)) end
  for _, c in ipairs(changes) do
    print("")
    print(string.format("%s  %s: %s → %s%s", c.id, c.name, c.from, c.to, measure and ("  (" .. kam.fmt.money(c.amount) .. ")") or ""))
    print("  now:")
    for i, w in ipairs(c.before) do print(string.format("    %d. %s", i, w)) end
    print("  with the change:")
    for i, w in ipairs(c.after) do print(string.format("    %d. %s", i, w)) end
  end
  return 0
end

------------------------------------------------------------------ kam policy history

local function history(id, name)
  local h = K.history(id, name)
  table.sort(h, function(a, b)
    if a.time ~= b.time then return a.time < b.time end
    return (a.run or 0) < (b.run or 0)
  end)
  if #h == 0 then print(string.format("no decisions for %s%s", id, name and (" by " .. name) or "")) return 0 end
  local prev, rows = {}, {}
  for _, d in ipairs(h) do
    local p = prev[d.policy]
    local cause
    if not p then cause = "first decision"
    elseif p.result == d.result then cause = p.hash == d.hash and "unchanged" or "unchanged (new policy version)"
    elseif p.hash ~= d.hash then cause = "the policy changed"
    else cause = "the data changed" end
    rows[#rows + 1] = {time = d.time, policy = d.policy, hash = d.hash:sub(1, 12), result = show(K.unjson(d.result)),
                       cause = cause, user = d.user, run = d.run}
    if opts.explain then rows[#rows].reasons = d.reasons end
    prev[d.policy] = d
  end
  if opts.explain and fmt == "table" then
    for _, r in ipairs(rows) do
      print(string.format("%s  %s %s  →  %s   (%s; %s, run %s)", r.time, r.policy, r.hash, r.result, r.cause, r.user, tostring(r.run)))
      for i, w in ipairs(r.reasons or {}) do print(string.format("    %d. %s", i, w)) end
    end
  else
    K.print(rows, {"time", "policy", "hash", "result", "cause", "user", "run"})
  end
  return 0
end

------------------------------------------------------------------ kam test

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

local function run_tests()
  local files = test_files(args)
  if #files == 0 then print("no *_test.lua files") print("0 passed, 0 failed") return 0 end
  local passed, failed = 0, 0
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
      if ok then passed = passed + 1
      else
        failed = failed + 1
        print(string.format("FAIL %s: %s\n     %s", rel(file), tname, tostring(err)))
      end
    end
    local src, rerr = K.read(file)
    if not src then die("%s", rerr) end
    local chunk, err = load(src, "@" .. rel(file), "t", env)
    if not chunk then
      failed = failed + 1
      print("FAIL " .. tostring(err))
    else
      local ok, e2 = pcall(chunk)
      if not ok then failed = failed + 1 print(string.format("FAIL %s: %s", rel(file), tostring(e2))) end
    end
  end
  if opts.coverage then
    local hits = K.coverage(false) or {}
    print("")
    print("coverage of policies:")
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
      print(string.format("  %s: %d of %d lines ran%s", p, ran, #code,
        #missed > 0 and ("; not run: " .. table.concat(missed, ", ")) or ""))
    end
  end
  print(string.format("%d passed, %d failed", passed, failed))
  if failed > 0 then K.warn(string.format("%d of %d tests failed", failed, passed + failed)) end
  return failed > 0 and 1 or 0
end

------------------------------------------------------------------ kam check

local STD = {}
for n in ([[assert collectgarbage error getmetatable ipairs load next pairs pcall print rawequal rawget
  rawlen rawset require select setmetatable tonumber tostring type xpcall _G _VERSION _ENV
  coroutine math os string table utf8 kam db]]):gmatch("%S+") do STD[n] = true end
local TEST_API = {test = true, fixture = true, decide = true, expect_eq = true, expect_true = true, expect_error = true}

local function lua_files(dir, out, recurse)
  for _, f in ipairs(K.ls(dir, ".lua")) do out[#out + 1] = dir .. "/" .. f end
  if recurse then
    for _, d in ipairs(K.ls(dir, "")) do
      if not d:find("%.") then lua_files(dir .. "/" .. d, out, true) end
    end
  end
  return out
end

-- bands: lists of {min = a, max = b}; sorted by min, each must end where the next begins
local function check_bands(t, path, problems, file)
  if type(t) ~= "table" then return end
  local is_bands = #t > 0
  for _, b in ipairs(t) do
    if type(b) ~= "table" or (b.min == nil and b.max == nil) then is_bands = false end
  end
  if is_bands then
    local bands = {}
    for i, b in ipairs(t) do bands[i] = {min = tonumber(b.min) or -math.huge, max = tonumber(b.max) or math.huge, i = i, b = b} end
    table.sort(bands, function(a, b) return a.min < b.min end)
    local function name(x)
      for _, k in ipairs{"tier", "band", "name", "level", "label", "role", "rating"} do
        if x.b[k] ~= nil then return tostring(x.b[k]) end
      end
      return "#" .. x.i
    end
    for i = 1, #bands do
      local b = bands[i]
      if b.min >= b.max then problems[#problems + 1] = string.format("%s: thresholds%s: band %s is empty (min %s >= max %s)", file, path, name(b), show(b.b.min), show(b.b.max)) end
      local nx = bands[i + 1]
      if nx then
        if b.max > nx.min then
          problems[#problems + 1] = string.format("%s: thresholds%s: bands %s and %s overlap (%s .. %s)", file, path, name(b), name(nx), show(nx.b.min), show(b.b.max))
        elseif b.max < nx.min then
          problems[#problems + 1] = string.format("%s: thresholds%s: a gap between bands %s and %s (%s .. %s)", file, path, name(b), name(nx), show(b.b.max), show(nx.b.min))
        end
      end
    end
    return
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    check_bands(t[k], path .. (type(k) == "number" and ("[" .. k .. "]") or ("." .. tostring(k))), problems, file)
  end
end

local function check_file(path, problems)
  local r = rel(path)
  local src, err = K.read(path)
  if not src then problems[#problems + 1] = err return end
  local chunk, cerr = K.compile(src, "@" .. r)
  if not chunk then problems[#problems + 1] = cerr return end
  local is_test = r:find("_test%.lua$") ~= nil
  local is_policy = r:find("^rules/") and not r:find("^rules/lib/") and not is_test
  if not is_policy and not is_test and not r:find("^scripts/") and not r:find("/lib/") then
    -- a candidate elsewhere (kam check new_tiering.lua): a policy if it looks like one
    is_policy = pcall(load_policy, path)
  end
  local is_script = r:find("^scripts/") ~= nil
  local pol, decide_line
  if is_policy then
    local ok, p = pcall(load_policy, path)
    if not ok then problems[#problems + 1] = tostring(p)
    else
      pol = p
      decide_line = K.funcline(p.P.decide)
      if p.thresholds then check_bands(p.thresholds, "", problems, r) end
    end
  end
  local fields = {}
  if pol then for _, f in ipairs(K.schema(pol.subject).fields) do fields[f.name] = true end end
  local listing, lerr = K.luac(path)
  -- the checks below read the listing: without it nothing was checked
  if not listing then problems[#problems + 1] = string.format("%s: %s", r, lerr) return end
  local in_decide, params = false, 0
  local reported = {}
  for line in listing:gmatch("[^\n]+") do
    local fl = line:match("^function <[^:]*:(%d+),%d+>") or (line:match("^main <") and "0")
    if fl then in_decide = decide_line ~= nil and tonumber(fl) == decide_line end
    local np = line:match("^(%d+)%+? params")
    if np then params = tonumber(np) end
    local ln, op, rest = line:match("^%s+%d+%s+%[(%d+)%]%s+(%u+)%s+(.*)$")
    if ln then
      local g = rest:match('; _ENV "([^"]+)"')
      if g and (op == "GETTABUP" or op == "SETTABUP") then
        local key = op .. g .. ln
        if not reported[key] then
          reported[key] = true
          if op == "SETTABUP" then
            problems[#problems + 1] = string.format("%s:%s: writes the global '%s' (make it local)", r, ln, g)
          elseif not STD[g] and not (is_test and TEST_API[g]) and not (is_script and g == "arg") then
            problems[#problems + 1] = string.format("%s:%s: reads '%s', which is not a local, the kam API or the standard library", r, ln, g)
          end
        end
      end
      if in_decide and pol and params >= 1 and (op == "GETFIELD" or op == "SELF") then
        local a, b = rest:match("^(%d+)%s+(%d+)")
        local k = rest:match('; "([^"]+)"')
        if b == "0" and k and not fields[k] then
          problems[#problems + 1] = string.format("%s:%s: %s has no field '%s'", r, ln, pol.subject, k)
        end
      end
    end
  end
end

local function check()
  local files = {}
  if #args == 0 then
    lua_files(root .. "/rules", files, true)
    lua_files(root .. "/scripts", files, true)
  else
    for _, p in ipairs(args) do
      if K.exists(p) then files[#files + 1] = p else lua_files(p, files, true) end
    end
  end
  local problems = {}
  for _, f in ipairs(files) do check_file(f, problems) end
  for _, p in ipairs(problems) do print(p) end
  print(string.format("config/kam.yaml and config/schema.yaml: valid; %d file%s checked, %d problem%s",
    #files, #files == 1 and "" or "s", #problems, #problems == 1 and "" or "s"))
  if #problems > 0 then K.warn(string.format("check: %d problem%s", #problems, #problems == 1 and "" or "s")) end
  return #problems > 0 and 1 or 0
end

------------------------------------------------------------------ dispatch

if cmd == "test" then return run_tests() end
if cmd == "check" then return check() end
local sub = args[1]
if sub == "list" then return list()
elseif sub == "show" then
  if not args[2] then die("policy show: which policy? (kam policy list)") end
  return show_policy(args[2])
elseif sub == "eval" then
  if not args[2] then die("policy eval: which policy? (kam policy list)") end
  return eval(args[2])
elseif sub == "whatif" then
  if not args[2] then die("policy whatif: which policy? (kam policy whatif NAME --with FILE)") end
  return whatif(args[2])
elseif sub == "history" then
  if not args[2] then die("policy history: which subject? (kam policy history ID [NAME])") end
  return history(args[2], args[3])
end
die("policy: %s (expected list, show, eval, whatif or history)", sub and ("unknown command " .. sub) or "which command?")
