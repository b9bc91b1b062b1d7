/* out_grid.c — cells and grids: values as cell text, and rows of cells as
 * an aligned table (display columns of UTF-8, cut with …, fitted to the
 * terminal) or as CSV. Lists of records and maps print through here. See
 * out_internal.h. */
#include "out_internal.h"
#include "lua_db.h"
#include "lua_agg.h"
#include "fmt.h"
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- display width ------------------------------------------------------ */

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

/* ---- cells ----------------------------------------------------------------- */

void out_cell_text(lua_State *L, int idx, kbuf *b, ftype t, int human) {
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
    if (kam_is_entity(L, idx)) { kam_entity_field(L, idx, F_ID); out_cell_text(L, -1, b, FT_STRING, human); lua_pop(L, 1); break; }
    /* fallthrough */
  default:
    if (lua_istable(L, idx) && human) { /* nested tables read as Lua */
      lua_newtable(L);
      if (!out_lua_inline(L, idx, b, 200, lua_gettop(L), 1)) kbuf_str(b, "\xe2\x80\xa6");
      lua_pop(L, 1);
      break;
    }
    if (lua_istable(L, idx)) { out_json_lua(L, idx, b, 1); break; }
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

void grid_init(grid *g, int ncol, int nrow) {
  g->ncol = ncol;
  g->nrow = nrow;
  g->cells = calloc((size_t)(ncol * nrow) + 1, sizeof *g->cells);
  g->right = calloc((size_t)ncol + 1, sizeof *g->right);
}

void grid_free(grid *g) {
  for (int i = 0; i < g->ncol * g->nrow; i++) kbuf_free(&g->cells[i]);
  free(g->cells);
  free(g->right);
}

/* Fits the columns into width: each column in order takes its least width
 * (a number all of it, text up to 12) while it fits; what is left widens
 * the shown text columns from the left. Returns how many columns show. */
static int grid_fit(const grid *g, size_t *w, size_t width) {
  size_t total = 0;
  int shown = 0;
  for (int c = 0; c < g->ncol; c++) {
    size_t least = g->right[c] || w[c] < 12 ? w[c] : 12;
    size_t need = least + (c ? 2 : 0);
    if (c && total + need > width) break;
    total += need;
    shown++;
  }
  size_t left = width > total ? width - total : 0;
  for (int c = 0; c < shown; c++) {
    size_t least = g->right[c] || w[c] < 12 ? w[c] : 12;
    size_t more = w[c] - least;
    if (more > left) more = left;
    w[c] = least + more;
    left -= more;
  }
  if (total > width && w[0] > width) w[0] = width; /* one column wider than the screen */
  return shown;
}

void grid_print(grid *g, const out_opts *o, FILE *f) {
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
  int ncol = g->ncol;
  if (out_fit_width() > 0 && o->fmt == FMT_TABLE) ncol = grid_fit(g, w, (size_t)out_fit_width());
  kbuf line = {0};
  for (int r = o->headers ? 0 : 1; r < g->nrow; r++) {
    kbuf_reset(&line);
    for (int c = 0; c < ncol; c++) {
      kbuf *cell = &g->cells[r * g->ncol + c];
      int cut;
      size_t n = utf8_cut((const char *)cell->p, cell->len, w[c], &cut);
      size_t cw = utf8_width((const char *)cell->p, n) + (size_t)cut;
      size_t pad = w[c] > cw ? w[c] - cw : 0;
      if (c) kbuf_str(&line, "  ");
      if (g->right[c] && r > 0) for (size_t k = 0; k < pad; k++) kbuf_byte(&line, ' ');
      kbuf_put(&line, cell->p, n);
      if (cut) kbuf_str(&line, "\xe2\x80\xa6");
      if (!(g->right[c] && r > 0) && c < ncol - 1) for (size_t k = 0; k < pad; k++) kbuf_byte(&line, ' ');
    }
    while (line.len && line.p[line.len - 1] == ' ') line.len--;
    kbuf_byte(&line, '\n');
    fwrite(line.p, 1, line.len, f);
    if (r == 0) { /* a rule under the header */
      kbuf_reset(&line);
      for (int c = 0; c < ncol; c++) {
        if (c) kbuf_str(&line, "  ");
        for (size_t k = 0; k < w[c]; k++) kbuf_str(&line, "\xe2\x94\x80");
      }
      kbuf_byte(&line, '\n');
      fwrite(line.p, 1, line.len, f);
    }
  }
  if (ncol < g->ncol) { /* say what the terminal could not hold */
    kbuf_reset(&line);
    kbuf_printf(&line, "(%d more column%s not shown:", g->ncol - ncol, g->ncol - ncol == 1 ? "" : "s");
    for (int c = ncol; c < g->ncol; c++) {
      kbuf_str(&line, c > ncol ? ", " : " ");
      kbuf_put(&line, g->cells[c].p, g->cells[c].len);
    }
    kbuf_str(&line, ")\n");
    fwrite(line.p, 1, line.len, f);
  }
  kbuf_free(&line);
  free(w);
}

/* ---- records and maps ------------------------------------------------- */

/* Cells are read raw, as a list of records finds its columns (lua_next). */
void grid_records(lua_State *L, int idx, lua_Integer n, int names, int ncol, const out_opts *o, FILE *f) {
  grid g;
  grid_init(&g, ncol, (int)n + 1);
  for (int ci = 0; ci < ncol; ci++) {
    lua_rawgeti(L, names, ci + 1);
    out_cell_text(L, -1, &g.cells[ci], FT_STRING, 0);
    lua_pop(L, 1);
    g.right[ci] = 1;
  }
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    for (int ci = 0; ci < ncol; ci++) {
      lua_rawgeti(L, names, ci + 1);
      lua_rawget(L, -2);
      if (lua_type(L, -1) != LUA_TNUMBER && !lua_isnil(L, -1)) g.right[ci] = 0;
      out_cell_text(L, -1, &g.cells[i * ncol + ci], FT_NUMBER, o->fmt == FMT_TABLE);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  grid_print(&g, o, f);
  grid_free(&g);
}

int grid_record_list(lua_State *L, int idx, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  int records = n > 0;
  for (lua_Integer i = 1; i <= n && records; i++) {
    lua_rawgeti(L, idx, i);
    records = lua_istable(L, -1) && !out_is_array(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  if (!records) return 0;
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
  grid_records(L, idx, n, names, ncol, o, f);
  lua_pop(L, 2);
  return 1;
}

static int cmp_keys(const void *a, const void *b) {
  const kbuf *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Keys sort as their cell text, bytewise; each key's value is found again
 * from that text (a number key when the string key is absent). */
void grid_map(lua_State *L, int idx, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) { n++; lua_pop(L, 1); }
  kbuf *keys = calloc((size_t)n + 1, sizeof *keys);
  int i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    out_cell_text(L, -1, &keys[i++], FT_STRING, 0);
    lua_pop(L, 1);
  }
  qsort(keys, (size_t)n, sizeof *keys, cmp_keys);
  grid g;
  grid_init(&g, 2, n + 1);
  kbuf_str(&g.cells[0], "key");
  kbuf_str(&g.cells[1], "value");
  g.right[1] = 1;
  ftype vt = o->fmt == FMT_TABLE && kam_agg_money(L, idx) ? FT_MONEY : FT_NUMBER; /* group() of a money field */
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
    out_cell_text(L, -1, &g.cells[(i + 1) * 2 + 1], vt, o->fmt == FMT_TABLE);
    lua_pop(L, 1);
  }
  grid_print(&g, o, f);
  grid_free(&g);
  for (i = 0; i < n; i++) kbuf_free(&keys[i]);
  free(keys);
}

/* ---- a group() result over several keys or aggregates, a row per leaf ---- */

/* The rows are gathered in Lua memory first (a list of {key text..., leaf})
 * and sorted there, so that nothing C allocated is held while Lua may raise
 * (out of memory); the grid is made after. */
typedef struct glay {
  int depth;   /* key levels, 1 to 4 */
  int rows;    /* stack slot of the rows */
  int n;       /* rows so far */
  int cols;    /* stack slot of the aggregate names (0: each leaf is the value) */
} glay;

/* Is the value at v a table whose aggregates (names in cols) are numbers,
 * texts (the min or max of a date) or absent? */
static int leaf_plain(lua_State *L, int v, int cols) {
  if (lua_type(L, v) != LUA_TTABLE) return 0;
  for (lua_Integer c = 1, n = (lua_Integer)lua_rawlen(L, cols); c <= n; c++) {
    lua_rawgeti(L, cols, c);
    int t = lua_rawget(L, v);
    lua_pop(L, 1);
    if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TNIL) return 0;
  }
  return 1;
}

/* Adds the leaves under the table at t, level keys down, to the rows.
 * 0 when the table is not shaped as its layout says (a script changed it):
 * then it prints as any map. */
static int group_gather(lua_State *L, glay *y, int t, int level, int path) {
  if (!lua_checkstack(L, 8)) return 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int kt = lua_type(L, -2), v = lua_gettop(L);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) { lua_pop(L, 2); return 0; }
    /* the path so far and this key's text, a new list */
    lua_createtable(L, y->depth + 1, 0);
    int row = lua_gettop(L);
    for (int k = 1; k <= level; k++) { lua_rawgeti(L, path, k); lua_rawseti(L, row, k); }
    if (kt == LUA_TBOOLEAN) lua_pushstring(L, lua_toboolean(L, -3) ? "true" : "false");
    else { lua_pushvalue(L, -3); lua_tolstring(L, -1, NULL); } /* a copy: lua_next's key stays as it was */
    lua_rawseti(L, row, level + 1);
    int ok;
    if (level + 1 < y->depth) ok = lua_type(L, v) == LUA_TTABLE && group_gather(L, y, v, level + 1, row);
    else if (y->cols ? !leaf_plain(L, v, y->cols) : lua_type(L, v) != LUA_TNUMBER) ok = 0;
    else {
      lua_pushvalue(L, v);
      lua_rawseti(L, row, y->depth + 1);
      lua_pushvalue(L, row);
      lua_rawseti(L, y->rows, ++y->n);
      ok = 1;
    }
    lua_settop(L, v - 1); /* the key, for lua_next */
    if (!ok) { lua_pop(L, 1); return 0; }
  }
  return 1;
}

