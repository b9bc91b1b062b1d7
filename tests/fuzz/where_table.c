/* where_table.c — fuzz target: where{} tables built from the input and run
 * against a small book (the Lua tests' fixtures) through the `db` API:
 * q_where's reading of the table (field names, operators, values, entities
 * standing for their ids, lists and maps), query_add's coercion, the plan
 * (index, `in` combinations, ranges) and the rows, then the query's
 * aggregates, sorting and iteration. Input: a byte code, read by the
 * functions below: a collection, up to four steps (where{...},
 * where(function), sort, limit), then up to three of count, list, ids,
 * first, sum, avg, min, max, group, explain, each.
 *
 * Lua itself is not instrumented, so a C function that pushes more values
 * than the stack has room for (LUA_MINSTACK without lua_checkstack) writes
 * past a block of the Lua heap unseen. Here every block Lua allocates once
 * the sandbox is open ends with a canary, checked after each call into the
 * API; an input runs on a new thread, whose stack is such a block. */
#include "config.h"
#include "fuzz_common.h"
#include "lua_db.h"
#include "sandbox.h"
#include <lauxlib.h>
#include <math.h>

static kam_ctx ctx;
static lua_State *L, *L0;

/* ---- canaries after the blocks of the Lua heap -------------------------- */

#define CANARY 32
static lua_Alloc base_alloc;
static void *base_ud;
typedef struct gblock { void *p; size_t n; } gblock;
static gblock *gset; /* open addressing, keys: blocks with a canary */
static size_t gcap, gcount;

static size_t ghash(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull); }

static gblock *gfind(const void *p) {
  if (!gcap) return NULL;
  for (size_t i = ghash(p) & (gcap - 1);; i = (i + 1) & (gcap - 1)) {
    if (gset[i].p == p) return &gset[i];
    if (!gset[i].p) return NULL;
  }
}

static void gput(void *p, size_t n) {
  if ((gcount + 1) * 2 > gcap) {
    gblock *old = gset;
    size_t oldcap = gcap;
    gcap = gcap ? gcap * 2 : 4096;
    gset = calloc(gcap, sizeof *gset);
    gcount = 0;
    for (size_t i = 0; i < oldcap; i++) if (old[i].p) gput(old[i].p, old[i].n);
    free(old);
  }
  size_t i = ghash(p) & (gcap - 1);
  while (gset[i].p) i = (i + 1) & (gcap - 1);
  gset[i].p = p;
  gset[i].n = n;
  gcount++;
}

static void gdel(gblock *b) { /* backward-shift deletion */
  size_t i = (size_t)(b - gset), j = i;
  for (;;) {
    gset[i].p = NULL;
    for (;;) {
      j = (j + 1) & (gcap - 1);
      if (!gset[j].p) { gcount--; return; }
      size_t k = ghash(gset[j].p) & (gcap - 1);
      if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
      break;
    }
    gset[i] = gset[j];
    i = j;
  }
}

static void gcheck(const gblock *b) {
  const unsigned char *t = (const unsigned char *)b->p + b->n;
  for (int i = 0; i < CANARY; i++)
    if (t[i] != 0xA5) {
      fprintf(stderr, "==fuzz: a %zu-byte block of the Lua heap was written past its end (a C function "
                      "pushing more values than the Lua stack has room for, without lua_checkstack?)\n", b->n);
      abort();
    }
}

static void gcheck_all(void) {
  for (size_t i = 0; i < gcap; i++) if (gset[i].p) gcheck(&gset[i]);
}

static void *guarded_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  gblock *b = ptr ? gfind(ptr) : NULL;
  size_t ob = osize;
  if (b) { gcheck(b); ob = osize + CANARY; gdel(b); }
  if (!nsize) { base_alloc(base_ud, ptr, ob, 0); return NULL; }
  void *p = base_alloc(base_ud, ptr, ob, nsize + CANARY);
  if (!p) { if (b) gput(ptr, osize); return NULL; }
  memset((char *)p + nsize, 0xA5, CANARY);
  gput(p, nsize);
  return p;
}
static int ref_stale, ref_pred, ref_cmp, ref_get;

