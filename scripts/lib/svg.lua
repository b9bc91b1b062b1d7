-- Inline SVG charts for report pages (lib/page.lua): bar, hbar, stacked,
-- line, waterfall and the sparkline of a table cell. Pure text out, no
-- script, valid XML: every attribute is quoted and every text escaped.
-- Coordinates are written with at most one decimal so the same numbers give
-- the same bytes.
--
-- Every chart function takes
--   c = {categories = {...}, series = {{key, name, values}, ...}, totals = {[i] = true}}
--   o = {id = "unique-id", title = "text", axis = fn(v, decimals) -> tick text,
--        label = fn(v) -> value label, signed = fn(v) -> "+x"/"−x" (waterfall)}
-- and returns one "<svg …>…</svg>" string.
local M = {}

M.W = 640            -- viewBox width of every chart
local PLOT_H = 200   -- plot height of the vertical charts
local CHAR_W = 6.2   -- estimated width of one letter at 11px (layout only)
local LABEL_CW = 5.6 -- the same at 10px (value labels)

M.palette = {"#3b6ea8", "#e08a3c", "#5a9e6f", "#9a6bb0", "#c9a227", "#4aa3a2", "#c4566b", "#6b7b8c"}
local UP, DOWN, TOTAL = "#3c8d5a", "#c0392b", "#3b6ea8"
local INK, MUTED, GRID, AXIS = "#2b2f33", "#6b737b", "#e3e6ea", "#9aa3ad"

