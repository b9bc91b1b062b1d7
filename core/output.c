/* output.c — see output.h. */
#include "output.h"
#include "lua_db.h"
#include "sandbox.h"
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const out_fmt_names[] = {"table", "json", "csv", "yaml", "lua", NULL};

int out_fmt_parse(const char *s, out_fmt *f) {
  for (int i = 0; out_fmt_names[i]; i++)
    if (!strcmp(out_fmt_names[i], s)) { *f = (out_fmt)i; return 1; }
  return 0;
}

size_t utf8_width(const char *s, size_t n) {
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    unsigned cp = c;
    size_t k = 1;
    if (c >= 0xF0) { k = 4; cp = c & 7; }
    else if (c >= 0xE0) { k = 3; cp = c & 15; }
    else if (c >= 0xC0) { k = 2; cp = c & 31; }
    for (size_t j = 1; j < k && i + j < n; j++) cp = (cp << 6) | ((unsigned char)s[i + j] & 63);
    i += k;
    if ((cp >= 0x300 && cp <= 0x36F) || cp == 0x200B) continue; /* combining marks */
    w++;
  }
  return w;
}

/* cuts text to at most w display columns, ending with … when cut */
static size_t utf8_cut(const char *s, size_t n, size_t w, int *cut) {
  *cut = 0;
  if (utf8_width(s, n) <= w) return n;
  size_t i = 0, used = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (used + 1 > w - 1) break;
    i += k;
    used++;
    while (i < n && (unsigned char)s[i] == 0xCC) i += 2; /* keep combining marks with their letter */
  }
  *cut = 1;
  return i;
}

void json_str(kbuf *b, const char *s, size_t n) {
  kbuf_byte(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': kbuf_str(b, "\\\""); break;
    case '\\': kbuf_str(b, "\\\\"); break;
    case '\n': kbuf_str(b, "\\n"); break;
    case '\r': kbuf_str(b, "\\r"); break;
    case '\t': kbuf_str(b, "\\t"); break;
    default:
      if (c < 0x20) kbuf_printf(b, "\\u%04x", c);
      else kbuf_byte(b, c);
    }
  }
  kbuf_byte(b, '"');
}

static void json_num(kbuf *b, double d) {
  if (!isfinite(d)) { kbuf_str(b, "null"); return; }
  if (d == floor(d) && fabs(d) < 1e15) kbuf_printf(b, "%.1f", d);
  else kbuf_printf(b, "%.17g", d);
}

void json_kval(kbuf *b, const kval *v) {
  switch (v->tag) {
  case KV_NULL: kbuf_str(b, "null"); break;
  case KV_TRUE: kbuf_str(b, "true"); break;
  case KV_FALSE: kbuf_str(b, "false"); break;
  case KV_INT: kbuf_printf(b, "%lld", (long long)v->u.i); break;
  case KV_NUM: json_num(b, v->u.n); break;
  case KV_STR: json_str(b, v->u.s.p, v->u.s.len); break;
  case KV_LIST: case KV_MAP: {
    coll_iter it;
    const char *k;
    size_t kl;
    kval x;
    citer_init(&it, v);
    kbuf_byte(b, v->tag == KV_LIST ? '[' : '{');
    int first = 1;
    while (citer_next(&it, &k, &kl, &x)) {
      if (!first) kbuf_byte(b, ',');
      first = 0;
      if (k) { json_str(b, k, kl); kbuf_byte(b, ':'); }
      json_kval(b, &x);
    }
    kbuf_byte(b, v->tag == KV_LIST ? ']' : '}');
    break;
  }
  }
}

/* ---- Lua values as JSON ------------------------------------------------- */

static void json_lua(lua_State *L, int idx, kbuf *b, int depth);

/* orders keys of any type: numbers before strings, then by value */
static int key_less(lua_State *L) {
  int ta = lua_type(L, 1), tb = lua_type(L, 2);
  if (ta != tb) { lua_pushboolean(L, ta < tb); return 1; }
  if (ta == LUA_TNUMBER || ta == LUA_TSTRING) { lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT)); return 1; }
  lua_pushboolean(L, 0);
  return 1;
}

