-- Tests of rules/capacity.lua: one account more than the capacity is refused, unless hiring was
-- approved lately. The capacity is the staff record's; the window is the guard's threshold.
local G = require "capacity"
local DAYS = G.thresholds.hiring_days

fixture{
  teams = {{id = "TM-A", name = "Account"}, {id = "TM-B", name = "Ecommerce"}},
  staff = {
    {id = "ST-HOA", name = "Phan Thanh Hoa", role = "account_manager", team = "TM-A", capacity = 2},
    {id = "ST-KHOA", name = "Ngô Văn Khoa", role = "account_manager", team = "TM-A", capacity = 2},
    {id = "ST-LINH", name = "Đặng Thùy Linh", role = "account_manager", team = "TM-B", capacity = 1},
  },
  clients = {
    {id = "CL-1", name = "Một", status = "active", owner = "ST-HOA"},
    {id = "CL-2", name = "Hai", status = "active", owner = "ST-HOA"},
    {id = "CL-3", name = "Ba", status = "churned", owner = "ST-KHOA"},
    {id = "CL-4", name = "Bốn", status = "active", owner = "ST-KHOA"},
    {id = "CL-5", name = "Năm", status = "active", owner = "ST-LINH"},
  },
  requests = {
    {id = "RQ-H", kind = "hiring", subject = "TM-B", status = "approved", raised = kam.days_ago(DAYS - 1)},
    {id = "RQ-OLD", kind = "hiring", subject = "TM-A", status = "approved", raised = kam.days_ago(DAYS + 1)},
  },
}

test("a ninth account for someone at capacity is refused: who, how many, the limit", function()
  local v, reasons, out = check("capacity", {name = "Nhà Xanh", status = "active", owner = "ST-HOA"})
  expect_eq(v, "refuse")
  expect_eq(out.field, "owner")
  expect_true(reasons[1]:find("Phan Thanh Hoa (ST-HOA) owns 2 accounts, capacity 2", 1, true), reasons[1])
end)

test("churned clients do not count; an account below capacity is fine", function()
  expect_eq(check("capacity", {name = "Năm", status = "active", owner = "ST-KHOA"}), "allow")
end)

test("moving a client to someone at capacity is refused; keeping its owner is not a new account", function()
  local c4 = {id = "CL-4", name = "Bốn", status = "active", owner = "ST-KHOA"}
  expect_eq(check("capacity", {id = "CL-4", name = "Bốn", status = "active", owner = "ST-HOA"}, c4), "refuse")
  expect_eq(check("capacity", {id = "CL-1", name = "Một mới", status = "active", owner = "ST-HOA"},
    {id = "CL-1", name = "Một", status = "active", owner = "ST-HOA"}), "allow")
end)

test("an approved hiring request for the team lets it through, only within the window", function()
  expect_eq(check("capacity", {name = "Sáu", status = "active", owner = "ST-LINH"}), "allow")   -- 1 of 1, RQ-H
  expect_eq(check("capacity", {name = "Bảy", status = "active", owner = "ST-HOA"}), "refuse")  -- RQ-OLD is too old
end)
