/* lua_value.c — stored values (kval) as Lua values and back (see
 * lua_value.h). Lua to stored never raises: the caller may hold buffers. */
#include "lua_value.h"
#include <stdio.h>

static void push_value(lua_State *L, const kval *v, int depth) {
  switch (v->tag) {
  case KV_NULL: lua_pushnil(L); break;
  case KV_TRUE: lua_pushboolean(L, 1); break;
  case KV_FALSE: lua_pushboolean(L, 0); break;
  case KV_INT: lua_pushinteger(L, v->u.i); break;
  case KV_NUM: lua_pushnumber(L, v->u.n); break;
  case KV_STR: lua_pushlstring(L, v->u.s.p, v->u.s.len); break;
  case KV_LIST: case KV_MAP: {
    coll_iter it;
    const char *k;
    size_t kl;
    kval x;
    luaL_checkstack(L, 4, "value nesting");
    lua_newtable(L);
    if (depth > 64) break;
    citer_init(&it, v);
    lua_Integer i = 1;
    while (citer_next(&it, &k, &kl, &x)) {
      push_value(L, &x, depth + 1);
      if (k) { lua_pushlstring(L, k, kl); lua_insert(L, -2); lua_rawset(L, -3); }
      else lua_rawseti(L, -2, i++);
    }
    break;
  }
  }
}

void kam_push_kval(lua_State *L, const kval *v) { push_value(L, v, 0); }

/* A Lua value that is not a table as a stored value: 1, or 0 when it is
 * none of nil, a boolean, a number, text or an entity. Strings point into
 * Lua. An entity stands for its id, which it carries: no read that could
 * raise, even when its snapshot has ended. */
static int plain_value(lua_State *L, int idx, kval *out) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: *out = kv_null(); return 1;
  case LUA_TBOOLEAN: *out = kv_bool(lua_toboolean(L, idx)); return 1;
  case LUA_TNUMBER:
    *out = lua_isinteger(L, idx) ? kv_int(lua_tointeger(L, idx)) : kv_num(lua_tonumber(L, idx));
    return 1;
  case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(L, idx, &n); *out = kv_str(s, n); return 1; }
  case LUA_TUSERDATA: {
    const kam_entity *en = kam_udata(L, idx, KAM_UD_ENTITY);
    if (en) { *out = kam_entity_id(en); return 1; }
    return 0;
  }
  default: return 0;
  }
}

#define EXPECTED "text, a number, true/false or a table"

static const char *encode_lua(lua_State *L, int idx, kbuf *b, int depth, int as_map);

/* A Lua table as an encoded list or map, appended to b. as_map: 1 a map,
 * 0 a list, -1 a sequence (or empty) is a list, anything else a map.
 * Returns an error message or NULL. */
static const char *encode_table(lua_State *L, int idx, kbuf *b, int depth, int as_map) {
  idx = lua_absindex(L, idx);
  if (depth > 32) return "nesting deeper than 32 levels (a cycle?)";
  if (!lua_checkstack(L, 4)) return "nesting too deep";
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  int is_list = !as_map;
  if (as_map < 0) { /* decide: a sequence (or empty) is a list */
    lua_Integer cnt = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { cnt++; lua_pop(L, 1); }
    is_list = cnt == n;
  }
  kbuf body = {0};
  const char *err = NULL;
  if (is_list) {
    lua_Integer cnt = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { cnt++; lua_pop(L, 1); }
    if (cnt != n) { kbuf_free(&body); return "a list (keys 1..n)"; }
    kbuf_uvarint(&body, (uint64_t)n);
    for (lua_Integer i = 1; i <= n && !err; i++) {
      lua_rawgeti(L, idx, i);
      err = encode_lua(L, -1, &body, depth + 1, -1);
      lua_pop(L, 1);
    }
    if (!err) { kval v; v.tag = KV_LIST; v.u.s.p = (const char *)body.p; v.u.s.len = body.len; val_put(b, &v); }
  } else {
    uint64_t cnt = 0;
    kbuf items = {0};
    lua_pushnil(L);
    while (!err && lua_next(L, idx)) {
      size_t kl;
      const char *k;
      char num[32];
      if (lua_type(L, -2) == LUA_TSTRING) k = lua_tolstring(L, -2, &kl);
      else if (lua_type(L, -2) == LUA_TNUMBER) {
        if (lua_isinteger(L, -2)) kl = (size_t)snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -2));
        else kl = (size_t)snprintf(num, sizeof num, "%.14g", lua_tonumber(L, -2));
        k = num;
      } else { err = "map keys must be text"; lua_pop(L, 2); break; }
      kbuf_uvarint(&items, kl);
      kbuf_put(&items, k, kl);
      err = encode_lua(L, -1, &items, depth + 1, -1);
      lua_pop(L, 1);
      cnt++;
    }
    if (err) lua_pop(L, 1); /* the key left by an aborted traversal */
    if (!err) {
      kbuf_uvarint(&body, cnt);
      kbuf_put(&body, items.p, items.len);
      kval v; v.tag = KV_MAP; v.u.s.p = (const char *)body.p; v.u.s.len = body.len; val_put(b, &v);
    }
    kbuf_free(&items);
  }
  kbuf_free(&body);
  return err;
}

/* Any Lua value inside a list or map, appended to b. */
static const char *encode_lua(lua_State *L, int idx, kbuf *b, int depth, int as_map) {
  if (lua_type(L, idx) == LUA_TTABLE) return encode_table(L, idx, b, depth, as_map);
  kval v;
  if (!plain_value(L, idx, &v)) return EXPECTED;
  val_put(b, &v);
  return NULL;
}

const char *kam_to_field(lua_State *L, int idx, const field_def *f, kval *out, kbuf *buf) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    if (f->type != FT_LIST && f->type != FT_MAP) return "a plain value, not a table";
    kbuf_reset(buf);
    const char *err = encode_table(L, idx, buf, 0, f->type == FT_MAP);
    if (err) return err;
    val_get(buf->p, buf->p + buf->len, out);
    return NULL;
  }
  return plain_value(L, idx, out) ? NULL : EXPECTED;
}
