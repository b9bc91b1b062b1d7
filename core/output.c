/* output.c — the entry points of output.h: the mode names, the check before
 * printing, and out_value's choice of how a value prints in each mode. The
 * formats are out_json.c, out_text.c (Lua and YAML), out_grid.c (table and
 * CSV) and out_entity.c; out_internal.h says what they share. */
#include "out_internal.h"
#include "lua_db.h"
#include "budget.h"
#include <lauxlib.h>
#include <string.h>

const char *const out_fmt_names[] = {"table", "json", "csv", "yaml", "lua", NULL};

int out_fmt_parse(const char *s, out_fmt *f) {
  for (int i = 0; out_fmt_names[i]; i++)
    if (!strcmp(out_fmt_names[i], s)) { *f = (out_fmt)i; return 1; }
  return 0;
}

static int fit_width; /* see out_set_width */
void out_set_width(int cols) { fit_width = cols > 0 ? cols : 0; }
int out_fit_width(void) { return fit_width; }

/* ---- what every format reads -------------------------------------------- */

int out_is_array(lua_State *L, int idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx), cnt = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) { cnt++; lua_pop(L, 1); }
  return cnt == n;
}

lua_Integer out_raw_keys(lua_State *L, int idx, int list, lua_Integer n) {
  idx = lua_absindex(L, idx);
  list = lua_absindex(L, list);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, list, ++n);
  }
  return n;
}

/* orders keys of any type: numbers before strings, then by value */
static int key_less(lua_State *L) {
  int ta = lua_type(L, 1), tb = lua_type(L, 2);
  if (ta != tb) { lua_pushboolean(L, ta < tb); return 1; }
  if (ta == LUA_TNUMBER || ta == LUA_TSTRING) { lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT)); return 1; }
  lua_pushboolean(L, 0);
  return 1;
}

/* A record's keys (a decision's id, name, result ...) are a few texts: sorted
 * here as Lua's `<` orders them (strcoll, as l_strcmp calls it on texts with
 * no NUL inside) without a call into Lua per comparison. 1: sorted; 0: the
 * list is long or holds something else. The texts stay alive in the list. */
#define SHORT_KEYS 32
static int sort_short_texts(lua_State *L, int list) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  if (n < 2 || n > SHORT_KEYS) return n < 2;
  const char *t[SHORT_KEYS];
  lua_Integer at[SHORT_KEYS];
  for (lua_Integer i = 0; i < n; i++) {
    size_t len;
    int ok = lua_rawgeti(L, list, i + 1) == LUA_TSTRING;
    t[i] = ok ? lua_tolstring(L, -1, &len) : NULL;
    lua_pop(L, 1); /* the list keeps the text */
    if (!ok || strlen(t[i]) != len) return 0;
    at[i] = i + 1;
  }
  for (lua_Integer i = 1; i < n; i++) { /* insertion: stable, and few keys */
    const char *x = t[i];
    lua_Integer xa = at[i], j = i;
    for (; j > 0 && strcoll(x, t[j - 1]) < 0; j--) t[j] = t[j - 1], at[j] = at[j - 1];
    t[j] = x, at[j] = xa;
  }
  luaL_checkstack(L, (int)n, "sorting keys");
  for (lua_Integer i = 0; i < n; i++) lua_rawgeti(L, list, at[i]);
  for (lua_Integer i = n; i >= 1; i--) lua_rawseti(L, list, i);
  return 1;
}

void out_sort_keys(lua_State *L, int list) {
  list = lua_absindex(L, list);
  if (sort_short_texts(L, list)) return;
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.sort");
  lua_pushvalue(L, list);
  lua_pushcfunction(L, key_less);
  lua_call(L, 2, 0);
}

/* ---- what can be printed ------------------------------------------------ */

/* A script's result is checked before any of it is formatted: the
 * formatters allocate as they go and recurse, so a value that nests too
 * deep, contains itself or explodes through shared subtables must be
 * refused before either happens. A table the heap holds takes more than
 * 4 bytes a value, so a result may print a quarter of the heap's bytes in
 * values (at least 2M): a whole book's explained decisions print, a few
 * small tables shared a million times over do not. */
#define OUT_MAX_DEPTH 32
#define OUT_MIN_VALUES 2000000L

typedef struct { int seen; long values, max; } check_state;

static void check_at(lua_State *L, int idx, check_state *cs, int depth) {
  idx = lua_absindex(L, idx);
  if ((++cs->values & 4095) == 0) sandbox_poll(L);
  if (cs->values > cs->max)
    luaL_error(L, "the result is too large to print (more than %I values)", (lua_Integer)cs->max);
  if (lua_type(L, idx) == LUA_TUSERDATA && kam_is_entity(L, idx)) {
    lua_getfield(L, idx, "id"); /* an entity whose snapshot ended says so now */
    lua_pop(L, 1);
    return;
  }
  if (!lua_istable(L, idx)) return;
  if (depth >= OUT_MAX_DEPTH)
    luaL_error(L, "the result nests tables deeper than %d levels", OUT_MAX_DEPTH);
  luaL_checkstack(L, 4, "output nesting");
  lua_pushvalue(L, idx);
  if (lua_rawget(L, cs->seen) != LUA_TNIL) luaL_error(L, "the result contains itself (a table inside itself)");
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, cs->seen);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    check_at(L, -2, cs, depth + 1);
    check_at(L, -1, cs, depth + 1);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, cs->seen);
}

