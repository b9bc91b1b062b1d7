-- class: budget | expect: stopped | a 2 GiB allocation inside pcall, in a loop that ignores the failure: the memory stop cannot be caught
while true do pcall(string.rep, "x", 2^31) end
