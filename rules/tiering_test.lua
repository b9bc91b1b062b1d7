-- Tests of rules/tiering.lua: revenue bands, margin, growth, payment, strategic floor.

local TY, TR = 1000000000, 1000000

-- one invoice of `amount` issued two months ago (due next month: nothing has fallen due)
local function sale(client, amount, months_ago)
  return {client = client, amount = amount, issued = kam.months_ago(months_ago or 2), due = kam.date_add(kam.today(), 30),
          status = "issued"}
end

------------------------------------------------------------------ revenue bands

fixture{
  clients = {
    {id = "CL-1", name = "Sữa Đồng Xanh", strategic = true},
    {id = "CL-A", name = "Exactly 5 tỷ", status = "active"},
    {id = "CL-B", name = "Just under 5 tỷ", status = "active"},
    {id = "CL-B2", name = "Exactly 2 tỷ", status = "active"},
    {id = "CL-C", name = "Just under 2 tỷ", status = "active"},
    {id = "CL-C2", name = "Exactly 500 triệu", status = "active"},
    {id = "CL-D", name = "Just under 500 triệu", status = "active"},
    {id = "CL-OLD", name = "Billed 13 months ago", status = "active"},
  },
  invoices = {
    {client = "CL-1", amount = 6e9, issued = kam.months_ago(2)},
    sale("CL-A", 5 * TY), sale("CL-B", 5 * TY - 1), sale("CL-B2", 2 * TY), sale("CL-C", 2 * TY - 1),
    sale("CL-C2", 500 * TR), sale("CL-D", 500 * TR - 1),
    sale("CL-OLD", 9 * TY, 13),
  },
}

test("a 6 tỷ client is tier A", function()
  local tier, reasons = decide("tiering", "CL-1")
  expect_eq(tier, "A")
  expect_true(reasons[1]:find("6.000.000.000"))
end)

test("a missing client is an error", function()
  expect_error(function() decide("tiering", "CL-404") end, "no clients CL-404")
end)

test("exactly 5 tỷ is A, one đồng less is B", function()
  expect_eq(decide("tiering", "CL-A"), "A")
  expect_eq(decide("tiering", "CL-B"), "B")
end)

test("exactly 2 tỷ is B, one đồng less is C", function()
  expect_eq(decide("tiering", "CL-B2"), "B")
  expect_eq(decide("tiering", "CL-C"), "C")
end)

test("exactly 500 triệu is C, one đồng less is D", function()
  expect_eq(decide("tiering", "CL-C2"), "C")
  expect_eq(decide("tiering", "CL-D"), "D")
end)

test("revenue older than 12 months does not count", function()
  local tier, reasons = decide("tiering", "CL-OLD")
  expect_eq(tier, "D")
  expect_true(reasons[1]:find("12-month revenue 0 ₫", 1, true))
end)

test("the reasons name the band", function()
  local _, reasons = decide("tiering", "CL-B2")
  expect_eq(reasons[1], "12-month revenue 2.000.000.000 ₫: tier B (from 2.000.000.000 ₫ to under 5.000.000.000 ₫)")
end)

------------------------------------------------------------------ margin

fixture{
  clients = {
    {id = "CL-LOSS", name = "Loss-making", status = "active"},
    {id = "CL-THIN", name = "Thin margin", status = "active"},
    {id = "CL-TEN", name = "Exactly 10% margin", status = "active"},
  },
  invoices = {sale("CL-LOSS", 3 * TY), sale("CL-THIN", 3 * TY), sale("CL-TEN", 3 * TY)},
  projects = {
    {id = "PRJ-L", client = "CL-LOSS", name = "Always-on"},
    {id = "PRJ-T", client = "CL-THIN", name = "Always-on"},
    {id = "PRJ-X", client = "CL-TEN", name = "Always-on"},
  },
  spend = {
    {project = "PRJ-L", contract_line = "media", amount = 3200 * TR, date = kam.months_ago(1)},
    {project = "PRJ-T", contract_line = "media", amount = 2800 * TR, date = kam.months_ago(1)},
    {project = "PRJ-X", contract_line = "media", amount = 2700 * TR, date = kam.months_ago(1)},
    {project = "PRJ-X", contract_line = "media", amount = 900 * TR, date = kam.months_ago(1), status = "rejected"},
  },
}

