-- pattern_cases.lua — string.find, match, gmatch and gsub over hand-written
-- edge cases and cases from a fixed-seed generator. Every result (values,
-- captures, positions, or the error message) is printed on a line of its own;
-- pattern.sh runs this file with kam and with the lua5.4 binary and compares.
-- It uses only what both have (no io), and none of the four functions to
-- print its results.

local function ser(...)
  local t = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    t[i] = type(v) == "string" and string.format("%q", v) or math.type(v) == "float" and string.format("%.17g", v)
      or tostring(v)
  end
  return select("#", ...) .. "[" .. table.concat(t, ", ") .. "]"
end

local count = 0
local function show(label, ...) count = count + 1; print(label .. " " .. ser(...)) end

-- every way to call the functions on one case
local replacement_table = {a = "<A>", b = false, ab = 1.5, ["1"] = "one!", [1] = "pos1", [2] = 22, c = {}, [" "] = "_"}
local function run_case(id, s, p, init, repl, max)
  show(id .. " find", pcall(function() return string.find(s, p, init) end))
  show(id .. " find/plain", pcall(function() return string.find(s, p, init, true) end))
  show(id .. " match", pcall(function() return string.match(s, p, init) end))
  show(id .. " gmatch", pcall(function()
    local all, n = {}, 0
    for a, b, c in string.gmatch(s, p, init) do
      n = n + 1
      all[n] = ser(a, b, c)
      if n == 100 then break end
    end
    return n, table.concat(all, ";")
  end))
  show(id .. " gsub", pcall(function() return string.gsub(s, p, repl, max) end))
  show(id .. " gsub/table", pcall(function() return string.gsub(s, p, replacement_table, max) end))
  show(id .. " gsub/function", pcall(function()
    local calls = {}
    local r, n = string.gsub(s, p, function(...)
      calls[#calls + 1] = ser(...)
      local k = #calls % 4
      if k == 0 then return nil elseif k == 1 then return "[" .. #calls .. "]" elseif k == 2 then return false end
      return #calls * 10
    end, max)
    return r, n, table.concat(calls, ";")
  end))
end

-- ---- hand-written cases: {subject, pattern, init, replacement, max} ----------
local rep = string.rep
local cases = {
  {"hello world", "o"}, {"hello world", "o", 6}, {"hello world", "l+"}, {"hello", "^h"}, {"hello", "^e"},
  {"hello", "o$"}, {"hello$", "$"}, {"a$b", "a$b"}, {"a$b", "$b"}, {"", ""}, {"", "^$"}, {"", "$"},
  {"abc", ""}, {"abc", "", 10}, {"abc", "", 4}, {"abc", "", 5}, {"abc", "", -1}, {"abc", "", -3},
  {"abc", "", -4}, {"abc", "", -100}, {"abc", "", 0}, {"abc", "b", math.maxinteger}, {"abc", "b", math.mininteger},
  {"abc", ".-"}, {"abc", ".-$"}, {"abc", ".*"}, {"abc", ".+"}, {"abc", ".?"}, {"abc", "%w*", nil, "x"},
  {"abc def", "%w*", nil, "<%0>"}, {"  trim me  ", "^%s*(.-)%s*$", nil, "%1"},
  {"key = value", "(%w+)%s*=%s*(%w+)", nil, "%2=%1"}, {"THE (quick) fox", "%((%a+)%)", nil, "[%1]"},
  {"f(a(b)c)d", "%b()", nil, "#"}, {"[[x]] [y]", "%b[]"}, {"((a)", "%b()"}, {"abba", "%bab"}, {"aa", "%baa"},
  {"THE (quick) fox", "%f[%a]%a+", nil, "W"}, {"hello", "()ll()", nil, "%1-%2"}, {"hello", "()", nil, "%1"},
  {"hello", "(l)%1"}, {"abcabc", "(abc)%1"}, {"abcab", "(abc)%1"}, {"x=1, y=2", "(%w+)=(%w+)", nil, "%2=%1"},
  {"2026-11-26 and 2025-01-02", "(%d+)-(%d+)-(%d+)", nil, "%3/%2/%1"}, {"a.b", "%.", nil, "%%"},
  {"a+b", "a+b"}, {"a+b", "a%+b"}, {"a+b", "+"}, {"a.b", "."}, {"a)b", ")"}, {"a]b", "]"}, {"a)b", "a)"},
  {"abc", "[a-"}, {"abc", "[a"}, {"abc", "[^"}, {"abc", "[]"}, {"abc", "[^]"}, {"abc", "[%a-z]"}, {"a-z", "[a-]+"},
  {"]]", "[]]+"}, {"a]^", "[^]a]"}, {"^^x", "[^^]"}, {"x^", "^^"}, {"^x^", "^^"}, {"a", "%"}, {"a", "a%"},
  {"a", "(()"}, {"a", "("}, {"a", ")"}, {"a", "a)"}, {"a", "%b"}, {"a", "%ba"}, {"", "%b"}, {"a", "%f"},
  {"a", "%fa"}, {"a", "x%f"}, {"a", "%f[a"}, {"\0a\0", "%z"}, {"\0a\0", "%Z+"}, {"\0", "[%z]"}, {"a\0b", "a%zb"},
  {"a\0b", "\0"}, {"a\0b", ".\0."}, {"a\0b", "[\0]"}, {"a\0b", "%f[%z]"}, {"\128\255 a", "%a+"}, {"\200", "[\128-\255]"},
  {"\200\201", "[^\200]"}, {"a%b", "%%"}, {"abc", "%1"}, {"abc", "(a)%2"}, {"abc", "%0"}, {"abc", "(a%1)"},
  {"aaa", "(a", nil, "x"}, {"aaa", "(a", nil, "%1"}, {"aaa", "(a)", nil, "%2"}, {"aaa", "a", nil, "%"},
  {"aaa", "a", nil, "%x"}, {"aaa", "a", nil, "%\0"}, {"aaa", "a", nil, 7}, {"aaa", "a", nil, 1.5},
  {"aaa", "a", nil, "x", 0}, {"aaa", "a", nil, "x", 2}, {"aaa", "a", nil, "x", -1}, {"aaa", "[", nil, "x", 0},
  {"aaa", "^a", nil, "x"}, {"aaa", "^", nil, "x"}, {"aaa", "$", nil, "x"}, {"aaa", "^$", nil, "x"},
  {"abc", "b*", nil, "-"}, {"abc", "x*", nil, "-"}, {"abc", "", nil, "-"}, {"a b", "%s*", nil, "_"},
  {"one two  three", "%a+"}, {"one two", "(%a+)"}, {"one two", "((%a)%a*)"}, {"a,b,,c", "([^,]*)"},
  {"a,b,,c", "([^,]*),?"}, {"^a^a", "^a"}, {"hello", "l", 4}, {"hello", "l", -2}, {"hello", "^l", 3},
  {"hello", "^l", 4}, {"hello", "o", -1}, {"hello", "h", -5}, {"hello", "h", -6}, {"hello", "", 6},
  {"hello", "", 7}, {"hello", "$", 3}, {"hello", "%f[%l]", 2}, {"hello", "%f[%l]", 1},
  {"abc", "%f[^%z]"}, {"abc", "%f[%z]"}, {"abc", "()%f[%z]()"}, {"THE END", "%f[%a]%u+%f[%A]"},
  {"aaa", "a-b"}, {"aaab", "a-b"}, {"aaab", "(a-)(a*)b"}, {"aaab", "a+?"}, {"aaab", "a?a?a?b"},
  {"ab", "a*?"}, {"a*b", "a**"}, {"a?", "a??"}, {"--x", "-+"}, {"--x", "%-+"}, {"x.y.z", "[^.]+$"},
  {"a1b2c3", "%d", nil, {}}, {"a1b2c3", "%a%d"}, {"hello", ".", nil, "%0%0"}, {"abc", "%w", nil, "%1%1"},
  {"hello world from lua", "(%w+) (%w+)", nil, "%2 %1"}, {"$ 100", "%$ (%d+)"}, {"x", "[%w_]"},
  {"a\nb", "%c"}, {"a\tb", "%s"}, {"ABCdef", "%u+"}, {"ABCdef", "%l+"}, {"0x1F", "%x+"}, {"a!b?", "%p"},
  {"a!b?", "%P+"}, {"a b", "%G"}, {"abc", "[b-a]"}, {"abc", "[a-a]"}, {"-", "[--]"}, {"%", "[%%]"},
  {"a]", "[%]]"}, {"a-", "[a%-]+"}, {"ab", "[%a%d]+"}, {"ab", "[^%a]"}, {"12", "[^%D]+"},
  {"[x]", "%[(.-)%]"}, {"(x)", "%((.)%)"}, {"aXb", "%f[%u]."}, {"x", "%f[]x]"},
  {"a.b", "a.b", 1, true}, {"a.b", "%f", nil, "x", 0}, {rep("ab", 20) .. "abc", "abc"}, {rep("a", 20) .. "b", "ab"},
  {rep("a", 20) .. "b", "aab", 3}, {"aaab", "aab"}, {"abc", "abc"}, {"abc", "abcd"}, {"abc", "c", 3}, {"abc", "c", 4},
  {rep("xy", 200) .. "x", "xyx", -4}, {rep("xy", 200) .. "x", "yx", -2}, {"a\0b\0c", "\0c"},
  {rep("a", 300), rep("a?", 199)}, {rep("a", 300), rep("a?", 200)}, {rep("a", 300), rep("a?", 201)},
  {rep("a", 300), rep("a*", 199)}, {rep("a", 300), rep("a*", 200)}, {rep("a", 300), rep("a*", 201)},
  {rep("a", 300), rep("a-", 199) .. "$"}, {rep("a", 300), rep("a-", 200) .. "$"}, {rep("a", 300), rep("a-", 201)},
  {"c", rep("a*", 198) .. "b"}, {"c", rep("a*", 199) .. "b"}, {"c", rep("a*", 200) .. "b"},
  {rep("a", 300), rep("a?", 199) .. "a*b"}, {rep("a", 300), rep("a?", 199) .. "a-b"}, {"b" .. rep("a", 300), rep("a?", 250)}, {rep("ab", 150), rep("a?b?", 100)}, {rep("ab", 150), rep("a?b?", 101)},
  {rep("a", 40), rep("(a)", 32)}, {rep("a", 40), rep("(a)", 33)}, {rep("a", 40), rep("()", 32)},
  {rep("a", 40), rep("()", 33)}, {rep("a", 40), rep("(", 32) .. rep(")", 32)}, {rep("a", 40), rep("%f[a]", 250)},
  {rep("a", 40), rep("(a)", 9) .. "%9"}, {rep("ab", 2000), "(ab)%1", nil, "%1"},
  {rep("hello world ", 500), "%s+", nil, " "}, {rep("x = 1; y = 22; ", 200), "(%w+) = (%d+)", nil, "%2:%1"},
  {rep("(()())", 200), "%b()", nil, "."}, {rep("a", 1000) .. "b", ".-b"}, {rep("a", 1000), ".-b"},
  {rep("a", 1000), "a*$"}, {rep("abc", 300), "[abc]+$", 7},
}
for i, c in ipairs(cases) do run_case("h" .. i, c[1], c[2], c[3], c[4] or "<%0>", c[5]) end

-- the argument checks
local calls = {
  function() return string.find() end, function() return string.find("a") end,
  function() return string.find("a", "a", "x") end, function() return string.find("a", "a", 1.5) end,
  function() return string.find("a", "a", 2.0) end, function() return string.find(12345, 3) end,
  function() return string.find(12345, 3.0) end, function() return string.find("a", {}) end,
  function() return ("a"):find(nil) end, function() return ("abc"):find("b", "2") end,
  function() return string.match() end, function() return string.match("a", "a", {}) end,
  function() return string.gmatch("a") end, function() return string.gmatch("a", "a", "x") end,
  function() return string.gmatch(nil, "a") end, function() return ("a"):gmatch() end,
  function() return string.gsub("a", "a") end, function() return string.gsub("a", "a", true) end,
  function() return string.gsub("a", "a", "x", "y") end, function() return string.gsub("a", "a", nil, 1) end,
  function() return string.gsub(123, 2, 9) end, function() return string.gsub(123, "%d", 0.5) end,
  function() return string.gsub("a", "a", "x", 1.5) end, function() return string.gsub("a", "a", "x", "1") end,
  function() return string.gsub() end, function() return ("abc"):gsub("%w", "%0", 2.0) end,
  function() return ("abc"):gsub(".", {a = 1, b = true}) end,
  function() return ("abc"):gsub(".", function(c) if c == "b" then return {} end end) end,
  function() return ("abc"):gsub(".", function(c) error("boom " .. c) end) end,
  function() return ("abc"):gsub(".", setmetatable({}, {__index = function(_, k) return k:upper() end})) end,
  function() return ("abc"):gsub("(b)", "%1%1", math.maxinteger) end,
  function() return ("abc"):gsub("(b)", "%1", math.mininteger) end,
  function() local it = ("ab"):gmatch(".") return it(), it(), select("#", it()), select("#", it()) end,
  function() local it = ("ab"):gmatch("()(") local a, b = pcall(it) return a, b, it() end,
  function() local it = string.gmatch("abc", "b", 2) return it() end,
  function() local it = string.gmatch("abc", ".", -1) return it() end,
  function() local it = string.gmatch("abc", ".", -10) return it() end,
  function() local it = string.gmatch("abc", "", 4) return it(), select("#", it()) end,
  function() local it = string.gmatch("abc", "", 5) return select("#", it()) end,
  function() local it = string.gmatch("abc", "x*", 0) return it(), it(), it(), it(), it() end,
  function() return string.format("%s", ("x"):rep(3):gsub("x", "%%1")) end,
  function() local t = {} for k, v in string.gmatch("a=1, b=2", "(%w+)=(%w+)") do t[#t + 1] = k .. v end return table.concat(t) end,
}
for i, f in ipairs(calls) do show("a" .. i, pcall(f)) end

-- ---- generated cases -------------------------------------------------------------
local seed = 20261126
local function rnd(n) -- 1..n, the same sequence everywhere
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed // 65536 % n + 1
end
local function pick(t) return t[rnd(#t)] end

local alphabets = {"ab", "abc", "ab ", "a.b-", "()ab", "[]^a", "a1 B_", "%a(", "a\0b", "\200a\255", "xy\n\t", "aab"}
local atoms = {"a", "b", "c", "a", "b", ".", ".", " ", "%a", "%d", "%s", "%w", "%p", "%l", "%u", "%x", "%c",
  "%g", "%z", "%A", "%S", "%W", "%D", "%.", "%%", "%-", "%(", "[ab]", "[^a]", "[a-c]", "[%d_]", "[]]", "[^]a]",
  "[a-]", "[%a-]", "[%]]", "[.]", "[^%s]", "^", "]", "%b()", "%bab", "%f[%w]", "%f[^a]", "%f[%s]", "%f[%z]", "()"}
local broken = {"[", "%", "(", ")", "%b", "%ba", "%f", "%fa", "%1", "%2", "%0", "[^", "[a-", "%9"}
local quantifiers = {"*", "+", "-", "?"}
local repls = {"x", "%0", "%1", "<%1>", "%%", "%2", "", "%", "a%0b%1", "%1%1", "%9", "%a", 42}
local inits = {false, false, false, 1, 2, 0, -1, -3, "len", "len+1", "len+2", -100, 100}
local maxes = {false, false, false, 0, 1, 2, -1}

local function gen_subject()
  local al, t = pick(alphabets), {}
  for i = 1, rnd(10) - 1 do local k = rnd(#al) t[i] = al:sub(k, k) end
  return table.concat(t)
end

local function gen_items(n, depth)
  local t = {}
  local i = 0
  while i < n do
    i = i + 1
    local r = rnd(100)
    if r <= 12 and depth < 2 then
      t[#t + 1] = "(" .. gen_items(rnd(3), depth + 1) .. ")"
    elseif r <= 15 then
      t[#t + 1] = pick(broken)
    else
      local a = pick(atoms)
      if rnd(100) <= 40 then a = a .. pick(quantifiers) end
      t[#t + 1] = a
    end
  end
  return table.concat(t)
end

-- a pattern made from a piece of the subject, so that most of them match:
-- each character kept, escaped, or widened to '.', its class or a set
local function class_of(c)
  if c:byte() >= 48 and c:byte() <= 57 then return "%d" end
  if c == " " or c == "\n" or c == "\t" then return "%s" end
  if c:byte() >= 97 and c:byte() <= 122 then return pick({"%a", "%l", "%w", "%x"}) end
  if c:byte() >= 65 and c:byte() <= 90 then return pick({"%a", "%u", "%w"}) end
  return pick({"%p", "%W", "%A", "%c", "%Z"})
end
local function gen_from(s)
  if #s == 0 then return gen_items(rnd(3), 0) end
  local from = rnd(#s)
  local to = from + rnd(#s - from + 1) - 1
  local t, open = {}, 0
  for k = from, to do
    local c = s:sub(k, k)
    local r = rnd(10)
    local item
    if r <= 3 then item = ("^$*+?.([%-])"):find(c, 1, true) and "%" .. c or c
    elseif r <= 5 then item = "."
    elseif r <= 8 then item = class_of(c)
    else item = "[" .. ("%" .. c) .. pick({"", "x", "%d", "a-c"}) .. "]" end
    if rnd(100) <= 35 then item = item .. pick(quantifiers) end
    if open < 3 and rnd(100) <= 35 then t[#t + 1] = rnd(100) <= 15 and "()" or "("; open = open + (t[#t] == "(" and 1 or 0) end
    t[#t + 1] = item
    if open > 0 and rnd(100) <= 30 then t[#t + 1] = ")"; open = open - 1 end
  end
  if rnd(100) <= 6 then t[#t + 1] = "%" .. rnd(3) end
  t[#t + 1] = (")"):rep(open)
  return table.concat(t)
end

for i = 1, 4000 do
  local s = gen_subject()
  local p = i % 2 == 0 and gen_from(s) or gen_items(rnd(5) - 1, 0)
  if rnd(100) <= 15 then p = "^" .. p end
  if rnd(100) <= 15 then p = p .. "$" end
  local init = pick(inits)
  if init == "len" then init = #s elseif init == "len+1" then init = #s + 1 elseif init == "len+2" then init = #s + 2
  elseif init == false then init = nil end
  local max = pick(maxes) or nil
  run_case("g" .. i, s, p, init, pick(repls), max)
end

print("cases run: " .. count)
