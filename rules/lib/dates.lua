-- lib/dates.lua — date windows. Dates are "YYYY-MM-DD" strings (they sort like dates).
local D = {}

function D.today() return kam.today() end

-- The day before a date.
function D.before(d) return kam.date_add(d, -1) end

-- {from, to} covering the months from `older` months ago up to (not including) `newer` months ago;
-- newer = 0 ends today. D.window(12, 0) = the last 12 months, D.window(24, 12) = the 12 before.
function D.window(older, newer)
  local from = kam.months_ago(older)
  local to = (newer or 0) == 0 and kam.today() or D.before(kam.months_ago(newer))
  return {from = from, to = to}
end

-- Whole days from d to today (positive for past dates); nil for nil.
function D.days_since(d)
  if not d then return nil end
  return kam.days_between(d, kam.today())
end

-- A named period (2026, 2026-Q3, 2026-11, last_quarter, last_month ...) as {from, to, name}.
function D.period(name) return kam.period(name) end

-- The period before a named one of the same kind: 2026-Q1 -> 2025-Q4, 2026-01 -> 2025-12,
-- 2026 -> 2025, 2026-H1 -> 2025-H2.
function D.previous(name)
  local p = kam.period(name).name
  local y, q = p:match("^(%d%d%d%d)%-Q(%d)$")
  if y then
    y, q = tonumber(y), tonumber(q)
    if q == 1 then return string.format("%04d-Q4", y - 1) end
    return string.format("%04d-Q%d", y, q - 1)
  end
  local h
  y, h = p:match("^(%d%d%d%d)%-H(%d)$")
  if y then
    y, h = tonumber(y), tonumber(h)
    if h == 1 then return string.format("%04d-H2", y - 1) end
    return string.format("%04d-H1", y)
  end
  local m
  y, m = p:match("^(%d%d%d%d)%-(%d%d)$")
  if y then
    y, m = tonumber(y), tonumber(m)
    if m == 1 then return string.format("%04d-12", y - 1) end
    return string.format("%04d-%02d", y, m - 1)
  end
  y = p:match("^(%d%d%d%d)$")
  if y then return tostring(tonumber(y) - 1) end
  error("dates.previous: cannot step back from period " .. tostring(name))
end

-- The share of a period already elapsed today (0 before it starts, 1 once it has ended).
function D.elapsed(p)
  local today = kam.today()
  if today < p.from then return 0 end
  if today > p.to then return 1 end
  local len = kam.days_between(p.from, p.to) + 1
  return (kam.days_between(p.from, today) + 1) / len
end

return D
