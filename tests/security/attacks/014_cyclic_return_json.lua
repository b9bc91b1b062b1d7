-- class: memory | expect: ok/refused | flags: json | returns a cyclic table with --format json: printed or refused, no endless recursion
local t = {name = "loop"}
t.self = t
t.list = {t, {t}}
return t