void out_check(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx)) return;
  long heap = (long)lua_gc(L, LUA_GCCOUNT) * 1024 + lua_gc(L, LUA_GCCOUNTB);
  check_state cs = {0, 0, heap / 4 > OUT_MIN_VALUES ? heap / 4 : OUT_MIN_VALUES};
  lua_newtable(L);
  cs.seen = lua_gettop(L);
  check_at(L, idx, &cs, 0);
  lua_pop(L, 1);
}

/* ---- a value in each mode ----------------------------------------------- */

/* Does a nested table of the map at idx (of the records, for a list of
 * records) need more than a cell? Then the table mode prints Lua text. */
static int nested_wide(lua_State *L, int idx, size_t cell, int records) {
  int wide = 0;
  kbuf t = {0};
  lua_newtable(L);
  int seen = lua_gettop(L);
  lua_pushnil(L);
  while (!wide && lua_next(L, idx)) {
    if (lua_istable(L, -1) && records) wide = nested_wide(L, lua_gettop(L), cell, 0);
    else if (lua_istable(L, -1)) {
      kbuf_reset(&t);
      wide = !out_lua_inline(L, -1, &t, cell, seen, 1);
    }
    lua_pop(L, 1);
  }
  if (wide) lua_pop(L, 1); /* the key lua_next left */
  lua_pop(L, 1);
  kbuf_free(&t);
  return wide;
}

/* writes the text in b, then a newline when nl, and frees b */
static void put_text(kbuf *b, int nl, FILE *f) {
  if (nl) kbuf_byte(b, '\n');
  fwrite(b->p, 1, b->len, f);
  kbuf_free(b);
}

/* JSON and Lua text print any value alike; the table, CSV and YAML modes
 * choose by what the value is: entities and queries, a scalar, a map, a list
 * of records, any other list. */

static void print_value(lua_State *L, int idx, const out_opts *o, FILE *f) {
  kbuf b = {0};
  if (o->fmt == FMT_JSON) { out_json_lua(L, idx, &b, 0); put_text(&b, 1, f); return; }
  if (o->fmt == FMT_LUA) { lua_text(L, idx, &b, fit_width > 0 ? fit_width : 100); put_text(&b, 1, f); return; }
  if (out_entity_view(L, idx, o, f)) return;
  if (!lua_istable(L, idx)) { /* a number stays plain for the shell, but a total of money is read by people */
    int money = o->fmt == FMT_TABLE && kam_agg_money(L, idx);
    out_cell_text(L, idx, &b, money ? FT_MONEY : FT_STRING, money);
    put_text(&b, 1, f);
    return;
  }
  int proxy = luaL_getmetafield(L, idx, "__pairs") != LUA_TNIL; /* kam.config */
  if (proxy) lua_pop(L, 1);
  if (o->fmt == FMT_YAML) { out_yaml_value(L, idx, &b); put_text(&b, 0, f); return; }
  if (!proxy && grid_group(L, idx, o, f)) return;
  if (o->fmt == FMT_TABLE && (proxy || nested_wide(L, idx, 60, out_is_array(L, idx)))) {
    lua_text(L, idx, &b, fit_width > 0 ? fit_width : 100);
    put_text(&b, 1, f);
    return;
  }
  if (!out_is_array(L, idx)) { grid_map(L, idx, o, f); return; }
  if (grid_record_list(L, idx, o, f)) return;
  /* any other list: its items one after another */
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    print_value(L, lua_gettop(L), o, f);
    lua_pop(L, 1);
  }
}

/* Checked once as a whole, then printed: an error half way through a list
 * of lists leaves no state behind for the next value. */
void out_value(lua_State *L, int idx, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  out_check(L, idx);
  print_value(L, idx, o, f);
}

void out_rows(lua_State *L, int idx, const char *const *cols, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  if (o->fmt != FMT_TABLE && o->fmt != FMT_CSV) { out_value(L, idx, o, f); return; }
  lua_newtable(L);
  int names = lua_gettop(L), ncol = 0;
  for (; cols[ncol]; ncol++) { lua_pushstring(L, cols[ncol]); lua_rawseti(L, names, ncol + 1); }
  grid_records(L, idx, (lua_Integer)lua_rawlen(L, idx), names, ncol, o, f);
  lua_pop(L, 1);
}

void out_records(lua_State *L, int idx, int cols, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  cols = lua_absindex(L, cols);
  if (o->fmt != FMT_TABLE && o->fmt != FMT_CSV) { out_value(L, idx, o, f); return; }
  grid_records(L, idx, (lua_Integer)lua_rawlen(L, idx), cols, (int)lua_rawlen(L, cols), o, f);
}
