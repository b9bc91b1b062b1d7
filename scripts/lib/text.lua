-- Plain-text helpers for reports: aligned tables that count UTF-8 letters,
-- not bytes, so Vietnamese names line up.
local M = {}

local function width(s)
  s = tostring(s)
  local n = utf8.len(s) or #s
  -- combining marks (U+0300..U+036F) take no column
  for _ in s:gmatch("\204[\128-\191]") do n = n - 1 end
  for _ in s:gmatch("\205[\128-\175]") do n = n - 1 end
  return n
end
M.width = width

local function pad(s, w, right)
  s = tostring(s)
  local fill = string.rep(" ", math.max(0, w - width(s)))
  return right and fill .. s or s .. fill
end

-- table{headers, rows, right = {[col] = true}} -> string
function M.table(t)
  local w = {}
  for i, h in ipairs(t.headers) do w[i] = width(h) end
  for _, r in ipairs(t.rows) do
    for i = 1, #t.headers do w[i] = math.max(w[i], width(r[i] or "")) end
  end
  local out = {}
  local line = {}
  for i, h in ipairs(t.headers) do line[i] = pad(h, w[i], t.right and t.right[i]) end
  out[#out + 1] = "  " .. table.concat(line, "  ")
  for i = 1, #t.headers do line[i] = string.rep("─", w[i]) end
  out[#out + 1] = "  " .. table.concat(line, "  ")
  for _, r in ipairs(t.rows) do
    for i = 1, #t.headers do line[i] = pad(r[i] or "", w[i], t.right and t.right[i]) end
    out[#out + 1] = ("  " .. table.concat(line, "  ")):gsub("%s+$", "")
  end
  return table.concat(out, "\n")
end

-- flow(label, items, cols) -> "  label  a, b, c", wrapped at cols columns
-- under the first item
function M.flow(label, items, cols)
  local lead = "  " .. label .. "  "
  local indent = string.rep(" ", width(lead))
  local lines, line = {}, lead
  for i, item in ipairs(items) do
    local piece = (i < #items) and item .. "," or item
    if line ~= lead and line ~= indent and width(line) + 1 + width(piece) > cols then
      lines[#lines + 1] = line
      line = indent
    end
    line = line .. ((line == lead or line == indent) and "" or " ") .. piece
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n")
end

function M.heading(s)
  return "\n" .. s .. "\n" .. string.rep("═", width(s))
end

-- keys of a table sorted by their values, largest first
function M.by_value_desc(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if t[a] ~= t[b] then return t[a] > t[b] end
    return tostring(a) < tostring(b)
  end)
  return keys
end

return M
