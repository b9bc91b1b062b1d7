-- class: budget | expect: stopped list=stopped/ok show=stopped check=stopped/refused | flags: top | an endless loop at the policy file's top level, run by kam policy list, show and check too: stopped within the budget (or the file reported as broken)
while true do end
