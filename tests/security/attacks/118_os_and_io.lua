-- class: escape | expect: ok | io, os.execute, os.getenv, os.exit, os.remove, os.tmpname are absent, through _G, rawget, the string metatable and require; os.date and os.time with odd formats and huge values refuse cleanly
local function absent(what, v) if v ~= nil then error(what .. " is reachable") end end
absent("io", io) absent("_G.io", rawget(_G, "io"))
for _, n in ipairs{"execute", "getenv", "exit", "remove", "rename", "tmpname", "setlocale"} do absent("os." .. n, os[n]) end
absent("string.io", string.io)
for _, m in ipairs{"io", "os", "debug", "package"} do
  local ok, v = pcall(require, m)
  if ok and type(v) == "table" and (v.open or v.execute or v.getinfo or v.loadlib or v.getenv) then error("require '" .. m .. "' gave the real library") end
end
for _, f in ipairs{"%Ez", "%", "%Q", "%" .. string.rep("Y", 10000), "*t", "!*t", string.rep("%c", 5000)} do
  pcall(os.date, f, 0) pcall(os.date, f, math.maxinteger) pcall(os.date, f, math.mininteger) pcall(os.date, f, 0/0)
end
pcall(os.time, {year = math.maxinteger, month = 1, day = 1})
pcall(os.time, {year = 2026, month = math.mininteger, day = 0/0})
pcall(os.time, {year = "x"})
pcall(os.difftime, math.huge, -math.huge)
return "ok"
