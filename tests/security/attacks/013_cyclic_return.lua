-- class: memory | expect: ok/refused | returns a table that contains itself (as a field, a list item and a key): printed or refused, no endless recursion
local t = {a = 1}
t.self = t
t[1] = t
t[t] = "key"
return t
