/* lua_kam.c — the `kam` library: kam.fmt, the dates, kam.log, kam.user,
 * kam.config; see lua_kam.h. Plain functions of their arguments and the
 * clock: none touches the book. */
#include "lua_kam.h"
#include "kerr.h"
#include "lua_error.h"
#include "fmt.h"
#include "kdate.h"
#include "progress.h"
#include "readonly.h"
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- kam.log ------------------------------------------------------------ */

/* kam.log(level, fmt, ...): a dated line on standard error, off the progress
 * bar's line */
/* kam.usage("report.lua MONTH"): a script's own usage line for the
 * arguments it was given; the batch runner exits 2, as for kam's own. */
static int l_usage(lua_State *L) {
  const char *line = luaL_checkstring(L, 1);
  lua_pushfstring(L, "usage: %s", line);
  size_t n;
  const char *msg = lua_tolstring(L, -1, &n);
  lerr_push(L, KAM_EUSAGE, msg, n);
  return lua_error(L);
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

static int config_newindex(lua_State *L) { return luaL_error(L, "kam.config is read-only; edit config/kam.yaml"); }

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
  lua_pushcfunction(L, config_newindex);
  readonly_proxy(L, t);
  lua_replace(L, t);
}

/* ---- the library ---------------------------------------------------------- */

static const luaL_Reg kam_funcs[] = {
    {"today", l_today}, {"now", l_now}, {"months_ago", l_months_ago}, {"days_ago", l_days_ago},
    {"date_add", l_date_add}, {"days_between", l_days_between}, {"period", l_period},
    {"log", l_log}, {"usage", l_usage}, {"progress", progress_lua}, {NULL, NULL}};

static void set_text(lua_State *L, const char *k, const char *v) {
  if (!v || !*v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

void lua_kam_open(lua_State *L, kam_config *cfg, const kam_principal *who) {
  luaL_newlib(L, kam_funcs);
  lua_newtable(L);
  lua_pushcfunction(L, l_fmt_money); lua_setfield(L, -2, "money");
  lua_pushcfunction(L, l_fmt_number); lua_setfield(L, -2, "number");
  lua_pushcfunction(L, l_fmt_pct); lua_setfield(L, -2, "pct");
  lua_setfield(L, -2, "fmt");
  /* kam.user: who acts (identity.h) */
  lua_newtable(L);
  if (who) {
    set_text(L, "id", identity_who(who));
    set_text(L, "staff", who->staff);
    set_text(L, "login", who->login);
    set_text(L, "name", who->name);
    set_text(L, "role", who->role);
    set_text(L, "team", who->team);
    /* who really acts under an admin's --as (auth: os): four eyes count that person;
     * under auth: trust --as stands for the person named */
    if (!who->trust) set_text(L, "as_by", who->by);
  }
  lua_setfield(L, -2, "user");
  push_yaml(L, &cfg->doc, ydoc_root(&cfg->doc), 0);
  if (!lua_istable(L, -1)) { lua_pop(L, 1); lua_newtable(L); }
  make_readonly(L);
  lua_setfield(L, -2, "config");
  lua_pushliteral(L, "0.1.0"); lua_setfield(L, -2, "version");
  lua_setglobal(L, "kam");
}
