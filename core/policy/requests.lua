-- policy/requests.lua — requests that route themselves (kam request, requests,
-- approve, reject, withdraw): the chain decided by rules/approval.lua when a
-- request is raised and frozen on it, the steps signed in order by someone who
-- holds the step's role and scope, four eyes, and the effect applied in the
-- transaction of the last approval, and only then.
--
-- The decision fields of a request (status, step, chain, approvals ...), a
-- contract's value and a change request's status are forbidden to every role
-- by config/access.yaml: only this engine writes them, by K.engine_write
-- inside its own kam.tx, after its checks.
local K, need, args, opts = ...
local E = need("engine")
local die, show, or_null, usage = E.die, E.show, E.or_null, E.usage
local fmt = K.format()
-- from a script (kam.request, kam.approve ...): nothing printed, the id or status returned
local quiet = opts.quiet
local function say(...) if not quiet then print(...) end end
local money = kam.fmt.money

local ROLE_NAME = {team_lead = "team lead", director = "director", ceo = "CEO", finance = "finance"}
-- who may sign a lower step, if the access rules give them the right to approve the kind
local ABOVE = {team_lead = {director = true, ceo = true}, director = {ceo = true}}

local function refuse(code, f, ...) K.fail(code, string.format(f, ...)) end
local function label(who) return string.format("%s (%s)", who.login or who.id, who.role or "?") end

local function me()
  local u = kam.user
  if not u.staff then
    refuse(3, "permission denied: %s is no staff member: requests are raised and signed by people (--as ID)", tostring(u.id))
  end
  return u
end

local function client_of(subject)
  local book = require "lib.book"
  return book.client_of(subject)
end

local function copy(list)
  local t = {}
  for i, v in ipairs(list or {}) do
    if type(v) == "table" then
      local c = {}
      for k, x in pairs(v) do c[k] = x end
      t[i] = c
    else
      t[i] = v
    end
  end
  return t
end

local function team_of(req)
  local c = client_of(req.subject)
  if c and c.team then return c.team end
  local s = req.requested_by and db.staff:get(req.requested_by)
  return s and s.team or nil
end

local function need_request(id)
  if not id then usage("kam approve ID [--note TEXT] (kam requests --pending lists them)") end
  local e = db.requests:get(id)
  if not e then refuse(1, "no request %s (kam requests lists them)", id) end
  -- a plain copy: entities are read-only views, and requests raised before
  -- steps were stored count theirs from the approvals they have
  local r = {}
  for _, f in ipairs{"id", "kind", "subject", "amount", "margin_after", "reason", "requested_by", "chain", "approvals",
                     "status", "raised", "cr", "step", "waiting_role", "waiting_team", "step_since", "policy_hash",
                     "route", "decided_at", "superseded_by"} do r[f] = e[f] end
  r.chain, r.approvals, r.route = copy(r.chain), copy(r.approvals), copy(r.route)
  if r.status == "pending" and not r.step then
    r.step = #r.approvals + 1
    r.waiting_role = r.chain[r.step]
    if r.waiting_role == "team_lead" then r.waiting_team = team_of(r) end
  end
  return r
end


-- The chain rules/approval.lua decides for a request (a table of its fields).
local function route(req)
  local pol = E.load_policy(E.policy_path("approval"))
  local ok, res, reasons = E.evaluate(pol, req)
  if not ok then die("policy approval, request %s: %s", req.id or "(new)", tostring(res)) end
  if type(res) ~= "table" or #res == 0 then die("policy approval decided no chain for %s (it must return the roles that sign)", req.id or "the request") end
  for _, role in ipairs(res) do
    if type(role) ~= "string" then die("policy approval: a chain lists roles (text), not %s", type(role)) end
  end
  return res, reasons, pol.hash
end


-- The fields a freshly routed request starts with, waiting at its first step (into t).
local function routed(t, req, chain, reasons, hash)
  t.chain, t.approvals, t.status, t.step, t.waiting_role = chain, {}, "pending", 1, chain[1]
  t.waiting_team = chain[1] == "team_lead" and team_of(req) or nil
  t.step_since, t.policy_hash, t.route = kam.now(), hash, reasons
  return t
end

------------------------------------------------------------------ raising

local KINDS = {scope_change = true, discount = true, budget_overrun = true, investment = true, hiring = true}

local function money_opt(name)
  local v = opts[name]
  if v == nil then return nil end
  local n = tonumber(v)
  if v == true or not n or n < 0 or n ~= math.floor(n) then usage("--%s %s: a whole number of đồng", name, tostring(v)) end
  return math.tointeger(n)
