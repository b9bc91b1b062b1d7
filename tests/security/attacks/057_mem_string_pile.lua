-- class: budget | expect: stopped | a memory bomb: a million 10 kB strings kept in a table; the memory cap stops it with a message naming the limit
local t = {}
for i = 1, 1e6 do t[i] = string.rep("x", 10000) .. i end
return #t
