-- class: isolation | expect: ok | flags: same | os.time, os.date, coroutine.wrap and utf8.len replaced: the next evaluation must see the real libraries
local seen = table.concat({tostring(os.time{year = 2026, month = 1, day = 1, hour = 0}), os.date("!%Y", 0),
                           tostring(utf8.len("Nguyễn")), type(coroutine.wrap(function() end))}, "/")
pcall(function()
  os.time = function() return 0 end
  os.date = function() return "hijacked" end
  utf8.len = function() return -1 end
  coroutine.wrap = function() return "hijacked" end
end)
return seen
