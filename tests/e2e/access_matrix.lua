-- access_matrix.lua — who may do what, written by hand from the agency's
-- policy (the comments of config/access.yaml), NOT generated from the rules:
-- tests/e2e/access.sh compares it with `kam access matrix` and then checks
-- every cell by really doing it on the demo book.
--
-- A cell, per action (read insert update delete import export):
--   all    every row
--   team   rows of the person's team (the client's team; a request's
--          requester's team ...)
--   own    rows of the person's own clients (or own requests, reviews)
--   -      not granted
--   forbid refused whatever a grant says (finance's book)
--   a trailing * limits the cell to some fields or values (a client's tier,
--   owner and team; a quote in draft; a request pending or cancelled)
--
-- The policy:
--   account staff (executive, manager, key account manager) read and export
--     their team's accounts; write their own clients' contacts, activities,
--     briefs, opportunities, risks, quotes in draft and requests (pending or
--     cancelled, never their approvals); delete their own contacts and
--     activities; update their own client but not its tier, owner or team;
--     read KPIs and their own review; never touch finance's book.
--   team leads read and export everything; write their team's accounts
--     (but not a client's tier), delete their team's contacts, activities,
--     briefs, opportunities and risks; write KPIs and reviews; import
--     contacts, activities, opportunities, risks, spend and KPIs.
--   directors and the CEO do everything on every account, the catalogue and
--     the people; finance's book they read and export only.
--   finance owns invoices, payments and reconciliations; reads and exports
--     everything else.
--   admin: everything.
--   delivery (creative, media, ops, production, affiliate) read the work
--     (clients, briefs, plans, projects, spend, acceptances, activities,
--     KPIs); insert and update spend, acceptances and activities; export
--     nothing; never touch finance's book.
--   everyone reads teams, staff, services and packages.
--   alerts: account staff read their team's; team leads, directors, the CEO
--     and finance read and export them all; only admin (the nightly run's
--     owner) writes them.

local actions = {"read", "insert", "update", "delete", "import", "export"}
local collections = {"teams", "staff", "clients", "contacts", "services", "packages", "plans", "briefs",
                     "quotes", "contracts", "change_requests", "projects", "spend", "acceptances",
                     "reconciliations", "invoices", "payments", "opportunities", "risks", "activities",
                     "kpis", "reviews", "requests", "alerts"}

--                      read  insert  update  delete  import  export
local account = {
  teams           = "all   -       -       -       -       -",
  staff           = "all   -       -       -       -       -",
  clients         = "team  -       own*    -       -       team",
  contacts        = "team  own     own     own     -       team",
  services        = "all   -       -       -       -       -",
  packages        = "all   -       -       -       -       -",
  plans           = "team  -       -       -       -       team",
  briefs          = "team  own     own     -       -       team",
  quotes          = "team  own*    own*    -       -       team",
  contracts       = "team  -       -       -       -       team",
  change_requests = "team  own*    own*    -       -       team",
  projects        = "team  -       -       -       -       team",
  spend           = "team  -       -       -       -       team",
  acceptances     = "team  -       -       -       -       team",
  reconciliations = "team  forbid  forbid  forbid  forbid  team",
  invoices        = "team  forbid  forbid  forbid  forbid  team",
  payments        = "team  forbid  forbid  forbid  forbid  team",
  opportunities   = "team  own     own     -       -       team",
  risks           = "team  own     own     -       -       team",
  activities      = "team  own     own     own     -       team",
  kpis            = "all   -       -       -       -       -",
  reviews         = "own   -       -       -       -       -",
  requests        = "team  own*    own*    -       -       team",
  alerts          = "team  -       -       -       -       -",
}

local team_lead = {
  teams           = "all   -       -       -       -       all",
  staff           = "all   -       -       -       -       all",
  clients         = "all   team*   team*   -       -       all",
  contacts        = "all   team    team    team    all     all",
  services        = "all   -       -       -       -       all",
  packages        = "all   -       -       -       -       all",
  plans           = "all   team    team    -       -       all",
  briefs          = "all   team    team    team    -       all",
  quotes          = "all   team*   team*   -       -       all",
  contracts       = "all   team    team*   -       -       all",
  change_requests = "all   team*   team*   -       -       all",
  projects        = "all   team    team    -       -       all",
  spend           = "all   team*   team*   -       all     all",
  acceptances     = "all   team    team    -       -       all",
  reconciliations = "all   forbid  forbid  forbid  forbid  all",
  invoices        = "all   forbid  forbid  forbid  forbid  all",
  payments        = "all   forbid  forbid  forbid  forbid  all",
  opportunities   = "all   team    team    team    all     all",
  risks           = "all   team    team    team    all     all",
  activities      = "all   team    team    team    all     all",
  kpis            = "all   all     all     -       all     all",
  reviews         = "all   all     all     -       -       all",
  requests        = "all   team*   team*   -       -       all",
  alerts          = "all   -       -       -       -       all",
}

local money = {reconciliations = true, invoices = true, payments = true}
-- alerts are written by the nightly run (the admin's); everyone else who reads them only reads
local nightly = {alerts = true}

-- a contract's value and a change request's status move only through an approved request,
-- and a request's route and decision only through kam request / approve / reject: the
-- cells that write them are limited (*) for everyone; so is a held spend's status (released
-- only by its budget_overrun request)
local decided = {contracts = "all   all     all*    all     all     all",
                 spend = "all   all*    all*    all     all     all",
                 change_requests = "all   all*    all*    all     all     all",
                 requests = "all   all*    all*    all     all     all",
                 quotes = "all   all*    all*    all     all     all"}
local leaders, finance, admin = {}, {}, {}
for _, c in ipairs(collections) do
  leaders[c] = money[c] and "all   forbid  forbid  forbid  forbid  all"
    or nightly[c] and "all   -       -       -       -       all" or decided[c] or "all   all     all     all     all     all"
  finance[c] = money[c] and "all   all     all     all     all     all" or "all   -       -       -       -       all"
  admin[c] = decided[c] or "all   all     all     all     all     all"
end

local delivery = {
  teams           = "all   -       -       -       -       -",
  staff           = "all   -       -       -       -       -",
  clients         = "all   -       -       -       -       -",
  contacts        = "-     -       -       -       -       -",
  services        = "all   -       -       -       -       -",
  packages        = "all   -       -       -       -       -",
  plans           = "all   -       -       -       -       -",
  briefs          = "all   -       -       -       -       -",
  quotes          = "-     -       -       -       -       -",
  contracts       = "-     -       -       -       -       -",
  change_requests = "-     -       -       -       -       -",
  projects        = "all   -       -       -       -       -",
  spend           = "all   all*    all*    -       -       -",
  acceptances     = "all   all     all     -       -       -",
  reconciliations = "-     forbid  forbid  forbid  forbid  -",
  invoices        = "-     forbid  forbid  forbid  forbid  -",
  payments        = "-     forbid  forbid  forbid  forbid  -",
  opportunities   = "-     -       -       -       -       -",
  risks           = "-     -       -       -       -       -",
  activities      = "all   all     all     -       -       -",
  kpis            = "all   -       -       -       -       -",
  reviews         = "-     -       -       -       -       -",
  requests        = "-     -       -       -       -       -",
  alerts          = "-     -       -       -       -       -",
}

local by_role = {
  account_executive = account, account_manager = account, key_account_manager = account,
  team_lead = team_lead, director = leaders, ceo = leaders, finance = finance, admin = admin,
  creative = delivery, media = delivery, ops = delivery, production = delivery, affiliate = delivery,
}
local roles = {"account_executive", "account_manager", "key_account_manager", "team_lead", "director", "ceo",
               "finance", "admin", "creative", "media", "ops", "production", "affiliate"}

-- cells[role][collection][action] = "team", "own*" ...
local cells = {}
for _, r in ipairs(roles) do
  cells[r] = {}
  for _, c in ipairs(collections) do
    local row = assert(by_role[r][c], r .. " has no row for " .. c)
    local t, i = {}, 0
    for w in row:gmatch("%S+") do i = i + 1; t[actions[i]] = w end
    assert(i == #actions, r .. "/" .. c .. ": expected 6 cells")
    cells[r][c] = t
  end
end

return {actions = actions, collections = collections, roles = roles, cells = cells}
