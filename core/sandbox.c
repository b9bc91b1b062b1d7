/* sandbox.c — the Lua state scripts run in: which libraries it opens, the
 * guards on them, and the order it is set up in; see sandbox.h. The kam
 * library is lua_kam.c, load and require are loader.c, the read-only
 * proxies readonly.c, what stops a script budget.c. */
#include "sandbox.h"
#include "lua_error.h"
#include "lua_kam.h"
#include "lpattern.h"
#include "pool.h"
#include "progress.h"
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- print ---------------------------------------------------------------- */

/* print writes where results go (the REPL's .output), after taking a
 * progress bar off the line. */
static FILE *print_out;

void sandbox_set_output(FILE *f) { print_out = f; }

static int l_print(lua_State *L) {
  FILE *f = print_out ? print_out : stdout;
  int n = lua_gettop(L);
  progress_hide();
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, i, &len);
    if (i > 1) fputc('\t', f);
    fwrite(s, 1, len, f);
    lua_pop(L, 1);
  }
  fputc('\n', f);
  fflush(f);
  return 0;
}

/* ---- protected calls and coroutines --------------------------------------- */

int sandbox_pcall(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, sandbox_msgh);
  lua_insert(L, base);
  int st = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  return st;
}

/* pcall, xpcall (and coroutine.resume, below) pass a stop on instead of
 * catching it */
static void caught(lua_State *L, int st) {
  if (st != LUA_OK && sandbox_killed()) lua_error(L);
}

