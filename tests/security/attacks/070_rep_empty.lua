-- class: budget | expect: ok/stopped | string.rep of the empty string math.maxinteger times (Lua's C loop runs n times copying nothing): answered or stopped within the budget
return #string.rep("", math.maxinteger) + #string.rep("", math.maxinteger, "")
