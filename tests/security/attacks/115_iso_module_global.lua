-- class: isolation | expect: ok | flags: same | a helper module of rules/lib/ (shared.lua, written by the same author) keeps state in a global and in its own table: the next evaluation must load it afresh and see neither
local m = require "lib.shared"
local seen = tostring(m.get()) .. "/" .. tostring(m.count)
pcall(m.set, "set by an earlier evaluation")
pcall(function() m.count = (m.count or 0) + 1 end)
return seen