static const char kam_yaml[] =
    "auth: trust\n"
    "limits: {script_seconds: 0, memory_mb: 512}\n";

typedef struct rd { const uint8_t *p, *end; } rd;

static unsigned take(rd *r) { return r->p < r->end ? *r->p++ : 0; }
static int more(const rd *r) { return r->p < r->end; }
static uint64_t take64(rd *r) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = u << 8 | take(r);
  return u;
}

static const char *const words[] = {
    "CL-000001", "CL-000002", "CL-000013", "INV-000006", "ST-000002", "TM-000001", "HD-000001", "PRJ-000001",
    "overdue", "paid", "issued", "active", "prospect", "A", "B", "Z", "FMCG", "F&B", "2026-11-26", "2026-01-01",
    "2025-11-26", "26/11/2026", "2026-11-26T00:00:00+07:00", "", " ", "Vinamilk", "Nguyễn Thị Lan", "Hồ Chí Minh",
    "1.234.567", "12abc", "in", "between", ">=", "L1", "2026", "ROAS", "nan", "true",
    ("Công ty TNHH Một Thành Viên Thương Mại Dịch Vụ Quảng Cáo Truyền Thông Và Tổ Chức Sự Kiện Nhịp Sóng "
     "Phương Nam Chi Nhánh Thành Phố Hồ Chí Minh Quận Một Phường Bến Nghé")};
#define NWORDS (int)(sizeof words / sizeof words[0])

static const char *const ops[] = {"=", "==", "~=", "!=", "<>", ">=", ">", "<=", "<", "in", "between", "like", ""};
#define NOPS (int)(sizeof ops / sizeof ops[0])

static const char *const colls_with_rows[] = {"clients", "invoices", "staff", "opportunities", "spend", "plans"};

static void push_string(rd *r) {
  unsigned t = take(r);
  if (t < 200) { lua_pushstring(L, words[t % NWORDS]); return; }
  size_t n = take(r) % 48;
  char b[48];
  for (size_t i = 0; i < n; i++) b[i] = (char)take(r);
  lua_pushlstring(L, b, n);
}

static void push_value(rd *r, const coll_def *c, int depth);

/* a list of n values; past the end of the input, values made from i */
static void push_list(rd *r, const coll_def *c, int n, int depth) {
  lua_createtable(L, n, 0);
  for (int i = 1; i <= n; i++) {
    if (more(r)) push_value(r, c, depth + 1);
    else if (i & 1) lua_pushinteger(L, i * 1000);
    else {
      char id[32];
      snprintf(id, sizeof id, "CL-%06d", i);
      lua_pushstring(L, id);
    }
    lua_rawseti(L, -2, i);
  }
}

static void push_entity(rd *r) {
  const char *cn = colls_with_rows[take(r) % 6];
  lua_getglobal(L, "db");
  lua_getfield(L, -1, cn);
  lua_getfield(L, -1, "get");
  lua_insert(L, -2);
  lua_pushstring(L, words[take(r) % 8]);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) { lua_pop(L, 1); lua_pushnil(L); }
  lua_remove(L, -2);
}

