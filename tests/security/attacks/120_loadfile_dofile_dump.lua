-- class: escape | expect: ok | loadfile, dofile and string.dump are absent (also through the string metatable), and load refuses a reader function (it could hand over binary pieces)
for _, n in ipairs{"loadfile", "dofile"} do if rawget(_G, n) ~= nil or _G[n] ~= nil then error(n .. " is reachable") end end
if string.dump ~= nil or ("").dump ~= nil then error("string.dump is reachable") end
local mt = getmetatable("")
if type(mt) == "table" and type(mt.__index) == "table" and mt.__index.dump then error("string.dump via the metatable") end
local parts, i = {"return ", "42"}, 0
local ok, f = pcall(load, function() i = i + 1 return parts[i] end)
if ok and f then error("load took a reader function") end
return "ok"
