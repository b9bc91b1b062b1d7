-- class: escape | expect: ok | walks everything reachable from _G (tables, metatables of strings, entities, queries, iterators, kam.config) looking for io, os.execute/getenv/exit, debug, package, loadfile/dofile, string.dump, collectgarbage-free internals of the engine (read, ls, luac, fresh_book, import, save_source, stage): none may be reachable
local banned = {}
for n in ([[execute getenv exit remove rename tmpname setlocale popen open lines input output write read close
  loadlib searchpath cpath path preload searchers dofile loadfile dump getregistry sethook gethook getupvalue
  setupvalue upvaluejoin upvalueid getlocal setlocal getinfo traceback setuservalue getuservalue setcstacklimit
  ls luac fresh_book import save_source stage put_staged instantiate compile arm disarm memo root exists
  coverage activelines sha256 unjson history last source]]):gmatch("%S+") do banned[n] = true end
local found, seen, queue = {}, {}, {}
local function push(v, path)
  local t = type(v)
  if (t == "table" or t == "userdata" or t == "function") and not seen[v] then
    seen[v] = true
    queue[#queue + 1] = {v, path}
  end
end
push(_G, "_G")
push(getmetatable(""), "string metatable")
push(db.clients, "db.clients")
push(db.clients:get("CL-000001"), "an entity")
push(select(4, db.clients:all():each()), "an iterator")
push(kam.config, "kam.config")
local i = 0
while i < #queue and i < 20000 do
  i = i + 1
  local v, path = queue[i][1], queue[i][2]
  local mt = getmetatable(v)
  push(mt, path .. "<mt>")
  if type(v) == "table" then
    for k, x in next, v do
      if type(k) == "string" and banned[k] and type(x) == "function" then found[#found + 1] = path .. "." .. k end
      if type(k) == "string" and (k == "io" or k == "debug" or k == "package") then found[#found + 1] = path .. "." .. k end
      push(x, path .. "." .. tostring(k))
      push(k, path .. "[key]")
    end
  end
end
if #found > 0 then error("reachable: " .. table.concat(found, ", ")) end
return i
