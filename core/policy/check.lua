-- policy/check.lua — `kam check`: lints policies, their tests and scripts
-- from the bytecode listing (globals, a policy's unknown fields) and a
-- policy's thresholds (the convention of rules/README.md: bands, ladders,
-- keys the policy never reads, values of the wrong type). Each problem has
-- file, line, column, rule and message: `file:line:column: message` for
-- people, records for programs (--format json).
local K, need, args = ...
local E = need("engine")
local root, rel, show, load_policy = E.root, E.rel, E.show, E.load_policy
local for_people = K.format() == "table"            -- else records: json, csv, yaml, lua
local or_null = E.or_null or function(v) return v end

local STD = {}
for n in ([[assert collectgarbage error getmetatable ipairs load next pairs pcall print rawequal rawget
  rawlen rawset require select setmetatable tonumber tostring type xpcall _G _VERSION _ENV
  coroutine math os string table utf8 kam db]]):gmatch("%S+") do STD[n] = true end
local TEST_API = {test = true, fixture = true, decide = true, check = true, expect_eq = true, expect_true = true, expect_error = true}

local problems = {}

-- a problem; line and column may be nil (the whole file)
local function add(file, line, col, rule, message)
  problems[#problems + 1] = {file = file, line = line, column = col, rule = rule, message = message}
end

-- Lua's own messages ("rules/x.lua:12: ...") carry the line; the rest is the file's
local function add_error(file, rule, err)
  err = tostring(err)
  local f, l, m = err:match("^([^%s:]+%.lua):(%d+): (.*)$")
  if f then add(f, tonumber(l), nil, rule, m) return end
  f, m = err:match("^([^%s:]+%.lua): (.*)$")
  if f then add(f, nil, nil, rule, m) return end
  add(file, nil, nil, rule, err)
end

local function lua_files(dir, out, recurse)
  for _, f in ipairs(K.ls(dir, ".lua")) do out[#out + 1] = dir .. "/" .. f end
  if recurse then
    for _, d in ipairs(K.ls(dir, "")) do
      if not d:find("%.") then lua_files(dir .. "/" .. d, out, true) end
    end
  end
  return out
end

------------------------------------------------------------------ the source's tokens

-- Tokens with line and column (in characters), comments left out: enough
-- to find where a thresholds key or value is written.
local function tokenize(src)
  local toks, n = {}, #src
  local i, line, lstart = 1, 1, 1
  local function col(p)
    local s = src:sub(lstart, p - 1)
    return (utf8.len(s) or #s) + 1
  end
  local function lines_in(a, b)
    local p = a
    while true do
      local q = src:find("\n", p, true)
      if not q or q > b then return end
      line, lstart, p = line + 1, q + 1, q + 1
    end
  end
  local function push(t, v, p) toks[#toks + 1] = {t = t, v = v, line = line, col = col(p)} end
  while i <= n do
    local c = src:sub(i, i)
    if c == "\n" then line, lstart, i = line + 1, i + 1, i + 1
    elseif c:find("^%s") then i = i + 1
    elseif src:sub(i, i + 1) == "--" then
      local eq = src:match("^%[(=*)%[", i + 2)
      if eq then
        local _, e = src:find("]" .. eq .. "]", i + 4 + #eq, true)
        e = e or n
        lines_in(i, e)
        i = e + 1
      else
        i = src:find("\n", i, true) or n + 1
      end
    elseif c == "[" and src:find("^%[=*%[", i) then
      local eq = src:match("^%[(=*)%[", i)
      local s = i + 2 + #eq
      local e1, e2 = src:find("]" .. eq .. "]", s, true)
      e1, e2 = e1 or n + 1, e2 or n
      push("string", (src:sub(s, e1 - 1):gsub("^\r?\n", "")), i)
      lines_in(i, e2)
      i = e2 + 1
    elseif c == '"' or c == "'" then
      local j, buf = i + 1, {}
      while j <= n do
        local d = src:sub(j, j)
        if d == "\\" then buf[#buf + 1] = src:sub(j, j + 1) j = j + 2
        elseif d == c or d == "\n" then break
        else buf[#buf + 1] = d j = j + 1 end
      end
      push("string", table.concat(buf), i)
      lines_in(i, j - 1)                             -- a newline escaped in the string
      i = j + 1
    elseif c:find("^[%a_]") then
      local w = src:match("^[%w_]+", i)
      push("name", w, i)
      i = i + #w
    elseif c:find("^%d") or (c == "." and src:find("^%.%d", i)) then
      -- decimal, or hex (0x...) with its own digits and exponent letter
      local j, digits, expo = i, "^[%d%.]", "^[eE]"
      if src:find("^0[xX]", i) then j, digits, expo = i + 2, "^[%x%.]", "^[pP]" end
      while j <= n do
        local d = src:sub(j, j)
        if d:find(digits) then j = j + 1
        elseif d:find(expo) then j = j + 1 if src:find("^[%+%-]", j) then j = j + 1 end
        else break end
      end
      push("number", src:sub(i, j - 1), i)
      i = j
    else
      local s, two = c, src:sub(i, i + 1)
      if src:sub(i, i + 2) == "..." then s = "..."
      elseif two == "==" or two == "~=" or two == "<=" or two == ">=" or two == "//" or two == "::" or two == ".."
        or two == "<<" or two == ">>" then s = two end
      push("sym", s, i)
      i = i + #s
    end
  end
  return toks
end

local OPEN = {["function"] = true, ["if"] = true, ["do"] = true, ["repeat"] = true}
local CLOSE = {["end"] = true, ["until"] = true}

-- the index after an expression that starts at k (a field's value in a constructor)
local function skip_exp(toks, k)
  local depth = 0
  while toks[k] do
    local t = toks[k]
    if t.t == "sym" then
      if t.v == "(" or t.v == "[" or t.v == "{" then depth = depth + 1
      elseif t.v == ")" or t.v == "]" or t.v == "}" then
        if depth == 0 then return k end
        depth = depth - 1
      elseif depth == 0 and (t.v == "," or t.v == ";") then return k end
    elseif t.t == "name" then
      if OPEN[t.v] then depth = depth + 1 elseif CLOSE[t.v] then depth = depth - 1 end
    end
    k = k + 1
  end
  return k
end

-- A table constructor at toks[k] ("{"): its fields by key, each with where the
-- key and the value are written, and the constructor of the value if it is one.
local function parse_table(toks, k, depth)
  local node = {line = toks[k].line, col = toks[k].col, fields = {}, first = k}
  local pos = 0
  k = k + 1
  while toks[k] and not (toks[k].t == "sym" and toks[k].v == "}") do
    local key, ktok
    local t1, t2 = toks[k], toks[k + 1]
    if t1.t == "name" and t2 and t2.t == "sym" and t2.v == "=" then
      key, ktok, k = t1.v, t1, k + 2
    elseif t1.t == "sym" and t1.v == "[" then
      local close = skip_exp(toks, k + 1)
      if close == k + 2 and (toks[k + 1].t == "string" or toks[k + 1].t == "number") then
        key = toks[k + 1].t == "string" and toks[k + 1].v or tonumber(toks[k + 1].v)
        ktok = toks[k + 1]
      end
      k = close + 2                                  -- past "]" and "="
    else
      pos = pos + 1
      key, ktok = pos, t1
    end
    local vtok, child = toks[k], nil
    if vtok and vtok.t == "sym" and vtok.v == "{" and depth < 32 then
      local after
      child, after = parse_table(toks, k, depth + 1)
      local e = skip_exp(toks, after)
      if e ~= after then child = nil end             -- {...} was only the start of the value
      k = e
    else
      k = skip_exp(toks, k)
    end
    if key ~= nil and ktok then node.fields[key] = {key = ktok, value = vtok or ktok, node = child} end
    if toks[k] and toks[k].t == "sym" and (toks[k].v == "," or toks[k].v == ";") then k = k + 1 end
  end
  node.last = k
  return node, k + 1
end

-- Where the thresholds table is written: `thresholds = {...}`, or
-- `thresholds = T` and `local T = {...}`. Returns the constructor, the name
-- the code reads it by, and the `thresholds` key's token.
local function find_thresholds(toks)
  for k, t in ipairs(toks) do
    local eq, v = toks[k + 1], toks[k + 2]
    if t.t == "name" and t.v == "thresholds" and eq and eq.t == "sym" and eq.v == "=" and v then
      if v.t == "sym" and v.v == "{" then return (parse_table(toks, k + 2, 0)), nil, t end
      if v.t == "name" then
        for j = 1, #toks - 2 do
          local a, b, c = toks[j], toks[j + 1], toks[j + 2]
          if a.t == "name" and a.v == v.v and b.t == "sym" and b.v == "=" and c.t == "sym" and c.v == "{"
            and not (toks[j - 1] and toks[j - 1].t == "sym" and (toks[j - 1].v == "." or toks[j - 1].v == ":")) then
            return (parse_table(toks, j + 2, 0)), v.v, t
          end
        end
        return nil, v.v, t
      end
      return nil, nil, t
    end
  end
end

------------------------------------------------------------------ thresholds

local BOUND = {min = true, max = true, up_to = true}
-- keys whose values are names, not numbers
local TEXT = {label = true, name = true, tier = true, band = true, rating = true, status = true, role = true,
              description = true, kind = true, period = true, level = true}
-- what may follow a number written as text: "20%", "2 tỷ", "500 triệu", "30 ngày"
local UNITS = {[""] = true, ["%"] = true, ["tỷ"] = true, ty = true, ["triệu"] = true, trieu = true, tr = true,
               ["đ"] = true, ["₫"] = true, ["đồng"] = true, dong = true, ["ngày"] = true, day = true, days = true}
local SHARE_WORDS = {"share", "discount", "floor", "margin", "tolerance", "rate"}

-- the number a text such as "30%", "2,5 tỷ" or "50.000.000" means, as it is
-- written in Lua; nil when the text is not a number
local function numeric_text(v)
  if type(v) ~= "string" then return nil end
  local s = v:lower():gsub("^%s+", ""):gsub("%s+$", "")
  if tonumber(s) then return string.format("%.15g", tonumber(s)) end
  local digits, unit = s:match("^([%+%-]?%d[%d%.,]*)%s*(.-)$")
  if not digits or not UNITS[unit] then return nil end
  if digits:find(",") then
    digits = digits:gsub("%.", ""):gsub(",", ".")      -- 2,5 or 1.234,5: a decimal comma
  else
    local groups = (digits:gsub("^[%+%-]?[1-9]%d?%d?", "", 1))
    if groups ~= digits and groups ~= "" and (groups:gsub("%.%d%d%d", "")) == "" then
      digits = digits:gsub("%.", "")                   -- 50.000.000: dots group thousands
    end
  end
  local n = tonumber(digits)
  if not n then return "a number" end
  if unit == "%" then return string.format("%g", n / 100) end
  if unit == "tỷ" or unit == "ty" then return string.format("%ge9", n) end
  if unit == "triệu" or unit == "trieu" or unit == "tr" then return string.format("%ge6", n) end
  return string.format("%.15g", n)
end

local function is_share_name(k)
  if type(k) ~= "string" then return false end
  for _, w in ipairs(SHARE_WORDS) do if k:find(w, 1, true) then return true end end
  return false
end


local function num(v)
  if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%d", v) end
  return show(v)
end

local function path_str(path)
  local s = "thresholds"
  for _, k in ipairs(path) do
    if math.type(k) == "integer" then s = s .. "[" .. k .. "]"
    elseif type(k) == "string" and k:find("^[%a_][%w_]*$") then s = s .. "." .. k
    elseif type(k) == "string" then s = s .. "[" .. string.format("%q", k) .. "]"
    else s = s .. "[" .. (type(k) == "number" and num(k) or type(k)) .. "]" end
  end
  return s
end

-- keys in a stable order: numbers, then names, then the rest as they come
local function key_order(a, b)
  if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
  return type(a) == "number" and type(b) ~= "number" or type(a) == "string" and type(b) ~= "number" and type(b) ~= "string"
end

local WORD = {number = "a number", string = "text", boolean = "true or false", table = "a table"}
local function typename(v)
  if v ~= v then return "not a number" end
  return WORD[type(v)] or ("a " .. type(v))
end

-- a band's end in messages: missing ends are open
local function edge(v)
  if v == math.huge or v == -math.huge then return "open" end
  return num(v)
end

-- a name for a band or a step in messages
local function entry_name(b, i)
  if type(b) == "table" then
    for _, k in ipairs{"tier", "band", "name", "level", "label", "role", "rating", "status"} do
      if type(b[k]) == "string" or type(b[k]) == "number" then return tostring(b[k]) end
    end
  end
  return "#" .. i
end

-- A copy without metatables, so that no __index or __pairs of the policy's
-- runs here (unbudgeted); cycles are kept and depth is bounded.
local function plain(t, seen, depth)
  if type(t) ~= "table" then return t end
  if seen[t] then return seen[t] end
  local c = {}
  seen[t] = c
  if depth > 16 then return c end
  for k, v in next, t do c[k] = plain(v, seen, depth + 1) end
  return c
end

local function check_thresholds(pol, r, src)
  local toks = tokenize(src)
  local tnode, tname, ttok = find_thresholds(toks)
  local th = plain(pol.thresholds, {}, 0)

  -- where a path is written: the deepest constructor that holds it; `at`
  -- "value" points at the value, else at the key
  local function where(path, at)
    local node, tok = tnode, nil
    for _, k in ipairs(path) do
      local f = node and node.fields[k]
      if not f then break end
      tok = at == "value" and f.value or f.key
      node = f.node
    end
    tok = tok or (tnode and {line = tnode.line, col = tnode.col}) or ttok
    if tok then return tok.line, tok.col end
    return nil, nil
  end
  local function problem(path, at, rule, fmt, ...)
    local line, col = where(path, at)
    add(r, line, col, rule, path_str(path) .. ": " .. string.format(fmt, ...))
  end

  -- names the policy (and the libraries it requires) use outside the table:
  -- a key among none of them is never read
  local used = {}
  local span1, span2 = tnode and tnode.first or 0, tnode and tnode.last or -1
  local libs = {}
  for k, t in ipairs(toks) do
    if k < span1 or k > span2 then
      if t.t == "name" or t.t == "string" then used[t.v] = true end
      if t.t == "name" and t.v == "require" then
        local a = toks[k + 1]
        if a and a.t == "sym" and a.v == "(" then a = toks[k + 2] end
        if a and a.t == "string" and a.v:find("^[%w_%.]+$") then libs[#libs + 1] = a.v end
      end
    end
  end
  for _, m in ipairs(libs) do
    local lsrc = K.read(root .. "/rules/" .. m:gsub("%.", "/") .. ".lua")
    if lsrc then for _, t in ipairs(tokenize(lsrc)) do if t.t == "name" or t.t == "string" then used[t.v] = true end end end
  end

  -- the code reads T.name where the table has no such key
  if tname then
    local seen = {}
    for k, t in ipairs(toks) do
      local dot, key, nx = toks[k + 1], toks[k + 2], toks[k + 3]
      if (k < span1 or k > span2) and t.t == "name" and t.v == tname and dot and dot.t == "sym" and dot.v == "."
        and key and key.t == "name" and not (nx and nx.t == "sym" and nx.v == "=")
        and not (toks[k - 1] and toks[k - 1].t == "sym" and (toks[k - 1].v == "." or toks[k - 1].v == ":"))
        and type(th) == "table" and rawget(th, key.v) == nil and not seen[key.v] then
        seen[key.v] = true
        add(r, key.line, key.col, "threshold-missing",
          string.format("reads %s.%s, which the thresholds table does not have", tname, key.v))
      end
    end
  end

  if type(th) ~= "table" then
    if th ~= nil then
      local line, col = where({}, "value")
      add(r, line, col, "threshold-type", "thresholds: a table of named values, not " .. typename(th))
    end
    return
  end

  local visited = {}
  local walk

  -- a number written as text ("20%", "2 tỷ", "0,2") or a yes/no as text
  local function text_value(v, path, key)
    if type(v) ~= "string" or TEXT[key] then return end
    local s = v:lower():gsub("^%s+", ""):gsub("%s+$", "")
    local fix = numeric_text(s)
    if fix then
      problem(path, "value", "threshold-type", "%q is text; write the number: %s", v, fix)
    elseif s == "true" or s == "false" or s == "yes" or s == "no" or s == "có" or s == "không" then
      problem(path, "value", "threshold-type", "%q is text; write true or false", v)
    end
  end

  -- bands: {min = a, max = b}, a <= v < b; sorted by min, each ends where the next begins
  local function check_bands(t, path)
    local bands = {}
    for i, b in ipairs(t) do
      -- a bound that is not a number is reported as such, and left out here
      if type(b) == "table" and (b.min == nil or type(b.min) == "number") and (b.max == nil or type(b.max) == "number") then
        local lo, hi = b.min or -math.huge, b.max or math.huge
        if lo == lo and hi == hi then bands[#bands + 1] = {min = lo, max = hi, i = i, b = b} end
      end
    end
    table.sort(bands, function(a, b) if a.min ~= b.min then return a.min < b.min end return a.i < b.i end)
    for j, b in ipairs(bands) do
      local bp = {table.unpack(path)}
      bp[#bp + 1] = b.i
      if b.min >= b.max then
        local p = {table.unpack(bp)} p[#p + 1] = "min"
        problem(p, "key", "band-empty", "band %s is empty (min %s >= max %s)", entry_name(b.b, b.i), num(b.b.min), num(b.b.max))
      end
      local nx = bands[j + 1]
      if nx then
        local np = {table.unpack(path)}
        np[#np + 1] = nx.i
        np[#np + 1] = nx.b.min ~= nil and "min" or "max"
        if b.max > nx.min then
          problem(np, "key", "band-overlap", "bands %s and %s overlap (%s .. %s)", entry_name(b.b, b.i),
            entry_name(nx.b, nx.i), edge(nx.min), edge(math.min(b.max, nx.max)))
        elseif b.max < nx.min then
          problem(np, "key", "band-gap", "a gap between bands %s and %s (%s .. %s)", entry_name(b.b, b.i),
            entry_name(nx.b, nx.i), edge(b.max), edge(nx.min))
        end
      end
    end
  end

  -- ladders: steps in order, each covering up to and including its up_to; only the last is open
  local function check_ladder(t, path)
    local prev, prev_i
    for i, s in ipairs(t) do
      if type(s) == "table" then
        local sp = {table.unpack(path)}
        sp[#sp + 1] = i
        if s.min ~= nil or s.max ~= nil then
          sp[#sp + 1] = s.min ~= nil and "min" or "max"
          problem(sp, "key", "ladder-mixed", "step %s has min or max in a ladder of up_to (a list is bands or a ladder, not both)",
            entry_name(s, i))
        elseif s.up_to == nil and i < #t then
          problem(sp, "key", "ladder-open", "step %s has no up_to but is not the last: the steps after it are never reached",
            entry_name(s, i))
        elseif type(s.up_to) == "number" and s.up_to == s.up_to then
          if prev and s.up_to <= prev then
            sp[#sp + 1] = "up_to"
            problem(sp, "key", "ladder-order", "step %s: up_to %s is not above the step before (%s, up to %s)",
              entry_name(s, i), num(s.up_to), entry_name(t[prev_i], prev_i), num(prev))
          end
          prev, prev_i = s.up_to, i
        end
      end
    end
  end

  -- values of one list or map that disagree with the others' type
  local function check_types(t, path, list)
    if list then
      local types = {}
      for _, e in ipairs(t) do
        if type(e) == "table" then
          for k, v in pairs(e) do
            if not BOUND[k] then
              types[k] = types[k] or {}
              types[k][type(v)] = (types[k][type(v)] or 0) + 1
            end
          end
        end
      end
      for i, e in ipairs(t) do
        if type(e) == "table" then
          for k, v in pairs(e) do
            local c = types[k]
            if c and not BOUND[k] and not numeric_text(v) then
              local best, bn = nil, 0
              for ty, n in pairs(c) do if n > bn or (n == bn and ty < best) then best, bn = ty, n end end
              if type(v) ~= best and bn > c[type(v)] then
                local p = {table.unpack(path)} p[#p + 1] = i p[#p + 1] = k
                problem(p, "value", "threshold-type", "%s, where the other entries have %s", typename(v), WORD[best] or best)
              end
            end
          end
        end
      end
    else
      local c, n = {}, 0
      for _, v in pairs(t) do if type(v) ~= "table" then c[type(v)] = (c[type(v)] or 0) + 1 n = n + 1 end end
      local best, bn = nil, 0
      for ty, m in pairs(c) do if m > bn or (m == bn and ty < best) then best, bn = ty, m end end
      if bn >= 2 and bn < n then
        local keys = {}
        for k, v in pairs(t) do
          if type(v) ~= "table" and type(v) ~= best and not numeric_text(v) then keys[#keys + 1] = k end
        end
        table.sort(keys, key_order)
        for _, k in ipairs(keys) do
          local p = {table.unpack(path)} p[#p + 1] = k
          problem(p, "value", "threshold-type", "%s, where the others are %s", typename(t[k]), WORD[best] or best)
        end
      end
    end
  end

  -- a share written as a percentage: 20 where 0.20 is meant
  local function check_share(v, path, name)
    if type(v) == "number" and v == v and v > 1 and v <= 100 and is_share_name(name) then
      problem(path, "value", "threshold-share", "%s looks like a percentage: shares are fractions (%s for %s%%)",
        num(v), num(v / 100), num(v))
    end
  end

  walk = function(t, path, depth, parent_key)
    if visited[t] or depth > 16 then return end
    visited[t] = true
    local n = #t
    local list = n > 0
    local keys = {}
    for k in pairs(t) do
      keys[#keys + 1] = k
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then list = false end
    end
    table.sort(keys, key_order)
    local tables, bands, ladder = list, false, false
    if list then
      for _, e in ipairs(t) do
        if type(e) ~= "table" then tables = false
        else
          if e.min ~= nil or e.max ~= nil then bands = true end
          if e.up_to ~= nil then ladder = true end
        end
      end
    end
    local kind = tables and (ladder and "ladder" or bands and "bands") or nil
    if kind == "ladder" then check_ladder(t, path) elseif kind == "bands" then check_bands(t, path) end
    -- a band's or a step's own fields differ by design; a map of values by name does not
    if list then check_types(t, path, true)
    elseif depth > 0 and parent_key ~= "entry" then check_types(t, path, false) end

    for _, k in ipairs(keys) do
      local v = t[k]
      local p = {table.unpack(path)}
      p[#p + 1] = k
      -- unknown keys: at the top, and in the entries of bands and ladders
      if type(k) == "string" and (depth == 0 or (parent_key == "entry" and not BOUND[k])) and not used[k] then
        problem(p, "key", "threshold-unknown-key", "the policy never reads '%s' (a misspelt name?)", k)
      end
      if BOUND[k] and parent_key == "entry" then
        if type(v) ~= "number" or v ~= v then
          problem(p, "value", "threshold-type", "%s must be a number, not %s", k, typename(v))
        end
        check_share(v, p, path[#path - 1])
      elseif type(v) == "number" then
        if v ~= v then problem(p, "value", "threshold-type", "not a number (0/0)") end
        check_share(v, p, type(k) == "string" and is_share_name(k) and k or path[#path])
      elseif type(v) == "string" then
        text_value(v, p, k)
      end
      if type(v) == "table" then
        walk(v, p, depth + 1, kind and "entry" or k)
      end
    end
  end
  walk(th, {}, 0, nil)
end

------------------------------------------------------------------ one file

-- the column of a name on a line of the source (whole word, first seen); a
-- field's name follows "." or ":", a global's does not
local function name_col(lines, ln, name, field)
  local s = lines[ln]
  if not s then return nil end
  local p = 1
  while true do
    local a, b = s:find(name, p, true)
    if not a then return nil end
    local before, after = s:sub(a - 1, a - 1), s:sub(b + 1, b + 1)
    local ok = field and (before == "." or before == ":") or (not field and not before:find("^[%w_%.:]"))
    if ok and not after:find("^[%w_]") then
      return (utf8.len(s:sub(1, a - 1)) or (a - 1)) + 1
    end
    p = b + 1
  end
end

local check_file_at
local function check_file(path)
  local first = #problems + 1
  check_file_at(path)
  -- a file's problems in the order of its lines
  local mine = {}
  for i = first, #problems do mine[#mine + 1] = problems[i] problems[i] = nil end
  for i, p in ipairs(mine) do p.seq = i end
  table.sort(mine, function(a, b)
    if (a.line or 0) ~= (b.line or 0) then return (a.line or 0) < (b.line or 0) end
    if (a.column or 0) ~= (b.column or 0) then return (a.column or 0) < (b.column or 0) end
    return a.seq < b.seq
  end)
  for _, p in ipairs(mine) do p.seq = nil problems[#problems + 1] = p end
end

check_file_at = function(path)
  local r = rel(path)
  local src, err = K.read(path)
  if not src then add(r, nil, nil, "read", tostring(err)) return end
  local chunk, cerr = K.compile(src, "@" .. r)
  if not chunk then add_error(r, "syntax", cerr) return end
  local is_test = r:find("_test%.lua$") ~= nil
  local is_policy = r:find("^rules/") and not r:find("^rules/lib/") and not is_test
  if not is_policy and not is_test and not r:find("^scripts/") and not r:find("/lib/") then
    -- a candidate elsewhere (kam check new_tiering.lua): a policy if it looks like one
    is_policy = pcall(load_policy, path)
  end
  local is_script = r:find("^scripts/") ~= nil
  -- a report (scripts/reports/, and what it requires there) reads the global kam report sets
  local is_report = r:find("^scripts/reports/") ~= nil
  local pol, decide_line
  if is_policy then
    local ok, p = pcall(load_policy, path)
    if not ok then add_error(r, "policy", p)
    else
      pol = p
      decide_line = K.funcline(p.P.decide or p.P.check)   -- a guard's check is its decide
      local okc, cerr2 = pcall(check_thresholds, p, r, src)
      if not okc then add(r, nil, nil, "thresholds", "thresholds not checked: " .. tostring(cerr2)) end
    end
  end
  local lines = {}
  for l in (src .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local fields = {}
  if pol then for _, f in ipairs(K.schema(pol.subject).fields) do fields[f.name] = true end end
  local listing, lerr = K.luac(path)
  -- the checks below read the listing: without it nothing was checked
  if not listing then add(r, nil, nil, "luac", tostring(lerr)) return end
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
          local l = tonumber(ln)
          if op == "SETTABUP" then
            add(r, l, name_col(lines, l, g), "global-write", string.format("writes the global '%s' (make it local)", g))
          elseif not STD[g] and not (is_test and TEST_API[g]) and not (is_script and g == "arg")
                 and not (is_report and g == "report") then
            add(r, l, name_col(lines, l, g), "unknown-global",
              string.format("reads '%s', which is not a local, the kam API or the standard library", g))
          end
        end
      end
      if in_decide and pol and params >= 1 and (op == "GETFIELD" or op == "SELF") then
        local b = rest:match("^%d+%s+(%d+)")
        local k = rest:match('; "([^"]+)"')
        if b == "0" and k and not fields[k] and not reported["field" .. k .. ln] then
          reported["field" .. k .. ln] = true
          local l = tonumber(ln)
          add(r, l, name_col(lines, l, k, true), "unknown-field", string.format("%s has no field '%s'", pol.subject, k))
        end
      end
    end
  end
end

------------------------------------------------------------------ kam check

local function check()
  local files = {}
  if #args == 0 then
    lua_files(root .. "/rules", files, true)
    lua_files(root .. "/scripts", files, true)
  else
    for _, p in ipairs(args) do
      local before = #files
      p = p:find("[^/]") and p:gsub("/+$", "") or p     -- rules/ and rules name the same files
      if K.exists(p) then files[#files + 1] = p else lua_files(p, files, true) end
      if #files == before then add(p, nil, nil, "nothing-to-check", "nothing to check: no .lua files there") end
    end
  end
  -- an empty rules/ most often means kam read another project's kam.yaml
  if #args == 0 and #K.ls(root .. "/rules", ".lua") == 0 then
    add(root == "." and "rules/" or root .. "/rules/", nil, nil, "no-policies",
      string.format("no policies here (the project of the kam.yaml in use is %s; --config or KAM_CONFIG names another)",
        root == "." and "this folder" or root))
  end
  for _, f in ipairs(files) do check_file(f) end
  if not for_people then
    local out = {}
    for i, p in ipairs(problems) do
      out[i] = {file = p.file, line = or_null(p.line), column = or_null(p.column), rule = p.rule, message = p.message}
    end
    K.print(out, {"file", "line", "column", "rule", "message"})
  else
    for _, p in ipairs(problems) do
      local at = p.file
      if p.line then at = at .. ":" .. p.line .. (p.column and (":" .. p.column) or "") end
      print(at .. ": " .. p.message)
    end
    print(string.format("config/kam.yaml and config/schema.yaml: valid; %d file%s checked, %d problem%s",
      #files, #files == 1 and "" or "s", #problems, #problems == 1 and "" or "s"))
  end
  if #problems > 0 then K.warn(string.format("check: %d problem%s", #problems, #problems == 1 and "" or "s")) end
  return #problems > 0 and 1 or 0
end

return {run = check}
