-- class: escape | expect: ok | rules/linked.lua is a symlink to a file outside the project: require "linked" must not load it
local ok, v = pcall(require, "linked")
if ok and type(v) == "table" and v.escaped then error("require followed rules/linked.lua out of the project") end
return "ok"