static void push_value(rd *r, const coll_def *c, int depth) {
  if (!lua_checkstack(L, 8)) fz_die("lua", "stack");
  if (depth > 4) { lua_pushinteger(L, (lua_Integer)take(r)); return; }
  static const double special[] = {NAN, INFINITY, -INFINITY, 0.5, -0.0, 1e300, 9.3e18, -9.3e18, 2.5, 1e8, 4.6};
  switch (take(r) % 20) {
  case 0: lua_pushnil(L); break;
  case 1: lua_pushboolean(L, 1); break;
  case 2: lua_pushboolean(L, 0); break;
  case 3: lua_pushinteger(L, (lua_Integer)take64(r)); break;
  case 4: lua_pushinteger(L, (lua_Integer)(int8_t)take(r) * 50000000); break;
  case 5: { uint64_t u = take64(r); double d; memcpy(&d, &u, 8); lua_pushnumber(L, d); break; }
  case 6: lua_pushnumber(L, special[take(r) % (sizeof special / sizeof special[0])]); break;
  case 7: case 8: case 9: push_string(r); break;
  case 10: case 11: { /* {op, a [, b ...]} */
    int n = (int)(take(r) % 4);
    lua_createtable(L, n + 1, 0);
    unsigned o = take(r);
    if (o < 240) lua_pushstring(L, ops[o % NOPS]);
    else push_value(r, c, depth + 1);
    lua_rawseti(L, -2, 1);
    for (int i = 0; i < n; i++) { push_value(r, c, depth + 1); lua_rawseti(L, -2, i + 2); }
    break;
  }
  case 12: { /* {"in", {... up to 511 values}} */
    int n = (int)take(r);
    if (take(r) & 1) n += 256;
    lua_createtable(L, 2, 0);
    lua_pushstring(L, "in");
    lua_rawseti(L, -2, 1);
    push_list(r, c, n, depth);
    lua_rawseti(L, -2, 2);
    break;
  }
  case 13: { /* {"between", a, b} */
    lua_createtable(L, 3, 0);
    lua_pushstring(L, "between");
    lua_rawseti(L, -2, 1);
    push_value(r, c, depth + 1);
    lua_rawseti(L, -2, 2);
    push_value(r, c, depth + 1);
    lua_rawseti(L, -2, 3);
    break;
  }
  case 14: push_list(r, c, (int)(take(r) % 5), depth); break;
  case 15: { /* a map */
    int n = (int)(take(r) % 4);
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) { push_string(r); push_value(r, c, depth + 1); lua_rawset(L, -3); }
    break;
  }
  case 16: push_entity(r); break;
  case 17: lua_rawgeti(L, LUA_REGISTRYINDEX, ref_stale); break;
  case 18: lua_rawgeti(L, LUA_REGISTRYINDEX, ref_pred); break;
  default: lua_getglobal(L, "db"); lua_getfield(L, -1, "clients"); lua_remove(L, -2); break;
  }
}

static void push_filter(rd *r, const coll_def *c) {
  int n = (int)(take(r) % 6);
  lua_createtable(L, 0, n);
  for (int i = 0; i < n; i++) {
    unsigned k = take(r);
    if (k < 200) lua_pushstring(L, c->fields[k % c->nfields].name);
    else if (k < 225) push_string(r);
    else if (k < 245) lua_pushinteger(L, (lua_Integer)(k - 230));
    else lua_pushboolean(L, k & 1);
    push_value(r, c, 0);
    lua_rawset(L, -3);
  }
}

static void push_field_name(rd *r, const coll_def *c) {
  unsigned k = take(r);
  if (k < 240) lua_pushstring(L, c->fields[k % c->nfields].name);
  else push_string(r);
}

/* q:name(args...) with the query at qi; on success the result replaces the
 * query when `chain` and it is one, else it is dropped. */
static void call(int qi, const char *name, int nargs, int chain) {
  int base = lua_gettop(L) - nargs;
  lua_getfield(L, qi, name);
  lua_pushvalue(L, qi);
  lua_rotate(L, base + 1, 2);
  if (lua_pcall(L, nargs + 1, 1, 0) == LUA_OK && chain && kam_is_query(L, -1)) lua_replace(L, qi);
  else lua_pop(L, 1);
  gcheck_all();
}

/* for e in q:each() do ... e.field ... end, leaving the loop after at most
 * 40 rows (the iterator is then closed by the collector) */
static void each(int qi, rd *r, const coll_def *c) {
  lua_getfield(L, qi, "each");
  lua_pushvalue(L, qi);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) { lua_pop(L, 1); return; }
  int f = lua_gettop(L);
  const char *field = c->fields[take(r) % c->nfields].name;
  for (int i = 0; i < 40; i++) {
    lua_pushvalue(L, f);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK || lua_isnil(L, -1)) { lua_pop(L, 1); break; }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref_get); /* e[field], protected */
    lua_insert(L, -2);
    lua_pushstring(L, field);
    lua_pcall(L, 2, 1, 0);
    lua_pop(L, 1);
  }
  lua_settop(L, f - 1);
}

