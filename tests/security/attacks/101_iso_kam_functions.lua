-- class: isolation | expect: ok | flags: same | kam.today, kam.months_ago, kam.fmt.money replaced and kam.kam_mark added: the next evaluation must see the real kam
local seen = tostring(kam.kam_mark) .. "/" .. kam.today() .. "/" .. kam.months_ago(1) .. "/" .. kam.fmt.money(1000)
pcall(function() kam.kam_mark = "added" end)
pcall(function() kam.today = function() return "1999-01-01" end end)
pcall(function() kam.months_ago = function() return "1999-01-01" end end)
pcall(function() kam.fmt.money = function() return "0 ₫" end end)
pcall(rawset, kam, "version", "hijacked")
return seen .. "/" .. tostring(rawget(kam, "version") == "hijacked")
