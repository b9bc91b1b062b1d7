-- class: budget | expect: stopped | a memory bomb: a table of tables growing without end
local t, i = {}, 0
while true do i = i + 1 t[i] = {i, i} end
