-- class: budget | expect: stopped | a memory bomb of coroutine stacks: each coroutine recurses until it yields at depth 150.000
local t = {}
local function deep(n) if n == 0 then coroutine.yield() return 0 end return 1 + deep(n - 1) end
for i = 1, 1e6 do
  local co = coroutine.create(deep)
  coroutine.resume(co, 150000)
  t[i] = co
end
