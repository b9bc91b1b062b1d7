/* readonly.c — read-only proxies and the frozen mark; see readonly.h. */
#include "readonly.h"
#include <lauxlib.h>

void sandbox_freeze(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.frozen") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "kam.frozen");
  }
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

int sandbox_frozen(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.frozen") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushvalue(L, idx);
  int frozen = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return frozen;
}

/* pairs() and # see through the read-only proxy to its contents */
static int ro_next(lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}
static int ro_pairs(lua_State *L) {
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__index");
  lua_pushcfunction(L, ro_next);
  lua_insert(L, -2);
  lua_pushnil(L);
  return 3;
}
static int ro_len(lua_State *L) {
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__index");
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
  return 1;
}

void readonly_proxy(lua_State *L, int real) {
  real = lua_absindex(L, real);
  int newindex = lua_gettop(L);
  lua_newtable(L);          /* proxy */
  lua_createtable(L, 0, 5); /* its metatable */
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, ro_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushcfunction(L, ro_len);
  lua_setfield(L, -2, "__len");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  sandbox_freeze(L, -1);
  lua_remove(L, newindex);
}

static int lib_newindex(lua_State *L) {
  return luaL_error(L, "%s is kam's and read-only (keep your own values in locals)",
                    lua_tostring(L, lua_upvalueindex(1)));
}

void readonly_field(lua_State *L, int t, const char *key, const char *label) {
  t = lua_absindex(L, t);
  if (lua_getfield(L, t, key) != LUA_TTABLE) { lua_pop(L, 1); return; }
  int real = lua_gettop(L);
  lua_pushstring(L, label);
  lua_pushcclosure(L, lib_newindex, 1);
  readonly_proxy(L, real);
  sandbox_freeze(L, real);
  lua_setfield(L, t, key);
  lua_pop(L, 1);
}