/* rows[a] against rows[b], key text by key text */
static int row_cmp(lua_State *L, const glay *y, int a, int b) {
  int c = 0;
  lua_rawgeti(L, y->rows, a);
  lua_rawgeti(L, y->rows, b);
  for (int k = 1; k <= y->depth && !c; k++) {
    size_t la, lb;
    lua_rawgeti(L, -2, k);
    lua_rawgeti(L, -2, k);
    const char *sa = lua_tolstring(L, -2, &la), *sb = lua_tolstring(L, -1, &lb); /* strings already: no allocation */
    c = memcmp(sa, sb, la < lb ? la : lb);
    if (!c) c = (la > lb) - (la < lb);
    lua_pop(L, 2);
  }
  lua_pop(L, 2);
  return c;
}

/* A stable merge sort of the row numbers in ix (tmp as long), in Lua-owned memory. */
static void rows_sort(lua_State *L, const glay *y, int *ix, int *tmp, int n) {
  for (int w = 1; w < n; w *= 2) {
    for (int lo = 0; lo < n; lo += 2 * w) {
      int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n, a = lo, b = mid, k = lo;
      while (a < mid && b < hi) tmp[k++] = row_cmp(L, y, ix[a], ix[b]) <= 0 ? ix[a++] : ix[b++];
      while (a < mid) tmp[k++] = ix[a++];
      while (b < hi) tmp[k++] = ix[b++];
    }
    memcpy(ix, tmp, sizeof *ix * (size_t)n);
  }
}