static int l_pcall(lua_State *L) {
  luaL_checkany(L, 1);
  int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  caught(L, st);
  lua_pushboolean(L, st == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

/* xpcall's message handler runs with hooks off when the error came from the
 * budget's hook (Lua turns hooks off while a hook runs), so a handler that
 * never returns could not be stopped: after a stop it is not called. */
static int xpcall_handler(lua_State *L) {
  if (sandbox_killed()) return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static int l_xpcall(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_handler, 1);
  lua_insert(L, 1);
  lua_remove(L, 3); /* handler, f, args */
  int st = lua_pcall(L, n - 2, LUA_MULTRET, 1);
  caught(L, st);
  lua_pushboolean(L, st == LUA_OK);
  lua_replace(L, 1);
  return lua_gettop(L);
}

/* lua_closethread came with Lua 5.4.6; before it, lua_resetthread */
static int close_thread(lua_State *co, lua_State *from) {
#if LUA_VERSION_RELEASE_NUM >= 50406
  return lua_closethread(co, from);
#else
  (void)from;
  return lua_resetthread(co);
#endif
}

/* Resumes co with the n values on top of L; the running thread is co
 * meanwhile, so the budget's hook reaches it. Returns the number of values
 * moved back onto L, or -1 with the error object on top of L. */
static int co_resume(lua_State *L, lua_State *co, int narg) {
  int st = lua_status(co);
  if (st == LUA_OK && lua_gettop(co) == 0 && !narg) {
    lua_pushliteral(L, "cannot resume dead coroutine");
    return -1;
  }
  if (st != LUA_OK && st != LUA_YIELD) {
    lua_pushliteral(L, "cannot resume dead coroutine");
    return -1;
  }
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  lua_xmove(L, co, narg);
  lua_State *prev = limits_enter(co);
  int nres;
  st = lua_resume(co, L, narg, &nres);
  limits_leave(prev);
  if (st == LUA_OK || st == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1); /* the error object */
  return -1;
}

static int l_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  int r = co_resume(L, co, lua_gettop(L) - 1);
  if (r < 0) {
    if (sandbox_killed()) return lua_error(L);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

static int wrap_call(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = co_resume(L, co, lua_gettop(L));
  if (r >= 0) return r;
  int st = lua_status(co);
  if (st != LUA_OK && st != LUA_YIELD) { /* an error: close its pending variables, as Lua's wrap does */
    lua_State *prev = limits_enter(co);
    close_thread(co, L);
    limits_leave(prev);
    lua_xmove(co, L, 1);
  }
  if (!sandbox_killed() && lua_type(L, -1) == LUA_TSTRING) { /* where the wrap was called */
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

static int l_wrap(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, wrap_call, 1);
  return 1;
}

/* coroutine.close runs the coroutine's pending __close handlers: in that
 * thread, so the budget reaches them too */
static int l_coclose(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  if (co == L) return luaL_error(L, "cannot close a running coroutine");
  int st = lua_status(co);
  lua_Debug ar;
  if (st == LUA_OK && lua_getstack(co, 0, &ar)) return luaL_error(L, "cannot close a normal coroutine");
  lua_State *prev = limits_enter(co);
  st = close_thread(co, L);
  limits_leave(prev);
  if (sandbox_killed()) { lua_xmove(co, L, 1); return lua_error(L); }
  if (st == LUA_OK) { lua_pushboolean(L, 1); return 1; }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);
  return 2;
}

/* ---- metatables and rawset ------------------------------------------------- */

/* setmetatable without finalizers: Lua runs __gc with hooks off (no budget
 * can stop it) and after the script's transaction or budget has ended. */
static int l_setmetatable(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (sandbox_frozen(L, 1)) return luaL_error(L, "setmetatable: this table belongs to kam and cannot change");
    lua_pushliteral(L, "__gc");
    int gc = lua_rawget(L, 2) != LUA_TNIL;
    lua_pop(L, 1);
    if (gc) return luaL_error(L, "setmetatable: finalizers (__gc) are not allowed in kam scripts");
  }
  lua_settop(L, 2);
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  lua_setmetatable(L, 1);
  return 1;
}

/* rawset that refuses kam's own tables (the libraries, kam, db, kam.config) */
static int l_rawset(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (sandbox_frozen(L, 1)) return luaL_error(L, "rawset: this table belongs to kam and is read-only");
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

/* ---- C loops no hook can stop ---------------------------------------------- */

/* Library functions whose C loops run without Lua code, so no hook can stop
 * them: bounded here. */

/* string.rep: Lua's copies piece by piece, n times, in C (a billion
 * one-byte pieces take seconds no hook can stop, and an empty piece loops
 * for ever). kam's doubles what it has written, polling the budget. */
static int l_rep(lua_State *L) {
  size_t l, lsep = 0;
  const char *s = luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char *sep = luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || (l == 0 && lsep == 0)) { lua_pushliteral(L, ""); return 1; }
  size_t unit = l + lsep;
  if (unit < l || (size_t)n > (((size_t)-1 >> 1) - lsep) / unit) return luaL_error(L, "resulting string too large");
  /* s (sep s)^(n-1) is (s sep)^n without its last sep: write s sep once,
   * then copy what is written onto its end, doubling */
  size_t all = (size_t)n * unit, total = all - lsep;
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, all);
  memcpy(p, s, l);
  memcpy(p + l, sep, lsep);
  for (size_t done = unit; done < all;) {
    size_t k = done < all - done ? done : all - done;
    memcpy(p + done, p, k);
    done += k;
    sandbox_poll(L);
  }
  luaL_pushresultsize(&b, total);
  return 1;
}

/* table.move walks its whole range even over nothing: kam's own, polling
 * the budget */
static int l_move(lua_State *L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  lua_Integer t = luaL_checkinteger(L, 4);
  int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, tt, LUA_TTABLE);
  if (e >= f) {
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    lua_Integer n = e - f;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n, 4, "destination wrap around");
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (lua_Integer i = 0; i <= n; i++) {
        if ((i & 4095) == 4095) sandbox_poll(L);
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    } else {
      for (lua_Integer i = n; i >= 0; i--) {
        if ((i & 4095) == 0) sandbox_poll(L);
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

static int sort_less(lua_State *L) {
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
  return 1;
}

/* table.sort compares in C when no function is given: for a big table it
 * is given one in C, whose calls the budget's hook sees */
static int l_sort(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_isnoneornil(L, 2) && lua_rawlen(L, 1) > 50000) {
    lua_settop(L, 1);
    lua_pushcfunction(L, sort_less);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 0);
  return 0;
}

/* collectgarbage: only what cannot change the collector for the next
 * evaluation */
static int l_collectgarbage(lua_State *L) {
  const char *opt = luaL_optstring(L, 1, "collect");
  if (!strcmp(opt, "count")) {
    int k = lua_gc(L, LUA_GCCOUNT), b = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)k + ((lua_Number)b / 1024));
    return 1;
  }
  if (!strcmp(opt, "collect")) { lua_gc(L, LUA_GCCOLLECT); lua_pushinteger(L, 0); return 1; }
  if (!strcmp(opt, "step")) { lua_pushboolean(L, lua_gc(L, LUA_GCSTEP, 0)); return 1; }
  if (!strcmp(opt, "isrunning")) { lua_pushboolean(L, lua_gc(L, LUA_GCISRUNNING)); return 1; }
  return luaL_error(L, "collectgarbage(\"%s\"): kam manages the collector (count, collect and step are allowed)", opt);
}

/* ---- the state ------------------------------------------------------------ */

