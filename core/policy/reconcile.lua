-- policy/reconcile.lua — kam reconcile: month-end đối soát. The spend of a
-- period in the book (ours) against a platform's or the client's figures
-- (theirs: a CSV, read through a column map when given), per project and,
-- when the file gives them, per contract line; each pair matched within the
-- tolerance of rules/reconciliation.lua or disputed, and written to
-- `reconciliations` in one kam.tx (an open one for the same project, line
-- and period is updated, not doubled). The guard of that file holds the
-- same line on every write, so a `matched` outside it never gets in.
local K, need, _, opts = ...
local E = need("engine")
local usage = E.usage
local fmt = K.format()
local money = kam.fmt.money

local function refuse(code, f, ...) K.fail(code, string.format(f, ...)) end

local function opt_text(name, what)
  local v = opts[name]
  if v == nil or v == true or v == "" then
    usage("kam reconcile --period P --theirs FILE [--map NAME] [--dry-run] (--%s: %s)", name, what)
  end
  return v
end

-- |ours - theirs| within max(tolerance_vnd, tolerance_pct x the larger side)
local function tolerance()
  local pol = E.load_policy(E.policy_path("reconciliation"))
  local t = pol.thresholds or {}
  local pct, vnd = t.tolerance_pct, t.tolerance_vnd
  if type(pct) ~= "number" or pct < 0 or pct >= 1 then
    refuse(1, "%s: thresholds.tolerance_pct: a fraction like 0.005 (0,5%%), not %s", pol.path, tostring(pct))
  end
  if math.type(vnd) ~= "integer" or vnd < 0 then
    refuse(1, "%s: thresholds.tolerance_vnd: whole đồng like 1000000, not %s", pol.path, tostring(vnd))
  end
  return {pct = pct, vnd = vnd, path = pol.path, hash = pol.hash}
end

local function within(tol, ours, theirs)
  local d = math.abs(ours - theirs)
  return d <= math.max(tol.vnd, tol.pct * math.max(math.abs(ours), math.abs(theirs)))
end

-- vendors compared as people write them: "Meta Platforms Ireland Ltd." is "meta platforms ireland ltd"
local function vendor_key(v) return (v:lower():gsub("[%s%.,]+", " "):gsub("^ ", ""):gsub(" $", "")) end

local function key(project, line) return project .. "\0" .. (line or "") end

-- Adds amount to the pair of project p (and line) in sums.
local function add_to(sums, p, line, amount)
  local k = key(p.id, line)
  local t = sums[k]
  if not t then
    t = {project = p, line = line, amount = 0}
    sums[k] = t
  end
  t.amount = t.amount + amount
end

