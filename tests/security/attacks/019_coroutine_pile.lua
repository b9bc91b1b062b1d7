-- class: memory | expect: stopped | a pile of suspended coroutines, each with a 5.000-frame Lua stack: the memory cap (or the time budget) stops it with a message naming the limit
local t = {}
local function deep(n)
  if n == 0 then coroutine.yield() return 0 end
  return 1 + deep(n - 1)
end
for i = 1, 1e7 do
  local co = coroutine.create(deep)
  coroutine.resume(co, 5000)
  t[i] = co
end
return #t
