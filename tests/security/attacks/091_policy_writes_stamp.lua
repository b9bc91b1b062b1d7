-- class: writes | expect: ok commit=refused | policy-writes: created_at | a policy whose writes field is created_at (kept by kam) decides a new date for every client: --commit must refuse, nothing written
local c = ...
if c then return "1999-01-01T00:00:00+07:00" end
return "ok"
