-- class: budget | expect: stopped policy=refused commit=refused | an endless loop inside kam.tx: stopped, the transaction rolled back (a policy may not open kam.tx at all)
kam.tx(function() while true do end end)
