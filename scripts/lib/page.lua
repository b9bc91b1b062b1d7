-- The report page: a small document model (sections of figures, tables,
-- charts, lists and notes), number formatting in the page language, and four
-- renderers (html, md, csv, json). A report script builds a page and returns
-- its text:
--
--   local page = require "lib.page"
--   local P = page.new{kind =, lang = report.lang, labels = require "reports.labels",
--     title =, subtitle =, as_of = report.as_of, period = report.period, audience = "internal"|"client"}
--   P:section{id =, title =, lead =}
--   P:figures{{id =, label =, value =, kind =, delta =, delta_label =, note =}, ...}
--   P:table{id =, title =, columns = {{key =, label =, kind =}, ...}, rows =, total =, empty =, note =}
--   P:chart{id =, type = "bar"|"hbar"|"stacked"|"line"|"waterfall", title =, unit = "money"|"count"|"pct",
--     categories =, series = {{key =, name =, values =}, ...}, totals =, note =}
--   P:list{id =, title =, items =}  P:note(text)  P:define(term, text)  P:data(key, value)
--   return P:render(report.format)   -- "html" | "md" | "csv" | "json"
--
-- Formatting: P:L(key, ...), P:money, P:money_short, P:pct, P:signed_pct,
-- P:num, P:date, P:period_name; page.esc for HTML/XML text.
--
-- Determinism: the same calls give the same bytes. Nothing here reads the
-- clock, and no table is walked with pairs into the output (json.lua sorts
-- keys).
local json = require "lib.json"
local svg = require "lib.svg"

local M = {}
M.esc = svg.esc
local esc = svg.esc

local DASH = "–"   -- an absent value
local MINUS = "−"  -- U+2212, the sign of signed_pct
local SEP = {vi = {th = ".", dp = ","}, en = {th = ",", dp = "."}}

local Page = {}
Page.__index = Page

------------------------------------------------------------------------
-- numbers
------------------------------------------------------------------------

local finite = svg.finite

-- group("1234567", ".") -> "1.234.567"
local function group(int, sep)
  local head = #int % 3
  if head == 0 then head = 3 end
  local parts = {int:sub(1, head)}
  for i = head + 1, #int, 3 do parts[#parts + 1] = int:sub(i, i + 2) end
  return table.concat(parts, sep)
end

-- fixed(x, d, sep): x rounded to d decimals with the separators of sep; a
-- value that rounds to zero carries no sign ("-0,0" is noise)
local function fixed(x, d, sep)
  d = math.max(0, math.floor(d))
  local s = ("%." .. d .. "f"):format(math.abs(x))
  local int, frac = s:match("^(%d+)%.?(%d*)$")
  local out = group(int, sep.th)
  if d > 0 then out = out .. sep.dp .. frac end
  if x < 0 and s:find("[1-9]") then out = "-" .. out end
  return out
end

-- integral(x): a whole number (integer or float without a fraction)
local function integral(x)
  return math.type(x) == "integer" or (finite(x) and x == math.floor(x))
end

-- what a formatter shows for something that is not a number it can use:
-- nil and NaN/inf (a guarded division) are "–", other things their text
local function not_number(v)
  if v == nil or type(v) == "number" then return DASH end
  return tostring(v)
end

function Page:money(v)
  if not finite(v) then return not_number(v) end
  return fixed(v, 0, SEP.vi) .. " ₫" -- "1.234.567 ₫" in both languages
end

-- units of money_short, largest first, named by labels.lua (money_bn: tỷ, money_mn: triệu)
local SHORT = {
  {size = 1e9, label = "money_bn"},
  {size = 1e6, label = "money_mn"},
}

-- decimals for three significant figures of a scaled amount
local function short_decimals(x)
  if x >= 100 then return 0 elseif x >= 10 then return 1 end
  return 2
end

function Page:money_short(v)
  if not finite(v) then return not_number(v) end
  local a = math.abs(v)
  if a < 1e6 then return self:money(v) end
  local u = a >= 1e9 and 1 or 2
  local x = a / SHORT[u].size
  local d = short_decimals(x)
  -- 999,96 triệu rounds to 1.000 triệu: say 1 tỷ instead
  if u == 2 and tonumber(("%." .. d .. "f"):format(x)) >= 1000 then
    u = 1
    x = a / SHORT[u].size
    d = short_decimals(x)
  end
  local sep = SEP[self.lang]
  local s = fixed(x, d, sep)
  if d > 0 then -- "1,50" -> "1,5", "2,00" -> "2"
    s = s:gsub("0+$", "")
    if s:sub(-1) == sep.dp then s = s:sub(1, -2) end
  end
  return (v < 0 and "-" or "") .. s .. " " .. self:L(SHORT[u].label) .. " ₫"
end

local function pct_text(self, s)
  return self.lang == "vi" and s .. " %" or s .. "%"
end

function Page:pct(x, digits)
  if not finite(x) then return not_number(x) end
  return pct_text(self, fixed(x * 100, digits or 1, SEP[self.lang]))
end

