/* out_text.c — values as Lua text (the `lua` mode, and nested tables inside a
 * table's cells) and as YAML. Both walk a value through push_items, so an
 * entity, a query, a read-only proxy (kam.config) and a plain table list
 * their items the same way. See out_internal.h. */
#include "out_internal.h"
#include "lua_db.h"
#include <lauxlib.h>
#include <math.h>
#include <string.h>

/* ---- the walker: a value's items -------------------------------------- */

/* Pushes the items of a table-like value as two lists, keys (false for an
 * array item) and values: an entity's fields in schema order, a query's
 * rows, a table's array part then its other keys sorted (through __pairs,
 * so read-only proxies such as kam.config show their contents). Returns
 * how many items. */
static lua_Integer push_items(lua_State *L, int idx) {
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
    return n;
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
    return m;
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
  } else
    n = out_raw_keys(L, idx, keys, 0);
  out_sort_keys(L, keys);
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
  return n;
}

/* what push_items lists; anything else prints as a scalar */
static int is_collection(lua_State *L, int idx) {
  return lua_istable(L, idx) || kam_is_entity(L, idx) || kam_is_query(L, idx);
}

/* a name Lua reads as a key without brackets (and YAML as a plain key) */
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

static void pad(kbuf *b, int n) { for (int i = 0; i < n; i++) kbuf_byte(b, ' '); }

/* ---- Lua text ---------------------------------------------------------- */

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

/* Writes `key = ` for item i of push_items' keys (at stack index keys);
 * nothing for a list item. */
static void lua_key(lua_State *L, int keys, lua_Integer i, kbuf *b) {
  lua_rawgeti(L, keys, i);
  int k = lua_gettop(L);
  if (lua_toboolean(L, k)) {
    size_t n;
    const char *s = lua_type(L, k) == LUA_TSTRING ? lua_tolstring(L, k, &n) : NULL;
    if (s && is_ident(s, n)) kbuf_put(b, s, n);
    else { kbuf_byte(b, '['); lua_scalar(L, k, b); kbuf_byte(b, ']'); }
    kbuf_str(b, " = ");
  }
  lua_pop(L, 1);
}

/* Writes the value on one line; returns 0 when it grew past limit columns
 * (bytes bound the work; display columns decide). */
int out_lua_inline(lua_State *L, int idx, kbuf *b, size_t limit, int seen, int depth) {
  idx = lua_absindex(L, idx);
  size_t start = b->len;
  if (!is_collection(L, idx)) {
    lua_scalar(L, idx, b);
    return b->len - start <= limit || utf8_width((const char *)b->p + start, b->len - start) <= limit;
  }
  if (depth > 16) { kbuf_str(b, "{...}"); return 1; }
  if (!enter(L, idx, seen, 1)) { kbuf_str(b, "<cycle>"); return 1; }
  lua_Integer n = push_items(L, idx);
  int keys = lua_gettop(L) - 1;
  kbuf_byte(b, '{');
  int ok = 1;
  for (lua_Integer i = 1; i <= n && ok; i++) {
    if (i > 1) kbuf_str(b, ", ");
    lua_key(L, keys, i, b);
    lua_rawgeti(L, keys + 1, i);
    ok = out_lua_inline(L, -1, b, limit, seen, depth + 1) && b->len - start <= 4 * limit;
    lua_pop(L, 1);
  }
  kbuf_byte(b, '}');
  lua_pop(L, 2);
  enter(L, idx, seen, 0);
  return ok && utf8_width((const char *)b->p + start, b->len - start) <= limit;
}

static void lua_block(lua_State *L, int idx, kbuf *b, int indent, int avail, int width, int seen, int depth) {
  idx = lua_absindex(L, idx);
  size_t start = b->len;
  if (!is_collection(L, idx)) { lua_scalar(L, idx, b); return; } /* a long string stays whole */
  if (out_lua_inline(L, idx, b, avail > 20 ? (size_t)avail : 20, seen, depth)) return;
  b->len = start;
  if (!enter(L, idx, seen, 1)) { kbuf_str(b, "<cycle>"); return; }
  lua_Integer n = push_items(L, idx);
  int keys = lua_gettop(L) - 1;
  kbuf_str(b, "{\n");
  for (lua_Integer i = 1; i <= n; i++) {
    pad(b, indent + 2);
    size_t k0 = b->len;
    lua_key(L, keys, i, b);
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

/* ---- YAML ---------------------------------------------------------------- */

static void yaml_scalar(lua_State *L, int idx, kbuf *b) {
  if (lua_isnil(L, idx)) kbuf_str(b, "null");
  else out_json_lua(L, idx, b, 1); /* JSON scalars are YAML flow scalars */
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
  lua_Integer n = push_items(L, idx);
  int keys = lua_gettop(L) - 1;
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

void out_yaml_value(lua_State *L, int idx, kbuf *b) {
  idx = lua_absindex(L, idx);
  if (!is_collection(L, idx)) { yaml_scalar(L, idx, b); kbuf_byte(b, '\n'); return; }
  lua_newtable(L);
  yaml_block(L, idx, b, 0, 0, lua_gettop(L), 0);
  lua_pop(L, 1);
}

