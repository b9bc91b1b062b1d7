-- class: budget | expect: stopped | endless loops inside coroutines, resumed again and again by a loop that ignores resume's false: the stop cannot be caught by coroutine.resume
while true do
  local co = coroutine.create(function() while true do end end)
  coroutine.resume(co)
end
