-- class: memory | expect: ok | the query, iterator and entity metatables' own functions (__gc, __close, __index, __pairs, __eq) called by hand, twice, with wrong objects, then the objects used: a clear error or a right answer, never a freed query (db.clients is shared)
local function try(f, ...) if f then return pcall(f, ...) end end
local q = db.invoices:where{client = "CL-000001"}
local mt = getmetatable(q)
if type(mt) == "table" then
  try(mt.__gc, q) try(mt.__gc, q)
  try(function() return q:count() end)
  try(function() return q:where{status = "paid"}:sum("amount") end)
  try(mt.__gc, db.clients)
  try(mt.__gc, {})
  try(function() return db.clients:count() end)
  try(function() return db.clients:get("CL-000001").name end)
  try(mt.__tostring, {})
end
local it, a, b, closer = db.invoices:all():each()
local imt = getmetatable(closer)
if type(imt) == "table" then try(imt.__close, closer) try(imt.__gc, closer) try(imt.__close, closer) try(imt.__gc, q) try(it) end
local e = db.clients:get("CL-000001")
local emt = getmetatable(e)
if type(emt) == "table" then
  try(emt.__index, {}, "name") try(emt.__index, q, "name") try(emt.__index, e, nil) try(emt.__pairs, q)
  try(emt.__eq, e, q) try(emt.__tostring, q) try(emt.__newindex, q, "x", 1)
end
return db.clients:count()