static int is_array(lua_State *L, int idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx), cnt = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) { cnt++; lua_pop(L, 1); }
  return cnt == n;
}

static void json_entity(lua_State *L, int idx, kbuf *b) {
  const coll_def *c = kam_entity_coll(L, idx);
  kbuf_byte(b, '{');
  int first = 1;
  for (int i = 0; i < c->nfields; i++) {
    kam_entity_field(L, idx, i);
    if (!lua_isnil(L, -1)) {
      if (!first) kbuf_byte(b, ',');
      first = 0;
      json_str(b, c->fields[i].name, strlen(c->fields[i].name));
      kbuf_byte(b, ':');
      json_lua(L, lua_gettop(L), b, 1);
    }
    lua_pop(L, 1);
  }
  kbuf_byte(b, '}');
}

static void json_lua(lua_State *L, int idx, kbuf *b, int depth) {
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 6, "output nesting");
  switch (lua_type(L, idx)) {
  case LUA_TNIL: kbuf_str(b, "null"); return;
  case LUA_TBOOLEAN: kbuf_str(b, lua_toboolean(L, idx) ? "true" : "false"); return;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) kbuf_printf(b, "%lld", (long long)lua_tointeger(L, idx));
    else json_num(b, lua_tonumber(L, idx));
    return;
  case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(L, idx, &n); json_str(b, s, n); return; }
  case LUA_TUSERDATA:
    if (kam_is_entity(L, idx)) { json_entity(L, idx, b); return; }
    if (kam_is_query(L, idx)) { kam_query_list(L, idx); json_lua(L, -1, b, depth); lua_pop(L, 1); return; }
    break;
  case LUA_TTABLE:
    if (depth > 32) { kbuf_str(b, "null"); return; }
    if (is_array(L, idx)) {
      lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
      kbuf_byte(b, '[');
      for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) kbuf_byte(b, ',');
        lua_rawgeti(L, idx, i);
        json_lua(L, -1, b, depth + 1);
        lua_pop(L, 1);
      }
      kbuf_byte(b, ']');
    } else {
      /* keys in sorted order, so the same table always prints the same */
      lua_newtable(L);
      int keys = lua_gettop(L);
      lua_Integer nk = 0;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++nk);
      }
      lua_getglobal(L, "table");
      if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "sort");
        lua_pushvalue(L, keys);
        lua_pushcfunction(L, key_less);
        lua_call(L, 2, 0);
      }
      lua_pop(L, 1);
      kbuf_byte(b, '{');
      for (lua_Integer i = 1; i <= nk; i++) {
        if (i > 1) kbuf_byte(b, ',');
        lua_rawgeti(L, keys, i);
        lua_pushvalue(L, -1);
        size_t n;
        const char *k = luaL_tolstring(L, -1, &n);
        json_str(b, k, n);
        lua_pop(L, 2);
        kbuf_byte(b, ':');
        lua_rawget(L, idx);
        json_lua(L, -1, b, depth + 1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      kbuf_byte(b, '}');
    }
    return;
  default: break;
  }
  size_t n;
  const char *s = luaL_tolstring(L, idx, &n);
  json_str(b, s, n);
  lua_pop(L, 1);
}

/* ---- cells ----------------------------------------------------------------- */

/* A value as cell text. money: with separators and ₫; human: integers with
 * separators. */
