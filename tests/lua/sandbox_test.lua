-- sandbox_test.lua — scripts run without io, os.execute/getenv/exit,
-- package, debug, dofile/loadfile, string.dump or binary chunks; require
-- loads only from rules/ and scripts/ and refuses paths.
-- helpers: tests/lua/testlib.lua (run.sh puts it in scripts/)
local t = require "testlib"
local test, eq, expect_error, finish = t.test, t.eq, t.expect_error, t.finish

test("no io", function()
  eq(io, nil)
  eq(_G.io, nil)
end)

test("os: only the clock and the calendar", function()
  eq(os.execute, nil)
  eq(os.getenv, nil)
  eq(os.exit, nil)
  eq(os.remove, nil)
  eq(os.rename, nil)
  eq(os.tmpname, nil)
  eq(os.setlocale, nil)
  eq(type(os.time), "function")
  eq(type(os.clock), "function")
  eq(os.date("!%Y", 0), "1970")
end)

test("no package, debug, dofile, loadfile, string.dump", function()
  eq(package, nil)
  eq(debug, nil)
  eq(dofile, nil)
  eq(loadfile, nil)
  eq(string.dump, nil)
  eq(("").dump, nil)
  eq(_G.package, nil)
  eq(rawget(_G, "debug"), nil)
end)

test("load: text chunks work", function()
  eq(load("return 1 + 1")(), 2)
  eq(load("return x", "chunk", "t", {x = 5})(), 5)
  local f, err = load("return +")
  eq(f, nil)
  eq(type(err), "string")
end)

-- a complete Lua 5.4 binary chunk of `return 42` (string.dump(f, true) of a
-- stock lua5.4, written out by hand since string.dump is gone here)
local BINARY = "\x1b\x4c\x75\x61\x54\x00\x19\x93\x0d\x0a\x1a\x0a\x04\x08\x08\x78\x56\x00\x00\x00"
  .. "\x00\x00\x00\x00\x00\x00\x00\x00\x28\x77\x40\x01\x80\x80\x80\x00\x01\x02\x84\x51\x00\x00"
  .. "\x00\x01\x80\x14\x80\x46\x00\x02\x01\x46\x00\x01\x01\x80\x81\x01\x00\x00\x80\x80\x80\x80\x80"

test("load: binary chunks are refused", function()
  local ok, f, err = pcall(load, BINARY)
  eq(ok and f ~= nil, false, "a binary chunk must not load")
  if ok then eq(tostring(err):find("binary", 1, true) ~= nil or tostring(err):find("text", 1, true) ~= nil, true, "message: " .. tostring(err)) end
  local ok2, f2 = pcall(load, BINARY, "bin", "b")
  eq(ok2 and f2 ~= nil, false, "mode 'b' must not load a binary chunk either")
  local ok3, f3 = pcall(load, BINARY, "bin", "bt")
  eq(ok3 and f3 ~= nil, false, "mode 'bt' neither")
end)

test("load: a reader function is refused (it could hand over binary pieces)", function()
  local parts, i = {BINARY}, 0
  local ok, f = pcall(load, function() i = i + 1 return parts[i] end)
  eq(ok and f ~= nil, false)
end)

test("require: a module of scripts/ loads", function()
  local text = require "lib.text"
  eq(type(text), "table")
  eq(type(text.table), "function")
  eq(require "lib.text", text) -- loaded once
end)

test("require: a missing module says where it looked", function()
  expect_error(function() require "no_such_module_here" end, "no_such_module_here", "rules/", "scripts/")
  expect_error(function() require "lib.no_such" end, "lib.no_such")
end)

test("require: paths are refused", function()
  expect_error(function() require "../etc/passwd" end, "../etc/passwd")
  expect_error(function() require "lib/text" end, "lib/text")
  expect_error(function() require "/etc/passwd" end, "/etc/passwd")
  expect_error(function() require "lib..text" end, "lib..text")
  expect_error(function() require ".hidden" end, ".hidden")
  expect_error(function() require "" end, "require")
  expect_error(function() require "..%2fetc" end, "require")
end)

