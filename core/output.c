/* output.c — see output.h. */
#include "output.h"
#include "lua_db.h"
#include "fmt.h"
#include "budget.h"
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const out_fmt_names[] = {"table", "json", "csv", "yaml", "lua", NULL};

static int fit_width; /* see out_set_width */
void out_set_width(int cols) { fit_width = cols > 0 ? cols : 0; }

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

/* the shortest of %.15g and %.17g that reads back as the same number */
static void json_num(kbuf *b, double d) {
  if (!isfinite(d)) { kbuf_str(b, "null"); return; }
  if (d == floor(d) && fabs(d) < 1e15) { kbuf_printf(b, "%.0f", d); return; }
  char s[40];
  snprintf(s, sizeof s, "%.15g", d);
  if (strtod(s, NULL) != d) snprintf(s, sizeof s, "%.17g", d);
  kbuf_str(b, s);
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

/* ---- what can be printed ------------------------------------------------ */

/* A script's result is checked before any of it is formatted: the
 * formatters allocate as they go and recurse, so a value that nests too
 * deep, contains itself or explodes through shared subtables must be
 * refused before either happens. */
#define OUT_MAX_DEPTH 32
#define OUT_MAX_VALUES 2000000

typedef struct { int seen; long values; } check_state;

static void check_at(lua_State *L, int idx, check_state *cs, int depth) {
  idx = lua_absindex(L, idx);
  if ((++cs->values & 4095) == 0) sandbox_poll(L);
  if (cs->values > OUT_MAX_VALUES)
    luaL_error(L, "the result is too large to print (more than %d values)", OUT_MAX_VALUES);
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
  check_state cs = {0, 0};
  lua_newtable(L);
  cs.seen = lua_gettop(L);
  check_at(L, idx, &cs, 0);
  lua_pop(L, 1);
}

/* table.sort as kam loaded it: a script may replace the global `table` */
static void push_sort(lua_State *L) { lua_getfield(L, LUA_REGISTRYINDEX, "kam.sort"); }

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
      push_sort(L);
      lua_pushvalue(L, keys);
      lua_pushcfunction(L, key_less);
      lua_call(L, 2, 0);
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

/* ---- Lua values as Lua, and as YAML ------------------------------------------ */

/* Pushes the items of a table-like value as two lists, keys (false for an
 * array item) and values: an entity's fields in schema order, a query's
 * rows, a table's array part then its other keys sorted (through __pairs,
 * so read-only proxies such as kam.config show their contents). */
static void push_items(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 8, "output nesting");
  lua_newtable(L);
  int keys = lua_gettop(L);
  lua_newtable(L);
  int vals = keys + 1;
  lua_Integer n = 0;
  if (kam_is_entity(L, idx)) {
    const coll_def *c = kam_entity_coll(L, idx);
    for (int i = 0; i < c->nfields; i++) {
      kam_entity_field(L, idx, i);
      if (lua_isnil(L, -1)) { lua_pop(L, 1); continue; }
      lua_rawseti(L, vals, ++n);
      lua_pushstring(L, c->fields[i].name);
      lua_rawseti(L, keys, n);
    }
    return;
  }
  if (kam_is_query(L, idx)) {
    kam_query_list(L, idx);
    lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= m; i++) {
      lua_rawgeti(L, -1, i);
      lua_rawseti(L, vals, i);
      lua_pushboolean(L, 0);
      lua_rawseti(L, keys, i);
    }
    lua_pop(L, 1);
    return;
  }
  if (luaL_getmetafield(L, idx, "__pairs") != LUA_TNIL) {
    lua_pushvalue(L, idx);
    lua_call(L, 1, 3);
    int it = lua_gettop(L) - 2;
    for (;;) {
      lua_pushvalue(L, it);
      lua_pushvalue(L, it + 1);
      lua_pushvalue(L, it + 2);
      lua_call(L, 2, 1);
      if (lua_isnil(L, -1)) { lua_pop(L, 1); break; }
      lua_pushvalue(L, -1);
      lua_rawseti(L, keys, ++n);
      lua_replace(L, it + 2);
    }
    lua_pop(L, 3);
  } else {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_rawseti(L, keys, ++n);
    }
  }
  lua_pushnil(L);
  push_sort(L);
  {
    lua_pushvalue(L, keys);
    lua_pushcfunction(L, key_less);
    lua_call(L, 2, 0);
    lua_pop(L, 1);
  }
  lua_Integer arr = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_gettable(L, idx);
    lua_rawseti(L, vals, i);
    if (arr == i - 1 && lua_isinteger(L, -1) && lua_tointeger(L, -1) == i) {
      arr = i;
      lua_pushboolean(L, 0);
      lua_rawseti(L, keys, i);
    }
    lua_pop(L, 1);
  }
}

