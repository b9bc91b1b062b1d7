-- class: isolation | expect: ok | flags: same | the query metatable's method table gets count() and sum() that lie: the next evaluation's queries (and the engine's) must answer truly
local q = db.staff
local seen = tostring(q:count()) .. "/" .. tostring(db.invoices:where{client = "CL-000001"}:sum("amount"))
local mt = getmetatable(q)
if type(mt) == "table" then
  pcall(function()
    local m = type(mt.__index) == "table" and mt.__index or nil
    if m then
      m.count = function() return -1 end
      m.sum = function() return -1 end
    end
  end)
end
return seen
