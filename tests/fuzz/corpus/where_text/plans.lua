-- plans
targets ~= nil and targets.roas > 3 and kam.today() > signed_date