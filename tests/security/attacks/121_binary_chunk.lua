-- class: escape | expect: ok | load of a Lua 5.4 binary chunk ("\27Lua..."), in every mode, with an env, piece by piece, and truncated or corrupted: always refused
local BINARY = "\x1b\x4c\x75\x61\x54\x00\x19\x93\x0d\x0a\x1a\x0a\x04\x08\x08\x78\x56\x00\x00\x00"
  .. "\x00\x00\x00\x00\x00\x00\x00\x00\x28\x77\x40\x01\x80\x80\x80\x00\x01\x02\x84\x51\x00\x00"
  .. "\x00\x01\x80\x14\x80\x46\x00\x02\x01\x46\x00\x01\x01\x80\x81\x01\x00\x00\x80\x80\x80\x80\x80"
local function refused(what, ...)
  local ok, f = pcall(load, ...)
  if ok and type(f) == "function" then error("a binary chunk loaded: " .. what) end
end
refused("plain", BINARY)
refused("mode b", BINARY, "bin", "b")
refused("mode bt", BINARY, "bin", "bt")
refused("with an env", BINARY, "bin", "bt", {})
refused("mode t", BINARY, "bin", "t")
refused("cut", BINARY:sub(1, 30))
refused("corrupt", BINARY:sub(1, 40) .. string.rep("\xff", 100))
local parts, i = {BINARY:sub(1, 1), BINARY:sub(2)}, 0
refused("piecewise", function() i = i + 1 return parts[i] end)
return "ok"