static int is_collection(lua_State *L, int idx) {
  return lua_istable(L, idx) || kam_is_entity(L, idx) || kam_is_query(L, idx);
}

static int is_ident(const char *s, size_t n) {
  static const char *const kw[] = {"and", "break", "do", "else", "elseif", "end", "false", "for",
                                   "function", "goto", "if", "in", "local", "nil", "not", "or",
                                   "repeat", "return", "then", "true", "until", "while", NULL};
  if (!n || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) return 0;
  for (int i = 0; kw[i]; i++) if (strlen(kw[i]) == n && !memcmp(kw[i], s, n)) return 0;
  return 1;
}

static void lua_quote(kbuf *b, const char *s, size_t n) {
  kbuf_byte(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { kbuf_byte(b, '\\'); kbuf_byte(b, c); }
    else if (c == '\n') kbuf_str(b, "\\n");
    else if (c == '\t') kbuf_str(b, "\\t");
    else if (c == '\r') kbuf_str(b, "\\r");
    else if (c < 0x20 || c == 0x7f) kbuf_printf(b, "\\%d", c);
    else kbuf_byte(b, c);
  }
  kbuf_byte(b, '"');
}

static void lua_scalar(lua_State *L, int idx, kbuf *b) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: kbuf_str(b, "nil"); return;
  case LUA_TBOOLEAN: kbuf_str(b, lua_toboolean(L, idx) ? "true" : "false"); return;
  case LUA_TNUMBER:
    if (!lua_isinteger(L, idx)) {
      double d = lua_tonumber(L, idx);
      if (d != d) { kbuf_str(b, "0/0"); return; }
      if (isinf(d)) { kbuf_str(b, d > 0 ? "math.huge" : "-math.huge"); return; }
    }
    break;
  case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(L, idx, &n); lua_quote(b, s, n); return; }
  default: break;
  }
  size_t n;
  const char *s = luaL_tolstring(L, idx, &n);
  if (lua_type(L, idx) != LUA_TNUMBER) kbuf_byte(b, '<');
  kbuf_put(b, s, n);
  if (lua_type(L, idx) != LUA_TNUMBER) kbuf_byte(b, '>');
  lua_pop(L, 1);
}

static void lua_key(lua_State *L, int idx, kbuf *b) {
  size_t n;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, idx, &n);
    if (is_ident(s, n)) { kbuf_put(b, s, n); return; }
  }
  kbuf_byte(b, '[');
  lua_scalar(L, idx, b);
  kbuf_byte(b, ']');
}

/* Marks the table at idx as being printed (seen is a stack index); returns 0
 * for a table already on the way down (a cycle). */
static int enter(lua_State *L, int idx, int seen, int on) {
  if (!lua_istable(L, idx)) return 1;
  if (on) {
    lua_pushvalue(L, idx);
    int was = lua_rawget(L, seen) != LUA_TNIL;
    lua_pop(L, 1);
    if (was) return 0;
  }
  lua_pushvalue(L, idx);
  if (on) lua_pushboolean(L, 1); else lua_pushnil(L);
  lua_rawset(L, seen);
  return 1;
}

/* Writes the value on one line; returns 0 when it grew past limit columns
 * (bytes bound the work; display columns decide). */