/* Every evaluation shares the libraries, kam and db: none may change them. */
static void freeze_shared(lua_State *L) {
  lua_getglobal(L, "db"); /* a table kam_lua_open_db made read-only to writes; rawset too */
  sandbox_freeze(L, -1);
  lua_pop(L, 1);
  lua_getglobal(L, "kam");
  readonly_field(L, -1, "fmt", "kam.fmt");
  readonly_field(L, -1, "user", "kam.user");
  lua_pop(L, 1);
  lua_pushglobaltable(L);
  const char *libs[] = {"string", "table", "math", "utf8", "coroutine", "os", "kam", NULL};
  for (int i = 0; libs[i]; i++) readonly_field(L, -1, libs[i], libs[i]);
  lua_pop(L, 1);
  /* "":method() looks in the string metatable: nobody may reach it */
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static int panic(lua_State *L) {
  size_t n;
  const char *msg = lerr_message(L, -1, &n);
  fprintf(stderr, "kam: internal Lua error: %.*s\n", msg ? (int)n : 1, msg ? msg : "?");
  return 0; /* Lua aborts */
}

static void open_lib(lua_State *L, const char *name, lua_CFunction f) {
  luaL_requiref(L, name, f, 1);
  lua_pop(L, 1);
}

int sandbox_open(kam_ctx *ctx, kam_err *e) {
  lua_State *L = limits_new_state(ctx->cfg->memory_bytes, ctx->cfg->policy_memory_bytes);
  /* generational: scripts and policies make many short-lived objects (query
   * objects, entities, reasons); young collections skip the long-lived ones */
  if (L) lua_gc(L, LUA_GCGEN, 0, 0);
  if (!L) return kam_errf(e, KAM_EINTERNAL, "lua: out of memory");
  lua_atpanic(L, panic);
  ctx->L = L;
  open_lib(L, LUA_GNAME, luaopen_base);
  open_lib(L, LUA_TABLIBNAME, luaopen_table);
  open_lib(L, LUA_STRLIBNAME, luaopen_string);
  lpattern_install(L);
  open_lib(L, LUA_MATHLIBNAME, luaopen_math);
  open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
  open_lib(L, LUA_COLIBNAME, luaopen_coroutine);
  /* os: only the clock and calendar */
  luaopen_os(L);
  lua_newtable(L);
  const char *keep[] = {"time", "date", "clock", "difftime", NULL};
  for (int i = 0; keep[i]; i++) { lua_getfield(L, -2, keep[i]); lua_setfield(L, -2, keep[i]); }
  lua_setglobal(L, "os");
  lua_pop(L, 1);
  lua_pushnil(L); lua_setfield(L, LUA_REGISTRYINDEX, "_LOADED"); /* forget the full os */
  const char *drop[] = {"dofile", "loadfile", NULL};
  for (int i = 0; drop[i]; i++) { lua_pushnil(L); lua_setglobal(L, drop[i]); }
  lua_getglobal(L, "string");
  lua_pushnil(L); lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  /* C sorts with the table.sort kam loaded, whatever a script does to the global */
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.sort");
  lua_pushcclosure(L, l_sort, 1);
  lua_setfield(L, -2, "sort");
  lua_pushcfunction(L, l_move);
  lua_setfield(L, -2, "move");
  lua_pop(L, 1);
  lua_getglobal(L, "string");
  lua_pushcfunction(L, l_rep);
  lua_setfield(L, -2, "rep");
  lua_pop(L, 1);
  /* each policy evaluation reseeds with 0: none leaves its seed to the next */
  lua_getglobal(L, "math");
  lua_getfield(L, -1, "randomseed");
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.randomseed");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_print); lua_setglobal(L, "print");
  lua_pushcfunction(L, l_pcall); lua_setglobal(L, "pcall");
  lua_pushcfunction(L, l_xpcall); lua_setglobal(L, "xpcall");
  lua_getglobal(L, "coroutine");
  lua_pushcfunction(L, l_resume); lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, l_wrap); lua_setfield(L, -2, "wrap");
  lua_pushcfunction(L, l_coclose); lua_setfield(L, -2, "close");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_setmetatable); lua_setglobal(L, "setmetatable");
  lua_pushcfunction(L, l_rawset); lua_setglobal(L, "rawset");
  lua_pushcfunction(L, l_collectgarbage); lua_setglobal(L, "collectgarbage");
  loader_open(L); /* load and require */
  lua_kam_open(L, ctx->cfg, ctx->who);
  kam_lua_open_db(ctx);
  if (ctx->open_api) ctx->open_api(L);
  freeze_shared(L);
  /* the globals as kam set them up, before any script ran: what policies,
   * write guards and kam's own Lua fall back to, whatever a script later
   * does to its globals (db = a fake of its own) */
  lua_newtable(L);
  lua_pushglobaltable(L);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -5);
  }
  lua_pop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.base");
  sandbox_arm(L, ctx->cfg->script_seconds);
  return 0;
}

void sandbox_close(kam_ctx *ctx) {
  if (!ctx->L) return;
  progress_reset();
  kam_end_snapshots(ctx);
  limits_close();
  lua_close(ctx->L); /* __gc of entities and iterators releases the rest */
  ctx->L = NULL;
  free(ctx->guard_watch); /* the write guards' state (guard.c) went with the state */
  free(ctx->guard_only);
  ctx->guard_watch = NULL;
  ctx->guard_only = NULL;
  ctx->guard_loaded = 0;
  pool_release();
}