end

local function describe(req, chain, reasons, hash)
  say(string.format("%s %s%s for %s%s", req.id or "(preview)", req.kind:gsub("_", " "),
    (req.amount or 0) > 0 and (" of " .. money(req.amount)) or "", req.subject,
    req.margin_after and string.format(", margin after %s", kam.fmt.pct(req.margin_after)) or ""))
  say(string.format("  signs, in order: %s", table.concat(chain, " → ")))
  say(string.format("  why (rules/approval.lua %s):", hash:sub(1, 12)))
  for i, w in ipairs(reasons) do say(string.format("    %d. %s", i, w)) end
end

local function raise(kind, preview_only)
  if not kind or not KINDS[kind] then
    usage("kam request KIND --subject ID --amount N [--margin-after X] [--cr CR-ID] --reason TEXT [--preview] (KIND: scope_change, discount, budget_overrun, investment, hiring)")
  end
  local who = me()
  local cr = opts.cr
  if cr == true then usage("--cr CR-ID: the change request the scope change is for") end
  local subject = opts.subject
  if subject == true or (not subject and not cr) then usage("kam request %s --subject ID (a client, contract, quote, spend row or team)", kind) end
  if cr then
    local c = db.change_requests:get(cr)
    if not c then refuse(1, "--cr %s: no such change request", cr) end
    if c.status ~= "draft" and c.status ~= "pending" then refuse(1, "change request %s is %s: only a draft is proposed", cr, c.status) end
    subject = subject or cr
  end
  if not client_of(subject) and not db.teams:get(subject) and not db.spend:get(subject) and not db.quotes:get(subject) then
    refuse(1, "--subject %s: no client, contract, change request, quote, spend row or team of that id", subject)
  end
  local reason = opts.reason
  if not reason or reason == true or reason == "" then usage("kam request %s ... --reason TEXT (why it is asked)", kind) end
  local margin = opts["margin-after"]
  if margin ~= nil then
    margin = tonumber(margin)
    if not margin or margin < -1 or margin > 1 then usage("--margin-after: a fraction, like 0.18 for 18%%") end
  end
  local amount = money_opt("amount") or 0
  if cr and amount == 0 then amount = math.abs(db.change_requests:get(cr).value_delta or 0) end
  if cr and margin == nil then margin = db.change_requests:get(cr).margin_after end
  local req = {kind = kind, subject = subject, amount = amount, margin_after = margin, reason = reason,
               requested_by = who.staff, raised = kam.today()}
  local chain, reasons, hash = route(req)
  if preview_only then
    describe(req, chain, reasons, hash)
    say("  (a preview: nothing was written)")
    return 0
  end
  local id
  kam.tx(function()
    -- raising is the user's own write (her grants on requests); the routing fields are the engine's
    id = db.requests:insert{kind = kind, subject = subject, amount = amount, margin_after = margin, reason = reason,
                            requested_by = who.staff, raised = kam.today()}
    K.engine_write()
    db.requests:update(id, routed({cr = cr}, req, chain, reasons, hash))
    if cr then db.change_requests:update(cr, {request = id, status = "pending"}) end
  end)
  req.id = id
  describe(req, chain, reasons, hash)
  say(string.format("  raised: waiting for the %s", ROLE_NAME[chain[1]] or chain[1]))
  return 0, id
end

------------------------------------------------------------------ deciding

-- What the request was raised for must still be what its change request says:
-- else it is superseded by a new one with a fresh chain (approvals kept).
local function superseded_by_change(r)
  if not r.cr then return nil end
  local c = db.change_requests:get(r.cr)
  if not c then return nil end
  local amount = math.abs(c.value_delta or 0)
  if amount ~= (r.amount or 0) or c.margin_after ~= r.margin_after then
    return string.format("change request %s now asks %s at %s margin, not %s at %s", r.cr, money(amount),
      c.margin_after and kam.fmt.pct(c.margin_after) or "no", money(r.amount or 0),
      r.margin_after and kam.fmt.pct(r.margin_after) or "no")
  end
end

