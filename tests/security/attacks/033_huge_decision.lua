-- class: memory | expect: ok/refused/stopped | a decision (or a script's result) that is a 300.000-item table: stored as JSON, shown or refused, within the limits (as a policy: the first subject's; the others decide "small")
local subject = ...
if subject and subject.id ~= "CL-000001" then return "small" end
local t = {}
for i = 1, 300000 do t[i] = "x" end
return t
