-- class: budget | expect: stopped/refused | one 8 GiB string: refused up front, or the memory cap stops it with a message naming the limit
return #string.rep("x", 2^33)
