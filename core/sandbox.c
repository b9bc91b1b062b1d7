/* sandbox.c — see sandbox.h. */
#include "sandbox.h"
#include "fmt.h"
#include "pool.h"
#include "kdate.h"
#include "progress.h"
#include "lpattern.h"
#include <lauxlib.h>
#include <lualib.h>
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- kam.fmt ------------------------------------------------------------ */

static int l_fmt_money(lua_State *L) {
  lua_Number x = luaL_checknumber(L, 1);
  long long v = lua_isinteger(L, 1) ? (long long)lua_tointeger(L, 1) : (long long)(x < 0 ? x - 0.5 : x + 0.5);
  char buf[64];
  /* kam.fmt.money(n, false) leaves out the ₫ */
  fmt_money(buf, sizeof buf, v, !(lua_isboolean(L, 2) && !lua_toboolean(L, 2)));
  lua_pushstring(L, buf);
  return 1;
}

/* 1234.5 -> "1.234,5" as Vietnamese write numbers */
static int l_fmt_number(lua_State *L) {
  lua_Number x = luaL_checknumber(L, 1);
  int dec = (int)luaL_optinteger(L, 2, lua_isinteger(L, 1) ? 0 : 1);
  if (dec < 0 || dec > 6) dec = 1;
  char raw[64], ip[64];
  snprintf(raw, sizeof raw, "%.*f", dec, (double)x);
  char *dot = strchr(raw, '.');
  if (dot) *dot = 0;
  long long iv = strtoll(raw, NULL, 10);
  fmt_money(ip, sizeof ip, iv, 0);
  if (iv == 0 && raw[0] == '-') { memmove(ip + 1, ip, strlen(ip) + 1); ip[0] = '-'; }
  lua_pushstring(L, ip);
  if (dot) { lua_pushfstring(L, ",%s", dot + 1); lua_concat(L, 2); }
  return 1;
}

static int l_fmt_pct(lua_State *L) {
  lua_Number x = luaL_checknumber(L, 1);
  lua_settop(L, 0);
  lua_pushcfunction(L, l_fmt_number);
  lua_pushnumber(L, x * 100);
  lua_pushinteger(L, 1);
  lua_call(L, 2, 1);
  lua_pushliteral(L, "%");
  lua_concat(L, 2);
  return 1;
}

/* ---- dates -------------------------------------------------------------- */

static void check_date(lua_State *L, int arg, int *y, int *m, int *d) {
  size_t n;
  const char *s = luaL_checklstring(L, arg, &n);
  if (n > 10) n = 10; /* a datetime's date part */
  if (!date_parse(s, n, y, m, d)) luaL_argerror(L, arg, "expected a date YYYY-MM-DD");
}

/* Dates kam computes stay in the years 1 to 9999: a shift that leaves them
 * is an error, not a wrapped date. */
#define MAX_SHIFT_DAYS 3660000
#define MAX_SHIFT_MONTHS 120000
static void check_shift(lua_State *L, lua_Integer n, lua_Integer max, const char *fn) {
  if (n < -max || n > max) luaL_error(L, "%s: %I is too far (the dates go from year 1 to 9999)", fn, n);
}

static void push_date(lua_State *L, int y, int m, int d, const char *fn) {
  if (y < 1 || y > 9999) luaL_error(L, "%s: the date falls outside the years 1 to 9999", fn);
  char t[11];
  date_format(t, y, m, d);
  lua_pushstring(L, t);
}

static void push_months_from(lua_State *L, int y, int m, int d, lua_Integer months, const char *fn) {
  lua_Integer total = (lua_Integer)y * 12 + (m - 1) + months;
  if (total < 12 || total >= 12 * 10000) luaL_error(L, "%s: the date falls outside the years 1 to 9999", fn);
  y = (int)(total / 12);
  m = (int)(total % 12) + 1;
  if (d > days_in_month(y, m)) d = days_in_month(y, m);
  push_date(L, y, m, d, fn);
}

static int l_today(lua_State *L) {
  char t[11];
  date_today(t);
  lua_pushstring(L, t);
  return 1;
}

static int l_now(lua_State *L) {
  char t[40];
  datetime_now(t);
  lua_pushstring(L, t);
  return 1;
}

