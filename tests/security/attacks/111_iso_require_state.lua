-- class: isolation | expect: ok | flags: same | a module's table (require "lib.money", from rules/) and a module's own counter (require "counter", from scripts/) changed by one evaluation: the next must load them afresh
local m = require "lib.money"
local counter = require "counter"
local seen = tostring(m.kam_mark) .. "/" .. tostring(counter.touch())
pcall(function() m.kam_mark = "added" m.fmt = function() return "hijacked" end end)
return seen
