-- class: budget | expect: ok/stopped | a plain find (no pattern) whose needle almost matches everywhere: 2 MB haystack, 20 kB needle, all in C: answered or stopped within the budget (as a policy: the first subject only, for time)
local subject = ...
if subject and subject.id ~= "CL-000001" then return "only the first subject" end
local hay = string.rep("a", 2e6)
return (hay:find(string.rep("a", 2e4) .. "b", 1, true))
