-- scripts/alerts.lua — the alerts of the book (cảnh báo).
--
--   kam run scripts/alerts.lua raise
--     The nightly step: every condition of scripts/lib/alerts_rules.lua that holds now gets an
--     open alert (one per key: an open one is refreshed, its last_seen moved, never doubled);
--     every open alert whose condition no longer holds is resolved. One transaction. Returns
--     "alerts: N raised, N still open, N resolved".
--   kam run scripts/alerts.lua list [--mine] [--open] [--owner ID]
--     The alerts one may read (config/access.yaml), newest last_seen first, as rows of
--     id, kind, severity, client, owner, message, first_seen, last_seen, status.
--     --mine: owned by the staff member running it; --open: open only; --owner: a staff id
--     (or login).
local USAGE = "alerts.lua raise | list [--mine] [--open] [--owner ID]"
local rules = require "lib.alerts_rules"

local function raise()
  local raised, kept, resolved = 0, 0, 0
  kam.tx(function()
    local now = kam.now()
    local open = {}                         -- key -> the open alert (the oldest if several)
    local extra = {}                        -- further open alerts of a key: resolved below
    for a in db.alerts:where{status = "open"}:sort("id"):each() do
      if a.kind == "flagged" then                      -- a write guard's flag: its reader closes it
      elseif open[a.key] then extra[#extra + 1] = a.id
      else open[a.key] = {id = a.id, severity = a.severity, message = a.message, owner = a.owner, client = a.client,
                          subject = a.subject} end
    end
    local seen = {}
    for _, c in ipairs(rules.current()) do
      if not seen[c.key] then
        seen[c.key] = true
        local a = open[c.key]
        if a then
          local set = {last_seen = now}
          for _, f in ipairs{"severity", "message", "owner", "client", "subject"} do
            if c[f] ~= nil and a[f] ~= c[f] then set[f] = c[f] end   -- (an update cannot empty a field)
          end
          db.alerts:update(a.id, set)
          kept = kept + 1
        else
          db.alerts:insert{kind = c.kind, key = c.key, subject = c.subject, client = c.client, owner = c.owner,
                           severity = c.severity, message = c.message, first_seen = now, last_seen = now, status = "open"}
          raised = raised + 1
        end
      end
    end
    for key, a in pairs(open) do
      if not seen[key] then extra[#extra + 1] = a.id end
    end
    table.sort(extra)
    for _, id in ipairs(extra) do
      db.alerts:update(id, {status = "resolved", resolved_at = now})
      resolved = resolved + 1
    end
  end)
  return string.format("alerts: %d raised, %d still open, %d resolved", raised, kept, resolved)
end

local function staff_id(s)
  if db.staff:get(s) then return s end
  local by_login = db.staff:where{os_user = s}:first()
  if by_login then return by_login.id end
  kam.usage(USAGE .. " (--owner: no staff member " .. s .. ")")
end

local function list(opts)
  local where = {}
  if opts.open then where.status = "open" end
  if opts.mine then
    if not kam.user.staff then kam.usage(USAGE .. " (--mine: " .. tostring(kam.user.id) .. " is no staff member)") end
    where.owner = kam.user.staff
  end
  if opts.owner then
    local id = staff_id(opts.owner)
    if where.owner and where.owner ~= id then return {} end
    where.owner = id
  end
  local rows = {}
  local q = next(where) and db.alerts:where(where) or db.alerts:all()
  for a in q:each() do
    rows[#rows + 1] = {id = a.id, kind = a.kind, severity = a.severity, client = a.client, owner = a.owner,
                       message = a.message, first_seen = a.first_seen, last_seen = a.last_seen, status = a.status}
  end
  table.sort(rows, function(x, y)
    if x.last_seen ~= y.last_seen then return (x.last_seen or "") > (y.last_seen or "") end
    local rx, ry = rules.severity_rank[x.severity] or 0, rules.severity_rank[y.severity] or 0
    if rx ~= ry then return rx > ry end
    return x.id < y.id
  end)
  return rows
end

local cmd = arg[1]
if cmd == "raise" then
  if arg[2] then kam.usage(USAGE) end
  return raise()
elseif cmd == "list" then
  local opts, i = {}, 2
  while arg[i] do
    local a = arg[i]
    if a == "--mine" then opts.mine = true
    elseif a == "--open" then opts.open = true
    elseif a == "--owner" and arg[i + 1] then opts.owner = arg[i + 1]; i = i + 1
    else kam.usage(USAGE) end
    i = i + 1
  end
  return list(opts)
end
kam.usage(USAGE)
