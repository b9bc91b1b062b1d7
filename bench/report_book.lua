-- What a generated book lacks for the reports, added the same way every
-- time: a signed QBP for the quarter of each active client (its revenue of
-- the same quarter a year before, plus 10 %), and an open risk for one
-- client in 40 (every fourth an escalation), owned by the client's owner.
-- kam run bench/report_book.lua (today pinned by the caller).
local p = kam.period("this_quarter")
local yb = kam.period(string.format("%04d%s", tonumber(p.name:sub(1, 4)) - 1, p.name:sub(5)))
local before = db.invoices:where{issued = {"between", yb.from, yb.to}, status = {"~=", "draft"}}:group("client", "sum", "amount")
local SEVERITY = {"low", "medium", "high", "critical"}
local plans, risks = 0, 0
kam.tx(function()
  local n = 0
  for c in db.clients:where{status = "active"}:each() do
    n = n + 1
    local target = math.floor((before[c.id] or 0) * 1.1 / 1e6 + 0.5) * 1e6
    db.plans:insert{client = c.id, kind = "QBP", period = p.name, target_revenue = target, status = "signed"}
    plans = plans + 1
    if n % 40 == 0 then
      db.risks:insert{client = c.id, kind = n % 160 == 0 and "escalation" or "risk", severity = SEVERITY[(n // 40) % 4 + 1],
                      description = "Rủi ro mẫu của " .. c.name, owner = c.owner, status = "open",
                      raised = kam.date_add(kam.today(), -(n % 90)), due = kam.date_add(kam.today(), 30)}
      risks = risks + 1
    end
  end
end)
return string.format("%d plans, %d risks", plans, risks)
