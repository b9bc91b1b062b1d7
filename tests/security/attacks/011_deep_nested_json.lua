-- class: memory | expect: ok/refused | flags: json | returns a map nested 50.000 deep with --format json: printed or refused, no C stack overflow
local t = {}
local cur = t
for i = 1, 50000 do cur.x = {} cur = cur.x end
return t