test("a negative margin drops a tier", function()
  local tier, reasons = decide("tiering", "CL-LOSS")
  expect_eq(tier, "C")
  expect_true(reasons[2]:find("negative", 1, true))
  expect_true(reasons[#reasons]:find("B → C", 1, true))
end)

test("a margin under 10% drops a tier", function()
  local tier, reasons = decide("tiering", "CL-THIN")
  expect_eq(tier, "C")
  expect_true(reasons[2]:find("6,7%", 1, true))
end)

test("exactly 10% margin keeps the tier; rejected spend is no cost", function()
  local tier, reasons = decide("tiering", "CL-TEN")
  expect_eq(tier, "B")
  expect_true(reasons[2]:find("10,0%", 1, true))
  expect_true(reasons[2]:find("healthy", 1, true))
end)

------------------------------------------------------------------ growth

fixture{
  clients = {
    {id = "CL-FALL", name = "Falling", status = "active"},
    {id = "CL-EDGE", name = "Down exactly 30%", status = "active"},
    {id = "CL-RISE", name = "Rising near A", status = "active"},
    {id = "CL-FAR", name = "Rising, far from A", status = "active"},
    {id = "CL-NEW", name = "New account", status = "active"},
  },
  invoices = {
    sale("CL-FALL", 3 * TY), sale("CL-FALL", 5 * TY, 18),
    sale("CL-EDGE", 7 * TY), sale("CL-EDGE", 10 * TY, 18),
    sale("CL-RISE", 4600 * TR), sale("CL-RISE", 3 * TY, 18),
    sale("CL-FAR", 4400 * TR), sale("CL-FAR", 2500 * TR, 18),
    sale("CL-NEW", 3 * TY),
  },
}

test("revenue down 30% or more drops a tier", function()
  local tier, reasons = decide("tiering", "CL-FALL")
  expect_eq(tier, "C")
  expect_true(reasons[3]:find("-40,0%", 1, true))
  expect_true(reasons[3]:find("falling", 1, true))
end)

test("down exactly 30% is still steady (falling is below -30%)", function()
  local tier, reasons = decide("tiering", "CL-EDGE")   -- 7 tỷ against 10 tỷ
  expect_eq(tier, "A")
  expect_true(reasons[3]:find("-30,0%", 1, true))
  expect_true(reasons[3]:find("steady", 1, true))
end)

test("fast growth within 90% of the next tier lifts one tier", function()
  local tier, reasons = decide("tiering", "CL-RISE")
  expect_eq(tier, "A")
  expect_true(reasons[#reasons]:find("B → A", 1, true))
end)

test("fast growth far from the next tier does not lift", function()
  local tier, reasons = decide("tiering", "CL-FAR")
  expect_eq(tier, "B")
  local said = false
  for _, r in ipairs(reasons) do if r:find("no lift", 1, true) then said = true end end
  expect_true(said)
end)

test("a new account has no growth figure and keeps its revenue tier", function()
  local tier, reasons = decide("tiering", "CL-NEW")
  expect_eq(tier, "B")
  expect_true(reasons[3]:find("no revenue in the 12 months before", 1, true))
end)

------------------------------------------------------------------ payment punctuality

-- n invoices that fell due 100 days ago, `late` of them paid `days` after the due date
local function paid(client, n, late, days)
  local rows = {}
  for i = 1, n do
    rows[#rows + 1] = {client = client, amount = 300 * TR, issued = kam.days_ago(130), due = kam.days_ago(100),
                       status = "paid", paid_date = kam.days_ago(i <= late and 100 - days or 101)}
  end
  return rows
end

local inv = {}
for _, r in ipairs(paid("CL-LATE", 10, 3, 31)) do inv[#inv + 1] = r end
for _, r in ipairs(paid("CL-OK", 10, 2, 31)) do inv[#inv + 1] = r end
for _, r in ipairs(paid("CL-GRACE", 10, 5, 30)) do inv[#inv + 1] = r end
for _, r in ipairs(paid("CL-BOTH", 10, 4, 45)) do inv[#inv + 1] = r end
inv[#inv + 1] = sale("CL-BOTH", 3 * TY)
inv[#inv + 1] = sale("CL-BOTH", 9 * TY, 18)
inv[#inv + 1] = {client = "CL-OPEN", amount = 2500 * TR, issued = kam.days_ago(90), due = kam.days_ago(60), status = "overdue"}
inv[#inv + 1] = {client = "CL-OPEN", amount = 100 * TR, issued = kam.days_ago(90), due = kam.days_ago(60), status = "paid",
                 paid_date = kam.days_ago(61)}

fixture{
  clients = {
    {id = "CL-LATE", name = "Late payer", status = "active"},
    {id = "CL-OK", name = "Mostly punctual", status = "active"},
    {id = "CL-GRACE", name = "Within the grace", status = "active"},
    {id = "CL-BOTH", name = "Falling and late", status = "active"},
    {id = "CL-OPEN", name = "Still owes", status = "active"},
  },
  invoices = inv,
}

test("30% of invoices paid more than 30 days late drops a tier", function()
  local tier, reasons = decide("tiering", "CL-LATE")     -- 3 tỷ: B, one down
  expect_eq(tier, "C")
  local found = false
  for _, r in ipairs(reasons) do if r:find("3 of 10 invoices", 1, true) and r:find("poor", 1, true) then found = true end end
  expect_true(found)
end)

test("20% late is punctual", function()
  expect_eq(decide("tiering", "CL-OK"), "B")
end)

test("paid exactly 30 days late is within the grace", function()
  expect_eq(decide("tiering", "CL-GRACE"), "B")
end)

test("an overdue invoice past the grace counts as late", function()
  local tier, reasons = decide("tiering", "CL-OPEN")     -- 2,6 tỷ; 1 of 2 still open after 60 days
  expect_eq(tier, "C")
  local found = false
  for _, r in ipairs(reasons) do if r:find("1 of 2 invoices", 1, true) then found = true end end
  expect_true(found)
end)

test("two reasons to drop still drop only one tier", function()
  local tier, reasons = decide("tiering", "CL-BOTH")     -- 6 tỷ now, 9 tỷ before, 40% late
  expect_eq(tier, "B")
  local capped = false
  for _, r in ipairs(reasons) do if r:find("capped at 1", 1, true) then capped = true end end
  expect_true(capped)
end)

------------------------------------------------------------------ strategic accounts, missing data

fixture{
  clients = {
    {id = "CL-S", name = "Small but strategic", status = "active", strategic = true},
    {id = "CL-N", name = "Small", status = "active"},
    {id = "CL-SB", name = "Strategic at 2,3 tỷ", status = "active", strategic = true},
    {id = "CL-NONE", name = "Active, never invoiced", status = "active"},
    {id = "CL-PROS", name = "Prospect"},
    {id = "CL-GONE", name = "Churned", status = "churned"},
  },
  invoices = {
    sale("CL-S", 300 * TR), sale("CL-N", 300 * TR), sale("CL-SB", 2300 * TR),
    sale("CL-GONE", 900 * TR),
  },
}

test("a strategic account is never below C", function()
  local tier, reasons = decide("tiering", "CL-S")
  expect_eq(tier, "C")
  expect_true(reasons[#reasons]:find("never below C", 1, true))
  expect_eq(decide("tiering", "CL-N"), "D")
end)

test("the strategic floor does not lift a strategic B account", function()
  local tier, reasons = decide("tiering", "CL-SB")
  expect_eq(tier, "B")
  expect_eq(reasons[#reasons], "strategic account (floor C)")
end)

test("an active client with no invoices is D, with reasons", function()
  local tier, reasons = decide("tiering", "CL-NONE")
  expect_eq(tier, "D")
  expect_true(reasons[1]:find("0 ₫", 1, true))
  expect_eq(reasons[#reasons], "payment: no invoice fell due in the last 12 months")
end)

test("prospects without invoices and churned clients get no tier", function()
  local tier, reasons = decide("tiering", "CL-PROS")
  expect_eq(tier, nil)
  expect_true(reasons[1]:find("prospect", 1, true))
  tier, reasons = decide("tiering", "CL-GONE")
  expect_eq(tier, nil)
  expect_eq(reasons[1], "no tier: churned")
end)

------------------------------------------------------------------ scenario 3: the B threshold

-- The demo's seven clients between 2 and 2,5 tỷ (two strategic): all B today, so raising the B
-- threshold to 2,5 tỷ moves every one of them to C (15,55 tỷ of 12-month revenue).
local SEVEN = {
  {"CL-LUM", 2300, true}, {"CL-NX", 2100}, {"CL-PM", 2350}, {"CL-MT", 2200},
  {"CL-AT", 2400}, {"CL-PN", 2150, true}, {"CL-TM", 2050},
}
local cl, iv = {}, {}
for _, s in ipairs(SEVEN) do
  cl[#cl + 1] = {id = s[1], name = s[1], status = "active", strategic = s[3] or false}
  iv[#iv + 1] = sale(s[1], s[2] * TR)
end
fixture{clients = cl, invoices = iv}

test("scenario 3: seven clients between 2 and 2,5 tỷ are B, carrying 15,55 tỷ", function()
  local total, strategic = 0, 0
  for _, s in ipairs(SEVEN) do
    local tier, reasons = decide("tiering", s[1])
    expect_eq(tier, "B")
    expect_true(reasons[1]:find("tier B", 1, true))
    total = total + s[2] * TR
    if s[3] then strategic = strategic + 1 end
  end
  expect_eq(total, 15550 * TR)
  expect_eq(strategic, 2)
end)

test("scenario 3: the strategic ones are B by revenue, not held there by the floor", function()
  local _, reasons = decide("tiering", "CL-LUM")
  for _, r in ipairs(reasons) do expect_true(not r:find("never below", 1, true)) end
end)
