-- class: memory | expect: ok/refused | returns a map nested 50.000 deep (printed as a table, or stored and shown as a policy decision): printed or refused, no C stack overflow
local t = {}
local cur = t
for i = 1, 50000 do cur.x = {} cur = cur.x end
return t