static void cell_text(lua_State *L, int idx, kbuf *b, ftype t, int human) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TNIL: break;
  case LUA_TBOOLEAN: kbuf_str(b, lua_toboolean(L, idx) ? "true" : "false"); break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      long long v = (long long)lua_tointeger(L, idx);
      char buf[64];
      if (human && (t == FT_MONEY)) { fmt_money(buf, sizeof buf, v, 1); kbuf_str(b, buf); }
      else if (human && t != FT_INT && (v >= 10000 || v <= -10000)) { fmt_money(buf, sizeof buf, v, 0); kbuf_str(b, buf); }
      else kbuf_printf(b, "%lld", v);
    } else {
      double d = lua_tonumber(L, idx);
      if (human && t == FT_MONEY) { char buf[64]; fmt_money(buf, sizeof buf, (long long)llround(d), 1); kbuf_str(b, buf); }
      else if (human && fabs(d) < 1e15 && fabs(d) >= 10000) { char buf[64]; fmt_money(buf, sizeof buf, (long long)llround(d), 0); kbuf_str(b, buf); }
      else kbuf_printf(b, "%.14g", d);
    }
    break;
  case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(L, idx, &n); kbuf_put(b, s, n); break; }
  case LUA_TUSERDATA:
    if (kam_is_entity(L, idx)) { kam_entity_field(L, idx, F_ID); cell_text(L, -1, b, FT_STRING, human); lua_pop(L, 1); break; }
    /* fallthrough */
  default:
    if (lua_istable(L, idx)) { json_lua(L, idx, b, 1); break; }
    { size_t n; const char *s = luaL_tolstring(L, idx, &n); kbuf_put(b, s, n); lua_pop(L, 1); }
  }
}

static void csv_cell(kbuf *out, const char *s, size_t n) {
  int quote = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') { quote = 1; break; }
  if (!quote && n && (s[0] == ' ' || s[n - 1] == ' ')) quote = 1;
  if (!quote) { kbuf_put(out, s, n); return; }
  kbuf_byte(out, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') kbuf_byte(out, '"');
    kbuf_byte(out, (uint8_t)s[i]);
  }
  kbuf_byte(out, '"');
}

/* ---- grids ------------------------------------------------------------------ */

typedef struct grid {
  int ncol, nrow;
  kbuf *cells;     /* nrow * ncol, row 0 is the header */
  int *right;      /* right-align the column (numbers) */
} grid;

static void grid_print(grid *g, const out_opts *o, FILE *f) {
  if (o->fmt == FMT_CSV) {
    kbuf line = {0};
    for (int r = o->headers ? 0 : 1; r < g->nrow; r++) {
      kbuf_reset(&line);
      for (int c = 0; c < g->ncol; c++) {
        if (c) kbuf_byte(&line, ',');
        kbuf *cell = &g->cells[r * g->ncol + c];
        csv_cell(&line, (const char *)cell->p, cell->len);
      }
      kbuf_str(&line, "\r\n");
      fwrite(line.p, 1, line.len, f);
    }
    kbuf_free(&line);
    return;
  }
  size_t *w = calloc((size_t)g->ncol, sizeof *w);
  size_t maxw = o->max_width > 0 ? (size_t)o->max_width : 40;
  for (int r = 0; r < g->nrow; r++)
    for (int c = 0; c < g->ncol; c++) {
      kbuf *cell = &g->cells[r * g->ncol + c];
      size_t cw = utf8_width((const char *)cell->p, cell->len);
      if (cw > maxw) cw = maxw;
      if (cw > w[c]) w[c] = cw;
    }
  kbuf line = {0};
  for (int r = o->headers ? 0 : 1; r < g->nrow; r++) {
    kbuf_reset(&line);
    for (int c = 0; c < g->ncol; c++) {
      kbuf *cell = &g->cells[r * g->ncol + c];
      int cut;
      size_t n = utf8_cut((const char *)cell->p, cell->len, maxw, &cut);
      size_t cw = utf8_width((const char *)cell->p, n) + (size_t)cut;
      size_t pad = w[c] > cw ? w[c] - cw : 0;
      if (c) kbuf_str(&line, "  ");
      if (g->right[c] && r > 0) for (size_t k = 0; k < pad; k++) kbuf_byte(&line, ' ');
      kbuf_put(&line, cell->p, n);
      if (cut) kbuf_str(&line, "\xe2\x80\xa6");
      if (!(g->right[c] && r > 0) && c < g->ncol - 1) for (size_t k = 0; k < pad; k++) kbuf_byte(&line, ' ');
    }
    while (line.len && line.p[line.len - 1] == ' ') line.len--;
    kbuf_byte(&line, '\n');
    fwrite(line.p, 1, line.len, f);
    if (r == 0) { /* a rule under the header */
      kbuf_reset(&line);
      for (int c = 0; c < g->ncol; c++) {
        if (c) kbuf_str(&line, "  ");
        for (size_t k = 0; k < w[c]; k++) kbuf_str(&line, "\xe2\x94\x80");
      }
      kbuf_byte(&line, '\n');
      fwrite(line.p, 1, line.len, f);
    }
  }
  kbuf_free(&line);
  free(w);
}

