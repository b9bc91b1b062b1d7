-- class: memory | expect: ok | recursion through C boundaries (__index, __tostring, gsub callbacks, pcall, sort comparators, coroutine.wrap, where() predicates): each ends with an error that pcall catches, no C stack overflow
local r = {}
local t = setmetatable({}, {})
getmetatable(t).__index = function(s, k) return s[k] end
r[#r + 1] = pcall(function() return t.x end)
local u = setmetatable({}, {})
getmetatable(u).__tostring = function(s) return tostring(s) end
r[#r + 1] = pcall(tostring, u)
local function g(s) return (string.gsub(s, ".", g)) end
r[#r + 1] = pcall(g, "abc")
local function p() return pcall(p) end
r[#r + 1] = pcall(p)
local function sorter() local a = {3, 2, 1} table.sort(a, function(x, y) sorter() return x < y end) end
r[#r + 1] = pcall(sorter)
local function nest(n) return coroutine.wrap(nest)(n + 1) end
r[#r + 1] = pcall(nest, 1)
local c = setmetatable({}, {})
getmetatable(c).__concat = function(a, b) return a .. b end
r[#r + 1] = pcall(function() return c .. "x" end)
local q = db.clients
local function pred() return q:where(function() return pred() end):count() end
r[#r + 1] = pcall(pred)
return #r