static int l_months_ago(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  check_shift(L, n, MAX_SHIFT_MONTHS, "kam.months_ago");
  int y, m, d;
  if (lua_isnoneornil(L, 2)) { char t[11]; date_today(t); date_parse(t, 10, &y, &m, &d); }
  else check_date(L, 2, &y, &m, &d);
  push_months_from(L, y, m, d, -n, "kam.months_ago");
  return 1;
}

static int l_days_ago(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  check_shift(L, n, MAX_SHIFT_DAYS, "kam.days_ago");
  char t[11];
  int y, m, d;
  date_today(t);
  date_parse(t, 10, &y, &m, &d);
  civil_from_days(days_from_civil(y, m, d) - n, &y, &m, &d);
  push_date(L, y, m, d, "kam.days_ago");
  return 1;
}

static int l_date_add(lua_State *L) {
  int y, m, d;
  check_date(L, 1, &y, &m, &d);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char *unit = luaL_optstring(L, 3, "days");
  if (!strcmp(unit, "months")) {
    check_shift(L, n, MAX_SHIFT_MONTHS, "kam.date_add");
    push_months_from(L, y, m, d, n, "kam.date_add");
  } else if (!strcmp(unit, "days")) {
    check_shift(L, n, MAX_SHIFT_DAYS, "kam.date_add");
    civil_from_days(days_from_civil(y, m, d) + n, &y, &m, &d);
    push_date(L, y, m, d, "kam.date_add");
  } else return luaL_argerror(L, 3, "\"days\" or \"months\"");
  return 1;
}

static int l_days_between(lua_State *L) {
  int y1, m1, d1, y2, m2, d2;
  check_date(L, 1, &y1, &m1, &d1);
  check_date(L, 2, &y2, &m2, &d2);
  lua_pushinteger(L, days_from_civil(y2, m2, d2) - days_from_civil(y1, m1, d1));
  return 1;
}

/* period("2026-Q3") -> {from = "2026-07-01", to = "2026-09-30", name = "2026-Q3"}.
 * Also "2026", "2026-11", "2026-H1", and "this_month", "last_month",
 * "this_quarter", "last_quarter", "this_year", "last_year". */
static int l_period(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  char today[11];
  date_today(today);
  int ty, tm, td;
  date_parse(today, 10, &ty, &tm, &td);
  int y = 0, m1 = 0, m2 = 0, k;
  char c, extra;
  char name[32];
  if (!strcmp(p, "this_month") || !strcmp(p, "last_month")) {
    y = ty; m1 = tm;
    if (p[1] == 'a') { if (--m1 == 0) { m1 = 12; y--; } }
    m2 = m1;
  } else if (!strcmp(p, "this_quarter") || !strcmp(p, "last_quarter")) {
    y = ty; int q = (tm - 1) / 3 + 1;
    if (p[1] == 'a') { if (--q == 0) { q = 4; y--; } }
    m1 = (q - 1) * 3 + 1; m2 = m1 + 2;
  } else if (!strcmp(p, "this_year") || !strcmp(p, "last_year")) {
    y = ty - (p[1] == 'a'); m1 = 1; m2 = 12;
  } else if (sscanf(p, "%4d-%c%d%c", &y, &c, &k, &extra) == 3 && (c == 'Q' || c == 'q') && k >= 1 && k <= 4) {
    m1 = (k - 1) * 3 + 1; m2 = m1 + 2;
  } else if (sscanf(p, "%4d-%c%d%c", &y, &c, &k, &extra) == 3 && (c == 'H' || c == 'h') && k >= 1 && k <= 2) {
    m1 = k == 1 ? 1 : 7; m2 = m1 + 5;
  } else if (strlen(p) == 7 && sscanf(p, "%4d-%2d%c", &y, &k, &extra) == 2 && k >= 1 && k <= 12) {
    m1 = m2 = k;
  } else if (strlen(p) == 4 && sscanf(p, "%4d%c", &y, &extra) == 1) {
    m1 = 1; m2 = 12;
  } else {
    return luaL_error(L, "kam.period: '%s' is not a period (2026, 2026-Q3, 2026-H1, 2026-11, this_month, last_quarter ...)", p);
  }
  if (y < 1 || y > 9999) return luaL_error(L, "kam.period: year out of range in '%s'", p);
  char from[11], to[11];
  date_format(from, y, m1, 1);
  date_format(to, y, m2, days_in_month(y, m2));
  if (m1 == m2) snprintf(name, sizeof name, "%04d-%02d", y, m1);
  else if (m2 - m1 == 2) snprintf(name, sizeof name, "%04d-Q%d", y, (m1 - 1) / 3 + 1);
  else if (m2 - m1 == 5) snprintf(name, sizeof name, "%04d-H%d", y, m1 == 1 ? 1 : 2);
  else snprintf(name, sizeof name, "%04d", y);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, from); lua_setfield(L, -2, "from");
  lua_pushstring(L, to); lua_setfield(L, -2, "to");
  lua_pushstring(L, name); lua_setfield(L, -2, "name");
  return 1;
}

