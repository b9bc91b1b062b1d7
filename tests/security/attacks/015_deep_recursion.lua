-- class: memory | expect: refused/stopped | runaway Lua recursion (not a tail call): Lua's stack limit or a budget ends it with a clear error (as a policy: the first subject only, for time)
local subject = ...
if subject and subject.id ~= "CL-000001" then return "only the first subject" end
local function f(n) return 1 + f(n + 1) end
return f(1)