static int lua_inline(lua_State *L, int idx, kbuf *b, size_t limit, int seen, int depth) {
  idx = lua_absindex(L, idx);
  size_t start = b->len;
  if (!is_collection(L, idx)) {
    lua_scalar(L, idx, b);
    return b->len - start <= limit || utf8_width((const char *)b->p + start, b->len - start) <= limit;
  }
  if (depth > 16) { kbuf_str(b, "{...}"); return 1; }
  if (!enter(L, idx, seen, 1)) { kbuf_str(b, "<cycle>"); return 1; }
  push_items(L, idx);
  int keys = lua_gettop(L) - 1;
  lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
  kbuf_byte(b, '{');
  int ok = 1;
  for (lua_Integer i = 1; i <= n && ok; i++) {
    if (i > 1) kbuf_str(b, ", ");
    lua_rawgeti(L, keys, i);
    if (lua_toboolean(L, -1)) { lua_key(L, lua_gettop(L), b); kbuf_str(b, " = "); }
    lua_pop(L, 1);
    lua_rawgeti(L, keys + 1, i);
    ok = lua_inline(L, -1, b, limit, seen, depth + 1) && b->len - start <= 4 * limit;
    lua_pop(L, 1);
  }
  kbuf_byte(b, '}');
  lua_pop(L, 2);
  enter(L, idx, seen, 0);
  return ok && utf8_width((const char *)b->p + start, b->len - start) <= limit;
}

static void pad(kbuf *b, int n) { for (int i = 0; i < n; i++) kbuf_byte(b, ' '); }

static void lua_block(lua_State *L, int idx, kbuf *b, int indent, int avail, int width, int seen, int depth) {
  idx = lua_absindex(L, idx);
  size_t start = b->len;
  if (!is_collection(L, idx)) { lua_scalar(L, idx, b); return; } /* a long string stays whole */
  if (lua_inline(L, idx, b, avail > 20 ? (size_t)avail : 20, seen, depth)) return;
  b->len = start;
  if (!enter(L, idx, seen, 1)) { kbuf_str(b, "<cycle>"); return; }
  push_items(L, idx);
  int keys = lua_gettop(L) - 1;
  lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
  kbuf_str(b, "{\n");
  for (lua_Integer i = 1; i <= n; i++) {
    pad(b, indent + 2);
    size_t k0 = b->len;
    lua_rawgeti(L, keys, i);
    if (lua_toboolean(L, -1)) { lua_key(L, lua_gettop(L), b); kbuf_str(b, " = "); }
    lua_pop(L, 1);
    lua_rawgeti(L, keys + 1, i);
    lua_block(L, -1, b, indent + 2, width - indent - 3 - (int)(b->len - k0), width, seen, depth + 1);
    lua_pop(L, 1);
    kbuf_str(b, ",\n");
  }
  pad(b, indent);
  kbuf_byte(b, '}');
  lua_pop(L, 2);
  enter(L, idx, seen, 0);
}

void lua_text(lua_State *L, int idx, kbuf *b, int width) {
  idx = lua_absindex(L, idx);
  if (width <= 0) width = 100;
  lua_newtable(L);
  lua_block(L, idx, b, 0, width, width, lua_gettop(L), 0);
  lua_pop(L, 1);
}

static void yaml_scalar(lua_State *L, int idx, kbuf *b) {
  if (lua_isnil(L, idx)) kbuf_str(b, "null");
  else json_lua(L, idx, b, 1); /* JSON scalars are YAML flow scalars */
}

static void yaml_key(lua_State *L, int idx, kbuf *b) {
  size_t n;
  const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &n) : NULL;
  if (s && is_ident(s, n)) kbuf_put(b, s, n);
  else if (s) json_str(b, s, n);
  else yaml_scalar(L, idx, b);
}

/* A non-empty collection as a YAML block; the first line's indentation is
 * already written when first_inline (after "- "). */
static void yaml_block(lua_State *L, int idx, kbuf *b, int indent, int first_inline, int seen, int depth) {
  idx = lua_absindex(L, idx);
  if (depth > 32 || !enter(L, idx, seen, 1)) { kbuf_str(b, "null\n"); return; }
  push_items(L, idx);
  int keys = lua_gettop(L) - 1;
  lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1 || !first_inline) pad(b, indent);
    lua_rawgeti(L, keys, i);
    int is_item = !lua_toboolean(L, -1);
    if (is_item) kbuf_str(b, "- ");
    else { yaml_key(L, lua_gettop(L), b); kbuf_byte(b, ':'); }
    lua_pop(L, 1);
    lua_rawgeti(L, keys + 1, i);
    int v = lua_gettop(L);
    int empty = 0;
    if (lua_istable(L, v)) { lua_pushnil(L); empty = !lua_next(L, v); if (!empty) lua_pop(L, 2); }
    if (!is_collection(L, v) || empty) {
      if (!is_item) kbuf_byte(b, ' ');
      if (empty) kbuf_str(b, "[]");
      else yaml_scalar(L, v, b);
      kbuf_byte(b, '\n');
    } else if (is_item) yaml_block(L, v, b, indent + 2, 1, seen, depth + 1);
    else { kbuf_byte(b, '\n'); yaml_block(L, v, b, indent + 2, 0, seen, depth + 1); }
    lua_pop(L, 1);
  }
  if (!n) kbuf_str(b, "[]\n");
  lua_pop(L, 2);
  enter(L, idx, seen, 0);
}

