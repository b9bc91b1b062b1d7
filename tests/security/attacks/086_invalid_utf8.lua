-- class: writes | expect: ok policy=refused commit=refused | invalid UTF-8 (a lone \xff, an overlong '/', a surrogate, a cut sequence) through insert and update of text, enum, list and map fields, and as an id: each write refused (text is UTF-8)
local bad = {"\xff", "abc\xc0\xaf", "\xed\xa0\x80", "Nguy\xe1\xbb"}
local function hex(s) return (s:gsub(".", function(ch) return string.format("\\x%02x", ch:byte()) end)) end
kam.tx(function()
  for _, s in ipairs(bad) do
    local function must_fail(what, f, ...)
      if pcall(f, ...) then error("accepted invalid UTF-8 \"" .. hex(s) .. "\" in " .. what) end
    end
    must_fail("a new client's name", db.clients.insert, db.clients, {id = "CL-utf8-name", name = s})
    must_fail("an update of city", db.clients.update, db.clients, "CL-000001", {city = s})
    must_fail("a list item", db.clients.update, db.clients, "CL-000001", {kpis = {"GMV", s}})
    must_fail("a map key", db.projects.update, db.projects, db.projects:all():first().id, {results = {[s] = 1}})
    must_fail("an id", db.clients.insert, db.clients, {id = "CL-" .. s, name = "x"})
    must_fail("an enum", db.clients.update, db.clients, "CL-000001", {tier = "A" .. s})
  end
end)
return "ok"