static void grid_init(grid *g, int ncol, int nrow) {
  g->ncol = ncol;
  g->nrow = nrow;
  g->cells = calloc((size_t)(ncol * nrow) + 1, sizeof *g->cells);
  g->right = calloc((size_t)ncol + 1, sizeof *g->right);
}

static void grid_free(grid *g) {
  for (int i = 0; i < g->ncol * g->nrow; i++) kbuf_free(&g->cells[i]);
  free(g->cells);
  free(g->right);
}

/* ---- entities ----------------------------------------------------------- */

static void yaml_entity(lua_State *L, int idx, kbuf *b, const char *indent) {
  const coll_def *c = kam_entity_coll(L, idx);
  int first = 1;
  for (int i = 0; i < c->nfields; i++) {
    kam_entity_field(L, idx, i);
    if (!lua_isnil(L, -1)) {
      kbuf_str(b, first ? "- " : "  ");
      kbuf_str(b, indent);
      first = 0;
      kbuf_printf(b, "%s: ", c->fields[i].name);
      json_lua(L, lua_gettop(L), b, 1); /* JSON scalars and flow collections are YAML */
      kbuf_byte(b, '\n');
    }
    lua_pop(L, 1);
  }
}

void out_entities(lua_State *L, int idx, const coll_def *c, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  int n = (int)lua_rawlen(L, idx);
  if (o->fmt == FMT_JSON) {
    kbuf b = {0};
    kbuf_byte(&b, '[');
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      kbuf_str(&b, i > 1 ? ",\n " : "");
      json_entity(L, lua_gettop(L), &b);
      lua_pop(L, 1);
    }
    kbuf_str(&b, "]\n");
    fwrite(b.p, 1, b.len, f);
    kbuf_free(&b);
    return;
  }
  if (o->fmt == FMT_YAML) {
    kbuf b = {0};
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      yaml_entity(L, lua_gettop(L), &b, "");
      lua_pop(L, 1);
      if (b.len > 65536) { fwrite(b.p, 1, b.len, f); kbuf_reset(&b); }
    }
    fwrite(b.p, 1, b.len, f);
    kbuf_free(&b);
    return;
  }
  /* columns: the chosen ones, else the schema's fields that any row has */
  int *cols = malloc(sizeof(int) * (size_t)(c->nfields + 1)), ncol = 0;
  if (o->fields) {
    for (int i = 0; i < o->nfields; i++) cols[ncol++] = o->fields[i];
  } else {
    for (int fi = 0; fi < c->nfields; fi++) {
      ftype t = c->fields[fi].type;
      int human = o->fmt == FMT_TABLE;
      if (human && (fi == F_CREATED || fi == F_UPDATED || t == FT_LIST || t == FT_MAP)) continue;
      int any = fi == F_ID || !human;
      for (int i = 1; i <= n && !any; i++) {
        lua_rawgeti(L, idx, i);
        kam_entity_field(L, -1, fi);
        any = !lua_isnil(L, -1);
        lua_pop(L, 2);
      }
      if (any) cols[ncol++] = fi;
    }
  }
  grid g;
  grid_init(&g, ncol, n + 1);
  for (int ci = 0; ci < ncol; ci++) {
    kbuf_str(&g.cells[ci], c->fields[cols[ci]].name);
    ftype t = c->fields[cols[ci]].type;
    g.right[ci] = t == FT_INT || t == FT_MONEY || t == FT_NUMBER;
  }
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    int e = lua_gettop(L);
    for (int ci = 0; ci < ncol; ci++) {
      kam_entity_field(L, e, cols[ci]);
      cell_text(L, -1, &g.cells[i * ncol + ci], c->fields[cols[ci]].type, o->fmt == FMT_TABLE);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  grid_print(&g, o, f);
  if (o->fmt == FMT_TABLE) fprintf(f, "(%d %s)\n", n, n == 1 ? "row" : "rows");
  grid_free(&g);
  free(cols);
}

