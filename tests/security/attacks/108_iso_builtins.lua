-- class: isolation | expect: ok | flags: same | type, tostring, error, next, ipairs, select, setmetatable replaced through _G (each still works, but answers a probe): the next evaluation, and the engine that uses them, must see the real ones
local probe = "kam_probe_101"
local seen = table.concat({type(probe), tostring(probe), select("#", probe), tostring(next({}, nil))}, "/")
local function wrap(name)
  local real = _G[name]
  pcall(function()
    _G[name] = function(a, ...) if a == probe then return "hijacked" end return real(a, ...) end
  end)
end
for _, n in ipairs{"type", "tostring", "error", "ipairs", "setmetatable", "select"} do wrap(n) end
pcall(function() local real = next _G.next = function(t, k) return real(t, k) end end)
return seen