local function supersede(r, why)
  local new
  kam.tx(function()
    K.engine_write()
    local req = {kind = r.kind, subject = r.subject, reason = r.reason, requested_by = r.requested_by, raised = kam.today()}
    local c = r.cr and db.change_requests:get(r.cr)
    req.amount = c and math.abs(c.value_delta or 0) or r.amount
    req.margin_after = c and c.margin_after or r.margin_after
    local chain, reasons, hash = route(req)
    new = db.requests:insert(routed({kind = req.kind, subject = req.subject, amount = req.amount, margin_after = req.margin_after,
      reason = req.reason, requested_by = req.requested_by, raised = req.raised, cr = r.cr}, req, chain, reasons, hash))
    db.requests:update(r.id, {status = "superseded", superseded_by = new, waiting_role = "", decided_at = kam.now(),
                              route = (function() local t = copy(r.route) t[#t + 1] = "superseded: " .. why return t end)()})
    if r.cr then db.change_requests:update(r.cr, {request = new}) end
  end)
  return new
end

-- May the acting user sign r's current step? Returns the role she signs as
-- (her own when higher), else refuses with why.
local function may_sign(r, who, verb)
  if r.status ~= "pending" then refuse(1, "%s is %s: nothing to %s", r.id, r.status, verb) end
  -- the person really acting: an admin's --as (auth: os) does not make someone else of her
  local real = who.as_by
  if r.requested_by == who.staff or (real and r.requested_by == real) then
    refuse(3, "permission denied: %s may not %s %s: it is their own request (four eyes)", label(who), verb, r.id)
  end
  for _, a in ipairs(r.approvals or {}) do
    if a.by == who.staff or (a.real and a.real == who.staff) or (real and (a.by == real or a.real == real)) then
      refuse(3, "permission denied: %s may not %s %s: they signed step %d already (nobody signs two steps)",
        label(who), verb, r.id, a.step or 0)
    end
  end
  local msg = K.may("approve", r.kind)
  if msg then refuse(3, "%s", msg) end
  local role = r.chain[r.step]
  if who.role == role then
    if role == "team_lead" and r.waiting_team and who.team ~= r.waiting_team then
      refuse(3, "permission denied: %s may not %s %s: it waits for the team lead of %s, not of %s", label(who),
        verb, r.id, r.waiting_team, tostring(who.team))
    end
    return role
  end
  if ABOVE[role] and ABOVE[role][who.role] then return who.role end
  refuse(1, "%s is waiting for the %s, not the %s", r.id, ROLE_NAME[role] or role, ROLE_NAME[who.role] or who.role)
end

-- What the last approval does, in its transaction.
local function apply(r)
  local done = {}
  if r.kind == "scope_change" and r.cr then
    local c = db.change_requests:get(r.cr)
    local k = c and db.contracts:get(c.contract)
    if k then
      local value = (k.value or 0) + (c.value_delta or 0)
      db.contracts:update(k.id, {value = value})
      db.change_requests:update(c.id, {status = "applied"})
      done[#done + 1] = string.format("contract %s: value %s → %s; change request %s applied", k.id, money(k.value or 0),
        money(value), c.id)
    end
  elseif r.kind == "budget_overrun" then
    local n = 0
    local sp = db.spend:get(r.subject)
    if sp and sp.status == "held" then db.spend:update(sp.id, {status = "approved"}) n = n + 1 end
    for s in db.spend:where{budget_ref = r.id, status = "held"}:each() do db.spend:update(s.id, {status = "approved"}) n = n + 1 end
    done[#done + 1] = string.format("%d held spend row%s approved", n, n == 1 and "" or "s")
  elseif r.kind == "discount" then
    local q = db.quotes:get(r.subject)
    if q then
      local rate = q.discount or 0
      if rate == 0 and (r.amount or 0) > 0 and (q.total or 0) > 0 then rate = r.amount / q.total end
      local set = {discount_approved = math.max(rate, q.discount_approved or 0)}
      if q.status == "pending_approval" then set.status = "sent" end
      db.quotes:update(q.id, set)
      done[#done + 1] = string.format("quote %s: a discount up to %s approved%s", q.id, kam.fmt.pct(set.discount_approved),
        set.status and ", status sent" or "")
    end
  end
  if #done == 0 then done[1] = "the decision is recorded on the request" end
  return done
end

local function decide(verb, id)
  local r = need_request(id)
  local who = me()
  local why = superseded_by_change(r)
  if why and r.status == "pending" then
    local new = supersede(r, why)
    refuse(1, "%s was superseded by %s: %s; %s the new one", r.id, new, why, verb)
  end
  local as = may_sign(r, who, verb)
  local note = opts.note ~= true and opts.note or nil
  local reason = opts.reason ~= true and opts.reason or nil
  if verb == "reject" and not reason then usage("kam reject ID --reason TEXT") end
  local now = kam.now()
  local last = r.step == #r.chain
  local effects
  kam.tx(function()
    K.engine_write()
    local approvals = copy(r.approvals)
    approvals[#approvals + 1] = {step = r.step, role = r.chain[r.step], by = who.staff, real = who.as_by,
                                 as = as ~= r.chain[r.step] and as or nil,
                                 decision = verb == "approve" and "approved" or "rejected", date = now, note = note or reason}
    if verb == "reject" then
      db.requests:update(r.id, {approvals = approvals, status = "rejected", waiting_role = "", decided_at = now})
      if r.cr then db.change_requests:update(r.cr, {status = "rejected"}) end
    elseif last then
      db.requests:update(r.id, {approvals = approvals, status = "approved", waiting_role = "", decided_at = now})
      effects = apply(r)
    else
      local nxt = r.chain[r.step + 1]
      db.requests:update(r.id, {approvals = approvals, step = r.step + 1, waiting_role = nxt, step_since = now,
                                waiting_team = nxt == "team_lead" and team_of(r) or nil})
    end
  end)
  local role = r.chain[r.step]
  say(string.format("%s: step %d of %d (%s) %s by %s%s", r.id, r.step, #r.chain, ROLE_NAME[role] or role,
    verb == "approve" and "approved" or "rejected", who.login or who.id, as ~= role and (" as " .. (ROLE_NAME[as] or as)) or ""))
  if verb == "reject" then say("  rejected: the chain stops, nothing is applied")
  elseif last then
    say("  approved: the last step")
    for _, d in ipairs(effects or {}) do say("  " .. d) end
  else
    say(string.format("  next: the %s", ROLE_NAME[r.chain[r.step + 1]] or r.chain[r.step + 1]))
  end
  return 0, verb == "reject" and "rejected" or last and "approved" or "pending"
end

local function withdraw(id)
  local r = need_request(id)
  local who = me()
  if r.status ~= "pending" then refuse(1, "%s is %s: nothing to withdraw", r.id, r.status) end
  if r.requested_by ~= who.staff then
    refuse(3, "permission denied: %s may not withdraw %s: only its requester may", label(who), r.id)
  end
  kam.tx(function()
    K.engine_write()
    db.requests:update(r.id, {status = "withdrawn", waiting_role = "", decided_at = kam.now()})
    if r.cr then db.change_requests:update(r.cr, {status = "draft"}) end
  end)
  say(string.format("%s withdrawn", r.id))
  return 0, "withdrawn"
end

local function reroute(id)
  local r = need_request(id)
  if r.status ~= "pending" then refuse(1, "%s is %s: only a pending request is rerouted", r.id, r.status) end
  local who = me()
  if r.requested_by ~= who.staff and who.role ~= "admin" then
    refuse(3, "permission denied: %s may not reroute %s: its requester or an admin may", label(who), r.id)
  end
  local new = supersede(r, "rerouted by " .. (who.login or who.id))
  say(string.format("%s superseded by %s, routed afresh by rules/approval.lua", r.id, new))
  return 0, new
end

------------------------------------------------------------------ listing

local function waited(r)
  if not r.step_since or r.status ~= "pending" then return "" end
  local d = kam.days_between(r.step_since:sub(1, 10), kam.today())
  return d == 0 and "today" or (d .. " ngày")
end

local function list()
  local who = kam.user
  local rows = {}
  local q = opts.pending and db.requests:where{status = "pending"} or db.requests:all()
  if opts["waiting-on-me"] then
    q = db.requests:where{status = "pending", waiting_role = who.role or "?"}
  end
  for r in q:each() do
    local keep = true
    if opts.mine and r.requested_by ~= who.staff then keep = false end
    if opts["waiting-on-me"] then
      if r.requested_by == who.staff or (r.waiting_role == "team_lead" and r.waiting_team and r.waiting_team ~= who.team) then keep = false end
      for _, a in ipairs(r.approvals or {}) do if a.by == who.staff then keep = false end end
    end
    if keep then
      rows[#rows + 1] = {id = r.id, kind = r.kind, subject = r.subject, amount = r.amount or 0, requested_by = r.requested_by,
                         status = r.status, step = r.status == "pending" and string.format("%d/%d %s", r.step or 0, #(r.chain or {}),
                         r.waiting_role or "") or "", waited = waited(r)}
    end
  end
  table.sort(rows, function(a, b) return a.id < b.id end)
  if fmt ~= "table" then K.print(rows) return 0 end
  if #rows == 0 then print("no requests") return 0 end
  for _, r in ipairs(rows) do r.amount = money(r.amount) end
  K.print(rows, {"id", "kind", "subject", "amount", "requested_by", "status", "step", "waited"})
  return 0
end

local function show_one(id)
  local r = need_request(id)
  if fmt ~= "table" then
    K.print({id = r.id, kind = r.kind, subject = r.subject, amount = r.amount, margin_after = or_null(r.margin_after),
             reason = r.reason, requested_by = r.requested_by, status = r.status, step = or_null(r.step),
             chain = r.chain or {}, approvals = r.approvals or {}, route = r.route or {}, policy_hash = or_null(r.policy_hash),
             waiting_role = or_null(r.waiting_role ~= "" and r.waiting_role or nil), superseded_by = or_null(r.superseded_by)})
    return 0
  end
  print(string.format("%s  %s of %s for %s, by %s, raised %s: %s", r.id, r.kind, money(r.amount or 0), r.subject,
    r.requested_by, r.raised or "?", r.status))
  if r.reason then print("  reason: " .. r.reason) end
  local signed = {}
  for _, a in ipairs(r.approvals or {}) do signed[a.step] = a end
  for i, role in ipairs(r.chain or {}) do
    local a = signed[i]
    local line
    if a then
      line = string.format("%s by %s%s on %s%s", a.decision, a.by, a.as and (" (as " .. a.as .. ")") or "", a.date or "?",
        a.note and (": " .. a.note) or "")
    elseif r.status == "pending" and i == r.step then
      line = string.format("waiting%s, %s", r.waiting_team and role == "team_lead" and (" for the lead of " .. r.waiting_team) or "", waited(r))
    else
      line = ""
    end
    print(string.format("  %d. %-10s %s", i, ROLE_NAME[role] or role, line))
  end
  if r.superseded_by then print("  superseded by " .. r.superseded_by) end
  if r.route and #r.route > 0 then
    print(string.format("  routed by rules/approval.lua %s:", (r.policy_hash or "?"):sub(1, 12)))
    for i, w in ipairs(r.route) do print(string.format("    %d. %s", i, w)) end
  end
  return 0
end

------------------------------------------------------------------ the command

local M = {}

-- A request raised by a guard's hold, inside the writing transaction, as the
-- engine: routed by rules/approval.lua like any other, asked by the one who
-- wrote (else the client's owner: a new book's maker or a schedule has no
-- staff record).
function M.raise_held(req)
  local who = kam.user and kam.user.staff
  if not who then
    local c = client_of(req.subject)
    who = c and c.owner
  end
  if not who then die("a held %s has no one to ask for it: the write needs a staff member (--as ID)", req.subject) end
  req.requested_by, req.raised = who, kam.today()
  local chain, reasons, hash = route(req)
  local id
  K.as_engine(function()
    id = db.requests:insert(routed({kind = req.kind, subject = req.subject, amount = req.amount, reason = req.reason,
      requested_by = who, raised = req.raised}, req, chain, reasons, hash))
  end)
  return id, chain
end

-- A flagged write's alert for the client's owner, once per guard and record
-- (a later flag of it moves last_seen).
function M.flag_alert(coll, id, row, f)
  local c = client_of(id) or (row.client and db.clients:get(row.client))
  local key = string.format("flag:%s:%s", f.guard, id)
  local msg = string.format("%s %s: %s (%s)", coll, id, table.concat(f.reasons or {}, "; "), f.path)
  K.as_engine(function()
    local open = db.alerts:where{key = key, status = "open"}:first()
    if open then
      db.alerts:update(open.id, {last_seen = kam.now(), message = msg})
    else
      db.alerts:insert{kind = "flagged", key = key, subject = id, client = c and c.id, owner = c and c.owner,
        severity = "medium", message = msg, first_seen = kam.now(), last_seen = kam.now(), status = "open"}
    end
  end)
end

function M.run()
  local verb = args[1]
  if verb == "raise" then return raise(args[2], opts.preview) end
  if verb == "list" then return list() end
  if verb == "show" then return show_one(args[2]) end
  if verb == "approve" or verb == "reject" then return decide(verb, args[2]) end
  if verb == "withdraw" then return withdraw(args[2]) end
  if verb == "reroute" then return reroute(args[2]) end
  usage("kam request KIND ... | kam request show ID | kam request reroute ID | kam requests | kam approve ID | kam reject ID | kam withdraw ID")
end
return M
