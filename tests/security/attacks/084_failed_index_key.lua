-- class: writes | expect: ok policy=refused commit=refused | inside kam.tx, an insert whose composite index key passes LMDB's 511 bytes (kpis [subject, period] with 300-byte values and a 200-byte id of letters, which the key keeps whole) fails and pcall catches it; the transaction commits: the failed insert must leave no record and no index entries
kam.tx(function()
  local id = "KPI-" .. string.rep("Z", 196)
  local ok, err = pcall(db.kpis.insert, db.kpis, {id = id, scope = "account", subject = string.rep("s", 300),
                                                   metric = "roas", period = string.rep("p", 300)})
  if not ok then
    if db.kpis:get(id) then error("a failed insert left its record: " .. tostring(err)) end
    if db.kpis:where{metric = "roas", scope = "account"}:where(function(k) return k.id == id end):count() > 0 then
      error("a failed insert left index entries")
    end
  else
    db.kpis:delete(id)
  end
end)
return "ok"
