-- Tests of rules/approval.lua: ladders per kind, their limits, the margin floor, tiers.

local TR = 1000000

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

------------------------------------------------------------------ scope changes

fixture{
  clients = {
    {id = "CL-LUM", name = "Lumière Skin", industry = "cosmetics", status = "active", tier = "B", strategic = true},
    {id = "CL-BIG", name = "Bếp Việt", industry = "FMCG", status = "active", tier = "A"},
    {id = "CL-MID", name = "Mộc Trà", industry = "F&B", status = "active", tier = "C"},
  },
  contracts = {
    {id = "HD-LUM", client = "CL-LUM", value = 2300 * TR},
    {id = "HD-BIG", client = "CL-BIG", value = 9600 * TR},
    {id = "HD-MID", client = "CL-MID", value = 2200 * TR},
  },
  change_requests = {
    {id = "CR-KOL", contract = "HD-LUM", description = "20 more KOL videos", value_delta = 180 * TR, margin_after = 0.18},
    {id = "CR-CUT", contract = "HD-MID", description = "Cut the TVC to one version", value_delta = -180 * TR, margin_after = 0.22},
  },
  requests = {
    {id = "RQ-S4", kind = "scope_change", subject = "CR-KOL", amount = 180 * TR, margin_after = 0.18},
    {id = "RQ-50", kind = "scope_change", subject = "HD-MID", amount = 50 * TR, margin_after = 0.25},
    {id = "RQ-50P", kind = "scope_change", subject = "HD-MID", amount = 50 * TR + 1, margin_after = 0.25},
    {id = "RQ-500", kind = "scope_change", subject = "HD-MID", amount = 500 * TR, margin_after = 0.25},
    {id = "RQ-500P", kind = "scope_change", subject = "HD-MID", amount = 500 * TR + 1, margin_after = 0.25},
    {id = "RQ-M20", kind = "scope_change", subject = "CL-MID", amount = 20 * TR, margin_after = 0.20},
    {id = "RQ-M19", kind = "scope_change", subject = "CL-MID", amount = 20 * TR, margin_after = 0.1999},
    {id = "RQ-M10", kind = "scope_change", subject = "CL-MID", amount = 20 * TR, margin_after = 0.10},
    {id = "RQ-M09", kind = "scope_change", subject = "CL-MID", amount = 20 * TR, margin_after = 0.0999},
    {id = "RQ-A", kind = "scope_change", subject = "HD-BIG", amount = 30 * TR, margin_after = 0.30},
    {id = "RQ-CUT", kind = "scope_change", subject = "CR-CUT"},
    {id = "RQ-NOM", kind = "scope_change", subject = "HD-MID", amount = 20 * TR},
    {id = "RQ-X", kind = "scope_change", subject = "XX-1", amount = 20 * TR, margin_after = 0.3},
  },
}

