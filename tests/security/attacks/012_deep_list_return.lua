-- class: memory | expect: ok/refused | returns a list nested 50.000 deep ({{{...}}}, as a list of entities would print): printed or refused, no C stack overflow
local t = {}
local cur = t
for i = 1, 50000 do cur[1] = {} cur = cur[1] end
return t
