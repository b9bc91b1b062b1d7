-- clients
tier == "A" and annual_budget > 2e9 or kpis ~= nil and #kpis > 1