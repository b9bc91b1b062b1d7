-- class: budget | expect: ok/stopped | a slow pattern (".-b" over 30.000 characters, quadratic, all in C): it must end within the budget, answered or stopped
return (string.rep("a", 30000):find(".-b"))
