-- class: budget | expect: ok/stopped | catastrophic backtracking: 28 "a*" before a "b" that never comes (exponential, all in C): answered or stopped within the budget
return (string.rep("a", 28):match(string.rep("a*", 28) .. "b"))
