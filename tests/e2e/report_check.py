#!/usr/bin/env python3
"""report_check.py — test a kam report file the way a reader's browser takes it.

Standard library only, so the end-to-end tests need nothing installed.

  report_check.py FILE.html
      Checks the page and prints one line per problem ("FILE: line N: ...")
      and exits 1, or prints "ok: FILE" and exits 0:
        - the bytes are UTF-8, the text starts with <!DOCTYPE html>, and
          <meta charset="utf-8"> is within the first 1024 bytes (where a
          browser looks for it);
        - a Content-Security-Policy <meta> with default-src 'none' is there
          (report_browser.sh relies on it to see anything the page loads);
        - no JavaScript: the only <script> allowed is
          <script type="application/json" id="kam-data">; no on...= attribute;
        - nothing loaded from elsewhere: every src/href/... is data: or
          #fragment, no <meta http-equiv="refresh">, no @import, and url(...)
          (in <style>, style= or SVG attributes like fill=) is data: or #id;
        - every <svg>...</svg> fragment parses as XML (a browser would show
          a broken chart otherwise); a failure names the chart by its <title>;
        - the kam-data block is JSON (after <\\/ -> </) with keys report,
          lang and sections;
        - an element with id="kam-rendered" is present.

  report_check.py FILE.json|FILE.html --get PATH [--get PATH...]
      Prints one value per PATH from the report's JSON form (of an .html file:
      its kam-data block), for a test to compare. Exit 1 if a PATH is not
      found. Strings print as they are, anything else as compact JSON.
      PATH is one of:
        figure:ID        the "value" of the object with "id": ID that has a
                         "value" key, anywhere in the report (must be unique)
        table:ID:KEY=VAL:COLUMN
                         the cell COLUMN of the row whose KEY is VAL, in the
                         object with "id": ID that has "rows"; rows may be
                         objects, or arrays named by the table's "columns"
                         (strings, or objects with "id"/"key"/"name")
        data:A.B.C       a dotted path inside the top-level "data" object
        A.B.C            a dotted path from the top; on an array a step is an
                         index (0, 1, ...) or the "id" of an element, e.g.
                         sections.revenue.figures.revenue.value
        (a plain path that starts with "figure:" etc. can't be written; none
        of the report keys has a colon.)

  report_check.py --png FILE.png
      Used by report_browser.sh: decodes a screenshot (8-bit RGB/RGBA) and
      fails if it looks blank: under MIN_INK of the pixels differ from the
      background (the commonest colour), or under MIN_COLOURS colours.

Exit: 0 ok, 1 problems found, 2 usage or unreadable file.
"""

import json
import re
import struct
import sys
import zlib
from collections import Counter
from html.parser import HTMLParser
from xml.dom import minidom
from xml.parsers.expat import ExpatError

MIN_INK = 0.01      # share of non-background pixels for a page that is not blank
MIN_COLOURS = 36    # a few dozen: text antialiasing alone gives more than that

# Attributes whose value is a URL the browser would load or follow.
URL_ATTRS = {"src", "href", "xlink:href", "srcset", "action", "formaction",
             "poster", "data", "background", "ping", "manifest", "codebase"}
URL_FN = re.compile(r"url\(\s*(['\"]?)\s*([^)'\"]*)", re.I)


def local_url(value):
    """True for the URLs a self-contained page may use: data: and #fragment."""
    v = value.strip().lower()
    return v.startswith("#") or v.startswith("data:")


def css_problems(text):
    """@import and url(...) to anything but data:/#id in a piece of CSS."""
    out = []
    if "@import" in text.lower():
        out.append("@import (loads a style sheet from elsewhere)")
    for m in URL_FN.finditer(text):
        if not local_url(m.group(2)):
            out.append("url(%s) is not data: or #id" % m.group(2)[:60])
    return out


