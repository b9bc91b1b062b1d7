-- policy.lua — the driver of `kam policy ...`, `kam test` and `kam check`.
-- Compiled into kam with its modules (core/policy/*.lua: engine, commands,
-- test, check); runs in the sandbox with K, the engine's bindings
-- (core/policy.c), and the modules as compiled chunks, each named after its
-- file so errors and tracebacks point into it.
local K, modules, cmd, args, opts = ...

-- The driver's own require. Not the sandbox's `require` (modules of rules/
-- and scripts/, run afresh for each evaluation): these stay out of every
-- policy's reach, and each runs once, with K, `need`, args and opts.
local loaded = {}
local function need(name)
  local m = loaded[name]
  if m == nil then
    m = modules[name](K, need, args, opts)
    loaded[name] = m
  end
  return m
end

if cmd == "test" then return need("test").run() end
if cmd == "check" then return need("check").run() end
if cmd == "request" then return need("requests").run() end
if cmd == "reconcile" then return need("reconcile").run() end
if cmd == "guards" then return 0, need("guards") end
return need("commands").run()
