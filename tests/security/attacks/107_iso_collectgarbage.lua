-- class: isolation | expect: ok | flags: same | collectgarbage("stop") and a switch to incremental mode with odd settings: the next evaluation's collector must run as before
local seen = tostring(collectgarbage("isrunning"))
pcall(collectgarbage, "stop")
pcall(collectgarbage, "incremental", 1000, 1, 0)
return seen
