-- class: budget | expect: ok/stopped | a cubic gsub (".-.-x" tried at every one of 20.000 positions, all in C): answered or stopped within the budget
return (string.rep("a", 20000):gsub(".-.-x", ""))
