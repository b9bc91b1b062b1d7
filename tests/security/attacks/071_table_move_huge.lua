-- class: budget | expect: ok/stopped | table.move of 2^40 elements between plain tables (a C loop of gets and sets of nil, no Lua instruction, no allocation): answered or stopped within the budget
return #table.move({}, 1, 2^40, 1, {})