static int l_log(lua_State *L) {
  const char *level = luaL_checkstring(L, 1);
  int n = lua_gettop(L);
  lua_getglobal(L, "string");
  lua_getfield(L, -1, "format");
  for (int i = 2; i <= n; i++) lua_pushvalue(L, i);
  lua_call(L, n - 1, 1);
  char now[40];
  datetime_now(now);
  progress_hide();
  fprintf(stderr, "%s [%s] %s\n", now, level, lua_tostring(L, -1));
  return 0;
}

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

/* ---- sandboxed loading ---------------------------------------------------- */

int sandbox_load(lua_State *L, const char *buf, size_t len, const char *name) {
  return luaL_loadbufferx(L, buf, len, name, "t");
}

#define msgh sandbox_msgh

int sandbox_pcall(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, msgh);
  lua_insert(L, base);
  int st = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  return st;
}

/* load() that refuses binary chunks */
#define MAX_LOAD_BYTES (16u << 20)
static int l_load(lua_State *L) {
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  /* the parser cannot be stopped by the budget: keep what it reads bounded */
  if (s && n > MAX_LOAD_BYTES) return luaL_error(L, "load: a chunk of more than 16 MiB is refused");
  const char *name = luaL_optstring(L, 2, s ? s : "=(load)");
  int env = !lua_isnone(L, 4) ? 4 : 0;
  if (!s) return luaL_error(L, "load: only text chunks can be loaded here");
  int st = luaL_loadbufferx(L, s, n, name, "t");
  if (st != LUA_OK) { lua_pushnil(L); lua_insert(L, -2); return 2; }
  if (env) lua_pushvalue(L, env);
  else if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.env") == LUA_TNIL) { lua_pop(L, 1); return 1; }
  /* without an environment, the chunk gets the evaluation's own, never the
   * globals every evaluation shares */
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  return 1;
}

static int read_file(const char *path, char **out, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  kbuf b = {0};
  char tmp[65536];
  size_t k;
  while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) kbuf_put(&b, tmp, k);
  fclose(f);
  kbuf_cstr(&b);
  *out = (char *)b.p;
  *n = b.len;
  return 0;
}

/* Pushes the compiled chunk of module `name` from rules/ or scripts/, or
 * raises an error. */
static void load_module(lua_State *L, kam_ctx *ctx, const char *name) {
  char rel[512];
  snprintf(rel, sizeof rel, "%s", name);
  for (char *p = rel; *p; p++) if (*p == '.') *p = '/';
  const char *dirs[] = {"rules", "scripts"};
  for (int i = 0; i < 2; i++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/%s.lua", ctx->cfg->root, dirs[i], rel);
    char *buf;
    size_t n;
    if (access(path, F_OK)) continue;
    /* the file must really be inside rules/ or scripts/: a symbolic link
     * pointing elsewhere is refused */
    char dir[2048], *rdir, *rpath;
    snprintf(dir, sizeof dir, "%s/%s", ctx->cfg->root, dirs[i]);
    rdir = realpath(dir, NULL);
    rpath = realpath(path, NULL);
    size_t dl = rdir ? strlen(rdir) : 0;
    int inside = rdir && rpath && !strncmp(rpath, rdir, dl) && rpath[dl] == '/';
    free(rdir);
    free(rpath);
    if (!inside) luaL_error(L, "require \"%s\": %s/%s.lua leads outside %s/", name, dirs[i], rel, dirs[i]);
    if (read_file(path, &buf, &n)) luaL_error(L, "require \"%s\": cannot read %s/%s.lua", name, dirs[i], rel);
    char chunk[600];
    snprintf(chunk, sizeof chunk, "@%s/%s.lua", dirs[i], rel);
    int st = sandbox_load(L, buf, n, chunk);
    free(buf);
    if (st != LUA_OK) lua_error(L);
    return;
  }
  luaL_error(L, "require \"%s\": no module %s.lua in rules/ or scripts/", name, rel);
}