static void run(rd *r) {
  schema *sc = ctx.sc;
  const coll_def *c = &sc->colls[take(r) % sc->ncolls];
  lua_getglobal(L, "db");
  lua_getfield(L, -1, c->name);
  int qi = lua_gettop(L);
  int steps = 1 + (int)(take(r) % 4);
  for (int s = 0; s < steps && more(r); s++) {
    switch (take(r) % 8) {
    case 5: lua_rawgeti(L, LUA_REGISTRYINDEX, ref_pred); call(qi, "where", 1, 1); break;
    case 6:
      if (take(r) & 1) lua_rawgeti(L, LUA_REGISTRYINDEX, ref_cmp);
      else push_field_name(r, c);
      lua_pushstring(L, take(r) & 1 ? "desc" : "asc");
      call(qi, "sort", 2, 1);
      break;
    case 7: lua_pushinteger(L, (lua_Integer)take(r) - 8); call(qi, "limit", 1, 1); break;
    default: push_filter(r, c); call(qi, "where", 1, 1); break;
    }
  }
  int ends = 1 + (int)(take(r) % 3);
  static const char *const aggs[] = {"count", "sum", "avg", "min", "max", "bad"};
  for (int i = 0; i < ends; i++) {
    switch (take(r) % 12) {
    case 0: call(qi, "count", 0, 0); break;
    case 1: call(qi, "list", 0, 0); break;
    case 2: call(qi, "ids", 0, 0); break;
    case 3: call(qi, "first", 0, 0); break;
    case 4: push_field_name(r, c); call(qi, "sum", 1, 0); break;
    case 5: push_field_name(r, c); call(qi, "avg", 1, 0); break;
    case 6: push_field_name(r, c); call(qi, "min", 1, 0); break;
    case 7: push_field_name(r, c); call(qi, "max", 1, 0); break;
    case 8:
      push_field_name(r, c);
      lua_pushstring(L, aggs[take(r) % 6]);
      push_field_name(r, c);
      call(qi, "group", 3, 0);
      break;
    case 9: call(qi, "explain", 0, 0); break;
    case 10: each(qi, r, c); break;
    default: call(qi, "all", 0, 0); call(qi, "count", 0, 0); break;
    }
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  kam_err e;
  char cp[700];
  fz_mkdir("config");
  fz_path(cp, sizeof cp, "config/kam.yaml");
  fz_write(cp, kam_yaml, sizeof kam_yaml - 1);
  kam_config *cfg;
  if (config_load(&cfg, cp, &e)) fz_die(cp, e.msg);
  date_set_utc_offset(cfg->utc_offset);
  static fz_book book;
  fz_book_make(&book, "where.db");
  ctx.st = book.st;
  ctx.sc = book.sc;
  ctx.cfg = cfg;
  static kam_principal who = {.staff = "ST-000001", .login = "admin", .role = "admin"};
  ctx.who = &who;
  if (sandbox_open(&ctx, &e)) fz_die("sandbox", e.msg);
  L0 = L = ctx.L;
  base_alloc = lua_getallocf(L, &base_ud);
  lua_setallocf(L, guarded_alloc, NULL);
  /* an entity whose snapshot has ended, a predicate, a comparator, a getter */
  const char *src = "local s = db.clients:get('CL-000001') "
                    "return s, function(e) return e.id ~= 'CL-000002' end, function(a, b) return a.id > b.id end, "
                    "function(e, k) return e[k] end";
  if (luaL_loadstring(L, src) != LUA_OK || lua_pcall(L, 0, 4, 0) != LUA_OK) fz_die("lua", lua_tostring(L, -1));
  ref_get = luaL_ref(L, LUA_REGISTRYINDEX);
  ref_cmp = luaL_ref(L, LUA_REGISTRYINDEX);
  ref_pred = luaL_ref(L, LUA_REGISTRYINDEX);
  ref_stale = luaL_ref(L, LUA_REGISTRYINDEX);
  kam_end_snapshots(&ctx);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_begin();
  rd r = {data, data + size};
  L = lua_newthread(L0); /* a small stack of its own, with a canary */
  run(&r);
  L = L0;
  lua_settop(L, 0);
  kam_end_snapshots(&ctx);
  lua_gc(L, LUA_GCCOLLECT);
  gcheck_all();
  fz_end();
  return 0;
}