static void yaml_value(lua_State *L, int idx, kbuf *b) {
  idx = lua_absindex(L, idx);
  if (!is_collection(L, idx)) { yaml_scalar(L, idx, b); kbuf_byte(b, '\n'); return; }
  lua_newtable(L);
  yaml_block(L, idx, b, 0, 0, lua_gettop(L), 0);
  lua_pop(L, 1);
}

/* Does a nested table of the map at idx (of the records, for a list of
 * records) need more than a cell? */
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
      wide = !lua_inline(L, -1, &t, cell, seen, 1);
    }
    lua_pop(L, 1);
  }
  if (wide) lua_pop(L, 1); /* the key lua_next left */
  lua_pop(L, 1);
  kbuf_free(&t);
  return wide;
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
    if (lua_istable(L, idx) && human) { /* nested tables read as Lua */
      lua_newtable(L);
      if (!lua_inline(L, idx, b, 200, lua_gettop(L), 1)) kbuf_str(b, "\xe2\x80\xa6");
      lua_pop(L, 1);
      break;
    }
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
  int ncol = g->ncol;
  if (fit_width > 0 && o->fmt == FMT_TABLE) ncol = grid_fit(g, w, (size_t)fit_width);
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

/* The n records of the list at idx as a grid; names (a stack index) lists
 * the ncol keys in column order. */
static void records_grid(lua_State *L, int idx, lua_Integer n, int names, int ncol, const out_opts *o, FILE *f) {
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
}

void out_rows(lua_State *L, int idx, const char *const *cols, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  if (o->fmt != FMT_TABLE && o->fmt != FMT_CSV) { out_value(L, idx, o, f); return; }
  lua_newtable(L);
  int names = lua_gettop(L), ncol = 0;
  for (; cols[ncol]; ncol++) { lua_pushstring(L, cols[ncol]); lua_rawseti(L, names, ncol + 1); }
  records_grid(L, idx, (lua_Integer)lua_rawlen(L, idx), names, ncol, o, f);
  lua_pop(L, 1);
}

static int cmp_keys(const void *a, const void *b) {
  const kbuf *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int out_depth; /* lists of lists recurse through out_value */

void out_value(lua_State *L, int idx, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  if (out_depth == 0) out_check(L, idx);
  if (o->fmt == FMT_JSON || o->fmt == FMT_LUA) {
    kbuf b = {0};
    if (o->fmt == FMT_LUA) lua_text(L, idx, &b, fit_width > 0 ? fit_width : 100);
    else json_lua(L, idx, &b, 0);
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
    int proxy = luaL_getmetafield(L, idx, "__pairs") != LUA_TNIL; /* kam.config */
    if (proxy) lua_pop(L, 1);
    if (o->fmt == FMT_YAML || (o->fmt == FMT_TABLE && (proxy || nested_wide(L, idx, 60, is_array(L, idx))))) {
      kbuf b = {0};
      if (o->fmt == FMT_YAML) yaml_value(L, idx, &b);
      else { lua_text(L, idx, &b, fit_width > 0 ? fit_width : 100); kbuf_byte(&b, '\n'); }
      fwrite(b.p, 1, b.len, f);
      kbuf_free(&b);
      return;
    }
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
        records_grid(L, idx, n, names, ncol, o, f);
        lua_pop(L, 2);
        return;
      }
      out_depth++;
      for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        out_value(L, -1, o, f);
        lua_pop(L, 1);
      }
      out_depth--;
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
