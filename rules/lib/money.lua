-- lib/money.lua — whole đồng, percentages and ratios for reasons and results.
local M = {}

M.TRIEU = 1000000            -- 1 triệu đồng
M.TY = 1000000000            -- 1 tỷ đồng

-- 1.234.567 ₫ (kam.fmt.money), also for floats: rounded to whole đồng first.
function M.fmt(n)
  return kam.fmt.money(M.whole(n or 0))
end

-- 18,3% from a ratio (0.183); "n/a" when there is no ratio.
function M.pct(r)
  if r == nil then return "n/a" end
  return kam.fmt.pct(r)
end

-- A signed percentage for changes: +12,0% / -30,5%.
function M.change(r)
  if r == nil then return "n/a" end
  return (r >= 0 and "+" or "") .. kam.fmt.pct(r)
end

-- A number with `n` decimals and a decimal comma (4,6), as Vietnamese readers expect.
function M.decimal(x, n)
  if x == nil then return "n/a" end
  return (string.format("%." .. (n or 1) .. "f", x):gsub("%.", ","))
end

-- Whole đồng (an integer), rounded half up.
function M.whole(x)
  return math.tointeger(math.floor(x + 0.5)) or 0
end

-- Rounded to a unit (default 1 triệu), as an integer.
function M.round(x, unit)
  unit = unit or M.TRIEU
  return M.whole(math.floor(x / unit + 0.5) * unit)
end

-- A ratio rounded to 4 decimals (0.1836), for results and for band look-ups (so that 7/10 - 1
-- is exactly -0.30 and lands where a manager expects); nil stays nil.
function M.rate(r)
  if r == nil then return nil end
  return math.floor(r * 10000 + 0.5) / 10000
end

-- a / b, or nil when b is zero or missing.
function M.ratio(a, b)
  if not b or b == 0 or not a then return nil end
  return a / b
end

return M
