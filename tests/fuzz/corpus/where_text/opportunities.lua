-- opportunities
{stage = {"in", {"proposal", "negotiation"}}, owner = {"~=", "ST-000002"}}