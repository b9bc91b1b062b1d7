-- page_test.lua — the report page library: lib/page.lua (formatting in
-- both languages, the document model, the html/md/csv/json renderers) and
-- lib/svg.lua (the charts). helpers: tests/lua/testlib.lua
local t = require "testlib"
local test, eq, expect_error, finish = t.test, t.eq, t.expect_error, t.finish
local page = require "lib.page"
local svg = require "lib.svg"
local json = require "lib.json"
local labels = require "reports.labels"

local PERIOD = {name = "2026-Q4", from = "2026-10-01", to = "2026-12-31"}

local function new(lang, o)
  o = o or {}
  return page.new{kind = o.kind or "test", lang = lang, labels = labels, title = o.title or "Tiêu đề",
    subtitle = o.subtitle, as_of = "2026-11-26T14:03:09+07:00", period = o.period or PERIOD,
    audience = o.audience or "internal"}
end
local vi, en = new("vi"), new("en")

local function has(s, sub, what)
  if not s:find(sub, 1, true) then error(("%s: %q not found"):format(what or "text", sub), 2) end
end
local function hasnt(s, sub, what)
  if s:find(sub, 1, true) then error(("%s: %q found"):format(what or "text", sub), 2) end
end
local function count(s, sub)
  local n, i = 0, 1
  while true do
    local a, b = s:find(sub, i, true)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