test("scenario 4: +180 triệu at 18% goes to team lead, director and finance", function()
  local chain, reasons = decide("approval", "RQ-S4")
  expect_eq(chain, {"team_lead", "director", "finance"})
  expect_true(has(reasons, "Lumière Skin (tier B, strategic), margin after 18,0%"))
  expect_true(has(reasons, "director: 180.000.000 ₫ is over the team lead's 50.000.000 ₫"))
  expect_true(has(reasons, "finance: margin after 18,0% is under the 20,0% floor"))
  expect_eq(reasons[#reasons], "chain: team_lead → director → finance")
end)

test("up to 50 triệu the team lead approves alone; one đồng more needs the director", function()
  expect_eq(decide("approval", "RQ-50"), {"team_lead"})
  expect_eq(decide("approval", "RQ-50P"), {"team_lead", "director"})
end)

test("up to 500 triệu the director; one đồng more needs the CEO", function()
  expect_eq(decide("approval", "RQ-500"), {"team_lead", "director"})
  expect_eq(decide("approval", "RQ-500P"), {"team_lead", "director", "ceo"})
end)

test("a margin of exactly 20% needs no finance; just under does", function()
  expect_eq(decide("approval", "RQ-M20"), {"team_lead"})
  expect_eq(decide("approval", "RQ-M19"), {"team_lead", "finance"})
end)

test("a margin under the 10% hard floor brings in the CEO too", function()
  expect_eq(decide("approval", "RQ-M10"), {"team_lead", "finance"})
  local chain, reasons = decide("approval", "RQ-M09")
  expect_eq(chain, {"team_lead", "ceo", "finance"})
  expect_true(has(reasons, "CEO: margin after 10,0% is under the hard floor of 10,0%"))
end)

test("the director sees every scope change on a tier A account", function()
  local chain, reasons = decide("approval", "RQ-A")
  expect_eq(chain, {"team_lead", "director"})
  expect_true(has(reasons, "tier A account"))
end)

test("a reduction takes its size and margin from the change request", function()
  local chain, reasons = decide("approval", "RQ-CUT")
  expect_eq(chain, {"team_lead", "director"})
  expect_true(reasons[1]:find("(a reduction) of 180.000.000 ₫ for Mộc Trà", 1, true))
end)

test("no margin given: no margin step", function()
  expect_eq(decide("approval", "RQ-NOM"), {"team_lead"})
end)

test("a subject that names no client still gets a chain", function()
  local chain, reasons = decide("approval", "RQ-X")
  expect_eq(chain, {"team_lead"})
  expect_true(reasons[1]:find("for XX-1", 1, true))
end)

test("a missing request is an error", function()
  expect_error(function() decide("approval", "RQ-404") end, "no requests RQ-404")
end)

------------------------------------------------------------------ discounts

fixture{
  clients = {
    {id = "CL-B", name = "Tier B", status = "active", tier = "B"},
    {id = "CL-A", name = "Tier A", status = "active", tier = "A"},
    {id = "CL-C", name = "Tier C", status = "active", tier = "C"},
    {id = "CL-P", name = "Prospect"},
  },
  quotes = {
    {id = "QT-B10", client = "CL-B", discount = 0.10, total = 900 * TR, margin = 0.25},
    {id = "QT-B11", client = "CL-B", discount = 0.11, total = 900 * TR, margin = 0.25},
    {id = "QT-B20", client = "CL-B", discount = 0.20, total = 900 * TR, margin = 0.25},
    {id = "QT-B21", client = "CL-B", discount = 0.21, total = 900 * TR, margin = 0.25},
    {id = "QT-A12", client = "CL-A", discount = 0.12, total = 900 * TR, margin = 0.25},
    {id = "QT-C07", client = "CL-C", discount = 0.07, total = 900 * TR, margin = 0.25},
    {id = "QT-C08", client = "CL-C", discount = 0.08, total = 900 * TR, margin = 0.25},
    {id = "QT-P06", client = "CL-P", discount = 0.06, total = 900 * TR, margin = 0.023},
    {id = "QT-RENEW", client = "CL-B", discount = 0, total = 2387 * TR, margin = 0.28},
  },
  requests = {
    {id = "RQ-B10", kind = "discount", subject = "QT-B10"},
    {id = "RQ-B11", kind = "discount", subject = "QT-B11"},
    {id = "RQ-B20", kind = "discount", subject = "QT-B20"},
    {id = "RQ-B21", kind = "discount", subject = "QT-B21"},
    {id = "RQ-A12", kind = "discount", subject = "QT-A12"},
    {id = "RQ-C07", kind = "discount", subject = "QT-C07"},
    {id = "RQ-C08", kind = "discount", subject = "QT-C08"},
    {id = "RQ-P06", kind = "discount", subject = "QT-P06"},
    {id = "RQ-RENEW", kind = "discount", subject = "QT-RENEW", amount = 45 * TR, margin_after = 0.21},
  },
}

test("tier B: the team lead approves up to 10%, the director up to 20%, above that the CEO", function()
  expect_eq(decide("approval", "RQ-B10"), {"team_lead"})
  expect_eq(decide("approval", "RQ-B11"), {"team_lead", "director"})
  expect_eq(decide("approval", "RQ-B20"), {"team_lead", "director"})
  expect_eq(decide("approval", "RQ-B21"), {"team_lead", "director", "ceo"})
end)

test("tier C: the team lead's limit is 7%", function()
  expect_eq(decide("approval", "RQ-C07"), {"team_lead"})
  local chain, reasons = decide("approval", "RQ-C08")
  expect_eq(chain, {"team_lead", "director"})
  expect_true(has(reasons, "the team lead's limit for tier C is 7,0%"))
end)

test("tier A: within the team lead's 12%, the director still sees it", function()
  expect_eq(decide("approval", "RQ-A12"), {"team_lead", "director"})
end)

test("no tier: 5% for the team lead; the quote's margin brings finance and the CEO", function()
  local chain, reasons = decide("approval", "RQ-P06")
  expect_eq(chain, {"team_lead", "director", "ceo", "finance"})
  expect_true(has(reasons, "tier none"))
end)

test("a discount in đồng on an undiscounted quote is read as a rate of its total", function()
  local chain, reasons = decide("approval", "RQ-RENEW")
  expect_eq(chain, {"team_lead"})
  expect_true(has(reasons, "discount 1,9% of QT-RENEW"))
end)

------------------------------------------------------------------ spend over budget, investment, hiring

fixture{
  clients = {
    {id = "CL-K", name = "Kova Mobile", status = "active", tier = "B"},
    {id = "CL-S", name = "Strategic", status = "active", tier = "A", strategic = true},
    {id = "CL-N", name = "Not strategic", status = "active", tier = "B"},
  },
  projects = {{id = "PRJ-K", client = "CL-K", name = "Always-on"}},
  spend = {{id = "SP-K", project = "PRJ-K", contract_line = "media", amount = 95 * TR, date = kam.today(), status = "held"}},
  teams = {{id = "TM-A", name = "Account", kind = "Account"}},
  requests = {
    {id = "RQ-O95", kind = "budget_overrun", subject = "SP-K", amount = 95 * TR},
    {id = "RQ-O200", kind = "budget_overrun", subject = "SP-K", amount = 200 * TR},
    {id = "RQ-O201", kind = "budget_overrun", subject = "SP-K", amount = 200 * TR + 1},
    {id = "RQ-IS", kind = "investment", subject = "CL-S", amount = 250 * TR},
    {id = "RQ-IS350", kind = "investment", subject = "CL-S", amount = 350 * TR},
    {id = "RQ-IN", kind = "investment", subject = "CL-N", amount = 250 * TR},
    {id = "RQ-H300", kind = "hiring", subject = "TM-A", amount = 300 * TR},
    {id = "RQ-H420", kind = "hiring", subject = "TM-A", amount = 420 * TR},
  },
}

test("spend over budget always goes to leadership: the director up to 200 triệu", function()
  local chain, reasons = decide("approval", "RQ-O95")
  expect_eq(chain, {"director"})
  expect_true(reasons[1]:find("for Kova Mobile", 1, true))   -- the spend row's project names the client
  expect_eq(decide("approval", "RQ-O200"), {"director"})
  expect_eq(decide("approval", "RQ-O201"), {"director", "ceo"})
end)

test("investment in a strategic account: director and finance, the CEO above 300 triệu", function()
  expect_eq(decide("approval", "RQ-IS"), {"director", "finance"})
  expect_eq(decide("approval", "RQ-IS350"), {"director", "ceo", "finance"})
end)

test("investment in an account that is not strategic is the CEO's call", function()
  local chain, reasons = decide("approval", "RQ-IN")
  expect_eq(chain, {"director", "ceo", "finance"})
  expect_true(has(reasons, "is not a strategic account"))
end)

test("hiring: the director up to 300 triệu a year, then the CEO", function()
  local chain, reasons = decide("approval", "RQ-H300")
  expect_eq(chain, {"director"})
  expect_true(reasons[1]:find("for team Account", 1, true))
  expect_eq(decide("approval", "RQ-H420"), {"director", "ceo"})
end)