static void out_entity_vertical(lua_State *L, int idx, const out_opts *o, FILE *f) {
  const coll_def *c = kam_entity_coll(L, idx);
  grid g;
  grid_init(&g, 2, c->nfields + 1);
  kbuf_str(&g.cells[0], "field");
  kbuf_str(&g.cells[1], "value");
  int r = 1;
  for (int i = 0; i < c->nfields; i++) {
    kam_entity_field(L, idx, i);
    if (!lua_isnil(L, -1)) {
      kbuf_str(&g.cells[r * 2], c->fields[i].name);
      cell_text(L, -1, &g.cells[r * 2 + 1], c->fields[i].type, 1);
      r++;
    }
    lua_pop(L, 1);
  }
  g.nrow = r;
  out_opts oo = *o;
  oo.headers = 0;
  oo.max_width = 100;
  grid_print(&g, &oo, f);
  g.nrow = c->nfields + 1;
  grid_free(&g);
}

static int all_entities(lua_State *L, int idx, const coll_def **c) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  *c = NULL;
  if (n == 0) return 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    int ok = kam_is_entity(L, -1);
    if (ok && !*c) *c = kam_entity_coll(L, -1);
    else if (ok && *c != kam_entity_coll(L, -1)) ok = 0;
    lua_pop(L, 1);
    if (!ok) return 0;
  }
  return 1;
}

