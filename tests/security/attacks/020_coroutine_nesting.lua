-- class: memory | expect: ok | coroutines resumed inside coroutines 100.000 deep, through coroutine.resume and coroutine.wrap: an error ("C stack overflow") that pcall catches, no crash
local function nest(n)
  if n == 0 then return 0 end
  local co = coroutine.create(nest)
  local ok, v = coroutine.resume(co, n - 1)
  if not ok then error(v, 0) end
  return v + 1
end
local ok1 = pcall(nest, 100000)
local function nestw(n) if n == 0 then return 0 end return coroutine.wrap(nestw)(n - 1) + 1 end
local ok2 = pcall(nestw, 100000)
local function nestc(n)
  local co = coroutine.create(function() return nestc(n + 1) end)
  local ok, e = coroutine.resume(co)
  coroutine.close(co)
  if not ok then error(e, 0) end
end
local ok3 = pcall(nestc, 1)
return tostring(ok1) .. tostring(ok2) .. tostring(ok3)
