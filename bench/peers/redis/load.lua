-- The Redis peer's bulk load: the generated CSVs as Redis commands in the
-- wire protocol, for `redis-cli --pipe` (Redis's documented mass insertion):
--   lua5.4 bench/peers/redis/load.lua SPEC.lua CSVDIR | redis-cli -s SOCK --pipe
-- Per row: a hash "COLL:ID" of its non-empty fields and the id in the set
-- "COLL:ids". Per kam index, an entry in a sorted set, the secondary index
-- of Redis's documentation: the key is "idx:INDEX" followed by ":VALUE" for
-- each part but the last; the last part is the score when it is a date
-- (YYYYMMDD) or a number, else the member is "VALUE\0ID" at score 0, for
-- ZRANGEBYLEX. Rows with an empty part have no entry (a sparse index).
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/../lua/?.lua;" .. package.path
local csv = require "csv"
local spec = dofile(arg[1])
local dir = arg[2]
local out = io.stdout
out:setvbuf("full", 1 << 20)
local concat = table.concat

local function cmd(args)
  local t = {"*", #args, "\r\n"}
  for i = 1, #args do
    local a = args[i]
    t[#t + 1] = "$"; t[#t + 1] = #a; t[#t + 1] = "\r\n"; t[#t + 1] = a; t[#t + 1] = "\r\n"
  end
  out:write(concat(t))
end

for _, c in ipairs(spec) do
  local cols, kinds, name = c.columns, c.kinds, c.name
  local pos = {}
  for j, col in ipairs(cols) do pos[col] = j end
  local idx = {}
  for _, x in ipairs(c.indexes) do
    local parts = {}
    for i, p in ipairs(x.on) do parts[i] = pos[p] end
    local last = kinds[parts[#parts]]
    idx[#idx + 1] = {key = "idx:" .. x.name, parts = parts, scored = last ~= "s", date = last == "d"}
  end
  local _, rows = csv.rows(dir .. "/" .. name .. ".csv")
  for cells in rows do
    local id = cells[1]
    local h = {"HSET", name .. ":" .. id}
    for j = 2, #cols do
      local v = cells[j]
      if v and v ~= "" then h[#h + 1] = cols[j]; h[#h + 1] = v end
    end
    if #h == 2 then h[3], h[4] = "id", id end
    cmd(h)
    cmd({"SADD", name .. ":ids", id})
    for _, x in ipairs(idx) do
      local key, parts, ok = {x.key}, x.parts, true
      local np = #parts
      for i = 1, np do
        local v = cells[parts[i]]
        if not v or v == "" then ok = false; break end
        if i < np then key[#key + 1] = v end
      end
      if ok then
        local v = cells[parts[np]]
        if x.date then
          cmd({"ZADD", concat(key, ":"), (v:sub(1, 10):gsub("-", "")), id})
        elseif x.scored then
          cmd({"ZADD", concat(key, ":"), v, id})
        else
          cmd({"ZADD", concat(key, ":"), "0", v .. "\0" .. id})
        end
      end
    end
  end
end
out:flush()
