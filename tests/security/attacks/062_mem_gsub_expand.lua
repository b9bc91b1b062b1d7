-- class: budget | expect: stopped | a memory bomb built in C: gsub replacing each of a million characters by 1.000
return #(string.rep("x", 1e6):gsub(".", string.rep("y", 1000)))
