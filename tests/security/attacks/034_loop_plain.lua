-- class: budget | expect: stopped | an endless loop: stopped within the budget, with a message naming the limit
while true do end