class PageScan(HTMLParser):
    """Walks the tags once, collecting problems and the kam-data text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.kam_data = []        # texts of <script type=application/json id=kam-data>
        self.rendered = False     # an element with id="kam-rendered"
        self.csp = False          # CSP meta with default-src 'none'
        self.in_elem = None       # "script"/"style" while inside one
        self.text = []

    def bad(self, msg):
        self.problems.append("line %d: %s" % (self.getpos()[0], msg))

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        for k, v in attrs:
            v = v or ""
            if k.startswith("on"):
                self.bad("<%s %s=...>: event attribute (JavaScript)" % (tag, k))
            if k in URL_ATTRS and v.strip().lower().startswith("javascript:"):
                self.bad("<%s %s=\"javascript:...\">: JavaScript URL" % (tag, k))
            elif k in URL_ATTRS and not local_url(v):
                self.bad("<%s %s=\"%s\">: external URL" % (tag, k, v[:80]))
            if k == "style":
                for p in css_problems(v):
                    self.bad("<%s style=...>: %s" % (tag, p))
            elif "url(" in v.lower():      # SVG fill="url(#g)", mask=, filter=...
                for p in css_problems(v):
                    self.bad("<%s %s=...>: %s" % (tag, k, p))
        if a.get("id") == "kam-rendered":
            self.rendered = True
        if tag == "meta":
            equiv = a.get("http-equiv", "").lower()
            if equiv == "refresh":
                self.bad("<meta http-equiv=refresh>: goes elsewhere")
            if equiv == "content-security-policy" and \
                    re.search(r"default-src\s+'none'", a.get("content", "")):
                self.csp = True
        if tag in ("iframe", "object", "embed", "base", "frame"):
            self.bad("<%s>: not allowed in a self-contained report" % tag)
        if tag == "script":
            if a.get("type") == "application/json" and a.get("id") == "kam-data":
                self.in_elem, self.text = "kam-data", []
            else:
                self.bad("<script%s>: JavaScript (only the kam-data JSON block may be a script)"
                         % "".join(" %s=%r" % kv for kv in attrs))
                self.in_elem, self.text = "script", []
        elif tag == "style":
            self.in_elem, self.text = "style", []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.handle_endtag(tag)

    def handle_data(self, data):
        if self.in_elem:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self.in_elem in ("kam-data", "script"):
            if self.in_elem == "kam-data":
                self.kam_data.append("".join(self.text))
            self.in_elem = None
        elif tag == "style" and self.in_elem == "style":
            for p in css_problems("".join(self.text)):
                self.bad("<style>: " + p)
            self.in_elem = None


def svg_fragments(text):
    """(start, fragment) of each outermost <svg ...>...</svg>, nested ones kept inside."""
    out, depth, start = [], 0, 0
    for m in re.finditer(r"<svg\b|</svg\s*>", text, re.I):
        if m.group(0).lower().startswith("<svg"):
            if depth == 0:
                start = m.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append((start, text[start:m.end()]))
    if depth:
        out.append((start, text[start:]))   # unclosed: the XML parse will say so
    return out


def svg_name(i, frag):
    """The chart's <title> text, for the message, or its number on the page."""
    m = re.search(r"<title[^>]*>(.*?)</title>", frag, re.S | re.I)
    return "chart %d \"%s\"" % (i, m.group(1).strip()[:60]) if m else "chart %d" % i


def check_svgs(text):
    out = []
    for i, (start, frag) in enumerate(svg_fragments(text), 1):
        try:
            minidom.parseString(frag.encode("utf-8"))
        except ExpatError as e:
            line = text.count("\n", 0, start) + 1
            out.append("line %d: %s: SVG is not well-formed XML: %s"
                       % (line, svg_name(i, frag), e))
    return out


def kam_json(raw):
    """The kam-data block as JSON; </ is written <\\/ so it cannot end the script."""
    return json.loads(raw.replace("<\\/", "</"))


def check_html(data):
    problems = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return ["not UTF-8: byte 0x%02x at offset %d" % (data[e.start], e.start)]
    if not text.startswith("<!DOCTYPE html>"):
        problems.append("does not start with <!DOCTYPE html> (got %r)" % text[:20])
    head = data[:1024].decode("utf-8", "ignore")
    if not re.search(r"<meta\s+charset=\"?utf-8\"?\s*/?>", head, re.I):
        problems.append("no <meta charset=\"utf-8\"> in the first 1024 bytes")

    scan = PageScan()
    scan.feed(text)
    scan.close()
    problems += scan.problems
    if not scan.csp:
        problems.append("no Content-Security-Policy <meta> with default-src 'none'")
    problems += check_svgs(text)

    if len(scan.kam_data) != 1:
        problems.append("%d kam-data JSON blocks, want 1" % len(scan.kam_data))
    for raw in scan.kam_data[:1]:
        try:
            doc = kam_json(raw)
        except ValueError as e:
            problems.append("kam-data block is not JSON: %s" % e)
        else:
            missing = [k for k in ("report", "lang", "sections")
                       if not isinstance(doc, dict) or k not in doc]
            if missing:
                problems.append("kam-data JSON lacks key(s): %s" % ", ".join(missing))
    if not scan.rendered:
        problems.append("no element with id=\"kam-rendered\"")
    return problems


# ---- --get: values from the JSON form -------------------------------------

class NotFound(Exception):
    pass


def walk(node):
    """Every dict in the tree, depth first."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def by_id(doc, ident, key):
    """The one object with "id": ident that has `key`."""
    hits = [d for d in walk(doc) if str(d.get("id")) == ident and key in d]
    if not hits:
        raise NotFound("no object with id %r and a %r key" % (ident, key))
    if len(hits) > 1:
        raise NotFound("%d objects with id %r and a %r key: use a dotted path" %
                       (len(hits), ident, key))
    return hits[0]


def dotted(node, path):
    """Follow a.b.c; on an array a step is an index or an element's "id"."""
    for step in path.split(".") if path else []:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list):
            match = [e for e in node if isinstance(e, dict) and str(e.get("id")) == step]
            if match:
                node = match[0]
            elif step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            else:
                raise NotFound("no element %r" % step)
        else:
            raise NotFound("no key %r" % step)
    return node