-- svgs(html): every <svg …>…</svg> of a text
local function svgs(s)
  local out, i = {}, 1
  while true do
    local a = s:find("<svg", i, true)
    if not a then return out end
    local _, b = s:find("</svg>", a, true)
    assert(b, "an <svg> without </svg>")
    out[#out + 1] = s:sub(a, b)
    i = b + 1
  end
end

-- balanced(x): the tags of an XML fragment nest properly, attributes are
-- quoted and no raw "<" or "&" stands in text
local function balanced(x)
  local stack, i = {}, 1
  while i <= #x do
    local a = x:find("<", i, true)
    local between = x:sub(i, (a or #x + 1) - 1)
    for amp in between:gmatch("&[^;]*;?") do
      assert(amp:match("^&[%w#]+;$"), "bare & in text: " .. amp)
    end
    if not a then break end
    local b = x:find(">", a, true)
    assert(b, "unclosed tag")
    local tag = x:sub(a, b)
    local close, name, attrs, self = tag:match("^<(/?)([%w:-]+)(.-)(/?)>$")
    assert(name, "bad tag " .. tag)
    -- every attribute is name="value" with no "<" inside
    local rest = attrs:gsub('%s+[%w:-]+="[^"<]*"', "")
    assert(rest:match("^%s*$"), "bad attributes in " .. tag)
    if close == "/" then
      assert(stack[#stack] == name, ("</%s> closes <%s>"):format(name, tostring(stack[#stack])))
      stack[#stack] = nil
    elseif self ~= "/" then
      stack[#stack + 1] = name
    end
    i = b + 1
  end
  assert(#stack == 0, "unclosed <" .. tostring(stack[#stack]) .. ">")
  return true
end

-- svgs_ok(html): each chart is well-formed on its own
local function svgs_ok(s, want)
  local list = svgs(s)
  if want then eq(#list, want, "svg count") end
  eq(count(s, "<svg"), count(s, "</svg>"), "<svg> vs </svg>")
  for _, x in ipairs(list) do balanced(x) end
  return list
end

------------------------------------------------------------------------
-- formatting
------------------------------------------------------------------------

test("money: dots in both languages, negative, nil", function()
  for _, P in ipairs{vi, en} do
    eq(P:money(1234567), "1.234.567 ₫")
    eq(P:money(0), "0 ₫")
    eq(P:money(999), "999 ₫")
    eq(P:money(-1234567), "-1.234.567 ₫")
    eq(P:money(12000000000), "12.000.000.000 ₫")
    eq(P:money(2.5e9), "2.500.000.000 ₫")
    eq(P:money(nil), "–")
    eq(P:money(0 / 0), "–")
  end
  for _, n in ipairs{0, 7, 1000, 1234567, -1500000, 987654321012} do
    eq(vi:money(n), kam.fmt.money(n), "same as kam.fmt.money")
  end
end)

test("money_short: vi", function()
  eq(vi:money_short(1234567890), "1,23 tỷ ₫")
  eq(vi:money_short(345000000), "345 triệu ₫")
  eq(vi:money_short(12500000), "12,5 triệu ₫")
  eq(vi:money_short(2000000000), "2 tỷ ₫")
  eq(vi:money_short(1500000000), "1,5 tỷ ₫")
  eq(vi:money_short(1000000), "1 triệu ₫")
  eq(vi:money_short(999999), "999.999 ₫")
  eq(vi:money_short(999960000), "1 tỷ ₫") -- not "1.000 triệu"
  eq(vi:money_short(1234000000000), "1.234 tỷ ₫")
  eq(vi:money_short(-345000000), "-345 triệu ₫")
  eq(vi:money_short(nil), "–")
end)

test("money_short: en", function()
  eq(en:money_short(1234567890), "1.23 bn ₫")
  eq(en:money_short(345000000), "345 mn ₫")
  eq(en:money_short(12500000), "12.5 mn ₫")
  eq(en:money_short(1234000000000), "1,234 bn ₫")
  eq(en:money_short(500000), "500.000 ₫")
end)

test("pct and signed_pct", function()
  eq(vi:pct(0.123), "12,3 %")
  eq(en:pct(0.123), "12.3%")
  eq(vi:pct(0.5, 0), "50 %")
  eq(en:pct(0.12345, 2), "12.35%")
  eq(vi:pct(nil), "–")
  eq(en:pct(0 / 0), "–")
  eq(vi:pct(1 / 0), "–")
  eq(vi:signed_pct(0.123), "+12,3 %")
  eq(vi:signed_pct(-0.04), "−4,0 %")
  eq(en:signed_pct(0.123), "+12.3%")
  eq(en:signed_pct(-0.04), "−4.0%")
  eq(en:signed_pct(0), "0.0%")
  eq(vi:signed_pct(nil), "–")
end)

test("num", function()
  eq(vi:num(12345.67), "12.345,7")
  eq(en:num(12345.67), "12,345.7")
  eq(vi:num(12345), "12.345")
  eq(en:num(12345), "12,345")
  eq(en:num(3.0), "3")
  eq(en:num(1.2345, 2), "1.23")
  eq(vi:num(-0.04), "0,0") -- no "-0,0"
  eq(vi:num(-1234), "-1.234")
  eq(en:num(nil), "–")
end)

test("date", function()
  eq(vi:date("2026-11-30"), "30/11/2026")
  eq(en:date("2026-11-30"), "2026-11-30")
  eq(vi:date("2026-11-26T14:03:09+07:00"), "26/11/2026 14:03")
  eq(en:date("2026-11-26T14:03:09+07:00"), "2026-11-26 14:03")
  eq(vi:date(nil), "–")
  eq(vi:date("soon"), "soon")
end)

test("period_name", function()
  eq(vi:period_name{name = "2026-Q4"}, "Quý 4/2026")
  eq(vi:period_name{name = "2026-11"}, "Tháng 11/2026")
  eq(vi:period_name{name = "2026-02"}, "Tháng 2/2026")
  eq(vi:period_name{name = "2026"}, "Năm 2026")
  eq(vi:period_name{name = "2026-H1"}, "6 tháng đầu 2026")
  eq(vi:period_name{name = "2026-H2"}, "6 tháng cuối 2026")
  eq(vi:period_name(kam.period("2026-Q3")), "Quý 3/2026")
  for _, n in ipairs{"2026-Q4", "2026-11", "2026", "2026-H1"} do eq(en:period_name{name = n}, n) end
end)

test("labels: in the page language, formats, unknown keys", function()
  eq(vi:L("total"), "Tổng")
  eq(en:L("total"), "Total")
  eq(vi:L("figures_of", "Doanh thu"), "Số liệu: Doanh thu")
  expect_error(function() return vi:L("no_such_key") end, "labels: no vi text for key no_such_key")
  local P = page.new{kind = "x", lang = "en", labels = {only_vi = {vi = "Chỉ tiếng Việt"}}, title = "x"}
  expect_error(function() return P:L("only_vi") end, "labels: no en text for key only_vi")
end)

test("every chrome label has both texts", function()
  for _, k in ipairs{"as_of", "period", "definitions", "generated_by", "total", "no_data",
      "audience_internal", "audience_client", "figures_of", "category", "contents"} do
    eq(type(vi:L(k, "x")), "string", k)
    eq(type(en:L(k, "x")), "string", k)
  end
end)

test("bad arguments are refused", function()
  expect_error(function() page.new{kind = "x", lang = "fr", labels = labels} end, "lang")
  expect_error(function() page.new{kind = "x", lang = "vi", labels = labels, audience = "everyone"} end, "audience")
  local P = new("vi")
  expect_error(function() P:chart{id = "c", type = "pie", categories = {}, series = {}} end, "pie")
  expect_error(function() P:chart{id = "c", type = "bar", unit = "euro", categories = {}, series = {}} end, "euro")
  expect_error(function() P:table{id = "t", columns = {{key = "a", kind = "moneys"}}, rows = {}} end, "moneys")
  expect_error(function() P:render("pdf") end, "pdf")
end)

test("page.esc", function()
  eq(page.esc([[<a href="x">Tom & Jerry's</a>]]), "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;")
  eq(page.esc("Nguyễn Thị Hằng — Đà Nẵng"), "Nguyễn Thị Hằng — Đà Nẵng")
  eq(page.esc(nil), "")
  eq(page.esc(12), "12")
end)

------------------------------------------------------------------------
-- a page with every block, hostile text in it
------------------------------------------------------------------------

local NASTY = [[Công ty <b>"Ánh & Dương"</b> 'Hà Nội' </script> | a,b]]

local function full(lang, P)
  P = P or new(lang, {title = "Báo cáo <Q4> & \"Đặc biệt\"", subtitle = "Khách: " .. NASTY, kind = "executive"})
  P:section{id = "revenue", title = "Doanh thu & <lợi nhuận>", lead = "Tăng 12 %."}
  P:figures{
    {id = "rev", label = "Doanh thu", value = 1234567890, kind = "money_short", delta = 0.123, delta_label = "vs Q3"},
    {id = "cost", label = "Chi phí <trực tiếp>", value = 345000000, kind = "money", delta = -0.04},
    {id = "n", label = "Khách hàng", value = 12, kind = "int"},
  }
  P:chart{id = "q", type = "bar", title = "Doanh thu theo quý", unit = "money",
    categories = {"2026-Q3", "2026-Q4", NASTY},
    series = {{key = "rev", name = "Doanh thu", values = {1100000000, 1234567890, 5}},
              {key = "cost", name = "Chi phí <x>", values = {300000000, 345000000, 0}}}}
  P:chart{id = "h", type = "hbar", title = "Khách lớn", unit = "money",
    categories = {NASTY, "Phở Hà Nội"}, series = {{key = "a", name = "Doanh thu", values = {9e8, 4e8}}}}
  P:chart{id = "s", type = "stacked", title = "Cơ cấu", unit = "count",
    categories = {"A", "B"}, series = {{key = "x", name = "X", values = {1, 2}}, {key = "y", name = "Y", values = {3, 4}}}}
  P:chart{id = "l", type = "line", title = "Xu hướng", unit = "pct",
    categories = {"1", "2", "3"}, series = {{key = "r", name = "Tỷ lệ", values = {0.1, nil, 0.3}}}}
  P:chart{id = "w", type = "waterfall", title = "Cầu nối", unit = "money",
    categories = {"Đầu kỳ", "Thu", "Chi", "Cuối kỳ"},
    series = {{key = "v", name = "Giá trị", values = {500000000, 200000000, -900000000, -200000000}}},
    totals = {[1] = true, [4] = true}}
  P:section{id = "clients", title = "Khách hàng"}
  P:table{id = "debts", title = "Công nợ",
    columns = {{key = "name", label = "Khách | hàng", kind = "text"}, {key = "amount", label = "Số tiền", kind = "money"},
               {key = "share", label = "Tỷ trọng", kind = "pct"}, {key = "due", label = "Hạn", kind = "date"},
               {key = "trend", label = "Xu hướng", kind = "spark"}},
    rows = {{name = NASTY, amount = 120000000, share = 0.5, due = "2026-11-30", trend = {1, 3, 2}},
            {name = "Đỗ \"Bình\"", amount = {value = 80000000, class = "bad"}, share = {value = 0.25, text = "¼", class = "warn"},
             trend = {2, 2}}},
    total = {amount = 200000000, share = 0.75}, note = "Đơn vị: đồng."}
  P:table{id = "none", title = "Huỷ", columns = {{key = "id", label = "Mã"}}, rows = {}, empty = "Không có."}
  P:list{id = "todo", title = "Việc", items = {"Gọi <A> & B"}}
  P:note("Chưa kiểm toán <draft>.")
  P:define("Doanh thu", "Tổng hoá đơn <đã phát hành>.")
  P:define("Doanh thu", "bỏ qua: lần thứ hai")
  P:define("Công nợ", "Số còn phải thu.")
  P:data("client", {name = NASTY, amount = 120000000})
  P:data("comment", "<!-- <script> -->")
  return P
end

test("html: a self-contained page", function()
  local h = full("vi"):render("html")
  eq(h:sub(1, 15), "<!DOCTYPE html>")
  has(h, '<html lang="vi">')
  has(h, '<meta charset="utf-8">')
  has(h, [[content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"]])
  has(h, "@page{size:A4;margin:14mm}")
  has(h, '<p id="kam-rendered" data-kam-rendered="executive">')
  has(h, "Tạo bởi kam từ sổ lúc 26/11/2026 14:03")
  has(h, "Quý 4/2026 (01/10/2026 – 31/12/2026)")
  has(h, "Nội bộ")
  has(h, "<thead>")
  has(h, '<tfoot><tr class="total"><td>Tổng</td>')
  has(h, '<td class="num bad">80.000.000 ₫</td>')
  has(h, '<td class="num warn">¼</td>')
  has(h, "Số liệu: Doanh thu theo quý")
  has(h, "Không có.")
  has(h, "<h2>Định nghĩa</h2>")
  eq(count(h, "<dt>Doanh thu</dt>"), 1, "a term defined twice is kept once")
  -- no script but the data (whose own text may say "<script>", harmlessly)
  local data = h:find('<script type="application/json" id="kam-data">', 1, true)
  eq(count(h:sub(1, data - 1), "<script"), 0)
  eq(count(h, "</script>"), 1)
  eq(h:find("%son%a+%s*="), nil, "an event handler attribute (onload=…)")
end)

test("html: no URL but the SVG namespace", function()
  local h = full("en"):render("html"):gsub('xmlns="http://www.w3.org/2000/svg"', "")
  hasnt(h, "http:")
  hasnt(h, "https:")
  hasnt(h, "src=")
  hasnt(h, "<link")
end)

test("html: text is escaped in titles, cells, tiles, lists and charts", function()
  local h = full("vi"):render("html")
  local body = h:sub(1, h:find('<script type="application/json"', 1, true) - 1)
  has(body, "<title>Báo cáo &lt;Q4&gt; &amp; &quot;Đặc biệt&quot;</title>")
  has(body, "<h1>Báo cáo &lt;Q4&gt; &amp; &quot;Đặc biệt&quot;</h1>")
  has(body, "<h2>Doanh thu &amp; &lt;lợi nhuận&gt;</h2>")
  local enc = "Công ty &lt;b&gt;&quot;Ánh &amp; Dương&quot;&lt;/b&gt; &#39;Hà Nội&#39; &lt;/script&gt; | a,b"
  has(body, "<td>" .. enc .. "</td>")
  has(body, "Chi phí &lt;trực tiếp&gt;")
  has(body, "<li>Gọi &lt;A&gt; &amp; B</li>")
  has(body, "Chưa kiểm toán &lt;draft&gt;.")
  hasnt(body, "<b>")
  hasnt(body, "</script>")
  hasnt(body, "<A>")
  hasnt(body, "<draft>")
end)

test("html: each chart is well-formed SVG with its text escaped", function()
  local h = full("vi"):render("html")
  -- 5 charts and 2 sparklines
  local list = svgs_ok(h, 7)
  local charts = 0
  for _, x in ipairs(list) do
    if x:find('class="chart"', 1, true) then
      charts = charts + 1
      has(x, 'xmlns="http://www.w3.org/2000/svg"')
      has(x, 'role="img"')
      local id = x:match('aria%-labelledby="([^"]+)"')
      has(x, '<title id="' .. id .. '">')
    end
  end
  eq(charts, 5)
  has(list[1], "<title id=\"chart-q-title\">Doanh thu theo quý</title>")
  has(list[1], "Chi phí &lt;x&gt;") -- legend
  has(list[1], "&lt;b&gt;&quot;Ánh &amp;") -- a category label, cut with "…"
  has(list[1], "…")
  has(list[2], "Công ty &lt;b&gt;")
  -- coordinates carry at most one decimal
  for _, x in ipairs(list) do
    for num in x:gmatch('="(%-?%d+%.%d+)"') do
      if not num:match("^%-?%d+%.%d$") then error("too many decimals: " .. num) end
    end
  end
end)

test("html: ids are unique", function()
  local h = full("vi"):render("html")
  local seen = {}
  for id in h:gmatch(' id="([^"]+)"') do
    if seen[id] then error("duplicate id " .. id) end
    seen[id] = true
  end
  eq(seen["sec-revenue"], true)
  eq(seen["chart-q"], true)
  eq(seen["kam-data"], true)
end)

test("html: the embedded JSON cannot close its script element", function()
  local h = full("vi"):render("html")
  local a = h:find('<script type="application/json" id="kam-data">', 1, true)
  local inner = h:sub(a):match('^<script[^>]*>(.-)</script>')
  hasnt(inner, "</")
  hasnt(inner, "<!--")
  has(inner, "<\\/script>")
  eq(count(h:sub(a), "</script>"), 1)
  -- the text is the JSON form, "<\/" and "\u003c" being "</" and "<" to a JSON reader
  eq(inner:gsub("<\\/", "</"):gsub("\\u003c", "<") .. "\n", full("vi"):render("json"))
end)

test("json: raw values, sorted keys, the shape of the contract", function()
  local P = full("vi")
  local j = P:render("json")
  local doc = P:json_doc()
  eq(j, json.encode(doc) .. "\n")
  eq(doc.report, "executive")
  eq(doc.lang, "vi")
  eq(doc.period, {name = "2026-Q4", from = "2026-10-01", to = "2026-12-31"})
  eq(doc.audience, "internal")
  eq(#doc.sections, 2)
  local b = doc.sections[1].blocks
  eq(b[1].type, "figures")
  eq(b[1].items[1].value, 1234567890)
  eq(math.type(b[1].items[1].value), "integer")
  eq(b[1].items[1].delta, 0.123)
  eq(b[1].items[3].delta, json.null)
  eq(b[2].type, "chart")
  eq(b[2].chart_type, "bar")
  eq(b[2].categories[3], NASTY)
  eq(b[2].series[1].values, {1100000000, 1234567890, 5})
  eq(b[5].series[1].values[2], json.null) -- the missing point of the line
  eq(b[6].totals, {1, 4})
  local tb = doc.sections[2].blocks[1]
  eq(tb.type, "table")
  eq(tb.rows[1].amount, 120000000)
  eq(tb.rows[1].name, NASTY)
  eq(tb.rows[2].amount, 80000000) -- a cell override is written as its raw value
  eq(tb.rows[2].share, 0.25)
  eq(tb.rows[2].due, json.null)
  eq(tb.rows[1].trend, {1, 3, 2})
  eq(tb.total.amount, 200000000)
  eq(doc.sections[2].blocks[2].rows, {})
  eq(doc.definitions, {{term = "Doanh thu", text = "Tổng hoá đơn <đã phát hành>."}, {term = "Công nợ", text = "Số còn phải thu."}})
  eq(doc.data.client.amount, 120000000)
  -- the text: money as plain integers, empty lists as [], keys sorted
  has(j, '"amount":120000000')
  has(j, '"rows":[]')
  has(j, '{"as_of":"2026-11-26T14:03:09+07:00","audience":"internal",')
  has(j, '"delta":null')
  local bare = new("en"):render("json")
  has(bare, '"sections":[]')
  has(bare, '"definitions":[]')
  has(bare, '"data":{}')
end)

test("csv: RFC 4180, raw values, a title line per block", function()
  local c = full("vi"):render("csv")
  -- every line ends in CRLF; quoted cells double their quotes
  hasnt(c:gsub("\r\n", ""), "\n")
  has(c, "Doanh thu & <lợi nhuận>\r\nlabel,value,delta\r\nDoanh thu,1234567890,0.123\r\n")
  has(c, "Chi phí <trực tiếp>,345000000,-0.04\r\n")
  has(c, "Khách hàng,12,\r\n")
  has(c, "Doanh thu & <lợi nhuận> — Doanh thu theo quý\r\nHạng mục,Doanh thu,Chi phí <x>\r\n2026-Q3,1100000000,300000000\r\n")
  local q = '"Công ty <b>""Ánh & Dương""</b> \'Hà Nội\' </script> | a,b"'
  has(c, q .. ",5,0\r\n")
  has(c, "Khách hàng — Công nợ\r\nKhách | hàng,Số tiền,Tỷ trọng,Hạn,Xu hướng\r\n")
  has(c, q .. ",120000000,0.5,2026-11-30,1 3 2\r\n")
  has(c, '"Đỗ ""Bình""",80000000,0.25,,2 2\r\n') -- overrides give the raw value
  has(c, "Tổng,200000000,0.75,,\r\n")
  has(c, "Khách hàng — Huỷ\r\nMã\r\n\r\n")
  has(c, "Doanh thu & <lợi nhuận> — Cầu nối\r\nHạng mục,Giá trị\r\nĐầu kỳ,500000000\r\nThu,200000000\r\nChi,-900000000\r\n")
  has(c, "Khách hàng — Việc\r\nGọi <A> & B\r\n")
  hasnt(c, "Chưa kiểm toán") -- a note is prose, not data
end)

test("csv: a text a sheet would run as a formula stays text", function()
  local P = new("en")
  P:table{id = "t", title = "t", columns = {{key = "n", label = "n", kind = "text"}, {key = "v", label = "v", kind = "money"}},
    rows = {{n = '=HYPERLINK("http://x")', v = -5}, {n = "+1 cell", v = 1}, {n = "@SUM(A1)", v = 2}, {n = "-x", v = 3},
            {n = "-12", v = 4}, {n = "Ánh", v = 5}}}
  local c = P:render("csv")
  has(c, '"\'=HYPERLINK(""http://x"")",-5\r\n') -- the number stays a number
  has(c, "'+1 cell,1\r\n")
  has(c, "'@SUM(A1),2\r\n")
  has(c, "'-x,3\r\n")
  has(c, "-12,4\r\n")
  has(c, "Ánh,5\r\n")
end)

test("md: pipe tables with | escaped, charts as their numbers", function()
  local m = full("vi"):render("md")
  eq(m:find("# Báo cáo <Q4> & \"Đặc biệt\"\n\nKhách: ", 1, true), 1)
  has(m, "Kỳ báo cáo: Quý 4/2026 (01/10/2026 – 31/12/2026)")
  has(m, "Số liệu tính đến: 26/11/2026 14:03")
  has(m, "## Doanh thu & <lợi nhuận>\n")
  has(m, "- Doanh thu: 1,23 tỷ ₫ (+12,3 % vs Q3)\n")
  has(m, "- Chi phí <trực tiếp>: 345.000.000 ₫ (−4,0 %)\n")
  has(m, "**Doanh thu theo quý**\n")
  has(m, "| Hạng mục | Doanh thu | Chi phí <x> |\n| --- | ---: | ---: |\n| 2026-Q3 | 1.100.000.000 ₫ | 300.000.000 ₫ |\n")
  has(m, "| Khách \\| hàng | Số tiền | Tỷ trọng | Hạn | Xu hướng |\n")
  has(m, "' </script> \\| a,b | 120.000.000 ₫ | 50,0 % | 30/11/2026 | ▁█▅ |\n")
  has(m, "| Tổng | 200.000.000 ₫ | 75,0 % |  |  |\n")
  has(m, "| Đỗ \"Bình\" | 80.000.000 ₫ | ¼ | – | ▄▄ |\n")
  has(m, "_Không có._")
  has(m, "**Việc**\n\n- Gọi <A> & B\n")
  has(m, "## Định nghĩa\n\n- **Doanh thu**: Tổng hoá đơn <đã phát hành>.\n- **Công nợ**: Số còn phải thu.\n")
  -- every table line has as many unescaped pipes as its header
  for line in m:gmatch("[^\n]+") do
    if line:sub(1, 1) == "|" then
      local n = select(2, line:gsub("\\|", ""):gsub("|", ""))
      if n ~= 3 and n ~= 4 and n ~= 6 and n ~= 2 then error("odd table line: " .. line) end
    end
  end
end)

test("en page: labels and formats in English", function()
  local P = full("en", new("en", {title = "Report", audience = "client"}))
  local h = P:render("html")
  has(h, '<html lang="en">')
  has(h, "Prepared for the client")
  has(h, "2026-Q4 (2026-10-01 – 2026-12-31)")
  has(h, "Generated by kam from the book as of 2026-11-26 14:03")
  has(h, "<h2>Definitions</h2>")
  has(h, "Figures: Doanh thu theo quý")
  local m = P:render("md")
  has(m, "- Doanh thu: 1.23 bn ₫ (+12.3% vs Q3)")
  has(m, "## Definitions")
end)

test("determinism: the same page twice gives the same bytes", function()
  for _, f in ipairs{"html", "md", "csv", "json"} do
    local a = full("vi"):render(f)
    local b = full("vi"):render(f)
    eq(a == b, true, f)
    local P = full("en")
    eq(P:render(f) == P:render(f), true, f .. " rendered twice")
  end
end)

test("blocks before the first section", function()
  local P = new("vi")
  P:note("Lời mở đầu")
  P:section{id = "a", title = "A"}
  P:note("trong A")
  local doc = P:json_doc()
  eq(#doc.sections, 2)
  eq(doc.sections[1].title, json.null)
  has(P:render("html"), "Lời mở đầu")
end)

------------------------------------------------------------------------
-- charts on awkward data
------------------------------------------------------------------------

local function chart_page(c)
  local P = new("vi")
  P:section{id = "s", title = "S"}
  P:chart(c)
  return P
end

test("charts: all zero, one category, no data, negative bars", function()
  local cases = {
    {type = "bar", unit = "money", categories = {"A", "B"}, series = {{key = "v", name = "V", values = {0, 0}}}},
    {type = "bar", unit = "money", categories = {"Một"}, series = {{key = "v", name = "V", values = {5e8}}}},
    {type = "bar", unit = "count", categories = {}, series = {}},
    {type = "bar", unit = "count", categories = {"A", "B", "C"}, series = {{key = "v", name = "V", values = {-3, 5, nil}}}},
    {type = "hbar", unit = "money", categories = {"A", "B"}, series = {{key = "v", name = "V", values = {0, 0}}}},
    {type = "hbar", unit = "money", categories = {"A"}, series = {{key = "v", name = "V", values = {-2e6}}}},
    {type = "hbar", unit = "money", categories = {}, series = {}},
    {type = "stacked", unit = "count", categories = {"A"}, series = {{key = "v", name = "V", values = {0}}, {key = "w", name = "W", values = {0}}}},
    {type = "stacked", unit = "count", categories = {"A", "B"}, series = {{key = "v", name = "V", values = {-1, 2}}, {key = "w", name = "W", values = {3, -4}}}},
    {type = "line", unit = "pct", categories = {"A"}, series = {{key = "v", name = "V", values = {0.5}}}},
    {type = "line", unit = "pct", categories = {"A", "B"}, series = {{key = "v", name = "V", values = {0, 0}}}},
    {type = "line", unit = "count", categories = {"A", "B"}, series = {{key = "v", name = "V", values = {nil, nil}}}},
    {type = "waterfall", unit = "money", categories = {"A"}, series = {{key = "v", name = "V", values = {0}}}, totals = {[1] = true}},
    {type = "waterfall", unit = "money", categories = {}, series = {}},
    {type = "bar", unit = "count", categories = {"A"}, series = {{key = "v", name = "V", values = {0 / 0}}}},
  }
  for i, c in ipairs(cases) do
    c.id, c.title = "c" .. i, "Biểu đồ " .. i
    local h = chart_page(c):render("html")
    local list = svgs_ok(h, 1)
    hasnt(list[1], "nan", "case " .. i)
    hasnt(list[1], "inf", "case " .. i)
    chart_page(c):render("md")
    chart_page(c):render("csv")
    chart_page(c):render("json")
  end
end)

test("waterfall: negative steps go down from the running level", function()
  local c = {id = "w", type = "waterfall", title = "W", unit = "count", categories = {"Start", "Up", "Down", "End"},
    series = {{key = "v", name = "V", values = {10, 5, -20, -5}}}, totals = {[1] = true, [4] = true}}
  local x = svgs_ok(chart_page(c):render("html"), 1)[1]
  has(x, "+5")
  has(x, "−20")
  has(x, 'fill="#c0392b"') -- a red step
  has(x, 'fill="#3c8d5a"') -- a green step
  -- the level runs 10, 15, -5: the axis reaches below zero
  has(x, ">-5<")
  -- the rects in order: the step down spans 15 → -5, the end total 0 → -5
  local rects = {}
  for y, h in x:gmatch('<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)" fill="#') do
    rects[#rects + 1] = {tonumber(y), tonumber(h)}
  end
  eq(#rects, 4)
  local top15, bottom_minus5 = rects[2][1], rects[3][1] + rects[3][2]
  eq(rects[3][1], top15, "the step down starts at the level 15")
  eq(rects[4][1] + rects[4][2], bottom_minus5, "the end total reaches -5")
end)

test("svg helpers", function()
  eq(svg.n(1.25), "1.2")
  eq(svg.n(3.0), "3")
  eq(svg.n(-0.01), "0")
  eq(svg.truncate("Công ty Cổ phần Ánh Dương", 10), "Công ty C…")
  eq(svg.truncate("ngắn", 10), "ngắn")
  -- a combining mark stays with its letter (e + U+0301)
  eq(svg.truncate("abce\204\129fgh", 5), "abce\204\129…")
  local ticks = svg.nice_ticks(0, 1234567890)
  eq(ticks, {0, 500000000, 1000000000, 1500000000})
  eq((svg.nice_ticks(0, 0)), {0})
  eq((svg.nice_ticks(-3, 5)), {-4, -2, 0, 2, 4, 6})
  local sp = svg.sparkline({1, 2, 3}, {title = "<1 2 3>"})
  balanced(sp)
  has(sp, "&lt;1 2 3&gt;")
  balanced(svg.sparkline({}))
  balanced(svg.sparkline({4}))
  balanced(svg.sparkline({4, 4, 4}))
end)

finish()