int grid_group(lua_State *L, int idx, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  if (!lua_checkstack(L, 16) || !kam_group_layout(L, idx)) return 0;
  int lay = lua_gettop(L), human = o->fmt == FMT_TABLE;
  glay y = {0};
  lua_getfield(L, lay, "keys");
  int keys = lua_gettop(L);
  y.depth = lua_type(L, keys) == LUA_TTABLE ? (int)lua_rawlen(L, keys) : 0;
  if (lua_getfield(L, lay, "cols") == LUA_TTABLE) y.cols = lua_gettop(L);
  int money = lua_getfield(L, lay, "money") == LUA_TTABLE ? lua_gettop(L) : 0;
  lua_getfield(L, lay, "value_money");
  int vmoney = lua_toboolean(L, -1);
  lua_newtable(L);
  y.rows = lua_gettop(L);
  int done = 0;
  if (y.depth >= 1 && y.depth <= 4 && group_gather(L, &y, idx, 0, 0) && y.n) {
    int ncol = y.depth + (y.cols ? (int)lua_rawlen(L, y.cols) : 1);
    int *ix = lua_newuserdatauv(L, sizeof *ix * (size_t)y.n * 2, 0), *tmp = ix + y.n;
    for (int i = 0; i < y.n; i++) ix[i] = i + 1;
    rows_sort(L, &y, ix, tmp, y.n);
    /* from here Lua is only read: no allocation while the grid is held */
    grid g;
    grid_init(&g, ncol, y.n + 1);
    for (int k = 0; k < y.depth; k++) {
      lua_rawgeti(L, keys, k + 1);
      if (lua_type(L, -1) == LUA_TSTRING) out_cell_text(L, -1, &g.cells[k], FT_STRING, 0);
      lua_pop(L, 1);
    }
    for (int c = y.depth; c < ncol; c++) {
      g.right[c] = 1;
      if (!y.cols) { kbuf_str(&g.cells[c], "value"); continue; }
      lua_rawgeti(L, y.cols, c - y.depth + 1);
      if (lua_type(L, -1) == LUA_TSTRING) out_cell_text(L, -1, &g.cells[c], FT_STRING, 0);
      lua_pop(L, 1);
    }
    for (int r = 1; r <= y.n; r++) {
      lua_rawgeti(L, y.rows, ix[r - 1]);
      for (int k = 0; k < y.depth; k++) {
        lua_rawgeti(L, -1, k + 1);
        out_cell_text(L, -1, &g.cells[r * ncol + k], FT_STRING, 0);
        lua_pop(L, 1);
      }
      lua_rawgeti(L, -1, y.depth + 1);
      int leaf = lua_gettop(L);
      if (!y.cols) out_cell_text(L, leaf, &g.cells[r * ncol + y.depth], vmoney ? FT_MONEY : FT_NUMBER, human);
      else
        for (int c = y.depth; c < ncol; c++) {
          lua_rawgeti(L, y.cols, c - y.depth + 1);
          int m = 0;
          if (money && lua_type(L, -1) == LUA_TSTRING) { lua_pushvalue(L, -1); m = lua_rawget(L, money) != LUA_TNIL; lua_pop(L, 1); }
          if (lua_rawget(L, leaf) == LUA_TSTRING) g.right[c] = 0; /* a date's min or max */
          out_cell_text(L, -1, &g.cells[r * ncol + c], m ? FT_MONEY : FT_NUMBER, human);
          lua_pop(L, 1);
        }
      lua_pop(L, 2);
    }
    grid_print(&g, o, f);
    grid_free(&g);
    done = 1;
  }
  lua_settop(L, lay - 1);
  return done;
}
