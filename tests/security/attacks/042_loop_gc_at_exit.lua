-- class: budget | expect: ok/stopped/refused | an endless loop in a finalizer that only runs at exit (after the statement, budget disarmed): refused (no finalizers), or the run must still end within the budget
kam_keep_38 = setmetatable({}, {__gc = function() while true do end end})
return "returned"
