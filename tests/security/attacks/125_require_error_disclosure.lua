-- class: escape | expect: ok | rules/leak.lua is a symlink to a text file outside the project: require "leak" must not load it, nor quote its content in the error message
local ok, err = pcall(require, "leak")
if tostring(err):find("kam-secret-token", 1, true) then error("require quoted a file from outside the project") end
if ok then error("require loaded rules/leak.lua from outside the project") end
return "ok"
