-- class: budget | expect: stopped | a coroutine whose pending __close loops, closed by coroutine.close (which returns errors instead of raising them), again and again
while true do
  local co = coroutine.create(function()
    local x <close> = setmetatable({}, {__close = function() while true do end end})
    coroutine.yield()
  end)
  coroutine.resume(co)
  coroutine.close(co)
end