def column_name(c):
    return str(c.get("id", c.get("key", c.get("name")))) if isinstance(c, dict) else str(c)


def table_cell(doc, spec):
    try:
        ident, rowsel, col = spec.split(":", 2)
        rkey, rval = rowsel.split("=", 1)
    except ValueError:
        raise NotFound("table path is table:ID:KEY=VAL:COLUMN")
    table = by_id(doc, ident, "rows")
    names = [column_name(c) for c in table.get("columns", [])]
    for row in table["rows"]:
        if isinstance(row, list):          # positional row: name the cells
            row = dict(zip(names, row))
        if isinstance(row, dict) and rkey in row and str(row[rkey]) == rval:
            if col not in row:
                raise NotFound("table %s has no column %r" % (ident, col))
            return row[col]
    raise NotFound("table %s has no row with %s=%s" % (ident, rkey, rval))


def get(doc, path):
    kind, sep, rest = path.partition(":")
    if kind == "figure" and rest:
        return by_id(doc, rest, "value")["value"]
    if kind == "table" and rest:
        return table_cell(doc, rest)
    if kind == "data" and sep:
        if not isinstance(doc, dict) or "data" not in doc:
            raise NotFound("no top-level \"data\" object")
        return dotted(doc["data"], rest)
    return dotted(doc, path)


def show(value):
    return value if isinstance(value, str) else json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def load_doc(name, data):
    """The JSON form: the file itself, or an HTML report's kam-data block."""
    text = data.decode("utf-8")
    if text.lstrip().startswith("<"):
        scan = PageScan()
        scan.feed(text)
        if not scan.kam_data:
            raise ValueError("no kam-data block in %s" % name)
        return kam_json(scan.kam_data[0])
    return json.loads(text)


# ---- --png: is the screenshot blank? --------------------------------------

def png_pixels(data):
    """(width, height, bytes per pixel, rows) of an 8-bit RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("PNG depth %d colour type %d interlace %d: only 8-bit RGB/RGBA"
                         % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        # Undo the row filter (PNG spec 9.2); Up is by far the commonest in
        # Chromium's screenshots, so it gets the quick whole-row form.
        if ftype == 1:                                   # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ftype == 2:                                 # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ftype == 3:                                 # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ftype == 4:                                 # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif ftype != 0:
            raise ValueError("row %d: bad filter type %d" % (y, ftype))
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def check_png(data):
    """Problems if the page looks blank, plus a one-line summary."""
    w, h, bpp, rows = png_pixels(data)
    colours = Counter()
    for line in rows:
        colours.update(zip(line[0::bpp], line[1::bpp], line[2::bpp]))  # RGB, alpha ignored
    bg, bg_count = colours.most_common(1)[0]
    ink = 1 - bg_count / (w * h)
    summary = "%dx%d, %.1f%% not background #%02x%02x%02x, %d colours" % (
        w, h, ink * 100, *bg, len(colours))
    problems = []
    if ink <= MIN_INK:
        problems.append("screenshot looks blank: %s" % summary)
    elif len(colours) < MIN_COLOURS:
        problems.append("screenshot has too few colours: %s" % summary)
    return problems, summary


def main(argv):
    if len(argv) == 2 and argv[0] == "--png":
        try:
            problems, summary = check_png(open(argv[1], "rb").read())
        except (OSError, ValueError, zlib.error, struct.error, TypeError) as e:
            print("%s: cannot read the PNG: %s" % (argv[1], e))
            return 2
        for p in problems:
            print("%s: %s" % (argv[1], p))
        if not problems:
            print("ok: %s: %s" % (argv[1], summary))
        return 1 if problems else 0

    if not argv or argv[0].startswith("-") or (len(argv) > 1 and (
            len(argv) % 2 == 0 or any(a != "--get" for a in argv[1::2]))):
        print("usage: report_check.py FILE.html | FILE.json --get PATH... | --png FILE.png"
              " (see the top of the file)", file=sys.stderr)
        return 2
    name = argv[0]
    try:
        data = open(name, "rb").read()
    except OSError as e:
        print("%s: %s" % (name, e.strerror))
        return 2

    if len(argv) > 1:                        # --get PATH ...
        try:
            doc = load_doc(name, data)
        except ValueError as e:
            print("%s: %s" % (name, e), file=sys.stderr)
            return 2
        rc = 0
        for path in argv[2::2]:
            try:
                print(show(get(doc, path)))
            except NotFound as e:
                print("%s: %s: %s" % (name, path, e), file=sys.stderr)
                rc = 1
        return rc

    problems = check_html(data)
    for p in problems:
        print("%s: %s" % (name, p))
    if not problems:
        print("ok: %s" % name)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
