-- class: escape | expect: ok | debug and package are absent; require of "debug", "package", "_G" and of C module names (lpeg, lfs, socket, cjson, lmdb, yaml) finds nothing
if debug ~= nil or rawget(_G, "debug") ~= nil then error("debug is reachable") end
if package ~= nil or rawget(_G, "package") ~= nil then error("package is reachable") end
for _, m in ipairs{"debug", "package", "_G", "lpeg", "lfs", "socket", "socket.core", "cjson", "lmdb", "yaml", "luasql.sqlite3", "lua54"} do
  local ok, v = pcall(require, m)
  if ok then error("require '" .. m .. "' loaded something: " .. tostring(v)) end
end
return "ok"