function Page:signed_pct(x, digits)
  if not finite(x) then return not_number(x) end
  local s = fixed(math.abs(x) * 100, digits or 1, SEP[self.lang])
  local sign = ""
  if s:find("[1-9]") then sign = x > 0 and "+" or MINUS end
  return pct_text(self, sign .. s)
end

function Page:num(v, digits)
  if not finite(v) then return not_number(v) end
  return fixed(v, integral(v) and 0 or (digits or 1), SEP[self.lang])
end

function Page:int(v)
  if not finite(v) then return not_number(v) end
  return fixed(v, 0, SEP[self.lang])
end

-- date("2026-11-30") -> vi "30/11/2026", en "2026-11-30"; a date-time
-- ("2026-11-30T14:05:09+07:00") keeps its hours and minutes; other text is
-- returned as it is
function Page:date(d)
  if d == nil then return DASH end
  d = tostring(d)
  local y, m, day, rest = d:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return d end
  local hm = ""
  local hh, mm = rest:match("^[T ](%d%d):(%d%d)")
  if hh then hm = " " .. hh .. ":" .. mm
  elseif rest ~= "" then return d end
  if self.lang == "vi" then return day .. "/" .. m .. "/" .. y .. hm end
  return y .. "-" .. m .. "-" .. day .. hm
end

-- period names kam.period gives, as labels.lua writes them in each language ("Quý {q}/{y}")
local PERIODS = {
  {"^(%d%d%d%d)%-Q([1-4])$", "period_quarter", "q"},
  {"^(%d%d%d%d)%-(%d%d)$", "period_month", "m"},
  {"^(%d%d%d%d)%-H1$", "period_h1"},
  {"^(%d%d%d%d)%-H2$", "period_h2"},
  {"^(%d%d%d%d)$", "period_year"},
}

function Page:period_name(p)
  local name = type(p) == "table" and p.name or p
  if name == nil then return DASH end
  name = tostring(name)
  for _, rule in ipairs(PERIODS) do
    local y, x = name:match(rule[1])
    if y then
      local v = {y = y, mm = x, [rule[3] or "_"] = x and tostring(tonumber(x))}
      return (self:L(rule[2]):gsub("{(%a+)}", function(k) return v[k] end))
    end
  end
  return name
end

-- format(kind, v): a raw value as display text ("spark" is drawn apart)
local FORMATS = {
  money = Page.money, money_short = Page.money_short, pct = Page.pct,
  signed_pct = Page.signed_pct, int = Page.int, num = Page.num, date = Page.date,
}
function Page:format(kind, v)
  local f = FORMATS[kind]
  if f then return f(self, v) end
  if v == nil then return "" end
  if type(v) == "table" then return "" end -- a spark list outside a spark column
  return tostring(v)
end

-- the column kinds shown right-aligned
local NUMERIC = {money = true, money_short = true, pct = true, signed_pct = true, int = true, num = true, spark = true}
local KINDS = {text = true, date = true}
for k in pairs(NUMERIC) do KINDS[k] = true end
local FIGURE_KINDS = {money = true, money_short = true, pct = true, signed_pct = true, int = true, num = true, text = true}
local UNITS = {money = true, count = true, pct = true}
local CLASSES = {good = true, bad = true, warn = true}

------------------------------------------------------------------------
-- the page and its blocks
------------------------------------------------------------------------

-- new{kind, lang, labels, title, subtitle, as_of, period, audience}
function M.new(o)
  assert(type(o) == "table", "page.new: a table expected")
  if o.lang ~= "vi" and o.lang ~= "en" then
    error(("page.new: lang must be \"vi\" or \"en\", got %s"):format(tostring(o.lang)), 2)
  end
  if o.audience ~= nil and o.audience ~= "internal" and o.audience ~= "client" then
    error(("page.new: audience must be \"internal\" or \"client\", got %s"):format(tostring(o.audience)), 2)
  end
  local P = setmetatable({
    kind = o.kind, lang = o.lang, labels = o.labels or require "reports.labels",
    title = o.title, subtitle = o.subtitle, as_of = o.as_of, period = o.period,
    audience = o.audience,
    sections = {}, definitions = {}, defined = {}, extra = {},
  }, Page)
  return P
end

-- L(key, ...): the label in the page language, filled when given arguments
function Page:L(key, ...)
  local e = self.labels[key]
  local s = type(e) == "table" and e[self.lang] or nil
  if type(s) ~= "string" then
    error(("labels: no %s text for key %s"):format(self.lang, tostring(key)), 2)
  end
  if select("#", ...) > 0 then return s:format(...) end
  return s
end

