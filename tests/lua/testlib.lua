-- testlib.lua — the helpers the Lua API tests share. run.sh copies this file
-- into the scripts/ folder of a temporary project (require reads only rules/
-- and scripts/), so a test file starts with
--   local t = require "testlib"
-- and ends with t.finish(). Failed assertions name the test file's line.
local M = {}
local passed, failed = 0, 0

-- show(v): a value as text; tables with sorted keys
function M.show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. "=" .. M.show(v[k]) end
  return "{" .. table.concat(out, ", ") .. "}"
end

-- same(a, b): deep equality for tables
function M.same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not M.same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- test(name, fn): runs fn, counting it passed, or printing why it failed
function M.test(name, fn)
  local ok, err = pcall(fn)
  if ok then passed = passed + 1
  else
    failed = failed + 1
    print(("FAIL %s: %s"):format(name, tostring(err)))
  end
end

-- eq(got, want): deep equality for tables
function M.eq(got, want, what)
  if not M.same(got, want) then
    error(("%sexpected %s, got %s"):format(what and (what .. ": ") or "", M.show(want), M.show(got)), 2)
  end
end

function M.near(got, want, what)
  if type(got) ~= "number" or math.abs(got - want) > 1e-9 * math.max(1, math.abs(want)) then
    error(("%sexpected about %s, got %s"):format(what and (what .. ": ") or "", M.show(want), M.show(got)), 2)
  end
end

-- expect_error(fn, "substring", ...): fn raises, and the message holds every substring
function M.expect_error(fn, ...)
  local ok, err = pcall(fn)
  if ok then error("expected an error, got none", 2) end
  err = tostring(err)
  for _, s in ipairs{...} do
    if not err:find(s, 1, true) then error(("error %q lacks %q"):format(err, s), 2) end
  end
  return err
end

function M.sorted(t) table.sort(t) return t end

-- finish(): prints "N passed, N failed" and raises when something failed
function M.finish()
  print(("%d passed, %d failed"):format(passed, failed))
  if failed > 0 then error(("%d test(s) failed"):format(failed), 0) end
end

return M
