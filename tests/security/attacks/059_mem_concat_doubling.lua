-- class: budget | expect: stopped | flags: bigcopy | a memory bomb: a string doubled by concatenation until the cap; stopped with a message naming the limit (not a bare "not enough memory")
local s = "x"
while true do s = s .. s end