local M = {}
function M.run()
  local pname = opt_text("period", "a month 2026-11, a quarter 2026-Q4, last_month ...")
  local file = opt_text("theirs", "the platform's or the client's figures, a CSV")
  local mapname = opts.map
  if mapname == true or mapname == "" then usage("kam reconcile ... --map NAME (a map of config/import/)") end
  local ok, per = pcall(kam.period, pname)
  if not ok then usage("--period %s: a month 2026-11, a quarter 2026-Q4, a year 2026, last_month ...", pname) end
  local dry = opts["dry-run"]
  -- reconciliations are finance's: said before the file is read
  local msg, code = K.may("insert", "reconciliations")
  if msg then K.fail(code or 3, msg) end
  local tol = tolerance()

  ------------------------------------------------------------------ theirs
  local rows, info = K.read_csv(file, mapname or nil, "spend")
  local cols = info.columns
  local via = info.map and (" through " .. info.map) or ""
  for _, f in ipairs{"project", "amount"} do
    if not cols[f] then
      refuse(1, "%s: no %s column%s (kam reconcile reads project and amount, and contract_line and date when given)", file, f, via)
    end
  end
  local errs = {}
  local function err(row, field, f, ...)
    if #errs >= 10 then return end
    local c = cols[field]
    errs[#errs + 1] = string.format("%s:%d%s: %s", file, row._line, c and c > 0 and (":" .. c) or "", string.format(f, ...))
  end
  local by_line = false
  for _, r in ipairs(rows) do if r.contract_line then by_line = true end end
  local theirs, cats, vendors, clients = {}, {}, {}, {}
  local ncats, nvendors = 0, 0
  for _, r in ipairs(rows) do
    local p = r.project and db.projects:get(r.project)
    if not r.project then err(r, "project", "no project")
    elseif not p then err(r, "project", "project \"%s\" is not in the book", r.project) end
    if r.amount == nil then err(r, "amount", "no amount") end
    if r.date and (r.date < per.from or r.date > per.to) then
      err(r, "date", "date %s is outside %s (%s … %s)", r.date, per.name, per.from, per.to)
    end
    if by_line and not r.contract_line then err(r, "contract_line", "no contract_line (other rows give one: every row names its line)") end
    if p and r.amount then
      add_to(theirs, p, by_line and r.contract_line or nil, r.amount)
      clients[p.client] = true
    end
    if r.category and not cats[r.category] then cats[r.category] = true ncats = ncats + 1 end
    if r.vendor and not vendors[vendor_key(r.vendor)] then vendors[vendor_key(r.vendor)] = r.vendor nvendors = nvendors + 1 end
  end
  if #errs > 0 then K.fail(1, table.concat(errs, "\nkam: ")) end

  ------------------------------------------------------------------ ours
  -- the file speaks for the categories and vendors it names (a Meta export
  -- for Meta's media spend, not the project's filming); a file naming no
  -- vendor (the client's own figures) for the clients it has rows for
  local ours = {}
  for s in db.spend:where{date = {"between", per.from, per.to}}:each() do
    local keep = s.status ~= "rejected"
      and (ncats == 0 or cats[s.category])
      and (nvendors == 0 or (s.vendor and vendors[vendor_key(s.vendor)]))
    local p = keep and db.projects:get(s.project)
    if p and (nvendors > 0 or clients[p.client]) then add_to(ours, p, by_line and s.contract_line or nil, s.amount or 0) end
  end

  ------------------------------------------------------------------ pairs
  local source = (file:match("([^/]+)$") or file) .. (mapname and (" (" .. mapname .. ")") or "")
  local pairs_ = {}
  local seen = {}
  local function add(k, x)
    if seen[k] then return end
    seen[k] = true
    local o, t = ours[k], theirs[k]
    local p = x.project
    local c = db.clients:get(p.client)
    local pr = {key = k, client = p.client, client_name = c and c.name or p.client, project = p.id, line = x.line,
                ours = o and o.amount or 0, theirs = t and t.amount or 0}
    pr.difference = pr.ours - pr.theirs
    if not t then pr.note = "missing in theirs"
    elseif not o then pr.note = "missing in ours" end
    pr.status = (not pr.note and within(tol, pr.ours, pr.theirs)) and "matched" or "disputed"
    pairs_[#pairs_ + 1] = pr
  end
  for k, x in pairs(theirs) do add(k, x) end
  for k, x in pairs(ours) do add(k, x) end
  table.sort(pairs_, function(a, b)
    if a.client_name ~= b.client_name then return a.client_name < b.client_name end
    if a.project ~= b.project then return a.project < b.project end
    return (a.line or "") < (b.line or "")
  end)

  ------------------------------------------------------------------ the book
  -- an open reconciliation of the same project, line and period is this one, again
  local existing = {}
  for r in db.reconciliations:where{period = per.name}:each() do
    if r.project and r.status ~= "resolved" then
      local k = key(r.project, r.contract_line)
      if not existing[k] or r.id < existing[k].id then
        existing[k] = {id = r.id, ours = r.ours, theirs = r.theirs, difference = r.difference, status = r.status,
                       source = r.source, client = r.client}
      end
    end
  end
  local n = {matched = 0, disputed = 0, missing_theirs = 0, missing_ours = 0, inserted = 0, updated = 0, unchanged = 0}
  for _, pr in ipairs(pairs_) do
    pr.old = existing[pr.key]
    pr.id = pr.old and pr.old.id -- what a dry run would update
    if pr.note == "missing in theirs" then n.missing_theirs = n.missing_theirs + 1
    elseif pr.note == "missing in ours" then n.missing_ours = n.missing_ours + 1
    else n[pr.status] = n[pr.status] + 1 end
  end
  local function write()
    for _, pr in ipairs(pairs_) do
      local rec = {client = pr.client, project = pr.project, contract_line = pr.line, period = per.name, ours = pr.ours,
                   theirs = pr.theirs, difference = pr.difference, source = source, status = pr.status}
      local old = pr.old
      if not old then
        pr.id = db.reconciliations:insert(rec)
        n.inserted = n.inserted + 1
      else
        local same = true
        for _, f in ipairs{"client", "ours", "theirs", "difference", "source", "status"} do
          if old[f] ~= rec[f] then same = false end
        end
        if same then n.unchanged = n.unchanged + 1
        else
          db.reconciliations:update(old.id, rec)
          n.updated = n.updated + 1
        end
      end
    end
  end
  if not dry and #pairs_ > 0 then kam.tx(write) end

  ------------------------------------------------------------------ saying so
  local written = dry and "nothing written (--dry-run)"
    or string.format("written to reconciliations (%d new, %d updated, %d unchanged)", n.inserted, n.updated, n.unchanged)
  local footer = string.format("%d matched, %d disputed, %d missing in theirs, %d missing in ours; %s", n.matched, n.disputed,
    n.missing_theirs, n.missing_ours, written)
  local out = {}
  for i, pr in ipairs(pairs_) do
    out[i] = {client = pr.client_name, project = pr.project, line = pr.line or "", ours = pr.ours, theirs = pr.theirs,
              difference = pr.difference, status = pr.status, note = pr.note or "", id = pr.id or ""}
  end
  local columns = {"client", "project", "line", "ours", "theirs", "difference", "status", "note", "id"}
  if fmt == "json" or fmt == "yaml" or fmt == "lua" then
    for i, pr in ipairs(pairs_) do
      out[i].client_id, out[i].line, out[i].note, out[i].id = pr.client, E.or_null(pr.line), E.or_null(pr.note), E.or_null(pr.id)
    end
    K.print({period = per.name, from = per.from, to = per.to, source = source,
             tolerance = {pct = tol.pct, vnd = tol.vnd, policy = tol.path, hash = tol.hash},
             rows = out, matched = n.matched, disputed = n.disputed, missing_in_theirs = n.missing_theirs,
             missing_in_ours = n.missing_ours, inserted = n.inserted, updated = n.updated, unchanged = n.unchanged,
             dry_run = dry and true or false})
    return 0
  end
  if fmt == "csv" then K.print(out, columns) return 0 end
  local scope = {}
  if ncats > 0 then
    local l = {} for c in pairs(cats) do l[#l + 1] = c end table.sort(l)
    scope[#scope + 1] = "category " .. table.concat(l, ", ")
  end
  if nvendors > 0 then
    local l = {} for _, v in pairs(vendors) do l[#l + 1] = v end table.sort(l)
    scope[#scope + 1] = "vendor " .. table.concat(l, ", ")
  else
    scope[#scope + 1] = "the clients the file has rows for"
  end
  print(string.format("đối soát %s (%s … %s): %s%s", per.name, per.from, per.to, file, via))
  print(string.format("  ours: spend not rejected, %s; tolerance max(%s, %s) (%s)", table.concat(scope, "; "), money(tol.vnd),
    kam.fmt.pct(tol.pct), tol.path))
  if #out == 0 then
    print("nothing to reconcile: no spend of ours in the period and no rows in the file")
    return 0
  end
  for _, r in ipairs(out) do
    r.ours, r.theirs, r.difference = money(r.ours), money(r.theirs), money(r.difference)
  end
  K.print(out, columns)
  print(footer)
  return 0
end
return M
