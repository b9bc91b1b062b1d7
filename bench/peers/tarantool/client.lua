-- Calls one procedure of server.lua and prints what it returns:
--   tarantool client.lua SOCKET FUNCTION [ARGS...]
local netbox = require("net.box")
local conn = netbox.connect(arg[1], {wait_connected = true, connect_timeout = 30})
if not conn:is_connected() then io.stderr:write("tarantool: cannot connect to ", arg[1], "\n"); os.exit(1) end
local args = {}
for i = 3, #arg do args[#args + 1] = tonumber(arg[i]) or arg[i] end
local ok, res = pcall(conn.call, conn, arg[2], args, {timeout = 86400})
if not ok then io.stderr:write("tarantool: ", tostring(res), "\n"); os.exit(1) end
print(res)
conn:close()
os.exit(0)
