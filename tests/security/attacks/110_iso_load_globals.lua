-- class: isolation | expect: ok | flags: same | load() without an env writes a global (the loaded chunk's _ENV is the sandbox's): the next evaluation must not see it
local seen = tostring(load("return kam_mark_103")())
pcall(function() load("kam_mark_103 = 'written by a loaded chunk'")() end)
return seen
