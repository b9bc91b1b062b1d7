-- policy/commands.lua — `kam policy list | show | eval | whatif | history | changes`:
-- what each prints, and eval --commit's one transaction (decisions, the run,
-- the policy's text, the field it writes).
local K, need, args, opts = ...
local E = need("engine")
local root, die, rel, policy_path, show = E.root, E.die, E.rel, E.policy_path, E.show
local load_policy, evaluate, name_of, to_json = E.load_policy, E.evaluate, E.name_of, E.to_json
local as_values, or_null, usage = E.as_values, E.or_null, E.usage
local fmt = K.format()

------------------------------------------------------------------ kam policy list / show

local function list()
  local rows = {}
  for _, f in ipairs(K.ls(root .. "/rules", ".lua")) do
    if not f:find("_test%.lua$") then
      local ok, pol = pcall(load_policy, root .. "/rules/" .. f)
      local name = f:gsub("%.lua$", "")
      local guard = ok and pol.kind == "guard"
      -- a guard writes nothing itself: it decides writes (what it watches)
      local writes = guard and ("guards " .. table.concat(pol.on, ", ")) or (ok and pol.writes) or nil
      if as_values then
        rows[#rows + 1] = {name = ok and pol.name or name, kind = ok and (pol.kind or "policy") or nil,
                           subject = or_null(ok and pol.subject or nil),
                           writes = or_null(not guard and ok and pol.writes or nil), on = guard and pol.on or nil,
                           hash = or_null(ok and pol.hash or nil),
                           description = or_null(ok and pol.description or nil),
                           error = or_null(not ok and tostring(pol) or nil)}
      elseif ok then
        rows[#rows + 1] = {name = pol.name, kind = pol.kind or "policy", subject = pol.subject, writes = writes or "",
                           hash = pol.hash:sub(1, 12), description = pol.description or ""}
      else
        rows[#rows + 1] = {name = name, kind = "", subject = "", writes = "", hash = "",
                           description = "cannot load: " .. tostring(pol)}
      end
    end
  end
  if as_values then K.print(rows) return 0 end
  if #rows == 0 then print("no policies in rules/") return 0 end
  K.print(rows, {"name", "kind", "subject", "writes", "hash", "description"})
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
  if as_values then
    K.print({name = pol.name, kind = pol.kind or "policy", file = pol.path, hash = pol.hash, subject = pol.subject,
             writes = or_null(pol.writes), on = or_null(pol.on),
             description = or_null(pol.description), thresholds = or_null(pol.thresholds),
             committed_hash = or_null(committed)})
    return 0
  end
  print((pol.kind == "guard" and "guard        " or "policy       ") .. pol.name)
  print("file         " .. pol.path)
  print("hash         " .. pol.hash)
  print("subject      " .. pol.subject)
  if pol.kind == "guard" then
    print("watches      " .. table.concat(pol.on, ", ") .. " (allow, hold, flag or refuse each write)")
  else
    print("writes       " .. (pol.writes or "(nothing)"))
  end
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

local guard_whatif -- below: kam policy eval GUARD is its what-if

-- A whole-book eval shares its subjects with other kam processes (core/workers.c)
-- when the machine has more than one core and the book enough subjects: each
-- evaluates a contiguous share, in the same version of the book, and this
-- process takes their results in order as if it had evaluated them itself.
-- --jobs N sets how many processes in all (1: this one alone).
local PER_JOB = 1000 -- with fewer subjects each, starting a process costs more than it saves
local MAX_JOBS = 16
local BOOK_MOVED = 75 -- a worker's exit: the book changed since the command read it

-- one subject's evaluation as a worker sends it: the result's type kept (a
-- float stays a float), a table as its JSON, the reasons as they are, and
-- whatif's measure of the subject (a number, or none)
local RESULT = "<s4s1s4i4I4"
local function pack_number(m)
  if math.type(m) == "integer" then return string.pack("<s1j", "i", m) end
  if math.type(m) == "float" then return string.pack("<s1n", "f", m) end
  return string.pack("<s1", "-")
