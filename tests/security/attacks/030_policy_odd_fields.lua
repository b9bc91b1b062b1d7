-- class: memory | expect: ok/refused run=ok eval=ok list=ok/refused/stopped show=ok/refused/stopped check=ok/refused/stopped | flags: top | the policy table's own fields are odd: cyclic and deeply nested thresholds, a 1 MB description, bands of NaN and inf (shown by kam policy show, checked by kam check, listed by kam policy list): shown or refused, no endless recursion
if not P then return "a policy-only attack" end
local t = {bands = {{tier = "A", min = 0/0}, {tier = "B", min = -math.huge, max = math.huge}}}
t.self = t
local deep = t
for i = 1, 20000 do deep.next = {} deep = deep.next end
P.thresholds = t
P.description = string.rep("d", 1000000)
