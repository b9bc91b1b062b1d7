-- class: memory | expect: ok | kam.fmt.*, kam.period, kam.log and kam.progress (math.maxinteger, -1, NaN, inf, huge text, wrong types, format directives): each call may refuse, none may crash or overflow a buffer
local odd = {math.maxinteger, math.mininteger, -1, 0, 0/0, math.huge, -math.huge, 1e308, -1e308, 2^63, -0.0, 1e-300,
  "", "1e400", string.rep("9", 5000), "%s%s%s%n%999999d", true, {}, print}
local n = 0
for _, v in ipairs(odd) do
  for _, f in ipairs{kam.fmt.money, kam.fmt.number, kam.fmt.pct} do
    pcall(f, v); pcall(f, v, false); pcall(f, v, math.maxinteger); pcall(f, v, -1); pcall(f, v, 0/0); pcall(f, v, 6)
    n = n + 1
  end
  pcall(kam.period, v)
  local ok, p = pcall(kam.progress, v, v)
  if ok and p then pcall(p) pcall(p, v) pcall(p, math.maxinteger) pcall(p, -math.maxinteger) pcall(tostring, p) end
end
for _, s in ipairs{"2026-Q9", "2026-Q0", "99999-Q1", "0000", "0000-Q1", "2026-H3", "2026-00", "2026-13", "-2026",
                   "2026-q4", "2026-Q1x", "this_month\0", "last_quarterly", string.rep("2026-Q1", 1000),
                   "2147483647-Q1", "%d%d%d%d", "2026-" .. string.rep("1", 400)} do
  local ok, p = pcall(kam.period, s)
  if ok then
    assert(type(p) == "table" and #p.from == 10 and #p.to == 10, "kam.period(" .. s:sub(1, 30) .. ") gave an odd period")
  end
end
-- kam.log: a level and a format that are odd; a few lines on stderr only
pcall(kam.log, "info", "%s %d %q", string.rep("y", 200), math.maxinteger, "\0\1\2")
pcall(kam.log, "info", "%99999d", 1)
pcall(kam.log, {}, "x")
pcall(kam.log, "info")
pcall(kam.log, "info", "%s")
pcall(kam.log, "info", "%s", setmetatable({}, {__tostring = function() return 42 end}))
return n
