-- RFC 4180 CSV rows for the Lua peers (Lua 5.1, LuaJIT and 5.4 alike).
-- csv.rows(path) iterates over the data rows as arrays of strings (the
-- header is returned first by csv.header). A quoted cell may hold commas,
-- doubled quotes and line breaks; a line without a quote takes a fast path.
local csv = {}

local find, sub, gsub = string.find, string.sub, string.gsub

-- split one record; `more` reads the next physical line when a quoted
-- cell runs past the end of this one
local function split(line, more)
  local t, n, pos = {}, 0, 1
  if not find(line, '"', 1, true) then
    for cell in string.gmatch(line .. ",", "([^,]*),") do n = n + 1; t[n] = cell end
    return t
  end
  while true do
    n = n + 1
    if sub(line, pos, pos) == '"' then
      local buf, i = {}, pos + 1
      while true do
        local q = find(line, '"', i, true)
        if not q then
          local nxt = more()
          if not nxt then error("csv: unterminated quoted cell") end
          buf[#buf + 1] = sub(line, i) .. "\n"
          line, i = nxt, 1
        elseif sub(line, q + 1, q + 1) == '"' then
          buf[#buf + 1] = sub(line, i, q)
          i = q + 2
        else
          buf[#buf + 1] = sub(line, i, q - 1)
          pos = q + 1
          break
        end
      end
      t[n] = table.concat(buf)
      if sub(line, pos, pos) ~= "," then return t end
      pos = pos + 1
    else
      local c = find(line, ",", pos, true)
      if not c then t[n] = sub(line, pos); return t end
      t[n] = sub(line, pos, c - 1)
      pos = c + 1
    end
  end
end

function csv.rows(path)
  local f = assert(io.open(path, "rb"))
  local lines = f:lines()
  local header = lines()
  if not header then f:close(); return nil, function() return nil end end
  header = gsub(header, "^\239\187\191", "")
  header = gsub(header, "\r$", "")
  local function more()
    local l = lines()
    return l and gsub(l, "\r$", "") or nil
  end
  local iter = function()
    local l = lines()
    if not l then f:close(); return nil end
    if sub(l, -1) == "\r" then l = sub(l, 1, -2) end
    return split(l, more)
  end
  return split(header, more), iter
end

csv.split = split
return csv