end

local function unpack_number(data, pos)
  local kind, p = string.unpack("<s1", data, pos)
  if kind == "i" then return string.unpack("<j", data, p) end
  if kind == "f" then return string.unpack("<n", data, p) end
  return nil, p
end

local function pack_result(id, ok, res, reasons, m)
  local kind, val, code = "t", nil, 0
  if not ok then kind, val, code = "e", tostring(res), K.error_code(res)
  elseif res == nil then kind, val = "n", ""
  elseif math.type(res) == "integer" then kind, val = "i", string.pack("<j", res)
  elseif math.type(res) == "float" then kind, val = "f", string.pack("<n", res)
  elseif type(res) == "string" then kind, val = "s", res
  elseif type(res) == "boolean" then kind, val = "b", res and "1" or "0"
  else val = to_json(res) end
  local parts = {string.pack(RESULT, id, kind, val, code, #reasons)}
  for i, r in ipairs(reasons) do parts[i + 1] = string.pack("<s4", r) end
  parts[#parts + 1] = pack_number(m)
  return table.concat(parts)
end

local function unpack_result(data, pos)
  local id, kind, val, code, nr, p = string.unpack(RESULT, data, pos)
  local reasons = {}
  for i = 1, nr do reasons[i], p = string.unpack("<s4", data, p) end
  local m
  m, p = unpack_number(data, p)
  local res
  if kind == "e" or kind == "s" then res = val
  elseif kind == "i" then res = string.unpack("<j", val)
  elseif kind == "f" then res = string.unpack("<n", val)
  elseif kind == "b" then res = val == "1"
  elseif kind == "t" then res = K.unjson(val) end
  return id, kind ~= "e", res, reasons, code, m, p
end

-- Starts the workers of a whole-book eval or whatif, or returns nil when
-- this process evaluates every subject itself.
local function start_shares(pol)
  local jobs = opts.jobs
  if jobs ~= nil then
    jobs = math.tointeger(tonumber(jobs))
    if not jobs or jobs < 1 or jobs > MAX_JOBS then
      usage("kam policy %s NAME --jobs N: N is a whole number from 1 to %d (%s)", args[1], MAX_JOBS, tostring(opts.jobs))
    end
  end
  if opts.id then return nil end
  local cores = K.cores() -- 0 when this command cannot start workers
  if cores == 0 or jobs == 1 then return nil end
  local n = db[pol.subject]:all():count()
  jobs = math.min(jobs or math.min(cores, MAX_JOBS, n // PER_JOB), n)
  if jobs <= 1 then return nil end
  local book = K.snapshot_id()
  local shares = {mine = n // jobs, k = 0}
  for k = 1, jobs - 1 do
    local lo, hi = n * k // jobs + 1, n * (k + 1) // jobs
    local h, why = K.worker_start(string.format("--worker-part=%d:%d:%d:%d", lo, hi, book, K.pid()))
    if not h then
      -- no temporary file, no process: this one evaluates them all (the
      -- workers started are stopped when their handles are collected)
      kam.log("warn", "%s; evaluating in one process", why)
      return nil
    end
    shares[k] = {lo = lo, hi = hi, h = h}
  end
  return shares
end

-- A worker's side: the subjects from lo to hi (positions in the book's order),
-- each through one(e) -> ok, result, reasons[, measure]
local function eval_share(pol, part, one)
  local lo, hi, book, parent = part:match("^(%d+):(%d+):(%d+):(%d+)$")
  lo, hi, book, parent = math.tointeger(lo), math.tointeger(hi), math.tointeger(book), math.tointeger(parent)
  if not (lo and hi and book and parent) then
    usage("--worker-part is kam's own: it starts its workers itself (kam policy %s NAME --jobs N)", args[1])
  end
  K.worker_tie(parent)
  if K.snapshot_id() ~= book then return BOOK_MOVED end
  local i = 0
  for e in db[pol.subject]:all():each() do
    i = i + 1
    if i > hi then break end
    if i >= lo then
      local ok, res, reasons, m = one(e)
      K.emit(pack_result(e.id, ok, res, reasons, m))
      if not ok and opts.strict then break end -- the command stops at it
    end
  end
  K.emit()
  return 0
end

-- The worker's share that position pos is in, its results read when its
-- first subject is reached; nil when this process evaluates pos itself (its
-- own share, or a worker's that found another version of the book).
local function share_of(pol, shares, pos)
  if not shares or pos <= shares.mine then return nil end
  local sh = shares[shares.k]
  if not sh or pos > sh.hi then
    shares.k = shares.k + 1
    sh = shares[shares.k]
    local printed, status
    sh.data, printed, status = K.worker_finish(sh.h)
    sh.h, sh.pos = nil, 1
    if sh.data then K.stdout(printed)
    elseif status ~= BOOK_MOVED then
      K.fail(status > 0 and status < 128 and status or 4, string.format(
        "policy %s: the process evaluating %s %d to %d stopped (exit %d); nothing was committed",
        pol.name, pol.subject, sh.lo, sh.hi, status))
    end
  end
  return sh.data and sh or nil
end

-- The evaluation of the next subject in the book's order: here, by one(e),
-- or taken from the worker whose share it is in. ok, result, reasons, exit
-- code (nil when evaluated here), measure.
local function next_result(pol, shares, pos, e, one)
  local sh = share_of(pol, shares, pos)
  if not sh then
    local ok, res, reasons, m = one(e)
    return ok, res, reasons, nil, m
  end
  local id, ok, res, reasons, code, m
  id, ok, res, reasons, code, m, sh.pos = unpack_result(sh.data, sh.pos)
  if id ~= e.id then
    K.fail(4, string.format("policy %s: a worker's results are out of step (%s where %s was expected)", pol.name, id, e.id))
  end
  return ok, res, reasons, code, m
end

-- eval's evaluation of one subject
local function decide_one(pol)
  return function(e)
    local ok, res, reasons = evaluate(pol, e)
    return ok, res, reasons
  end
end

local function eval(name)
  local pol = own_name(load_policy(policy_path(name)), name)
  if pol.kind == "guard" then
    if opts.commit then usage("a guard has no decisions to commit: it decides each write as it is made") end
    return guard_whatif(name, nil)
  end
  if opts["worker-part"] then return eval_share(pol, opts["worker-part"], decide_one(pol)) end
  -- the right to commit is checked before a single subject is evaluated
  if opts.commit then K.commit_as(pol.name, pol.hash) end
  local shares = start_shares(pol)
  local one = decide_one(pol)
  local rows, out, failures = {}, {}, {}
  local n, changed = 0, 0
  each_subject(pol, opts.id, function(e)
    local ok, res, reasons, code = next_result(pol, shares, n + 1, e, one)
    n = n + 1
    local last = K.last(e.id, pol.name, true) -- its result's JSON
    if not ok then
      code = code or K.error_code(res)
      if opts.strict then
        K.fail(code, string.format("policy %s, %s %s: %s", pol.name, pol.subject, e.id, tostring(res)))
      end
      failures[#failures + 1] = {id = e.id, error = tostring(res), code = code}
      if as_values then
        out[#out + 1] = {id = e.id, name = name_of(e, pol.subject), result = or_null(nil),
                         last = or_null(last and K.unjson(last)), changed = or_null(nil), error = tostring(res)}
        if opts.explain then out[#out].reasons = reasons end
      else
        out[#out + 1] = {id = e.id, name = name_of(e, pol.subject), result = "(error)", last = last and show(K.unjson(last)) or "", changed = ""}
      end
      return
    end
    local json = to_json(res)
    local ch = not last or last ~= json
    if ch then changed = changed + 1 end
    -- for the commit: the decision, kept by the engine (not as Lua strings), and
    -- the field to set where it differs
    if opts.commit then
      K.stage(e.id, json, reasons)
      if pol.writes then rows[#rows + 1] = {id = e.id, result = res} end
    end
    if as_values then
      out[#out + 1] = {id = e.id, name = name_of(e, pol.subject), result = or_null(res),
                       last = or_null(last and K.unjson(last)), changed = ch, error = or_null(nil)}
    else
      out[#out + 1] = {id = e.id, name = name_of(e, pol.subject), result = show(res),
                       last = last and show(K.unjson(last)) or "", changed = ch and "yes" or ""}
    end
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
      K.commit_as(pol.name, pol.hash, pol.subject, pol.writes)
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
  -- the exit code of the worst failure: a refused write (3) or a failing
  -- book (4) is not the same news as a policy's own error (1)
  local code = 0
  for _, f in ipairs(failures) do code = math.max(code, f.code) end
  return code
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
    -- the candidate's instance that just decided about this subject (fresh
    -- for it), else a new one
    return function(e, inst) local Pm = inst or K.instantiate(P.chunk) return Pm.measure(e) end, "measure",
      P == pol_new and "new" or "old"
  end
  return nil
end

-- what the baseline was, per run: "the last committed decision, for all 50
-- clients", or how many subjects had which when they differ
local function baseline_line(cnt, n, coll, writes, name, hashes)
  local parts = {}
  local all = opts.id or string.format("all %d %s", n, coll)
  local versions = #hashes == 1 and (" (version " .. hashes[1]:sub(1, 12) .. ")")
    or (#hashes > 1 and string.format(" (%d versions)", #hashes) or "")
  if cnt.committed > 0 then
    parts[#parts + 1] = cnt.committed == n and string.format("the last committed decision%s, for %s", versions, all)
      or string.format("the last committed decision%s for %d %s", versions, cnt.committed, coll)
  end
  if cnt.field > 0 then
    parts[#parts + 1] = cnt.field == n
      and string.format("the %s field as it is now, for %s (no decision of %s committed for them)", writes, all, name)
      or string.format("the %s field as it is now for %d (no decision committed for them)", writes, cnt.field)
  end
  if cnt.none > 0 then
    parts[#parts + 1] = cnt.none == n
      and string.format("nothing, for %s (no decision of %s committed for them, and it writes no field)", all, name)
      or string.format("nothing for %d (no decision committed, no field written)", cnt.none)
  end
  return "baseline: " .. (#parts > 0 and table.concat(parts, "; ") or "nothing to compare")
end

-- The candidate FILE against what the book holds: for each subject its last
-- committed decision, else the policy's field as it is now, else nothing.
-- The file in rules/ is never the baseline: it is usually the very file being
-- edited (it gives the subject, the field and a measure, no results).
-- kam policy whatif GUARD [--with FILE]: what the guard (or the candidate) would now decide of
-- every record it watches, were it written today; with --with, beside what the guard in rules/
-- decides.
local VERDICT_RANK = {allow = 0, flag = 1, hold = 2, refuse = 3}
function guard_whatif(name, with)
  local G = need("guards")
  local now = load_policy(policy_path(name))
  local cand = (with and with ~= true) and load_policy(with) or now
  if cand.kind ~= "guard" then die("%s is not a guard (kind = \"guard\")", with) end
  if cand.subject ~= now.subject then die("the candidate guards %s, the guard %s", cand.subject, now.subject) end
  local gen_now, gen_cand = {}, {}        -- one memo per guard for the whole run
  local counts, order, rows, n = {}, {}, {}, 0
  for e in db[cand.subject]:all():each() do
    local row = {}
    for _, f in ipairs(K.schema(cand.subject).fields) do row[f.name] = e[f.name] end
    local v1 = cand ~= now and G.decide_existing(now, row, gen_now) or nil
    local v2, out = G.decide_existing(cand, row, gen_cand)
    n = n + 1
    local key = v1 and (v1 .. " → " .. v2) or v2
    if not counts[key] then counts[key] = 0 order[#order + 1] = key end
    counts[key] = counts[key] + 1
    if v2 ~= "allow" or (v1 and v1 ~= v2) then
      rows[#rows + 1] = {id = e.id, now = v1, verdict = v2, field = out and out.field, reasons = out and out.reasons or {}}
    end
  end
  table.sort(order, function(a, b) return a < b end)
  if as_values then
    local c = {}
    for _, k in ipairs(order) do c[#c + 1] = {verdict = k, records = counts[k]} end
    local r = {}
    for _, x in ipairs(rows) do
      r[#r + 1] = {id = x.id, now = or_null(x.now), verdict = x.verdict, field = or_null(x.field), reasons = x.reasons}
    end
    K.print({guard = name, candidate = or_null(cand ~= now and rel(with) or nil), hash = cand.hash, records = n,
             counts = c, decisions = r})
    return 0
  end
  print(string.format("what-if guard %s over %d %s%s: each as if written today", name, n, cand.subject,
    cand ~= now and (" (" .. rel(with) .. " " .. cand.hash:sub(1, 12) .. " beside rules/)") or ""))
  local t = {}
  for _, k in ipairs(order) do t[#t + 1] = {verdict = k, records = counts[k]} end
  K.print(t, {"verdict", "records"})
  for _, x in ipairs(rows) do
    print("")
    print(string.format("%s  %s%s%s", x.id, x.now and (x.now .. " → ") or "", x.verdict, x.field and (" (field " .. x.field .. ")") or ""))
    for i, w in ipairs(x.reasons) do print(string.format("    %d. %s", i, w)) end
  end
  return 0
end

local function whatif(name)
  local with = opts.with
  do
    local ok, pol = pcall(load_policy, policy_path(name))
    if ok and pol.kind == "guard" then return guard_whatif(name, with) end
  end
  if not with or with == true then
    usage("kam policy whatif %s --with FILE [--sum FIELD_OR_EXPR] (FILE: the edited policy to compare with the book)", name)
  end
  local book_src = K.source(name)
  local old = load_policy(policy_path(name), book_src)
  local cand = load_policy(with)
  if cand.subject ~= old.subject then die("the candidate decides about %s, the policy about %s", cand.subject, old.subject) end
  local writes = old.writes or cand.writes
  local measure, mname, mfrom = measure_fn(cand, old)
  -- the measure asks again what decide asked (tiering: the revenue): answered once
  K.memo(true)
  -- the candidate's decision and the measure of one subject
  local function one(e)
    local ok2, r2, w2, P2 = evaluate(cand, e)
    local m = 0
    if measure then
      K.arm(string.format("policy %s, %s %s (measure)", cand.name, cand.subject, e.id))
      local ok, v = pcall(measure, e, mfrom == "new" and P2 or nil)
      K.disarm()
      m = ok and tonumber(v) or 0
    end
    return ok2, r2, w2, m
  end
  if opts["worker-part"] then return eval_share(cand, opts["worker-part"], one) end
  local shares = start_shares(cand)
  local trans, order, changes = {}, {}, {}
  local cnt, seen_hash, hashes = {committed = 0, field = 0, none = 0}, {}, {}
  local n, nchanged, failed, total = 0, 0, 0, 0
  each_subject(cand, opts.id, function(e)
    local last = K.last(e.id, name)
    local kind, v1, w1
    if last then
      kind, v1, w1 = "committed", K.unjson(last.result), last.reasons or {}
      if not seen_hash[last.hash] then seen_hash[last.hash] = true hashes[#hashes + 1] = last.hash end
    elseif writes then
      v1 = e[writes]
      kind, w1 = "field", {string.format("%s is %s in the book; %s has committed no decision for it", writes,
        v1 == nil and "empty" or show(v1), name)}
    else
      kind, w1 = "none", {string.format("%s has committed no decision for it and writes no field", name)}
    end
    cnt[kind] = cnt[kind] + 1
    local ok2, r2, w2, _, m = next_result(cand, shares, n + 1, e, one)
    n = n + 1
    local a = v1 == nil and "(none)" or show(v1)
    local b = ok2 and (r2 == nil and "(none)" or show(r2)) or "(error)"
    if not ok2 then failed = failed + 1 end
    total = total + m
    local key = a .. "\0" .. b
    local t = trans[key]
    if not t then
      t = {from = a, to = b, from_v = v1, to_v = ok2 and r2 or nil, failed = not ok2, subjects = 0, amount = 0}
      trans[key] = t
      order[#order + 1] = t
    end
    t.subjects = t.subjects + 1
    t.amount = t.amount + m
    if a ~= b then
      nchanged = nchanged + 1
      changes[#changes + 1] = {id = e.id, name = name_of(e, cand.subject), from = a, to = b, amount = m,
                               from_v = v1, to_v = ok2 and r2 or nil, error = not ok2 and tostring(r2) or nil,
                               baseline = kind, before = w1, after = ok2 and w2 or {tostring(r2)}}
    end
  end)
  table.sort(order, function(x, y)
    if (x.from ~= x.to) ~= (y.from ~= y.to) then return x.from ~= x.to end
    if x.from ~= y.from then return x.from < y.from end
    return x.to < y.to
  end)
  table.sort(hashes)
  local coll = cand.subject
  if fmt == "csv" then
    local tr = {}
    for _, t in ipairs(order) do tr[#tr + 1] = {from = t.from, to = t.to, subjects = t.subjects, amount = t.amount} end
    K.print(tr, {"from", "to", "subjects", "amount"})
    return 0
  end
  if as_values then
    local tr, ch = {}, {}
    for _, t in ipairs(order) do
      tr[#tr + 1] = {from = or_null(t.from_v), to = or_null(t.to_v), failed = t.failed, subjects = t.subjects,
                     amount = or_null(measure and t.amount or nil)}
    end
    for _, c in ipairs(changes) do
      ch[#ch + 1] = {id = c.id, name = c.name, from = or_null(c.from_v), to = or_null(c.to_v), error = or_null(c.error),
                     amount = or_null(measure and c.amount or nil), baseline = c.baseline, before = c.before, after = c.after}
    end
    K.print({policy = name, candidate = rel(with), candidate_hash = cand.hash, measure = or_null(mname),
             evaluated = n, changed = nchanged, failed = failed,
             baseline = {committed = cnt.committed, field = cnt.field, none = cnt.none, writes = or_null(writes),
                         hashes = hashes, text = baseline_line(cnt, n, coll, writes, name, hashes)},
             transitions = tr, changes = ch})
    return 0
  end
  print(string.format("what-if %s over %d %s: the book → %s (%s)", name, n, coll, rel(with), cand.hash:sub(1, 12)))
  print(baseline_line(cnt, n, coll, writes, name, hashes))
  print("")
  local rows = {}
  local mcol = mname and ("sum of " .. mname) or "amount"
  for _, t in ipairs(order) do
    rows[#rows + 1] = {transition = t.from .. " → " .. t.to, subjects = t.subjects,
                       [mcol] = measure and kam.fmt.money(t.amount) or ""}
  end
  K.print(rows, {"transition", "subjects", mcol})
  print("")
  local carried = 0
  for _, c in ipairs(changes) do carried = carried + c.amount end
  print(string.format("%d of %d change%s; %s", nchanged, n, nchanged == 1 and "s" or "",
    measure and ("they carry " .. kam.fmt.money(carried) .. " of " .. kam.fmt.money(total) .. " (" .. mname .. ")")
      or "no measure (--sum FIELD_OR_EXPR)"))
  if failed > 0 then print(string.format("%d subject(s) failed with the candidate", failed)) end
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
  if #h == 0 and not as_values then
    print(string.format("no decisions for %s%s", id, name and (" by " .. name) or ""))
    return 0
  end
  local prev, rows = {}, {}
  for _, d in ipairs(h) do
    local p = prev[d.policy]
    local cause
    if not p then cause = "first decision"
    elseif p.result == d.result then cause = p.hash == d.hash and "unchanged" or "unchanged (new policy version)"
    elseif p.hash ~= d.hash then cause = "the policy changed"
    else cause = "the data changed" end
    if as_values then
      rows[#rows + 1] = {time = d.time, policy = d.policy, hash = d.hash, result = or_null(K.unjson(d.result)),
                         cause = cause, user = or_null(d.user), run = or_null(d.run), reasons = d.reasons or {}}
    else
      rows[#rows + 1] = {time = d.time, policy = d.policy, hash = d.hash:sub(1, 12), result = show(K.unjson(d.result)),
                         cause = cause, user = d.user, run = d.run}
      if opts.explain then rows[#rows].reasons = d.reasons end
    end
    prev[d.policy] = d
  end
  if as_values then K.print(rows) return 0 end
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

------------------------------------------------------------------ kam policy changes

-- --since DATE (YYYY-MM-DD) or Nd (N days before today); none: the whole history
local function since_date()
  local s = opts.since
  if s == nil then return nil end
  if s == true then usage("kam policy changes NAME [--since DATE|Nd] (--since needs a date, e.g. 2026-11-01, or 7d)") end
  local n = s:match("^(%d+)d$")
  if n then return kam.days_ago(tonumber(n)) end
  if s:match("^%d%d%d%d%-%d%d%-%d%d$") then return s end
  usage("kam policy changes NAME [--since DATE|Nd] (--since %s: not a date YYYY-MM-DD nor a number of days like 7d)", s)
end

-- Every subject whose committed decision by NAME changed since the date: the decision in force
-- then (the last one before the date, else the first one after it) against the newest, with
-- both lists of reasons. The cause, as `history` tells it for each step that moved the result:
-- "policy" when the decision before it was made by another version of the policy (the hashes
-- differ), "data" when by the same one; "data and policy" when steps of both kinds moved it.
local function changes(name)
  local since = since_date()
  local src = K.source(name)
  local pol = load_policy(policy_path(name), src)
  local list, n = {}, 0
  -- a subject's first decision has no decision before it: what it changed is
  -- the field as it was before that commit, which the audit keeps (one pass)
  local was = {}
  if pol.writes then
    for _, a in ipairs(kam.audit{coll = pol.subject, field = pol.writes, via = "policy", since = since, limit = 100000}) do
      was[a.id] = a -- newest first: the last one kept is the oldest
    end
  end
  for e in db[pol.subject]:all():each() do
    n = n + 1
    local h = K.history(e.id, name)
    table.sort(h, function(a, b)
      if a.time ~= b.time then return a.time < b.time end
      return (a.run or 0) < (b.run or 0)
    end)
    -- the decision in force at the date, and every one since
    local old, after = nil, {}
    for _, d in ipairs(h) do
      if not since or d.time:sub(1, 10) >= since then after[#after + 1] = d
      else old = d end
    end
    local first = not old and #after > 0 and was[e.id]
    if first then
      old = {result = K.json(first.from), hash = after[1].hash, time = first.when,
             reasons = {string.format("no decision of %s before; %s was %s", name, pol.writes, show(first.from))}}
    elseif not old and #after > 0 then
      old = table.remove(after, 1)
    end
    local new = after[#after]
    if first and new and old.result ~= new.result then
      list[#list + 1] = {id = e.id, name = name_of(e, pol.subject), old = old, new = new, cause = "first decision"}
    elseif new and old.result ~= new.result then
      -- what moved the result, step by step (as history says it): a new version of the
      -- policy, the data under the same version, or each at a different step
      local by, prev = {}, old
      for _, d in ipairs(after) do
        if d.result ~= prev.result then by[d.hash ~= prev.hash and "policy" or "data"] = true end
        prev = d
      end
      list[#list + 1] = {id = e.id, name = name_of(e, pol.subject), old = old, new = new,
                         cause = (by.data and by.policy) and "data and policy" or (by.policy and "policy" or "data")}
    end
  end
  table.sort(list, function(a, b)
    if a.new.time ~= b.new.time then return a.new.time < b.new.time end
    return a.id < b.id
  end)
  local coll = pol.subject
  if as_values then
    local rows = {}
    for _, c in ipairs(list) do
      rows[#rows + 1] = {id = c.id, name = c.name, from = or_null(K.unjson(c.old.result)), to = or_null(K.unjson(c.new.result)),
                         cause = c.cause, time = c.new.time, run = or_null(c.new.run), user = or_null(c.new.user),
                         from_hash = c.old.hash, to_hash = c.new.hash, before = c.old.reasons or {}, after = c.new.reasons or {}}
    end
    K.print({policy = name, since = or_null(since), subjects = n, changed = #list, changes = rows})
    return 0
  end
  local rows = {}
  for _, c in ipairs(list) do
    rows[#rows + 1] = {id = c.id, name = c.name, from = show(K.unjson(c.old.result)), to = show(K.unjson(c.new.result)),
                       cause = c.cause, time = c.new.time, user = c.new.user or "", run = c.new.run}
  end
  if fmt == "csv" then K.print(rows, {"id", "name", "from", "to", "cause", "time", "user", "run"}) return 0 end
  print(string.format("changes of %s %s: %d of %d %s", name, since and ("since " .. since) or "over its whole history",
    #list, n, coll))
  if #list == 0 then return 0 end
  print("")
  K.print(rows, {"id", "name", "from", "to", "cause", "time", "user", "run"})
  for i, c in ipairs(list) do
    local r = rows[i]
    print("")
    print(string.format("%s  %s: %s → %s  (%s; %s, run %s)", c.id, c.name, r.from, r.to,
      c.cause == "first decision" and "its first decision" or
        ("the " .. (c.cause == "data and policy" and "data and the policy" or c.cause) .. " changed"),
      c.new.time, tostring(c.new.run)))
    print("  before:")
    for k, w in ipairs(c.old.reasons or {}) do print(string.format("    %d. %s", k, w)) end
    print("  now:")
    for k, w in ipairs(c.new.reasons or {}) do print(string.format("    %d. %s", k, w)) end
  end
  return 0
end

------------------------------------------------------------------ dispatch

local function run()
  local sub = args[1]
  if sub == "list" then return list()
  elseif sub == "show" then
    if not args[2] then usage("kam policy show NAME (kam policy list names them)") end
    return show_policy(args[2])
  elseif sub == "eval" then
    if not args[2] then usage("kam policy eval NAME [--id ID] [--explain] [--commit] [--strict] (kam policy list names them)") end
    return eval(args[2])
  elseif sub == "whatif" then
    if not args[2] then usage("kam policy whatif NAME --with FILE [--sum FIELD_OR_EXPR]") end
    return whatif(args[2])
  elseif sub == "history" then
    if not args[2] then usage("kam policy history ID [NAME]") end
    return history(args[2], args[3])
  elseif sub == "changes" then
    if not args[2] then usage("kam policy changes NAME [--since DATE|Nd]") end
    return changes(args[2])
  end
  usage("kam policy list | show | eval | whatif | history | changes (%s)", sub and ("not " .. sub) or "which one?")
end

return {run = run}