-- esc(s): text safe inside an XML/HTML element or a quoted attribute. C0
-- control characters (other than tab and newlines) are dropped: XML allows
-- them in no form, escaped or not.
local ESC = {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;"}
function M.esc(s)
  if s == nil then return "" end
  s = tostring(s):gsub("[%z\1-\8\11\12\14-\31\127]", "")
  return (s:gsub("[&<>\"']", ESC))
end
local esc = M.esc

-- n(x): a coordinate, "%.1f" without a trailing ".0" and never "-0"
local function n(x)
  local s = ("%.1f"):format(x)
  s = s:gsub("%.0$", "")
  if s == "-0" then s = "0" end
  return s
end
M.n = n

-- finite(v): a number we can draw (not nil, NaN or infinite)
local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end
M.finite = finite

local function ulen(s)
  return utf8.len(s) or #s
end

-- width(s, cw): estimated width in px of s, for layout decisions only
local function width(s, cw)
  return ulen(s) * (cw or CHAR_W)
end

-- truncate(s, max): at most max letters, the last one "…" when cut; a
-- combining mark is never separated from its letter
function M.truncate(s, max)
  s = tostring(s)
  local len = utf8.len(s)
  if not len or len <= max then return s end
  max = math.max(2, max)
  local cut = utf8.offset(s, max) -- start of letter number max: keep max - 1
  while cut <= #s do
    local cp = utf8.codepoint(s, cut)
    if cp < 0x300 or cp > 0x36F then break end
    cut = utf8.offset(s, 2, cut)
  end
  return s:sub(1, cut - 1) .. "…"
end

-- nice_ticks(lo, hi): tick values on a 1-2-5 step covering [lo, hi] (lo <= 0
-- <= hi holds for our callers), their decimals, and the covered range. An
-- empty range (all zero) gives the single tick 0.
function M.nice_ticks(lo, hi)
  if not (hi > lo) then
    return {0}, 0, 0, 1
  end
  local raw = (hi - lo) / 5
  local e = math.floor(math.log(raw, 10))
  local base = 10 ^ e
  local step
  for _, m in ipairs{1, 2, 5, 10} do
    step = m * base
    if step >= raw * (1 - 1e-9) then break end
  end
  if step >= 10 * base then e = e + 1 end
  local decimals = math.max(0, -e)
  local first = math.floor(lo / step + 1e-9)
  local last = math.ceil(hi / step - 1e-9)
  local ticks = {}
  for i = first, last do
    local v = i * step
    if decimals == 0 then v = math.floor(v + 0.5) end -- no 0.30000000000000004
    ticks[#ticks + 1] = v
  end
  return ticks, decimals, first * step, last * step
end

-- scale(d0, d1, r0, r1): a linear map of the domain onto the range; a zero
-- domain maps everything to r0
local function scale(d0, d1, r0, r1)
  local span = d1 - d0
  if span == 0 then return function() return r0 end end
  return function(v) return r0 + (v - d0) / span * (r1 - r0) end
end

local function color(i)
  return M.palette[(i - 1) % #M.palette + 1]
end

-- a small XML writer: tags collected in a list
local function buf() return {} end
local function put(b, s) b[#b + 1] = s end

local function text(b, x, y, s, attrs)
  put(b, ('<text x="%s" y="%s"%s>%s</text>'):format(n(x), n(y), attrs or "", esc(s)))
end

local function rect(b, x, y, w, h, fill, title)
  if h < 0 then y, h = y + h, -h end
  if w < 0 then x, w = x + w, -w end
  if title then
    put(b, ('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>')
      :format(n(x), n(y), n(w), n(h), fill, esc(title)))
  else
    put(b, ('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>'):format(n(x), n(y), n(w), n(h), fill))
  end
end

local function line(b, x1, y1, x2, y2, stroke, extra)
  put(b, ('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"%s/>')
    :format(n(x1), n(y1), n(x2), n(y2), stroke, extra or ""))
end

-- open(b, o, h): the root element with its accessible title
local function open(b, o, h)
  local tid = esc(o.id) .. "-title"
  put(b, ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %s" width="%d" height="%s" '
    .. 'role="img" aria-labelledby="%s" class="chart" font-family="system-ui, -apple-system, '
    .. 'Segoe UI, Roboto, Helvetica, Arial, sans-serif" font-size="11" fill="%s">')
    :format(M.W, n(h), M.W, n(h), tid, INK))
  put(b, ('<title id="%s">%s</title>'):format(tid, esc(o.title)))
end

local function close(b)
  put(b, "</svg>")
  return table.concat(b)
end

-- value(c, s, i): series s's i-th value when it can be drawn, else nil
local function value(c, s, i)
  local v = c.series[s] and c.series[s].values and c.series[s].values[i]
  if finite(v) then return v end
  return nil
end

-- extent(c): smallest and largest value of all series, 0 always included so
-- bars start at the baseline
local function extent(c)
  local lo, hi = 0, 0
  for s = 1, #c.series do
    for i = 1, #c.categories do
      local v = value(c, s, i)
      if v then lo, hi = math.min(lo, v), math.max(hi, v) end
    end
  end
  return lo, hi
end

-- legend(b, c, y): swatches and names in rows when there is more than one
-- series; returns the height used. Drawn only for a measure (draw = false).
local function legend(b, c, y, draw)
  if #c.series < 2 then return 0 end
  local x, rows = 12, 1
  for s, ser in ipairs(c.series) do
    local name = M.truncate(ser.name or ser.key or "", 30)
    local w = 16 + width(name) + 14
    if x + w > M.W - 12 and x > 12 then x, rows = 12, rows + 1 end
    if draw then
      local ly = y + (rows - 1) * 18
      rect(b, x, ly + 1, 10, 10, color(s))
      text(b, x + 14, ly + 10, name)
    end
    x = x + w
  end
  return rows * 18 + 4
end

-- layout of the vertical charts: legend on top, axis labels on the left,
-- category labels below
local function vlayout(c, o, lo, hi)
  local ticks, dec, d0, d1 = M.nice_ticks(lo, hi)
  local labels, widest = {}, 0
  for i, t in ipairs(ticks) do
    labels[i] = o.axis(t, dec)
    widest = math.max(widest, width(labels[i]))
  end
  local L = {ticks = ticks, labels = labels}
  L.legend_h = legend(nil, c, 0, false)
  L.left = math.min(140, math.max(36, widest + 12))
  L.right = 16
  L.top = 10 + L.legend_h + 12  -- room for a value label above the top bar
  L.bottom = L.top + PLOT_H
  L.h = L.bottom + 30
  if d1 == d0 then d1 = d0 + 1 end -- all zero: the baseline at the bottom
  L.y = scale(d0, d1, L.bottom, L.top)
  L.ncat = math.max(1, #c.categories)
  L.band = (M.W - L.left - L.right) / L.ncat
  return L
end

-- grid lines, tick labels and the zero line
local function vaxis(b, L)
  for i, t in ipairs(L.ticks) do
    local y = L.y(t)
    line(b, L.left, y, M.W - L.right, y, t == 0 and AXIS or GRID)
    text(b, L.left - 6, y + 4, L.labels[i], ' text-anchor="end" fill="' .. MUTED .. '"')
  end
end

-- category labels under the plot, cut to the band; when even cut labels
-- would collide only every k-th one is written (the table beneath has all)
local function vcategories(b, c, L, center)
  local max = math.max(4, math.floor(L.band / CHAR_W) - 1)
  local widest = 0
  for _, cat in ipairs(c.categories) do widest = math.max(widest, math.min(ulen(tostring(cat)), max)) end
  local every = math.max(1, math.ceil((widest * CHAR_W + 6) / L.band))
  for i, cat in ipairs(c.categories) do
    if (i - 1) % every == 0 then
      text(b, center(i), L.bottom + 16, M.truncate(cat, max), ' text-anchor="middle"')
    end
  end
end

-- value labels are written on every bar of a chart or on none (the table
-- beneath has the numbers): all of them must fit their slot
local function all_fit(labels, slot)
  for _, s in pairs(labels) do -- order does not matter: only a yes/no
    if width(s, LABEL_CW) > slot - 2 then return false end
  end
  return true
end

-- bar: one or more series side by side per category
function M.bar(c, o)
  local L = vlayout(c, o, extent(c))
  local b = buf()
  open(b, o, L.h)
  legend(b, c, 10, true)
  vaxis(b, L)
  local ns = math.max(1, #c.series)
  local slot = math.min(L.band * 0.8 / ns, 72) -- a few categories: not slabs
  local labels = {}
  for i = 1, #c.categories do
    for s = 1, #c.series do
      local v = value(c, s, i)
      if v then labels[(i - 1) * ns + s] = o.label(v) end
    end
  end
  local show = all_fit(labels, L.band / ns)
  for i = 1, #c.categories do
    local x0 = L.left + (i - 0.5) * L.band - slot * ns / 2
    for s = 1, #c.series do
      local v = value(c, s, i)
      if v then
        local x, y0, y1 = x0 + (s - 1) * slot, L.y(0), L.y(v)
        local lbl = labels[(i - 1) * ns + s]
        rect(b, x + 1, y0, math.max(1, slot - 2), y1 - y0, color(s), c.categories[i] .. ": " .. lbl)
        if show then
          local ly = v < 0 and y1 + 12 or y1 - 4
          text(b, x + slot / 2, ly, lbl, ' text-anchor="middle" font-size="10"')
        end
      end
    end
  end
  vcategories(b, c, L, function(i) return L.left + (i - 0.5) * L.band end)
  return close(b)
end

-- stacked: series stacked per category; negatives stack down from zero, and
-- the total of the category is written above its column
function M.stacked(c, o)
  local lo, hi = 0, 0
  for i = 1, #c.categories do
    local pos, neg = 0, 0
    for s = 1, #c.series do
      local v = value(c, s, i)
      if v and v > 0 then pos = pos + v elseif v then neg = neg + v end
    end
    lo, hi = math.min(lo, neg), math.max(hi, pos)
  end
  local L = vlayout(c, o, lo, hi)
  local b = buf()
  open(b, o, L.h)
  legend(b, c, 10, true)
  vaxis(b, L)
  local bw = math.min(L.band * 0.6, 96)
  local sums = {}
  for i = 1, #c.categories do
    for s = 1, #c.series do
      local v = value(c, s, i)
      if v then sums[i] = (sums[i] or 0) + v end
    end
    if sums[i] then sums[i] = o.label(sums[i]) end
  end
  local show = all_fit(sums, L.band)
  for i = 1, #c.categories do
    local x = L.left + (i - 0.5) * L.band - bw / 2
    local pos, neg = 0, 0
    for s = 1, #c.series do
      local v = value(c, s, i)
      if v then
        local from = v >= 0 and pos or neg
        local to = from + v
        rect(b, x, L.y(from), bw, L.y(to) - L.y(from), color(s),
          c.categories[i] .. " · " .. (c.series[s].name or "") .. ": " .. o.label(v))
        if v >= 0 then pos = to else neg = to end
      end
    end
    if show and sums[i] then
      text(b, x + bw / 2, L.y(pos) - 4, sums[i], ' text-anchor="middle" font-size="10"')
    end
  end
  vcategories(b, c, L, function(i) return L.left + (i - 0.5) * L.band end)
  return close(b)
end

-- line: one polyline per series, a dot at each point; a missing value
-- breaks the line
function M.line(c, o)
  local L = vlayout(c, o, extent(c))
  local b = buf()
  open(b, o, L.h)
  legend(b, c, 10, true)
  vaxis(b, L)
  local function x(i) return L.left + (i - 0.5) * L.band end
  for s = 1, #c.series do
    local pts = {}
    local function flush()
      if #pts > 1 then
        put(b, ('<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"/>')
          :format(table.concat(pts, " "), color(s)))
      end
      pts = {}
    end
    for i = 1, #c.categories do
      local v = value(c, s, i)
      if v then pts[#pts + 1] = n(x(i)) .. "," .. n(L.y(v)) else flush() end
    end
    flush()
    for i = 1, #c.categories do
      local v = value(c, s, i)
      if v then
        put(b, ('<circle cx="%s" cy="%s" r="3" fill="%s"><title>%s</title></circle>')
          :format(n(x(i)), n(L.y(v)), color(s), esc(c.categories[i] .. ": " .. o.label(v))))
      end
    end
  end
  vcategories(b, c, L, x)
  return close(b)
end

-- waterfall: bars marked in totals are drawn from 0 and set the running
-- level; the others are steps from the level (+ green, − red), with a dashed
-- connector from each bar to the next
function M.waterfall(c, o)
  local totals = c.totals or {}
  local bars, level, lo, hi = {}, 0, 0, 0
  local vals = c.series[1] and c.series[1].values or {}
  for i = 1, #c.categories do
    local v = vals[i]
    if not finite(v) then v = 0 end
    local from, to
    if totals[i] then from, to = 0, v else from, to = level, level + v end
    level = to
    bars[i] = {from = from, to = to, v = v, total = totals[i]}
    lo, hi = math.min(lo, from, to), math.max(hi, from, to)
  end
  local L = vlayout({categories = c.categories, series = {}}, o, lo, hi)
  local b = buf()
  open(b, o, L.h)
  vaxis(b, L)
  local bw = math.min(L.band * 0.6, 96)
  local labels = {}
  for i, r in ipairs(bars) do labels[i] = r.total and o.label(r.v) or o.signed(r.v) end
  local show = all_fit(labels, L.band)
  for i, r in ipairs(bars) do
    local x = L.left + (i - 0.5) * L.band - bw / 2
    local fill = r.total and TOTAL or (r.v >= 0 and UP or DOWN)
    local lbl = labels[i]
    local y0, y1 = L.y(r.from), L.y(r.to)
    rect(b, x, y0, bw, (y1 - y0 == 0) and -1 or (y1 - y0), fill, c.categories[i] .. ": " .. lbl)
    if show then
      local up = r.to >= r.from
      local ly = up and math.min(y0, y1) - 4 or math.max(y0, y1) + 12
      text(b, x + bw / 2, ly, lbl, ' text-anchor="middle" font-size="10"')
    end
    if bars[i + 1] then
      line(b, x + bw, y1, x + L.band, y1, AXIS, ' stroke-dasharray="3 2"')
    end
  end
  vcategories(b, c, L, function(i) return L.left + (i - 0.5) * L.band end)
  return close(b)
end

-- hbar: horizontal bars of the first series, long category labels on the
-- left (top accounts and the like)
function M.hbar(c, o)
  local lo, hi = extent{categories = c.categories, series = {c.series[1]}}
  local ticks, dec, d0, d1 = M.nice_ticks(lo, hi)
  local ncat = #c.categories
  local rowh, top = 24, 8
  local labelw = 0
  for _, cat in ipairs(c.categories) do labelw = math.max(labelw, width(M.truncate(cat, 28))) end
  local left = math.min(200, math.max(60, labelw + 12))
  local right = 70 -- room for the value label after the longest bar
  local bottom = top + math.max(1, ncat) * rowh
  local h = bottom + 24
  if d1 == d0 then d1 = d0 + 1 end
  local x = scale(d0, d1, left, M.W - right)
  local b = buf()
  open(b, o, h)
  for _, t in ipairs(ticks) do
    local tx = x(t)
    line(b, tx, top, tx, bottom, t == 0 and AXIS or GRID)
    text(b, tx, bottom + 16, o.axis(t, dec), ' text-anchor="middle" fill="' .. MUTED .. '"')
  end
  for i, cat in ipairs(c.categories) do
    local y = top + (i - 1) * rowh
    text(b, left - 8, y + rowh / 2 + 4, M.truncate(cat, 28), ' text-anchor="end"')
    local v = value(c, 1, i)
    if v then
      local x0, x1 = x(0), x(v)
      local lbl = o.label(v)
      rect(b, x0, y + 4, x1 - x0, rowh - 8, color(1), cat .. ": " .. lbl)
      if v >= 0 then
        text(b, x1 + 4, y + rowh / 2 + 4, lbl, ' font-size="10"')
      else
        text(b, x1 - 4, y + rowh / 2 + 4, lbl, ' text-anchor="end" font-size="10"')
      end
    end
  end
  return close(b)
end

-- sparkline(values, o): a small 80×18 polyline for a table cell; o.title
-- (optional) is its accessible text. Missing values are skipped; a flat or
-- single-point series is drawn in the middle.
function M.sparkline(values, o)
  o = o or {}
  local w, h, pad = 80, 18, 2
  local count, lo, hi = #values, math.huge, -math.huge
  for i = 1, count do
    local v = values[i]
    if finite(v) then lo, hi = math.min(lo, v), math.max(hi, v) end
  end
  local b = buf()
  put(b, ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" class="spark" role="img">')
    :format(w, h, w, h))
  put(b, ("<title>%s</title>"):format(esc(o.title or "")))
  if lo <= hi then
    local y = (hi > lo) and scale(lo, hi, h - pad, pad) or function() return h / 2 end
    local x = count > 1 and scale(1, count, pad, w - pad) or function() return w / 2 end
    local pts, last = {}, nil
    for i = 1, count do
      local v = values[i]
      if finite(v) then
        pts[#pts + 1] = n(x(i)) .. "," .. n(y(v))
        last = i
      end
    end
    if #pts > 1 then
      put(b, ('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>'):format(table.concat(pts, " "), TOTAL))
    end
    put(b, ('<circle cx="%s" cy="%s" r="2" fill="%s"/>'):format(n(x(last)), n(y(values[last])), TOTAL))
  end
  put(b, "</svg>")
  return table.concat(b)
end

M.types = {bar = M.bar, hbar = M.hbar, stacked = M.stacked, line = M.line, waterfall = M.waterfall}

-- chart(c, o): the chart of c.type
function M.chart(c, o)
  local f = M.types[c.type]
  if not f then error(("svg: unknown chart type %s"):format(tostring(c.type)), 2) end
  return f(c, o)
end

return M
