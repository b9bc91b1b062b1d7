-- class: budget | expect: ok/stopped | table.sort of 3 million numbers without a comparator (no Lua runs while C sorts): sorted or stopped within the budget
local t = {}
for i = 1, 3e6 do t[i] = (i * 7919) % 3000017 end
table.sort(t)
return t[1]