test("the standard libraries that are safe are there", function()
  eq(type(string.format), "function")
  eq(type(table.concat), "function")
  eq(type(math.floor), "function")
  eq(type(utf8.len), "function")
  eq(utf8.len("Nguyễn"), 6)
  eq(type(coroutine.wrap), "function")
  eq(type(pcall), "function")
  eq(type(print), "function")
end)

test("the string metatable is out of reach", function()
  eq(getmetatable(""), false)
  eq(("abc"):upper(), "ABC")
  eq(string.dump, nil)
end)

test("kam's shared tables are read-only, also through rawset", function()
  for _, name in ipairs{"string", "table", "math", "utf8", "coroutine", "os", "kam"} do
    local t = _G[name]
    expect_error(function() t.injected = 1 end, "read-only")
    expect_error(function() rawset(t, "injected", 1) end, "read-only")
    expect_error(function() setmetatable(t, {}) end, "metatable")
    eq(rawget(t, "injected"), nil)
  end
  expect_error(function() string.format = nil end, "read-only")
  expect_error(function() rawset(kam.config, "x", 1) end, "read-only")
  expect_error(function() rawset(db, "clients", 1) end, "read-only")
  eq(getmetatable(kam.config), false)
  eq(getmetatable(db), false)
  eq(getmetatable(db.clients), false)
  -- the libraries still list their functions
  local n = 0
  for k, v in pairs(string) do n = n + 1 end
  eq(n > 10, true)
end)

test("no finalizers: __gc in a metatable is refused", function()
  expect_error(function() setmetatable({}, {__gc = function() end}) end, "__gc")
  local t = setmetatable({}, {__index = function() return 1 end})
  eq(t.x, 1)
end)

test("the collector stays kam's", function()
  expect_error(function() collectgarbage("stop") end, "collectgarbage")
  expect_error(function() collectgarbage("generational") end, "collectgarbage")
  eq(type(collectgarbage("count")), "number")
  collectgarbage()
end)

test("coroutines work through kam's resume, wrap and close", function()
  local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
  eq({coroutine.resume(co, 1)}, {true, 2})
  eq({coroutine.resume(co, 5)}, {true, 10})
  eq({coroutine.resume(co)}, {false, "cannot resume dead coroutine"})
  local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
  eq({gen(), gen(), gen()}, {1, 2, 3})
  local bad = coroutine.wrap(function() error("boom") end)
  expect_error(bad, "boom")
  local c2 = coroutine.create(function() coroutine.yield() end)
  coroutine.resume(c2)
  eq(coroutine.close(c2), true)
  eq(coroutine.status(c2), "dead")
end)

test("string.rep, table.move and table.sort as Lua's, bounded by the budget", function()
  eq(string.rep("ab", 3, ","), "ab,ab,ab")
  eq(string.rep("ab", 1, ","), "ab")
  eq(string.rep("", 5, ","), ",,,,")
  eq(string.rep("x", 0), "")
  eq(string.rep("", math.maxinteger), "")
  eq(("xy"):rep(4), "xyxyxyxy")
  eq(#string.rep("abc", 100000, "-"), 399999)
  eq(table.move({1, 2, 3}, 1, 3, 2), {1, 1, 2, 3})
  eq(table.move({1, 2, 3, 4}, 2, 4, 1), {2, 3, 4, 4})
  eq(table.move({1, 2}, 1, 2, 3, {9}), {9, nil, 1, 2})
  local big = {}
  for i = 1, 60000 do big[i] = (i * 7919) % 60001 end
  table.sort(big)
  for i = 2, #big do if big[i - 1] > big[i] then error("not sorted at " .. i) end end
  local t = {3, 1, 2}
  table.sort(t, function(a, b) return a > b end)
  eq(t, {3, 2, 1})
  expect_error(function() load(string.rep(" ", 17 * 2^20)) end, "16 MiB")
end)

finish()
