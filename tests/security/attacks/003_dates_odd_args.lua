-- class: memory | expect: ok | kam.months_ago(100000) and every date function with huge, negative, NaN, inf, odd text and wrong types; each may refuse, and a date it returns must be one kam itself accepts
local odd = {n = 0}
local function add(v) odd.n = odd.n + 1 odd[odd.n] = v end
for _, v in ipairs{100000, -100000, 120000, 1e6, math.maxinteger, math.mininteger, -1, 0, 2^31, -2^31, 2^53} do add(v) end
add(0/0) add(math.huge) add(-math.huge) add(1.5) add(nil) add(true) add({}) add("12") add(string.rep("9", 5000))
local bad = {}
local function check(what, ok, r)
  if not ok or r == nil then return end
  if type(r) ~= "string" then bad[#bad + 1] = what .. " returned a " .. type(r) return end
  local fine = pcall(kam.days_between, r, r)
  if not fine then bad[#bad + 1] = what .. " returned " .. string.format("%q", r) .. ", which kam refuses as a date" end
end
for i = 1, odd.n do
  local v = odd[i]
  check("months_ago(" .. tostring(v) .. ")", pcall(kam.months_ago, v))
  check("days_ago(" .. tostring(v) .. ")", pcall(kam.days_ago, v))
  check("months_ago(" .. tostring(v) .. ", 9999-12-31)", pcall(kam.months_ago, v, "9999-12-31"))
  check("months_ago(" .. tostring(v) .. ", 0001-01-01)", pcall(kam.months_ago, v, "0001-01-01"))
  check("date_add(.., " .. tostring(v) .. ")", pcall(kam.date_add, "2026-01-31", v))
  check("date_add(.., " .. tostring(v) .. ", months)", pcall(kam.date_add, "2026-01-31", v, "months"))
  check("date_add(9999-12-31, " .. tostring(v) .. ")", pcall(kam.date_add, "9999-12-31", v))
  pcall(kam.days_between, v, "2026-01-01")
  pcall(kam.date_add, v, 1)
end
for _, s in ipairs{"", "2026-02-30", "2026-13-01", "0000-01-01", "-001-01-01", "2026-11-26\0junk", "2026-1-1",
                   "９９９９-01-01", string.rep("2", 10000), "2026-11-26T99:99:99+99:99"} do
  pcall(kam.days_between, s, "2026-01-01")
  check("date_add(" .. s:sub(1, 20) .. ")", pcall(kam.date_add, s, 1))
  check("months_ago(1, " .. s:sub(1, 20) .. ")", pcall(kam.months_ago, 1, s))
end
if #bad > 0 then error(#bad .. " malformed dates, e.g. " .. bad[1]) end
return "ok"
