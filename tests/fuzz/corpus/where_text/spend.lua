-- spend
{project = "PRJ-000001", date = {">=", "2026-10-01"}, status = "approved"}