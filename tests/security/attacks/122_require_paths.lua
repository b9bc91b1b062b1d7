-- class: escape | expect: ok | require of paths: "../", absolute, "lib/../..", names with NUL or 2.000 characters, "outdir.secret" through a symlinked folder in rules/: refused, nothing from outside the project loads
local escaped = {}
for _, name in ipairs{"../outside/secret", "/etc/passwd", "/tmp/secret", "lib/../../outside/secret", "..outside.secret",
                      ".hidden", "lib..money", "lib.", "lib.money\0../../x", "outdir.secret", "outdir/secret",
                      string.rep("a.", 1000) .. "b", string.rep("x", 3000), "lib." .. string.rep("m", 600)} do
  local ok, v = pcall(require, name)
  if ok and type(v) == "table" and v.escaped then escaped[#escaped + 1] = name:sub(1, 40) end
end
if #escaped > 0 then error("loaded from outside the project: " .. table.concat(escaped, ", ")) end
return "ok"
