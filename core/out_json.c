/* out_json.c — values as JSON: strings, numbers, stored values (kval) and
 * Lua values, entities and queries included. See out_internal.h. */
#include "out_internal.h"
#include "lua_db.h"
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

const char out_null = 0;

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

void out_json_entity(lua_State *L, int idx, kbuf *b) {
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
      out_json_lua(L, lua_gettop(L), b, 1);
    }
    lua_pop(L, 1);
  }
  kbuf_byte(b, '}');
}

/* a table that is not a list: an object, keys in sorted order */
static void json_map(lua_State *L, int idx, kbuf *b, int depth) {
  lua_newtable(L);
  int keys = lua_gettop(L);
  lua_Integer nk = out_raw_keys(L, idx, keys, 0);
  out_sort_keys(L, keys);
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
    out_json_lua(L, -1, b, depth + 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  kbuf_byte(b, '}');
}

void out_json_lua(lua_State *L, int idx, kbuf *b, int depth) {
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
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == (void *)&out_null) { kbuf_str(b, "null"); return; }
    break;
  case LUA_TUSERDATA:
    if (kam_is_entity(L, idx)) { out_json_entity(L, idx, b); return; }
    if (kam_is_query(L, idx)) { kam_query_list(L, idx); out_json_lua(L, -1, b, depth); lua_pop(L, 1); return; }
    break;
  case LUA_TTABLE: {
    if (depth > 32) { kbuf_str(b, "null"); return; }
    if (!out_is_array(L, idx)) { json_map(L, idx, b, depth); return; }
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    kbuf_byte(b, '[');
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) kbuf_byte(b, ',');
      lua_rawgeti(L, idx, i);
      out_json_lua(L, -1, b, depth + 1);
      lua_pop(L, 1);
    }
    kbuf_byte(b, ']');
    return;
  }
  default: break;
  }
  /* functions, threads, other userdata: their tostring, as a string */
  size_t n;
  const char *s = luaL_tolstring(L, idx, &n);
  json_str(b, s, n);
  lua_pop(L, 1);
}
