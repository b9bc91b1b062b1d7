-- class: isolation | expect: ok | flags: same | a plain global set by one evaluation (the baseline): the next evaluation starts without it
local seen = tostring(kam_mark_88)
kam_mark_88 = "set by an earlier evaluation"
return seen
