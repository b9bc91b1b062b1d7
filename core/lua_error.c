/* lua_error.c — a C error (kam_err) as a Lua value that keeps its code. */
#include "lua_error.h"
#include "kerr.h"
#include <lauxlib.h>
#include <string.h>

#define LERR_MT "kam.error"

typedef struct lerr { int code; } lerr;

static const char *const kinds[] = {"", "data", "usage", "permission", "internal"};

static lerr *to_lerr(lua_State *L, int idx) { return luaL_testudata(L, idx, LERR_MT); }

int lerr_is(lua_State *L, int idx) { return to_lerr(L, idx) != NULL; }

int lerr_code(lua_State *L, int idx) {
  lerr *e = to_lerr(L, idx);
  return e && e->code >= KAM_EDATA && e->code <= KAM_EINTERNAL ? e->code : KAM_EDATA;
}

const char *lerr_message(lua_State *L, int idx, size_t *n) {
  idx = lua_absindex(L, idx);
  if (to_lerr(L, idx)) {
    /* the user value is a string set once by lerr_push and reachable only
     * through the userdata, so it stays alive with the value at idx */
    lua_getiuservalue(L, idx, 1);
    const char *m = lua_tolstring(L, -1, n);
    lua_pop(L, 1);
    return m;
  }
  if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) return lua_tolstring(L, idx, n);
  return NULL;
}

void lerr_push(lua_State *L, int code, const char *msg, size_t n) {
  lerr_open(L); /* a registry look-up once it exists: any state can raise */
  lerr *e = lua_newuserdatauv(L, sizeof *e, 2); /* 1: message, 2: traceback */
  e->code = code;
  lua_pushlstring(L, msg, n);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, LERR_MT);
}

const char *lerr_traceback(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (!to_lerr(L, idx)) return NULL;
  lua_getiuservalue(L, idx, 2); /* held by the userdata, like the message */
  const char *tb = lua_tostring(L, -1);
  lua_pop(L, 1);
  return tb;
}

void lerr_set_traceback(lua_State *L, int idx, const char *tb) {
  idx = lua_absindex(L, idx);
  if (!to_lerr(L, idx) || lerr_traceback(L, idx)) return;
  lua_pushstring(L, tb);
  lua_setiuservalue(L, idx, 2);
}

int lerr_raise(lua_State *L, int code, const char *msg) {
  luaL_where(L, 1); /* "file:line:" of the script's call, as luaL_error gives */
  lua_pushstring(L, msg);
  lua_concat(L, 2);
  size_t n;
  const char *m = lua_tolstring(L, -1, &n);
  lerr_push(L, code, m, n);
  return lua_error(L);
}

/* err:match(...) and the other string methods: the method, called with the
 * message in place of the error value. */
static int call_on_message(lua_State *L) {
  size_t n;
  if (lerr_is(L, 1)) {
    const char *m = lerr_message(L, 1, &n);
    lua_pushlstring(L, m, n);
    lua_replace(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static int lerr_index(lua_State *L) {
  lerr *e = luaL_checkudata(L, 1, LERR_MT);
  const char *k = lua_tostring(L, 2);
  if (!k) return 0;
  if (!strcmp(k, "code")) { lua_pushinteger(L, e->code); return 1; }
  if (!strcmp(k, "kind")) {
    lua_pushstring(L, e->code >= KAM_EDATA && e->code <= KAM_EINTERNAL ? kinds[e->code] : "data");
    return 1;
  }
  size_t n;
  const char *m = lerr_message(L, 1, &n);
  if (!strcmp(k, "message")) { lua_pushlstring(L, m, n); return 1; }
  /* a method of the string library, as the script sees it (guards and all) */
  lua_pushlstring(L, m, n);
  lua_pushvalue(L, 2);
  lua_gettable(L, -2);
  if (!lua_isfunction(L, -1)) return 0;
  lua_pushcclosure(L, call_on_message, 1);
  return 1;
}

static int lerr_tostring(lua_State *L) {
  size_t n;
  const char *m = lerr_message(L, 1, &n);
  lua_pushlstring(L, m ? m : "", n);
  return 1;
}

static int lerr_len(lua_State *L) {
  size_t n = 0;
  lerr_message(L, 1, &n);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* "prefix: " .. err and err .. "!" read as the message */
static int lerr_concat(lua_State *L) {
  for (int i = 1; i <= 2; i++) {
    size_t n;
    const char *m = lerr_message(L, i, &n);
    if (!m) return luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
    lua_pushlstring(L, m, n);
  }
  lua_concat(L, 2);
  return 1;
}

/* two kam errors are equal when code and message are */
static int lerr_eq(lua_State *L) {
  size_t na, nb;
  const char *a = lerr_message(L, 1, &na), *b = lerr_message(L, 2, &nb);
  lua_pushboolean(L, lerr_code(L, 1) == lerr_code(L, 2) && a && b && na == nb && !memcmp(a, b, na));
  return 1;
}

void lerr_open(lua_State *L) {
  static const luaL_Reg mt[] = {{"__index", lerr_index}, {"__tostring", lerr_tostring},
                                {"__len", lerr_len}, {"__concat", lerr_concat},
                                {"__eq", lerr_eq}, {NULL, NULL}};
  if (luaL_newmetatable(L, LERR_MT)) {
    luaL_setfuncs(L, mt, 0);
    lua_pushliteral(L, "kam.error"); /* getmetatable(err) gives this, setmetatable fails */
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
}