void out_records(lua_State *L, int idx, int cols, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  cols = lua_absindex(L, cols);
  if (o->fmt == FMT_JSON || o->fmt == FMT_LUA || o->fmt == FMT_YAML) { out_value(L, idx, o, f); return; }
  int n = (int)lua_rawlen(L, idx), ncol = (int)lua_rawlen(L, cols);
  grid g;
  grid_init(&g, ncol, n + 1);
  for (int ci = 0; ci < ncol; ci++) {
    lua_rawgeti(L, cols, ci + 1);
    cell_text(L, -1, &g.cells[ci], FT_STRING, 0);
    lua_pop(L, 1);
    g.right[ci] = 1;
  }
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    for (int ci = 0; ci < ncol; ci++) {
      lua_rawgeti(L, cols, ci + 1);
      lua_gettable(L, -2);
      if (lua_type(L, -1) != LUA_TNUMBER && !lua_isnil(L, -1)) g.right[ci] = 0;
      cell_text(L, -1, &g.cells[i * ncol + ci], FT_NUMBER, o->fmt == FMT_TABLE);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  grid_print(&g, o, f);
  grid_free(&g);
}

static int cmp_keys(const void *a, const void *b) {
  const kbuf *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

void out_value(lua_State *L, int idx, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  if (o->fmt == FMT_JSON || o->fmt == FMT_LUA) {
    kbuf b = {0};
    json_lua(L, idx, &b, 0);
    kbuf_byte(&b, '\n');
    fwrite(b.p, 1, b.len, f);
    kbuf_free(&b);
    return;
  }
  if (kam_is_query(L, idx)) {
    const coll_def *c = kam_query_coll(L, idx);
    kam_query_list(L, idx);
    out_entities(L, -1, c, o, f);
    lua_pop(L, 1);
    return;
  }
  if (kam_is_entity(L, idx)) {
    if (o->fmt == FMT_CSV || o->fmt == FMT_YAML) {
      lua_createtable(L, 1, 0);
      lua_pushvalue(L, idx);
      lua_rawseti(L, -2, 1);
      out_entities(L, -1, kam_entity_coll(L, idx), o, f);
      lua_pop(L, 1);
    } else {
      out_entity_vertical(L, idx, o, f);
    }
    return;
  }
  if (lua_istable(L, idx)) {
    const coll_def *c;
    if (all_entities(L, idx, &c)) { out_entities(L, idx, c, o, f); return; }
    if (is_array(L, idx)) {
      lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
      /* a list of records: columns from their keys, in first-seen order */
      int records = n > 0;
      for (lua_Integer i = 1; i <= n && records; i++) {
        lua_rawgeti(L, idx, i);
        records = lua_istable(L, -1) && !is_array(L, lua_gettop(L));
        lua_pop(L, 1);
      }
      if (records) {
        lua_newtable(L); /* key -> column */
        int keys = lua_gettop(L), ncol = 0;
        lua_newtable(L); /* column -> key */
        int names = keys + 1;
        for (lua_Integer i = 1; i <= n; i++) {
          lua_rawgeti(L, idx, i);
          lua_pushnil(L);
          while (lua_next(L, -2)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            if (lua_rawget(L, keys) == LUA_TNIL) {
              lua_pushvalue(L, -2); lua_pushinteger(L, ++ncol); lua_rawset(L, keys);
              lua_pushvalue(L, -2); lua_rawseti(L, names, ncol);
            }
            lua_pop(L, 1);
          }
          lua_pop(L, 1);
        }
        grid g;
        grid_init(&g, ncol, (int)n + 1);
        for (int ci = 0; ci < ncol; ci++) {
          lua_rawgeti(L, names, ci + 1);
          cell_text(L, -1, &g.cells[ci], FT_STRING, 0);
          lua_pop(L, 1);
          g.right[ci] = 1;
        }
        for (lua_Integer i = 1; i <= n; i++) {
          lua_rawgeti(L, idx, i);
          for (int ci = 0; ci < ncol; ci++) {
            lua_rawgeti(L, names, ci + 1);
            lua_rawget(L, -2);
            if (lua_type(L, -1) != LUA_TNUMBER && !lua_isnil(L, -1)) g.right[ci] = 0;
            cell_text(L, -1, &g.cells[i * ncol + ci], FT_NUMBER, o->fmt == FMT_TABLE);
            lua_pop(L, 1);
          }
          lua_pop(L, 1);
        }
        grid_print(&g, o, f);
        grid_free(&g);
        lua_pop(L, 2);
        return;
      }
      for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        out_value(L, -1, o, f);
        lua_pop(L, 1);
      }
      return;
    }
    /* a map: key / value rows, sorted by key */
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { n++; lua_pop(L, 1); }
    kbuf *keys = calloc((size_t)n + 1, sizeof *keys);
    int i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      cell_text(L, -1, &keys[i++], FT_STRING, 0);
      lua_pop(L, 1);
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_keys);
    grid g;
    grid_init(&g, 2, n + 1);
    kbuf_str(&g.cells[0], "key");
    kbuf_str(&g.cells[1], "value");
    g.right[1] = 1;
    for (i = 0; i < n; i++) {
      kbuf_put(&g.cells[(i + 1) * 2], keys[i].p, keys[i].len);
      lua_pushlstring(L, (const char *)keys[i].p, keys[i].len);
      if (lua_rawget(L, idx) == LUA_TNIL) { /* a number key */
        lua_pop(L, 1);
        lua_pushlstring(L, (const char *)keys[i].p, keys[i].len);
        lua_Number num = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (num == floor(num)) lua_pushinteger(L, (lua_Integer)num); else lua_pushnumber(L, num);
        lua_rawget(L, idx);
      }
      if (lua_type(L, -1) != LUA_TNUMBER) g.right[1] = 0;
      cell_text(L, -1, &g.cells[(i + 1) * 2 + 1], FT_NUMBER, o->fmt == FMT_TABLE);
      lua_pop(L, 1);
    }
    grid_print(&g, o, f);
    grid_free(&g);
    for (i = 0; i < n; i++) kbuf_free(&keys[i]);
    free(keys);
    return;
  }
  kbuf b = {0};
  cell_text(L, idx, &b, FT_STRING, 0);
  kbuf_byte(&b, '\n');
  fwrite(b.p, 1, b.len, f);
  kbuf_free(&b);
}