-- add(block): into the last section; blocks before the first section go to
-- an untitled one
function Page:add(block)
  local sec = self.sections[#self.sections]
  if not sec then
    sec = {blocks = {}}
    self.sections[1] = sec
  end
  sec.blocks[#sec.blocks + 1] = block
  return block
end

function Page:section(o)
  self.sections[#self.sections + 1] = {id = o.id, title = o.title, lead = o.lead, blocks = {}}
end

function Page:figures(items)
  for i, it in ipairs(items) do
    local k = it.kind or "money"
    if not FIGURE_KINDS[k] then
      error(("page.figures: item %d (%s): unknown kind %s"):format(i, tostring(it.id), tostring(k)), 2)
    end
  end
  self:add{type = "figures", items = items}
end

function Page:table(o)
  for i, col in ipairs(o.columns or {}) do
    if col.kind ~= nil and not KINDS[col.kind] then
      error(("page.table %s: column %d (%s): unknown kind %s"):format(tostring(o.id), i, tostring(col.key), tostring(col.kind)), 2)
    end
  end
  self:add{type = "table", id = o.id, title = o.title, columns = o.columns or {}, rows = o.rows or {},
    total = o.total, empty = o.empty, note = o.note}
end

function Page:chart(o)
  if not svg.types[o.type] then
    error(("page.chart %s: unknown type %s"):format(tostring(o.id), tostring(o.type)), 2)
  end
  local unit = o.unit or "count"
  if not UNITS[unit] then
    error(("page.chart %s: unknown unit %s"):format(tostring(o.id), tostring(unit)), 2)
  end
  self:add{type = "chart", id = o.id, chart_type = o.type, title = o.title, unit = unit,
    categories = o.categories or {}, series = o.series or {}, totals = o.totals or {}, note = o.note}
end

function Page:list(o)
  self:add{type = "list", id = o.id, title = o.title, items = o.items or {}}
end

function Page:note(text)
  self:add{type = "note", text = text}
end

function Page:define(term, text)
  if self.defined[term] then return end
  self.defined[term] = true
  self.definitions[#self.definitions + 1] = {term = term, text = text}
end

function Page:data(key, value)
  self.extra[key] = value
end

------------------------------------------------------------------------
-- shared by the renderers
------------------------------------------------------------------------

-- cell(v): raw value, display override and colour class of a table cell
local function cell(v)
  if type(v) == "table" and (v.value ~= nil or v.text ~= nil or v.class ~= nil) then
    return v.value, v.text, CLASSES[v.class] and v.class or nil
  end
  return v, nil, nil
end

-- the display text of a cell in a column (spark as its own renderer draws it)
function Page:cell_text(col, v)
  local raw, text = cell(v)
  if text ~= nil then return tostring(text) end
  return self:format(col.kind or "text", raw)
end

-- the total row as shown: an empty first cell says "Tổng", other empty
-- cells stay blank (nothing to add up there, not a missing value "–")
function Page:total_row(t, columns)
  local r = {}
  for _, col in ipairs(columns) do
    local v = t[col.key]
    if v == nil then v = {text = ""} end
    r[col.key] = v
  end
  local first = columns[1] and columns[1].key
  if first ~= nil and t[first] == nil then r[first] = self:L("total") end
  return r
end

-- the numbers of a chart as a table block: categories as rows, series as
-- columns formatted by the unit
local UNIT_KIND = {money = "money", count = "num", pct = "pct"}
function Page:chart_table(b)
  local kind = UNIT_KIND[b.unit]
  local columns = {{key = 1, label = self:L("category"), kind = "text"}}
  for s, ser in ipairs(b.series) do
    columns[#columns + 1] = {key = s + 1, label = ser.name or ser.key or "", kind = kind}
  end
  local rows = {}
  for i, cat in ipairs(b.categories) do
    local r = {[1] = cat}
    for s, ser in ipairs(b.series) do r[s + 1] = ser.values and ser.values[i] end
    rows[i] = r
  end
  return {type = "table", title = self:L("figures_of", b.title or ""), columns = columns, rows = rows}
end

-- "Section — Block", for the title lines of csv
local function joined(a, b)
  if a and a ~= "" and b and b ~= "" then return a .. " — " .. b end
  return (a and a ~= "" and a) or b or ""
end

-- the header's period text: "Quý 4/2026 (01/10/2026 – 31/12/2026)"
function Page:period_text()
  local p = self.period
  if type(p) ~= "table" then return p and self:period_name(p) or nil end
  local s = self:period_name(p)
  if p.from and p.to then s = s .. " (" .. self:date(p.from) .. " – " .. self:date(p.to) .. ")" end
  return s
end

function Page:audience_text()
  if self.audience == nil then return nil end
  return self:L(self.audience == "client" and "audience_client" or "audience_internal")
end

function Page:generated_text()
  return self:L("generated_by", self.as_of and self:date(self.as_of) or DASH)
end

-- delta_class(it): "good"/"bad" by the direction the figure wants
local function delta_class(it)
  local d = it.delta
  if not finite(d) or d == 0 then return "flat" end
  local up = d > 0
  if it.delta_good == "down" then up = not up end
  return up and "good" or "bad"
end

function Page:figure_value(it)
  return self:format(it.kind or "money", it.value)
end

function Page:figure_delta(it)
  if it.delta == nil then return nil end
  local s = self:signed_pct(it.delta)
  if it.delta_label then s = s .. " " .. it.delta_label end
  return s
end

------------------------------------------------------------------------
-- json
------------------------------------------------------------------------

local null = json.null

local function raw(v)
  v = cell(v)
  if v == nil then return null end
  if type(v) == "number" and not finite(v) then return null end
  if type(v) == "table" then -- a spark list
    local a = json.array{}
    for i = 1, #v do a[i] = raw(v[i]) end
    return a
  end
  return v
end

local function opt(v)
  if v == nil then return null end
  return v
end

local JSON_BLOCK = {}

function JSON_BLOCK.figures(_, b)
  local items = json.array{}
  for i, it in ipairs(b.items) do
    items[i] = {id = opt(it.id), label = opt(it.label), value = raw(it.value), kind = it.kind or "money",
      delta = raw(it.delta), delta_label = it.delta_label, note = it.note}
  end
  return {type = "figures", items = items}
end

-- a row's columns (null when absent), and its other keys as they are: an id
-- the page does not show is what a reader checking the figures looks up by
local function json_row(columns, r)
  local o = {}
  for k, v in pairs(r) do
    if type(k) == "string" and type(v) ~= "function" then o[k] = raw(v) end
  end
  for _, col in ipairs(columns) do o[col.key] = raw(r[col.key]) end
  return o
end

function JSON_BLOCK.table(_, b)
  local columns, rows = json.array{}, json.array{}
  for i, col in ipairs(b.columns) do
    columns[i] = {key = col.key, label = opt(col.label), kind = col.kind or "text"}
  end
  for i, r in ipairs(b.rows) do rows[i] = json_row(b.columns, r) end
  return {type = "table", id = opt(b.id), title = opt(b.title), columns = columns, rows = rows,
    total = b.total and json_row(b.columns, b.total) or null, note = b.note}
end

function JSON_BLOCK.chart(_, b)
  local n = #b.categories
  local series = json.array{}
  for s, ser in ipairs(b.series) do
    local values = json.array{}
    for i = 1, n do values[i] = raw(ser.values and ser.values[i]) end
    series[s] = {key = opt(ser.key), name = opt(ser.name), values = values}
  end
  local categories = json.array{}
  for i = 1, n do categories[i] = b.categories[i] end
  local o = {type = "chart", id = opt(b.id), chart_type = b.chart_type, title = opt(b.title), unit = b.unit,
    categories = categories, series = series, note = b.note}
  if b.chart_type == "waterfall" then
    o.totals = json.array{}
    for i = 1, n do if b.totals[i] then o.totals[#o.totals + 1] = i end end
  end
  return o
end

function JSON_BLOCK.list(_, b)
  local items = json.array{}
  for i, it in ipairs(b.items) do items[i] = it end
  return {type = "list", id = opt(b.id), title = opt(b.title), items = items}
end

function JSON_BLOCK.note(_, b)
  return {type = "note", text = opt(b.text)}
end

function Page:json_doc()
  local sections = json.array{}
  for i, sec in ipairs(self.sections) do
    local blocks = json.array{}
    for j, b in ipairs(sec.blocks) do blocks[j] = JSON_BLOCK[b.type](self, b) end
    sections[i] = {id = opt(sec.id), title = opt(sec.title), lead = sec.lead, blocks = blocks}
  end
  local defs = json.array{}
  for i, d in ipairs(self.definitions) do defs[i] = {term = d.term, text = d.text} end
  local p = self.period
  local period = null
  if type(p) == "table" then period = {name = opt(p.name), from = opt(p.from), to = opt(p.to)}
  elseif p ~= nil then period = {name = p, from = null, to = null} end
  return {report = opt(self.kind), lang = self.lang, title = opt(self.title), subtitle = self.subtitle,
    period = period, as_of = opt(self.as_of), audience = opt(self.audience),
    sections = sections, definitions = defs, data = self.extra}
end

------------------------------------------------------------------------
-- markdown
------------------------------------------------------------------------

-- a table cell: one line, "|" escaped
local function mdcell(s)
  return (tostring(s):gsub("\r?\n", " "):gsub("|", "\\|"))
end

local BLOCKS = "▁▂▃▄▅▆▇█"
-- spark_text(values): one block letter per value, scaled min..max
local function spark_text(values)
  local lo, hi = math.huge, -math.huge
  for i = 1, #values do
    local v = values[i]
    if finite(v) then lo, hi = math.min(lo, v), math.max(hi, v) end
  end
  local out = {}
  for i = 1, #values do
    local v = values[i]
    if not finite(v) then out[i] = " "
    else
      local k = hi > lo and math.floor((v - lo) / (hi - lo) * 7 + 0.5) + 1 or 4
      out[i] = BLOCKS:sub((k - 1) * 3 + 1, k * 3) -- each block is 3 bytes
    end
  end
  return table.concat(out)
end

function Page:md_cell(col, v)
  local rawv, text = cell(v)
  if col.kind == "spark" and text == nil then
    return type(rawv) == "table" and spark_text(rawv) or ""
  end
  return mdcell(self:cell_text(col, v))
end

function Page:md_table(out, b)
  if b.title then out[#out + 1] = "**" .. b.title .. "**\n" end
  local head, rule = {}, {}
  for i, col in ipairs(b.columns) do
    head[i] = mdcell(col.label or "")
    rule[i] = NUMERIC[col.kind] and "---:" or "---"
  end
  local lines = {"| " .. table.concat(head, " | ") .. " |", "| " .. table.concat(rule, " | ") .. " |"}
  local function row(r)
    local cells = {}
    for i, col in ipairs(b.columns) do cells[i] = self:md_cell(col, r[col.key]) end
    lines[#lines + 1] = "| " .. table.concat(cells, " | ") .. " |"
  end
  for _, r in ipairs(b.rows) do row(r) end
  if b.total then row(self:total_row(b.total, b.columns)) end
  if #b.rows == 0 and not b.total then
    out[#out + 1] = "_" .. (b.empty or self:L("no_data")) .. "_\n"
  else
    out[#out + 1] = table.concat(lines, "\n") .. "\n"
  end
  if b.note then out[#out + 1] = b.note .. "\n" end
end

local MD_BLOCK = {}

function MD_BLOCK.figures(P, out, b)
  local lines = {}
  for _, it in ipairs(b.items) do
    local s = "- " .. (it.label or "") .. ": " .. P:figure_value(it)
    local d = P:figure_delta(it)
    if d then s = s .. " (" .. d .. ")" end
    if it.note then s = s .. " — " .. it.note end
    lines[#lines + 1] = s
  end
  out[#out + 1] = table.concat(lines, "\n") .. "\n"
end

MD_BLOCK.table = function(P, out, b) P:md_table(out, b) end

function MD_BLOCK.chart(P, out, b)
  out[#out + 1] = "**" .. (b.title or "") .. "**\n"
  local t = P:chart_table(b)
  t.title = nil
  P:md_table(out, t)
  if b.note then out[#out + 1] = b.note .. "\n" end
end

function MD_BLOCK.list(_, out, b)
  if b.title then out[#out + 1] = "**" .. b.title .. "**\n" end
  local lines = {}
  for _, it in ipairs(b.items) do lines[#lines + 1] = "- " .. tostring(it) end
  if #lines > 0 then out[#out + 1] = table.concat(lines, "\n") .. "\n" end
end

function MD_BLOCK.note(_, out, b)
  out[#out + 1] = tostring(b.text or "") .. "\n"
end

function Page:render_md()
  local out = {"# " .. (self.title or "") .. "\n"}
  if self.subtitle then out[#out + 1] = self.subtitle .. "\n" end
  local meta = {}
  local pt = self:period_text()
  if pt then meta[#meta + 1] = self:L("period") .. ": " .. pt end
  if self.as_of then meta[#meta + 1] = self:L("as_of") .. ": " .. self:date(self.as_of) end
  local aud = self:audience_text()
  if aud then meta[#meta + 1] = aud end
  if #meta > 0 then out[#out + 1] = table.concat(meta, "  \n") .. "\n" end
  for _, sec in ipairs(self.sections) do
    if sec.title then out[#out + 1] = "## " .. sec.title .. "\n" end
    if sec.lead then out[#out + 1] = sec.lead .. "\n" end
    for _, b in ipairs(sec.blocks) do MD_BLOCK[b.type](self, out, b) end
  end
  if #self.definitions > 0 then
    out[#out + 1] = "## " .. self:L("definitions") .. "\n"
    local lines = {}
    for _, d in ipairs(self.definitions) do lines[#lines + 1] = "- **" .. d.term .. "**: " .. d.text end
    out[#out + 1] = table.concat(lines, "\n") .. "\n"
  end
  out[#out + 1] = "_" .. self:generated_text() .. "_\n"
  return table.concat(out, "\n")
end

------------------------------------------------------------------------
-- csv (RFC 4180, CRLF, raw values so a sheet can sum them)
------------------------------------------------------------------------

local function csvraw(v)
  v = cell(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if not finite(v) then return "" end
    return json.encode(v) -- integers as such, other numbers shortest exact
  end
  if type(v) == "table" then -- a spark list: values joined by " "
    local parts = {}
    for i = 1, #v do parts[i] = csvraw(v[i]) end
    return table.concat(parts, " ")
  end
  v = tostring(v)
  -- a text a sheet would run as a formula (a client named "=HYPERLINK(...)") is kept as text
  -- by a leading apostrophe, as spreadsheets themselves mark text; numbers above are raw
  if v:find("^[=+@\t\r-]") and not tonumber(v) then v = "'" .. v end
  return v
end

local function csvcell(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function csvline(out, cells)
  for i, c in ipairs(cells) do cells[i] = csvcell(c) end
  out[#out + 1] = table.concat(cells, ",") .. "\r\n"
end

function Page:csv_table(out, title, b)
  csvline(out, {title})
  local head = {}
  for i, col in ipairs(b.columns) do head[i] = tostring(col.label or "") end
  csvline(out, head)
  local function row(r)
    local cells = {}
    for i, col in ipairs(b.columns) do cells[i] = csvraw(r[col.key]) end
    csvline(out, cells)
  end
  for _, r in ipairs(b.rows) do row(r) end
  if b.total then row(self:total_row(b.total, b.columns)) end
  out[#out + 1] = "\r\n"
end

local CSV_BLOCK = {}

function CSV_BLOCK.figures(_, out, b, stitle)
  csvline(out, {stitle or ""})
  csvline(out, {"label", "value", "delta"})
  for _, it in ipairs(b.items) do csvline(out, {tostring(it.label or ""), csvraw(it.value), csvraw(it.delta)}) end
  out[#out + 1] = "\r\n"
end

function CSV_BLOCK.table(P, out, b, stitle)
  P:csv_table(out, joined(stitle, b.title), b)
end

function CSV_BLOCK.chart(P, out, b, stitle)
  P:csv_table(out, joined(stitle, b.title), P:chart_table(b))
end

function CSV_BLOCK.list(_, out, b, stitle)
  csvline(out, {joined(stitle, b.title)})
  for _, it in ipairs(b.items) do csvline(out, {tostring(it)}) end
  out[#out + 1] = "\r\n"
end

function CSV_BLOCK.note() end -- prose is not data

function Page:render_csv()
  local out = {}
  for _, sec in ipairs(self.sections) do
    for _, b in ipairs(sec.blocks) do CSV_BLOCK[b.type](self, out, b, sec.title) end
  end
  return table.concat(out)
end

------------------------------------------------------------------------
-- html
------------------------------------------------------------------------

local CSS = [[
:root{--ink:#2b2f33;--muted:#6b737b;--line:#e3e6ea;--soft:#f6f7f9;--accent:#3b6ea8;--good:#2e7d4f;--bad:#b23a2e;--warn:#a86b00}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{max-width:960px;margin:0 auto;padding:32px 24px 48px}
header.page-head{border-bottom:2px solid var(--ink);padding-bottom:14px;margin-bottom:24px}
h1{font-size:26px;line-height:1.25;margin:0 0 4px}
h2{font-size:19px;margin:0 0 8px;padding-top:8px}
h3{font-size:15px;margin:0 0 8px}
.subtitle{margin:0 0 8px;color:var(--muted);font-size:16px}
.audience{display:inline-block;font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--accent);border:1px solid var(--accent);border-radius:3px;padding:1px 6px;margin-bottom:8px}
.meta{display:flex;flex-wrap:wrap;gap:4px 28px;margin:0;font-size:13px}
.meta div{display:flex;gap:6px}.meta dt{color:var(--muted)}.meta dd{margin:0}
nav.contents{font-size:14px;margin:0 0 24px}nav.contents h2{font-size:15px;padding:0;margin:0}nav.contents ol{margin:4px 0 0;padding-left:20px}
a{color:var(--accent)}
section.section{margin:0 0 32px}
.lead{margin:0 0 12px;color:var(--muted)}
.block{margin:0 0 20px}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px;margin:0 0 20px}
.tile{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:var(--soft)}
.tile-label{font-size:13px;color:var(--muted)}
.tile-value{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.tile-delta{font-size:13px;font-variant-numeric:tabular-nums}.tile-delta span{color:var(--muted)}
.tile-note{font-size:12px;color:var(--muted)}
.good{color:var(--good)}.bad{color:var(--bad)}.warn{color:var(--warn)}.flat{color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-size:13px;color:var(--muted);padding:0 0 4px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--ink)}
tfoot td{font-weight:600;border-top:1px solid var(--ink);border-bottom:none}
td.num,th.num{text-align:right;white-space:nowrap}
td.empty{color:var(--muted);font-style:italic}
table.chart-data{font-size:12px;margin-top:6px;width:auto;min-width:50%;max-width:720px}
figure{margin:0}
svg.chart{display:block;width:100%;height:auto;max-width:720px}
svg.spark{vertical-align:middle}
.note{font-size:13px;color:var(--muted);margin:6px 0 0}
ul.list{margin:0;padding-left:20px}
footer{border-top:1px solid var(--line);margin-top:32px;padding-top:12px;font-size:13px;color:var(--muted)}
footer h2{color:var(--ink);font-size:16px}footer dl{margin:0 0 12px}footer dt{font-weight:600;color:var(--ink)}footer dd{margin:0 0 6px}
@media print{
@page{size:A4;margin:14mm}
body{font-size:10.5pt;background:#fff}
main{max-width:none;padding:0}
*{box-shadow:none!important;text-shadow:none!important}
.tile{background:#fff}
h2,h3{break-after:avoid;page-break-after:avoid}
.block,.figures,figure,table,tr,svg{break-inside:avoid;page-break-inside:avoid}
nav.contents{display:none}
}
]]

-- ids: sanitized, and unique within the page ("x", "x-2", …)
function Page:uid(prefix, id)
  local base = prefix .. "-" .. (id and tostring(id):gsub("[^%w_-]", "-") or tostring(#self.ids_seen + 1))
  local cand, k = base, 1
  while self.ids_used[cand] do
    k = k + 1
    cand = base .. "-" .. k
  end
  self.ids_used[cand] = true
  self.ids_seen[#self.ids_seen + 1] = cand
  return cand
end

local function attr_class(...)
  local parts = {}
  for _, c in ipairs{...} do if c then parts[#parts + 1] = c end end
  if #parts == 0 then return "" end
  return ' class="' .. table.concat(parts, " ") .. '"'
end

function Page:html_cell(tag, col, v)
  local rawv, text, class = cell(v)
  local kind = col.kind or "text"
  local body
  if kind == "spark" and text == nil then
    body = type(rawv) == "table" and svg.sparkline(rawv, {title = self:spark_title(rawv)}) or ""
  else
    body = esc(self:cell_text(col, v))
  end
  return ("<%s%s>%s</%s>"):format(tag, attr_class(NUMERIC[kind] and "num" or nil, class), body, tag)
end

function Page:spark_title(values)
  local parts = {}
  for i = 1, #values do parts[i] = self:num(values[i]) end
  return table.concat(parts, " ")
end

-- html_table(b, caption): thead, tbody (or the empty text), tfoot
function Page:html_table(b, caption, class)
  local out = {"<table" .. attr_class(class) .. ">"}
  if caption then out[#out + 1] = "<caption>" .. esc(caption) .. "</caption>" end
  local head = {}
  for i, col in ipairs(b.columns) do
    head[i] = ('<th scope="col"%s>%s</th>'):format(attr_class(NUMERIC[col.kind] and "num" or nil), esc(col.label))
  end
  out[#out + 1] = "<thead><tr>" .. table.concat(head) .. "</tr></thead>"
  out[#out + 1] = "<tbody>"
  if #b.rows == 0 then
    out[#out + 1] = ('<tr><td class="empty" colspan="%d">%s</td></tr>')
      :format(math.max(1, #b.columns), esc(b.empty or self:L("no_data")))
  end
  for _, r in ipairs(b.rows) do
    local cells = {}
    for i, col in ipairs(b.columns) do cells[i] = self:html_cell("td", col, r[col.key]) end
    out[#out + 1] = "<tr>" .. table.concat(cells) .. "</tr>"
  end
  out[#out + 1] = "</tbody>"
  if b.total then
    local t = self:total_row(b.total, b.columns)
    local cells = {}
    for i, col in ipairs(b.columns) do cells[i] = self:html_cell("td", col, t[col.key]) end
    out[#out + 1] = '<tfoot><tr class="total">' .. table.concat(cells) .. "</tr></tfoot>"
  end
  out[#out + 1] = "</table>"
  return table.concat(out, "\n")
end

local function note_html(text)
  if not text then return "" end
  return '\n<p class="note">' .. esc(text) .. "</p>"
end

local HTML_BLOCK = {}

function HTML_BLOCK.figures(P, b)
  local out = {'<div class="figures">'}
  for _, it in ipairs(b.items) do
    local t = {('<div class="tile" id="%s">'):format(P:uid("fig", it.id))}
    t[#t + 1] = '<div class="tile-label">' .. esc(it.label) .. "</div>"
    t[#t + 1] = '<div class="tile-value">' .. esc(P:figure_value(it)) .. "</div>"
    if it.delta ~= nil then
      local d = esc(P:signed_pct(it.delta))
      if it.delta_label then d = d .. " <span>" .. esc(it.delta_label) .. "</span>" end
      t[#t + 1] = ('<div class="tile-delta %s">%s</div>'):format(delta_class(it), d)
    end
    if it.note then t[#t + 1] = '<div class="tile-note">' .. esc(it.note) .. "</div>" end
    out[#out + 1] = table.concat(t) .. "</div>"
  end
  out[#out + 1] = "</div>"
  return table.concat(out, "\n")
end

function HTML_BLOCK.table(P, b)
  local out = {('<div class="block table-block" id="%s">'):format(P:uid("table", b.id))}
  if b.title then out[#out + 1] = "<h3>" .. esc(b.title) .. "</h3>" end
  out[#out + 1] = P:html_table(b)
  return table.concat(out, "\n") .. note_html(b.note) .. "\n</div>"
end

-- the formatters a chart's axis and labels use, by unit. Value labels on
-- money bars drop the " ₫" the axis already says, so that they fit over a
-- bar ("1,23 tỷ"); the table beneath has the exact amounts.
function Page:chart_formats(unit)
  local P = self
  if unit == "money" then
    return {axis = function(v) return P:money_short(v) end,
      label = function(v) return (P:money_short(v):gsub(" ₫$", "")) end}
  elseif unit == "pct" then
    return {axis = function(v, dec) return P:pct(v, math.max(0, dec - 2)) end,
      label = function(v) return P:pct(v) end}
  end
  return {axis = function(v, dec) return P:num(v, dec) end,
    label = function(v) return P:num(v) end}
end

function HTML_BLOCK.chart(P, b)
  local id = P:uid("chart", b.id)
  local f = P:chart_formats(b.unit)
  f.id, f.title = id, b.title or ""
  f.signed = function(v) -- a waterfall step: "+30 triệu", "−600 triệu"
    return (v > 0 and "+" or v < 0 and MINUS or "") .. f.label(math.abs(v))
  end
  local chart = svg.chart({type = b.chart_type, categories = b.categories, series = b.series, totals = b.totals}, f)
  local t = P:chart_table(b)
  local out = {('<figure class="block chart-block" id="%s">'):format(id)}
  if b.title then out[#out + 1] = "<h3>" .. esc(b.title) .. "</h3>" end
  out[#out + 1] = chart
  out[#out + 1] = P:html_table(t, t.title, "chart-data")
  return table.concat(out, "\n") .. note_html(b.note) .. "\n</figure>"
end

function HTML_BLOCK.list(P, b)
  local out = {('<div class="block list-block" id="%s">'):format(P:uid("list", b.id))}
  if b.title then out[#out + 1] = "<h3>" .. esc(b.title) .. "</h3>" end
  out[#out + 1] = '<ul class="list">'
  for _, it in ipairs(b.items) do out[#out + 1] = "<li>" .. esc(it) .. "</li>" end
  out[#out + 1] = "</ul>\n</div>"
  return table.concat(out, "\n")
end

function HTML_BLOCK.note(_, b)
  return '<p class="text">' .. esc(b.text) .. "</p>"
end

function Page:html_header()
  local out = {'<header class="page-head">'}
  local aud = self:audience_text()
  if aud then out[#out + 1] = '<div class="audience">' .. esc(aud) .. "</div>" end
  out[#out + 1] = "<h1>" .. esc(self.title) .. "</h1>"
  if self.subtitle then out[#out + 1] = '<p class="subtitle">' .. esc(self.subtitle) .. "</p>" end
  local meta = {}
  local pt = self:period_text()
  if pt then meta[#meta + 1] = "<div><dt>" .. esc(self:L("period")) .. "</dt><dd>" .. esc(pt) .. "</dd></div>" end
  if self.as_of then
    meta[#meta + 1] = "<div><dt>" .. esc(self:L("as_of")) .. "</dt><dd>" .. esc(self:date(self.as_of)) .. "</dd></div>"
  end
  if #meta > 0 then out[#out + 1] = '<dl class="meta">' .. table.concat(meta) .. "</dl>" end
  out[#out + 1] = "</header>"
  return table.concat(out, "\n")
end

-- a table of contents when there are three titled sections or more
function Page:html_contents(ids)
  local items = {}
  for i, sec in ipairs(self.sections) do
    if sec.title then items[#items + 1] = ('<li><a href="#%s">%s</a></li>'):format(ids[i], esc(sec.title)) end
  end
  if #items < 3 then return nil end
  return '<nav class="contents"><h2>' .. esc(self:L("contents")) .. "</h2><ol>" .. table.concat(items) .. "</ol></nav>"
end

function Page:html_footer()
  local out = {"<footer>"}
  if #self.definitions > 0 then
    out[#out + 1] = "<h2>" .. esc(self:L("definitions")) .. "</h2>\n<dl>"
    for _, d in ipairs(self.definitions) do
      out[#out + 1] = "<dt>" .. esc(d.term) .. "</dt><dd>" .. esc(d.text) .. "</dd>"
    end
    out[#out + 1] = "</dl>"
  end
  out[#out + 1] = ('<p id="kam-rendered" data-kam-rendered="%s">%s</p>'):format(esc(self.kind), esc(self:generated_text()))
  -- in a script element only "</" (and "<!--") can end or confuse it; both
  -- are written with JSON escapes, which mean the same text
  local data = json.encode(self:json_doc()):gsub("<!%-%-", "\\u003c!--"):gsub("</", "<\\/")
  out[#out + 1] = '<script type="application/json" id="kam-data">' .. data .. "</script>"
  out[#out + 1] = "</footer>"
  return table.concat(out, "\n")
end

function Page:render_html()
  self.ids_used, self.ids_seen = {}, {} -- fresh per render: the same ids every time
  local secids = {}
  for i, sec in ipairs(self.sections) do secids[i] = self:uid("sec", sec.id) end
  local out = {
    "<!DOCTYPE html>",
    ('<html lang="%s">'):format(self.lang),
    "<head>",
    '<meta charset="utf-8">',
    [[<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">]],
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>" .. esc(self.title) .. "</title>",
    "<style>\n" .. CSS .. "</style>",
    "</head>",
    "<body>",
    "<main>",
    self:html_header(),
  }
  local nav = self:html_contents(secids)
  if nav then out[#out + 1] = nav end
  for i, sec in ipairs(self.sections) do
    out[#out + 1] = ('<section class="section" id="%s">'):format(secids[i])
    if sec.title then out[#out + 1] = "<h2>" .. esc(sec.title) .. "</h2>" end
    if sec.lead then out[#out + 1] = '<p class="lead">' .. esc(sec.lead) .. "</p>" end
    for _, b in ipairs(sec.blocks) do out[#out + 1] = HTML_BLOCK[b.type](self, b) end
    out[#out + 1] = "</section>"
  end
  out[#out + 1] = self:html_footer()
  out[#out + 1] = "</main>\n</body>\n</html>\n"
  return table.concat(out, "\n")
end

------------------------------------------------------------------------

local RENDER = {html = Page.render_html, md = Page.render_md, csv = Page.render_csv,
  json = function(P) return json.encode(P:json_doc()) .. "\n" end}

function Page:render(format)
  local f = RENDER[format]
  if not f then
    error(("page.render: unknown format %s (html, md, csv or json)"):format(tostring(format)), 2)
  end
  return f(self)
end

return M