/* require(name): modules only from rules/ and scripts/ of the project */
static int l_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  kam_ctx *ctx = kam_ctx_get(L);
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-') || (*p == '.' && p[1] == '.'))
      return luaL_error(L, "require \"%s\": module names are words separated by dots (like lib.money)", name);
  if (name[0] == '.' || !name[0]) return luaL_error(L, "require \"%s\": not a module name", name);
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.loaded");
  if (lua_getfield(L, -1, name) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  /* compiled once, kept by name; run again whenever kam.loaded was reset
   * (each policy evaluation), so a module's locals never carry over */
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.chunks");
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    load_module(L, ctx, name);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
  }
  lua_remove(L, -2);
  /* a module runs in the environment of the evaluation that requires it */
  if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.env") == LUA_TNIL) lua_pop(L, 1);
  else if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushboolean(L, 1); }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  return 1;
}

/* ---- kam.config as a read-only table ----------------------------------- */

static void push_yaml(lua_State *L, ydoc *d, yaml_node_t *n, int depth) {
  luaL_checkstack(L, 4, "config nesting");
  if (!n || depth > 32) { lua_pushnil(L); return; }
  if (n->type == YAML_SCALAR_NODE) {
    const char *s = ydoc_scalar(n);
    if (ydoc_plain(n)) {
      if (!strcmp(s, "true") || !strcmp(s, "yes")) { lua_pushboolean(L, 1); return; }
      if (!strcmp(s, "false") || !strcmp(s, "no")) { lua_pushboolean(L, 0); return; }
      if (!strcmp(s, "null") || !strcmp(s, "~") || !*s) { lua_pushnil(L); return; }
      if (lua_stringtonumber(L, s)) return;
    }
    lua_pushstring(L, s);
  } else if (n->type == YAML_SEQUENCE_NODE) {
    lua_newtable(L);
    int i = 1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
      push_yaml(L, d, ydoc_get(d, *it), depth + 1);
      lua_rawseti(L, -2, i++);
    }
  } else {
    lua_newtable(L);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
      push_yaml(L, d, ydoc_get(d, p->key), depth + 1);
      if (lua_isnil(L, -1)) { lua_pop(L, 1); continue; }
      push_yaml(L, d, ydoc_get(d, p->value), depth + 1);
      lua_rawset(L, -3);
    }
  }
}

static int ro_newindex(lua_State *L) { return luaL_error(L, "kam.config is read-only; edit config/kam.yaml"); }

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

/* Pushes a read-only proxy of the table at real, whose writes call the
 * function on top (popped): reads, pairs and # see through it, its
 * metatable is out of reach, rawset and setmetatable refuse it. */
static void push_proxy(lua_State *L, int real) {
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

/* wraps the table on top into a read-only proxy, recursively */
static void make_readonly(lua_State *L) {
  int t = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_istable(L, -1)) {
      make_readonly(L);
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, t);
    } else lua_pop(L, 1);
  }
  lua_pushcfunction(L, ro_newindex);
  push_proxy(L, t);
  lua_replace(L, t);
}

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

static int lib_newindex(lua_State *L) {
  return luaL_error(L, "%s is kam's and read-only (keep your own values in locals)",
                    lua_tostring(L, lua_upvalueindex(1)));
}

/* Replaces the table field `key` of the table at t by a read-only proxy of
 * it: every evaluation shares these tables, so none may change them. */
static void freeze_field(lua_State *L, int t, const char *key, const char *label) {
  t = lua_absindex(L, t);
  if (lua_getfield(L, t, key) != LUA_TTABLE) { lua_pop(L, 1); return; }
  int real = lua_gettop(L);
  lua_pushstring(L, label);
  lua_pushcclosure(L, lib_newindex, 1);
  push_proxy(L, real);
  sandbox_freeze(L, real);
  lua_setfield(L, t, key);
  lua_pop(L, 1);
}

