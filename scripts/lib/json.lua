-- JSON text for reports that give a --format json form. Objects are written
-- with their keys sorted; json.null stands for an absent value (a Lua table
-- cannot hold nil); json.array(t) marks a list that may be empty.
local M = {}

M.null = {}
local arrays = setmetatable({}, {__mode = "k"})
function M.array(t) arrays[t] = true return t end

local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}
local function str(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return escapes[c] or ("\\u%04x"):format(c:byte()) end) .. '"'
end

local function num(n)
  if math.type(n) == "integer" then return ("%d"):format(n) end
  if n ~= n or n == math.huge or n == -math.huge then return "null" end
  if n == math.floor(n) and math.abs(n) < 2^53 then return ("%.0f"):format(n) end
  local s = ("%.15g"):format(n)
  if tonumber(s) ~= n then s = ("%.17g"):format(n) end
  return s
end

local function encode(v, out)
  local t = type(v)
  if v == nil or v == M.null then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then out[#out + 1] = num(v)
  elseif t == "string" then out[#out + 1] = str(v)
  elseif t == "table" and (arrays[v] or v[1] ~= nil) then
    out[#out + 1] = "["
    for i, x in ipairs(v) do
      if i > 1 then out[#out + 1] = "," end
      encode(x, out)
    end
    out[#out + 1] = "]"
  elseif t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      out[#out + 1] = str(tostring(k)) .. ":"
      encode(v[k], out)
    end
    out[#out + 1] = "}"
  else
    out[#out + 1] = str(tostring(v))
  end
end

function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

return M
