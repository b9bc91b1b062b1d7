-- class: memory | expect: ok | decide()'s why() called with odd arguments (no format, a table, a __tostring that errors or returns a table (pcall'd: those errors are the author's), %n, huge widths, 10.000 reasons, a 1 MB reason): reasons recorded or refused, no crash
local _, why = ...
why = why or function() end
why()
why(nil)
why({})
pcall(why, setmetatable({}, {__tostring = function() error("no") end}))
pcall(why, setmetatable({}, {__tostring = function() return {} end}))
why("%n %s %99999d", 1)
why("%s", setmetatable({}, {__tostring = function() return 42 end}))
why("%s %s %s")
why(string.rep("r", 1000000))
why("%q", string.rep("\0", 1000))
for i = 1, 10000 do why("reason %d", i) end
return "ok"
