-- class: isolation | expect: ok | flags: same | string.upper and string.format replaced, string.kam_mark added: the next evaluation's string library must be the real one
local seen = tostring(string.kam_mark) .. "/" .. string.upper("a") .. "/" .. string.format("%d", 7)
pcall(function()
  string.kam_mark = "added"
  string.upper = function() return "hijacked" end
  local real = string.format
  string.format = function(f, ...) if f == "%d" then return "hijacked" end return real(f, ...) end
end)
return seen