static void freeze_shared(lua_State *L) {
  lua_getglobal(L, "db"); /* a table kam_lua_open_db made read-only to writes; rawset too */
  sandbox_freeze(L, -1);
  lua_pop(L, 1);
  lua_getglobal(L, "kam");
  freeze_field(L, -1, "fmt", "kam.fmt");
  freeze_field(L, -1, "user", "kam.user");
  lua_pop(L, 1);
  lua_pushglobaltable(L);
  const char *libs[] = {"string", "table", "math", "utf8", "coroutine", "os", "kam", NULL};
  for (int i = 0; libs[i]; i++) freeze_field(L, -1, libs[i], libs[i]);
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
  fprintf(stderr, "kam: internal Lua error: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  return 0; /* Lua aborts */
}

/* pcall, xpcall and coroutine.resume pass a stop on instead of catching it */
static int l_pcall(lua_State *L) {
  luaL_checkany(L, 1);
  int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  if (st != LUA_OK && sandbox_killed()) return lua_error(L);
  if (st != LUA_OK) sandbox_clear_error_code(); /* caught: the script goes on */
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
  if (st != LUA_OK && sandbox_killed()) return lua_error(L);
  if (st != LUA_OK) sandbox_clear_error_code();
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

/* setmetatable without finalizers: Lua runs __gc with hooks off (no budget
 * can stop it) and after the script's transaction or budget has ended. */
static int l_setmetatable(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.frozen") == LUA_TTABLE) {
      lua_pushvalue(L, 1);
      int frozen = lua_rawget(L, -2) != LUA_TNIL;
      lua_pop(L, 2);
      if (frozen) return luaL_error(L, "setmetatable: this table belongs to kam and cannot change");
    } else lua_pop(L, 1);
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
  if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.frozen") == LUA_TTABLE) {
    lua_pushvalue(L, 1);
    int frozen = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (frozen) return luaL_error(L, "rawset: this table belongs to kam and is read-only");
  } else lua_pop(L, 1);
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

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

static const luaL_Reg kam_funcs[] = {
    {"today", l_today}, {"now", l_now}, {"months_ago", l_months_ago}, {"days_ago", l_days_ago},
    {"date_add", l_date_add}, {"days_between", l_days_between}, {"period", l_period},
    {"log", l_log}, {"progress", progress_lua}, {NULL, NULL}};

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
  lua_pushcfunction(L, l_load); lua_setglobal(L, "load");
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
  lua_newtable(L); lua_setfield(L, LUA_REGISTRYINDEX, "kam.loaded");
  lua_newtable(L); lua_setfield(L, LUA_REGISTRYINDEX, "kam.chunks");
  lua_pushcfunction(L, l_require); lua_setglobal(L, "require");

  luaL_newlib(L, kam_funcs);
  lua_newtable(L);
  lua_pushcfunction(L, l_fmt_money); lua_setfield(L, -2, "money");
  lua_pushcfunction(L, l_fmt_number); lua_setfield(L, -2, "number");
  lua_pushcfunction(L, l_fmt_pct); lua_setfield(L, -2, "pct");
  lua_setfield(L, -2, "fmt");
  /* kam.user */
  lua_newtable(L);
  const kam_user *u = ctx->user;
  lua_pushstring(L, ctx->user_id); lua_setfield(L, -2, "id");
  lua_pushstring(L, u && u->name ? u->name : ctx->user_id); lua_setfield(L, -2, "name");
  lua_pushstring(L, u && u->role ? u->role : "guest"); lua_setfield(L, -2, "role");
  if (u && u->team) { lua_pushstring(L, u->team); lua_setfield(L, -2, "team"); }
  if (u && u->staff) { lua_pushstring(L, u->staff); lua_setfield(L, -2, "staff"); }
  lua_setfield(L, -2, "user");
  push_yaml(L, &ctx->cfg->doc, ydoc_root(&ctx->cfg->doc), 0);
  if (!lua_istable(L, -1)) { lua_pop(L, 1); lua_newtable(L); }
  make_readonly(L);
  lua_setfield(L, -2, "config");
  lua_pushliteral(L, "0.1.0"); lua_setfield(L, -2, "version");
  lua_setglobal(L, "kam");
  kam_lua_open_db(ctx);
  freeze_shared(L);
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
  pool_release();
}
