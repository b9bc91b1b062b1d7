-- policy/check.lua — `kam check`: lints policies, their tests and scripts
-- from the bytecode listing (globals, a policy's unknown fields) and a
-- policy's thresholds (bands that overlap or leave gaps).
local K, need, args = ...
local E = need("engine")
local root, rel, show, load_policy = E.root, E.rel, E.show, E.load_policy

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

return {run = check}
