-- class: writes | expect: ok policy=ok/refused commit=refused | flags: top | rules/attack.lua names itself "tiering": its --commit must not store decisions, source or hash under another policy's name (list, show, check may report it)
if not P then return "a policy-only attack" end
P.name = "tiering"
