-- Tests of rules/tiering.lua: revenue bands, margin, growth, payment, strategic floor.
-- The numbers come from the policy's thresholds, so a manager's change to one of them
-- fails only a test about it.

local T = require("tiering").thresholds
local M = require "lib.money"

-- the tiers from the top down, by where their revenue band starts
local ORDER, BAND = {}, {}
do
  local bands = {}
  for _, b in ipairs(T.revenue) do bands[#bands + 1] = b; BAND[b.tier] = b end
  table.sort(bands, function(a, b) return (a.min or -math.huge) > (b.min or -math.huge) end)
  for i, b in ipairs(bands) do ORDER[i] = b.tier end
end
local TOP, LOW = ORDER[1], ORDER[#ORDER]
local function rank(tier) for i, t in ipairs(ORDER) do if t == tier then return i end end end
-- the tier n below (n < 0: above), kept within the ladder
local function below(tier, n) return ORDER[math.max(1, math.min(#ORDER, rank(tier) + n))] end
-- a revenue inside a tier's band: halfway, or 20% past the start of an open band
local function inside(tier)
  local b = BAND[tier]
  if b.min and b.max then return M.round((b.min + b.max) / 2) end
  if b.min then return M.round(b.min * 1.2) end
  return M.round(b.max / 2)
end
-- a band of a list by its label
local function band(list, label) for _, b in ipairs(list) do if b.label == label then return b end end end
-- the tier after a band's drop, as far as max_drop lets it go
local function dropped(tier, b) return below(tier, math.min(b.drop or 0, T.max_drop)) end
local function has(reasons, text)
  for _, r in ipairs(reasons) do if r:find(text, 1, true) then return true end end
  return false
end

-- one invoice of `amount` issued two months ago (due next month: nothing has fallen due)
local function sale(client, amount, months_ago)
  return {client = client, amount = amount, issued = kam.months_ago(months_ago or 2), due = kam.date_add(kam.today(), 30),
          status = "issued"}
end
-- the revenue of 12 to 24 months ago that gives `now` a growth of g
local function before(now, g) return M.whole(now / (1 + g)) end

------------------------------------------------------------------ revenue bands

-- a client exactly at each band's start and one đồng under it
local edge_clients, edge_sales, EDGES = {}, {}, {}
for _, b in ipairs(T.revenue) do
  if b.min and b.min > 0 then
    local at, under = "CL-AT-" .. b.tier, "CL-UNDER-" .. b.tier
    edge_clients[#edge_clients + 1] = {id = at, name = "At the start of " .. b.tier, status = "active"}
    edge_clients[#edge_clients + 1] = {id = under, name = "Just under " .. b.tier, status = "active"}
    edge_sales[#edge_sales + 1] = sale(at, M.whole(b.min))
    edge_sales[#edge_sales + 1] = sale(under, M.whole(b.min) - 1)
    EDGES[#EDGES + 1] = {tier = b.tier, at = at, under = under}
  end
end
edge_clients[#edge_clients + 1] = {id = "CL-1", name = "Sữa Đồng Xanh", strategic = true}
edge_clients[#edge_clients + 1] = {id = "CL-OLD", name = "Billed 13 months ago", status = "active"}
edge_sales[#edge_sales + 1] = {client = "CL-1", amount = inside(TOP), issued = kam.months_ago(2)}
edge_sales[#edge_sales + 1] = sale("CL-OLD", inside(TOP), 13)
fixture{clients = edge_clients, invoices = edge_sales}

test("a client in the top band gets the top tier", function()
  local tier, reasons = decide("tiering", "CL-1")
  expect_eq(tier, TOP)
  expect_true(reasons[1]:find(kam.fmt.money(inside(TOP)), 1, true))
end)

test("a missing client is an error", function()
  expect_error(function() decide("tiering", "CL-404") end, "no clients CL-404")
end)

test("a band holds its start; one đồng less is the band below", function()
  expect_true(#EDGES == #ORDER - 1, "every band but the lowest has a start")
  for _, e in ipairs(EDGES) do
    expect_eq(decide("tiering", e.at), e.tier)
    expect_eq(decide("tiering", e.under), below(e.tier, 1))
  end
end)

test("revenue older than 12 months does not count", function()
  local tier, reasons = decide("tiering", "CL-OLD")
  expect_eq(tier, LOW)
  expect_true(reasons[1]:find("12-month revenue 0 ₫", 1, true))
end)

test("the reasons name the band", function()
  local b = BAND[ORDER[2]]
  local _, reasons = decide("tiering", "CL-AT-" .. b.tier)
  expect_eq(reasons[1], string.format("12-month revenue %s: tier %s (from %s to under %s)", M.fmt(b.min), b.tier,
    M.fmt(b.min), M.fmt(b.max)))
end)

------------------------------------------------------------------ margin

local MID = ORDER[2]                      -- a tier with tiers above and below it
local REV = inside(MID)
local negative, thin, healthy = band(T.margin, "negative"), band(T.margin, "thin"), band(T.margin, "healthy")

fixture{
  clients = {
    {id = "CL-LOSS", name = "Loss-making", status = "active"},
    {id = "CL-THIN", name = "Thin margin", status = "active"},
    {id = "CL-TEN", name = "Margin exactly at the healthy band", status = "active"},
  },
  invoices = {sale("CL-LOSS", REV), sale("CL-THIN", REV), sale("CL-TEN", REV)},
  projects = {
    {id = "PRJ-L", client = "CL-LOSS", name = "Always-on"},
    {id = "PRJ-T", client = "CL-THIN", name = "Always-on"},
    {id = "PRJ-X", client = "CL-TEN", name = "Always-on"},
  },
  spend = {
    {project = "PRJ-L", contract_line = "media", amount = M.whole(REV * 1.1), date = kam.months_ago(1)},
    {project = "PRJ-T", contract_line = "media", amount = M.whole(REV * (1 - (thin.min + thin.max) / 2)), date = kam.months_ago(1)},
    {project = "PRJ-X", contract_line = "media", amount = M.whole(REV * (1 - healthy.min)), date = kam.months_ago(1)},
    {project = "PRJ-X", contract_line = "media", amount = M.whole(REV * 0.3), date = kam.months_ago(1), status = "rejected"},
  },
}

test("a negative margin drops the tier", function()
  local tier, reasons = decide("tiering", "CL-LOSS")
  expect_eq(tier, dropped(MID, negative))
  expect_true(reasons[2]:find(negative.label, 1, true))
  if tier ~= MID then expect_true(reasons[#reasons]:find(MID .. " → " .. tier, 1, true)) end
end)

test("a thin margin drops the tier", function()
  local tier, reasons = decide("tiering", "CL-THIN")
  expect_eq(tier, dropped(MID, thin))
  expect_true(reasons[2]:find(M.pct((thin.min + thin.max) / 2), 1, true))
  expect_true(reasons[2]:find(thin.label, 1, true))
end)

test("a margin exactly at the start of the healthy band keeps the tier; rejected spend is no cost", function()
  local tier, reasons = decide("tiering", "CL-TEN")
  expect_eq(tier, MID)
  expect_true(reasons[2]:find(M.pct(healthy.min), 1, true))
  expect_true(reasons[2]:find(healthy.label, 1, true))
end)

------------------------------------------------------------------ growth

local falling, steady, fast = band(T.growth, "falling"), band(T.growth, "steady"), band(T.growth, "growing fast")
local NEXT = BAND[below(MID, -1)]         -- the band above MID
local near = M.round((T.lift_within * NEXT.min + NEXT.min) / 2)
local far = M.round((BAND[MID].min + T.lift_within * NEXT.min) / 2)

fixture{
  clients = {
    {id = "CL-FALL", name = "Falling", status = "active"},
    {id = "CL-EDGE", name = "Growth exactly at the start of steady", status = "active"},
    {id = "CL-RISE", name = "Rising close to the next tier", status = "active"},
    {id = "CL-FAR", name = "Rising, far from the next tier", status = "active"},
    {id = "CL-NEW", name = "New account", status = "active"},
  },
  invoices = {
    sale("CL-FALL", REV), sale("CL-FALL", before(REV, falling.max - 0.10), 18),
    sale("CL-EDGE", inside(TOP)), sale("CL-EDGE", before(inside(TOP), steady.min), 18),
    sale("CL-RISE", near), sale("CL-RISE", before(near, fast.min + 0.05), 18),
    sale("CL-FAR", far), sale("CL-FAR", before(far, fast.min + 0.05), 18),
    sale("CL-NEW", REV),
  },
}

test("falling revenue drops the tier", function()
  local tier, reasons = decide("tiering", "CL-FALL")
  expect_eq(tier, dropped(MID, falling))
  expect_true(reasons[3]:find(M.change(falling.max - 0.10), 1, true))
  expect_true(reasons[3]:find(falling.label, 1, true))
end)

test("growth exactly at the start of steady is steady (falling is under it)", function()
  local tier, reasons = decide("tiering", "CL-EDGE")
  expect_eq(tier, TOP)
  expect_true(reasons[3]:find(M.change(steady.min), 1, true))
  expect_true(reasons[3]:find(steady.label, 1, true))
end)

test("fast growth close enough to the next tier lifts one tier", function()
  local tier, reasons = decide("tiering", "CL-RISE")
  expect_eq(tier, below(MID, -(fast.lift or 0)))
  if tier ~= MID then expect_true(reasons[#reasons]:find(MID .. " → " .. tier, 1, true)) end
end)

test("fast growth far from the next tier does not lift", function()
  local tier, reasons = decide("tiering", "CL-FAR")
  expect_eq(tier, MID)
  if (fast.lift or 0) > 0 then expect_true(has(reasons, "no lift")) end
end)

test("a new account has no growth figure and keeps its revenue tier", function()
  local tier, reasons = decide("tiering", "CL-NEW")
  expect_eq(tier, MID)
  expect_true(reasons[3]:find("no revenue in the 12 months before", 1, true))
end)

------------------------------------------------------------------ payment punctuality

local poor = band(T.payment, "poor")
local N = 20                                  -- invoices per client
local LATE = math.ceil(poor.min * N - 1e-9)   -- the fewest late invoices that make a poor record
local GRACE = T.late_grace_days

-- n invoices that fell due 100 days ago, `late` of them paid `days` after the due date; `total` in all
local function paid(client, total, n, late, days)
  local rows = {}
  for i = 1, n do
    rows[#rows + 1] = {client = client, amount = M.whole(total / n), issued = kam.days_ago(130), due = kam.days_ago(100),
                       status = "paid", paid_date = kam.days_ago(i <= late and 100 - days or 101)}
  end
  return rows
end

local BOTH_NOW = inside(TOP)
local inv = {}
local function add(rows) for _, r in ipairs(rows) do inv[#inv + 1] = r end end
add(paid("CL-LATE", REV, N, LATE, GRACE + 1))
add(paid("CL-OK", REV, N, LATE - 1, GRACE + 1))
add(paid("CL-GRACE", REV, N, N, GRACE))
add(paid("CL-BOTH", BOTH_NOW / 2, N, LATE, GRACE + 15))
inv[#inv + 1] = sale("CL-BOTH", BOTH_NOW - N * M.whole(BOTH_NOW / 2 / N))
inv[#inv + 1] = sale("CL-BOTH", before(BOTH_NOW, falling.max - 0.10), 18)
inv[#inv + 1] = {client = "CL-OPEN", amount = REV, issued = kam.days_ago(GRACE + 60), due = kam.days_ago(GRACE + 30),
                 status = "overdue"}

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

test("a poor payment record drops the tier", function()
  local tier, reasons = decide("tiering", "CL-LATE")
  expect_eq(tier, dropped(MID, poor))
  expect_true(has(reasons, string.format("%d of %d invoices", LATE, N)))
  expect_true(has(reasons, poor.label))
end)

test("one late invoice fewer is punctual", function()
  expect_eq(decide("tiering", "CL-OK"), MID)
end)

test("paid exactly at the end of the grace is on time", function()
  expect_eq(decide("tiering", "CL-GRACE"), MID)
end)

test("an overdue invoice past the grace counts as late", function()
  local tier, reasons = decide("tiering", "CL-OPEN")
  expect_eq(tier, dropped(MID, poor))
  expect_true(has(reasons, "1 of 1 invoices"))
end)

test("two reasons to drop drop no more than max_drop tiers", function()
  local tier, reasons = decide("tiering", "CL-BOTH")
  local drops = (falling.drop or 0) + (poor.drop or 0)
  expect_eq(tier, below(TOP, math.min(drops, T.max_drop)))
  if drops > T.max_drop then expect_true(has(reasons, "capped at " .. T.max_drop)) end
end)

------------------------------------------------------------------ strategic accounts, missing data

local FLOOR = T.strategic_floor
local ABOVE_FLOOR = below(FLOOR, -1)

fixture{
  clients = {
    {id = "CL-S", name = "Small but strategic", status = "active", strategic = true},
    {id = "CL-N", name = "Small", status = "active"},
    {id = "CL-SB", name = "Strategic above the floor", status = "active", strategic = true},
    {id = "CL-NONE", name = "Active, never invoiced", status = "active"},
    {id = "CL-PROS", name = "Prospect"},
    {id = "CL-GONE", name = "Churned", status = "churned"},
  },
  invoices = {
    sale("CL-S", inside(LOW)), sale("CL-N", inside(LOW)), sale("CL-SB", inside(ABOVE_FLOOR)),
    sale("CL-GONE", inside(MID)),
  },
}

test("a strategic account is never below the floor", function()
  local tier, reasons = decide("tiering", "CL-S")
  if rank(FLOOR) < rank(LOW) then
    expect_eq(tier, FLOOR)
    expect_true(reasons[#reasons]:find("never below " .. FLOOR, 1, true))
  else
    expect_eq(tier, LOW)
  end
  expect_eq(decide("tiering", "CL-N"), LOW)
end)

test("the strategic floor does not lift an account above it", function()
  local tier, reasons = decide("tiering", "CL-SB")
  expect_eq(tier, ABOVE_FLOOR)
  expect_eq(reasons[#reasons], string.format("strategic account (floor %s)", FLOOR))
end)

test("an active client with no invoices is in the lowest tier, with reasons", function()
  local tier, reasons = decide("tiering", "CL-NONE")
  expect_eq(tier, LOW)
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

-- The demo's seven clients from the start of band B to 400 triệu above it (two strategic): all B
-- today, so raising B's start by half a tỷ moves every one of them to C.
local SEVEN = {
  {"CL-LUM", 300, true}, {"CL-NX", 100}, {"CL-PM", 350}, {"CL-MT", 200},
  {"CL-AT", 400}, {"CL-PN", 150, true}, {"CL-TM", 50},
}
local cl, iv = {}, {}
for _, s in ipairs(SEVEN) do
  cl[#cl + 1] = {id = s[1], name = s[1], status = "active", strategic = s[3] or false}
  iv[#iv + 1] = sale(s[1], M.whole(BAND.B.min) + s[2] * M.TRIEU)
end
fixture{clients = cl, invoices = iv}

test("scenario 3: seven clients up to 400 triệu above B's start are B", function()
  local strategic = 0
  for _, s in ipairs(SEVEN) do
    local tier, reasons = decide("tiering", s[1])
    expect_eq(tier, "B")
    expect_true(reasons[1]:find("tier B", 1, true))
    if s[3] then strategic = strategic + 1 end
  end
  expect_eq(strategic, 2)
end)

test("scenario 3: the strategic ones are B by revenue, not held there by the floor", function()
  local _, reasons = decide("tiering", "CL-LUM")
  for _, r in ipairs(reasons) do expect_true(not r:find("never below", 1, true)) end
end)
