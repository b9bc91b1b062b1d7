-- class: budget | expect: ok/stopped/refused | load of a 200 MB chunk of empty statements (the parser runs in C, allocates little): compiled, refused or stopped, within the budget
local f = load(string.rep(";", 2e8))
return type(f)
