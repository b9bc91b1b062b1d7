-- Tests of rules/approval.lua: ladders per kind, their limits, the margin floor, tiers.
-- Limits and floors come from the policy's thresholds: a test restates only what it is about.

local T = require("approval").thresholds
local M = require "lib.money"

local SC, DIS = T.scope_change, T.discount
local TL, DIR = SC[1].up_to, SC[2].up_to        -- what the team lead and the director approve alone
local FLOOR, HARD = T.margin_floor, T.margin_hard_floor
local GOOD = FLOOR + 0.05                       -- a margin that brings in no one
local SMALL = M.whole(TL / 2)                   -- a scope change the team lead approves alone
local MIDDLE = M.round((TL + DIR) / 2)          -- over the team lead's limit, within the director's
local FIN = T.investment_finance and {"finance"} or {}

-- tiers the director does not see by default, and one the director always sees
local PLAIN = {}
for _, t in ipairs{"B", "C", "D", "A"} do if not T.director_tiers[t] then PLAIN[#PLAIN + 1] = t end end

local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end
local function chain(...)
  local out = {}
  for _, list in ipairs({...}) do for _, r in ipairs(list) do out[#out + 1] = r end end
  return out
end

------------------------------------------------------------------ scope changes

fixture{
  clients = {
    {id = "CL-LUM", name = "Lumière Skin", industry = "cosmetics", status = "active", tier = PLAIN[1], strategic = true},
    {id = "CL-BIG", name = "Bếp Việt", industry = "FMCG", status = "active", tier = "A"},
    {id = "CL-MID", name = "Mộc Trà", industry = "F&B", status = "active", tier = PLAIN[2]},
  },
  contracts = {
    {id = "HD-LUM", client = "CL-LUM", value = 2300 * M.TRIEU},
    {id = "HD-BIG", client = "CL-BIG", value = 9600 * M.TRIEU},
    {id = "HD-MID", client = "CL-MID", value = 2200 * M.TRIEU},
  },
  change_requests = {
    {id = "CR-KOL", contract = "HD-LUM", description = "20 more KOL videos", value_delta = MIDDLE, margin_after = (FLOOR + HARD) / 2},
    {id = "CR-CUT", contract = "HD-MID", description = "Cut the TVC to one version", value_delta = -MIDDLE, margin_after = GOOD},
  },
  requests = {
    {id = "RQ-S4", kind = "scope_change", subject = "CR-KOL", amount = MIDDLE, margin_after = (FLOOR + HARD) / 2},
    {id = "RQ-50", kind = "scope_change", subject = "HD-MID", amount = M.whole(TL), margin_after = GOOD},
    {id = "RQ-50P", kind = "scope_change", subject = "HD-MID", amount = M.whole(TL) + 1, margin_after = GOOD},
    {id = "RQ-500", kind = "scope_change", subject = "HD-MID", amount = M.whole(DIR), margin_after = GOOD},
    {id = "RQ-500P", kind = "scope_change", subject = "HD-MID", amount = M.whole(DIR) + 1, margin_after = GOOD},
    {id = "RQ-M20", kind = "scope_change", subject = "CL-MID", amount = SMALL, margin_after = FLOOR},
    {id = "RQ-M19", kind = "scope_change", subject = "CL-MID", amount = SMALL, margin_after = FLOOR - 0.0001},
    {id = "RQ-M10", kind = "scope_change", subject = "CL-MID", amount = SMALL, margin_after = HARD},
    {id = "RQ-M09", kind = "scope_change", subject = "CL-MID", amount = SMALL, margin_after = HARD - 0.0001},
    {id = "RQ-A", kind = "scope_change", subject = "HD-BIG", amount = SMALL, margin_after = GOOD},
    {id = "RQ-CUT", kind = "scope_change", subject = "CR-CUT"},
    {id = "RQ-NOM", kind = "scope_change", subject = "HD-MID", amount = SMALL},
    {id = "RQ-X", kind = "scope_change", subject = "XX-1", amount = SMALL, margin_after = GOOD},
  },
}

test("scenario 4: over the team lead's limit at a margin under the floor: team lead, director and finance", function()
  local m = (FLOOR + HARD) / 2
  local c, reasons = decide("approval", "RQ-S4")
  expect_eq(c, {"team_lead", "director", "finance"})
  expect_true(has(reasons, string.format("Lumière Skin (tier %s, strategic), margin after %s", PLAIN[1], M.pct(m))))
  expect_true(has(reasons, string.format("director: %s is over the team lead's %s", M.fmt(MIDDLE), M.fmt(TL))))
  expect_true(has(reasons, string.format("finance: margin after %s is under the %s floor", M.pct(m), M.pct(FLOOR))))
  expect_eq(reasons[#reasons], "chain: team_lead → director → finance")
end)

test("up to the team lead's limit the team lead approves alone; one đồng more needs the director", function()
  expect_eq(decide("approval", "RQ-50"), {"team_lead"})
  expect_eq(decide("approval", "RQ-50P"), {"team_lead", "director"})
end)

test("up to the director's limit the director; one đồng more needs the CEO", function()
  expect_eq(decide("approval", "RQ-500"), {"team_lead", "director"})
  expect_eq(decide("approval", "RQ-500P"), {"team_lead", "director", "ceo"})
end)

test("a margin exactly at the floor needs no finance; just under does", function()
  expect_eq(decide("approval", "RQ-M20"), {"team_lead"})
  expect_eq(decide("approval", "RQ-M19"), {"team_lead", "finance"})
end)

test("a margin under the hard floor brings in the CEO too", function()
  expect_eq(decide("approval", "RQ-M10"), {"team_lead", "finance"})
  local c, reasons = decide("approval", "RQ-M09")
  expect_eq(c, {"team_lead", "ceo", "finance"})
  expect_true(has(reasons, string.format("CEO: margin after %s is under the hard floor of %s", M.pct(HARD - 0.0001), M.pct(HARD))))
end)

test("the director sees every scope change on a tier A account", function()
  local c, reasons = decide("approval", "RQ-A")
  expect_eq(c, {"team_lead", "director"})
  expect_true(has(reasons, "tier A account"))
end)

test("a reduction takes its size and margin from the change request", function()
  local c, reasons = decide("approval", "RQ-CUT")
  expect_eq(c, {"team_lead", "director"})
  expect_true(reasons[1]:find("(a reduction) of " .. M.fmt(MIDDLE) .. " for Mộc Trà", 1, true))
end)

test("no margin given: no margin step", function()
  expect_eq(decide("approval", "RQ-NOM"), {"team_lead"})
end)

test("a subject that names no client still gets a chain", function()
  local c, reasons = decide("approval", "RQ-X")
  expect_eq(c, {"team_lead"})
  expect_true(reasons[1]:find("for XX-1", 1, true))
end)

test("a missing request is an error", function()
  expect_error(function() decide("approval", "RQ-404") end, "no requests RQ-404")
end)

------------------------------------------------------------------ discounts

local L1, L2 = T.discount_team_lead[PLAIN[1]], T.discount_team_lead[PLAIN[2]]   -- the team lead's limits
local LA, LNONE = T.discount_team_lead.A, T.discount_team_lead.none
local DDIR = DIS[2].up_to                                                        -- the director's
local TOTAL = 2387 * M.TRIEU

fixture{
  clients = {
    {id = "CL-B", name = "Tier " .. PLAIN[1], status = "active", tier = PLAIN[1]},
    {id = "CL-A", name = "Tier A", status = "active", tier = "A"},
    {id = "CL-C", name = "Tier " .. PLAIN[2], status = "active", tier = PLAIN[2]},
    {id = "CL-P", name = "Prospect"},
  },
  quotes = {
    {id = "QT-B10", client = "CL-B", discount = L1, total = 900 * M.TRIEU, margin = GOOD},
    {id = "QT-B11", client = "CL-B", discount = L1 + 0.01, total = 900 * M.TRIEU, margin = GOOD},
    {id = "QT-B20", client = "CL-B", discount = DDIR, total = 900 * M.TRIEU, margin = GOOD},
    {id = "QT-B21", client = "CL-B", discount = DDIR + 0.01, total = 900 * M.TRIEU, margin = GOOD},
    {id = "QT-A12", client = "CL-A", discount = LA, total = 900 * M.TRIEU, margin = GOOD},
    {id = "QT-C07", client = "CL-C", discount = L2, total = 900 * M.TRIEU, margin = GOOD},
    {id = "QT-C08", client = "CL-C", discount = L2 + 0.01, total = 900 * M.TRIEU, margin = GOOD},
    {id = "QT-P06", client = "CL-P", discount = LNONE + 0.01, total = 900 * M.TRIEU, margin = HARD / 2},
    {id = "QT-RENEW", client = "CL-B", discount = 0, total = TOTAL, margin = GOOD},
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
    {id = "RQ-RENEW", kind = "discount", subject = "QT-RENEW", amount = M.whole(TOTAL * L1 / 2), margin_after = GOOD},
  },
}

test("the team lead approves up to the tier's limit, the director up to the ladder's, above that the CEO", function()
  expect_eq(decide("approval", "RQ-B10"), {"team_lead"})
  expect_eq(decide("approval", "RQ-B11"), {"team_lead", "director"})
  expect_eq(decide("approval", "RQ-B20"), {"team_lead", "director"})
  expect_eq(decide("approval", "RQ-B21"), {"team_lead", "director", "ceo"})
end)

test("each tier has its own team lead limit", function()
  expect_eq(decide("approval", "RQ-C07"), {"team_lead"})
  local c, reasons = decide("approval", "RQ-C08")
  expect_eq(c, {"team_lead", "director"})
  expect_true(has(reasons, string.format("the team lead's limit for tier %s is %s", PLAIN[2], M.pct(L2))))
end)

test("tier A: within the team lead's limit, the director still sees it", function()
  expect_eq(decide("approval", "RQ-A12"), {"team_lead", "director"})
end)

test("no tier: the 'none' limit for the team lead; the quote's margin brings finance and the CEO", function()
  local c, reasons = decide("approval", "RQ-P06")
  expect_eq(c, {"team_lead", "director", "ceo", "finance"})
  expect_true(has(reasons, "tier none"))
end)

test("a discount in đồng on an undiscounted quote is read as a rate of its total", function()
  local c, reasons = decide("approval", "RQ-RENEW")
  expect_eq(c, {"team_lead"})
  expect_true(has(reasons, string.format("discount %s of QT-RENEW", M.pct(M.whole(TOTAL * L1 / 2) / TOTAL))))
end)

------------------------------------------------------------------ spend over budget, investment, hiring

local BO, INV, HIR = T.budget_overrun[1].up_to, T.investment[1].up_to, T.hiring[1].up_to

fixture{
  clients = {
    {id = "CL-K", name = "Kova Mobile", status = "active", tier = "B"},
    {id = "CL-S", name = "Strategic", status = "active", tier = "A", strategic = true},
    {id = "CL-N", name = "Not strategic", status = "active", tier = "B"},
  },
  projects = {{id = "PRJ-K", client = "CL-K", name = "Always-on"}},
  spend = {{id = "SP-K", project = "PRJ-K", contract_line = "media", amount = 95 * M.TRIEU, date = kam.today(), status = "held"}},
  teams = {{id = "TM-A", name = "Account", kind = "Account"}},
  requests = {
    {id = "RQ-O95", kind = "budget_overrun", subject = "SP-K", amount = M.whole(BO / 2)},
    {id = "RQ-O200", kind = "budget_overrun", subject = "SP-K", amount = M.whole(BO)},
    {id = "RQ-O201", kind = "budget_overrun", subject = "SP-K", amount = M.whole(BO) + 1},
    {id = "RQ-IS", kind = "investment", subject = "CL-S", amount = M.whole(INV * 0.8)},
    {id = "RQ-IS350", kind = "investment", subject = "CL-S", amount = M.whole(INV * 1.2)},
    {id = "RQ-IN", kind = "investment", subject = "CL-N", amount = M.whole(INV * 0.8)},
    {id = "RQ-H300", kind = "hiring", subject = "TM-A", amount = M.whole(HIR)},
    {id = "RQ-H420", kind = "hiring", subject = "TM-A", amount = M.whole(HIR * 1.4)},
  },
}

test("spend over budget always goes to leadership: the director up to the limit, then the CEO", function()
  local c, reasons = decide("approval", "RQ-O95")
  expect_eq(c, {"director"})
  expect_true(reasons[1]:find("for Kova Mobile", 1, true))   -- the spend row's project names the client
  expect_eq(decide("approval", "RQ-O200"), {"director"})
  expect_eq(decide("approval", "RQ-O201"), {"director", "ceo"})
end)

test("investment in a strategic account: the director, the CEO above the limit, finance as set", function()
  expect_eq(decide("approval", "RQ-IS"), chain({"director"}, FIN))
  expect_eq(decide("approval", "RQ-IS350"), chain({"director", "ceo"}, FIN))
end)

test("investment in an account that is not strategic is the CEO's call", function()
  local c, reasons = decide("approval", "RQ-IN")
  expect_eq(c, chain({"director"}, T.investment_ceo_unless_strategic and {"ceo"} or {}, FIN))
  expect_eq(has(reasons, "is not a strategic account"), T.investment_ceo_unless_strategic == true)
end)

test("hiring: the director up to the limit a year, then the CEO", function()
  local c, reasons = decide("approval", "RQ-H300")
  expect_eq(c, {"director"})
  expect_true(reasons[1]:find("for team Account", 1, true))
  expect_eq(decide("approval", "RQ-H420"), {"director", "ceo"})
end)
