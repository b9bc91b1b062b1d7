/* policy.c — see policy.h. The bindings below form the table `K` that the
 * driver (policy.lua) and its modules receive; nothing of it is visible to
 * policies. */
#include "policy.h"
#include "lua_error.h"
#include "lua_colmap.h"
#include "decisions.h"
#include "grouppass.h"
#include "import.h"
#include "kdate.h"
#include "output.h"
#include "record.h"
#include "sandbox.h"
#include "sha256.h"
#include "store.h"
#include "workers.h"
#include "lua_entity.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* The driver and its modules, compiled in by CMakeLists.txt (core/embed.cmake):
 * each is loaded under its own file's name, so errors point into it. */
extern const unsigned char policy_lua[], policy_engine_lua[], policy_commands_lua[], policy_test_lua[],
    policy_check_lua[], policy_requests_lua[], policy_guards_lua[];
extern const unsigned int policy_lua_len, policy_engine_lua_len, policy_commands_lua_len, policy_test_lua_len,
    policy_check_lua_len, policy_requests_lua_len, policy_guards_lua_len;
extern const unsigned char policy_reconcile_lua[]; /* kam reconcile */
extern const unsigned int policy_reconcile_lua_len;
typedef struct embedded {
  const char *name, *chunk;
  const unsigned char *src;
  const unsigned int *len;
} embedded;
static const embedded driver = {NULL, "@core/policy.lua", policy_lua, &policy_lua_len};
static const embedded modules[] = {
    {"engine", "@core/policy/engine.lua", policy_engine_lua, &policy_engine_lua_len},
    {"commands", "@core/policy/commands.lua", policy_commands_lua, &policy_commands_lua_len},
    {"test", "@core/policy/test.lua", policy_test_lua, &policy_test_lua_len},
    {"check", "@core/policy/check.lua", policy_check_lua, &policy_check_lua_len},
    {"requests", "@core/policy/requests.lua", policy_requests_lua, &policy_requests_lua_len},
    {"reconcile", "@core/policy/reconcile.lua", policy_reconcile_lua, &policy_reconcile_lua_len},
    {"guards", "@core/policy/guards.lua", policy_guards_lua, &policy_guards_lua_len},
};

typedef struct pstate {
  kam_ctx *ctx;
  int fmt;
  char label[300];      /* "policy tiering, clients CL-000042" while a subject is evaluated */
  double policy_seconds;
  char tmpdir[256];     /* fresh books for kam test */
  int nbooks;
  kam_store *orig;      /* the book kam test started from */
  int covering;         /* kam test --coverage: the line hook stays, budgets wait */
  MDB_txn *dtxn;        /* one read txn for decision look-ups during a run */
  MDB_cursor *dcur;
  MDB_txn *rtxn;        /* the short read txn of K.history or K.source while it runs */
  kbuf records;         /* K.history's records, copied out of the map */
  unsigned evaluations;  /* so far: the collector is re-tuned every 512 */
  kbuf staged;          /* decisions of eval --commit, encoded as they are made */
  lua_Integer nstaged;
  int inner;            /* the write guards' runner: it runs inside a script's writes, whose
                           budget an evaluation's end must not restart (a hold's routing) */
  int has_loaded;       /* the guards' modules and environment (policy_guard_enter) ... */
  unsigned loaded_gen;  /* ... made for this transaction */
} pstate;

static pstate *P_(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* a full map inside kam.tx grows and replays, like any other write */
static int fail_kam(lua_State *L, kam_err *e) {
  if (e->code == KAM_EFULL) return kam_raise_write(L, e);
  return sandbox_raise_err(L, e->code, e->msg);
}

static void end_dtxn(pstate *ps) {
  decision_cursor_close(ps->dcur);
  store_abort(ps->dtxn);
  ps->dcur = NULL;
  ps->dtxn = NULL;
}

static void end_read(pstate *ps) {
  store_abort(ps->rtxn);
  ps->rtxn = NULL;
}

/* ---- files, hashes, chunks ----------------------------------------------- */

static int k_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  FILE *f = fopen(path, "rb");
  if (!f) { lua_pushnil(L); lua_pushfstring(L, "%s: cannot open: %s", path, strerror(errno)); return 2; }
  kbuf b = {0};
  int rc = kbuf_read(&b, f, 0);
  fclose(f);
  if (rc) { kbuf_free(&b); lua_pushnil(L); lua_pushfstring(L, "%s: read error", path); return 2; }
  lua_pushlstring(L, b.len ? (const char *)b.p : "", b.len);
  kbuf_free(&b);
  return 1;
}

static int k_exists(lua_State *L) {
  struct stat sb;
  lua_pushboolean(L, stat(luaL_checkstring(L, 1), &sb) == 0 && S_ISREG(sb.st_mode));
  return 1;
}

static int k_root(lua_State *L) {
  lua_pushstring(L, P_(L)->ctx->cfg->root);
  return 1;
}

/* files of a folder ending in suffix, sorted */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int k_ls(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1), *suffix = luaL_optstring(L, 2, "");
  DIR *d = opendir(dir);
  lua_newtable(L);
  if (!d) return 1;
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *de;
  size_t sl = strlen(suffix);
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] == '.' || l < sl || strcmp(de->d_name + l - sl, suffix)) continue;
    if (n == cap) { cap = cap ? cap * 2 : 32; names = realloc(names, sizeof *names * (size_t)cap); }
    names[n++] = strdup(de->d_name);
  }
  closedir(d);
  if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) { lua_pushstring(L, names[i]); lua_rawseti(L, -2, i + 1); free(names[i]); }
  free(names);
  return 1;
}

static int k_sha256(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[65];
  sha256_hex(s, n, hex);
  lua_pushstring(L, hex);
  return 1;
}

static int k_compile(lua_State *L) {
  size_t n;
  const char *src = luaL_checklstring(L, 1, &n);
  const char *name = luaL_checkstring(L, 2);
  if (sandbox_load(L, src, n, name) != LUA_OK) { lua_pushnil(L); lua_insert(L, -2); return 2; }
  return 1;
}

/* Pushes a fresh environment whose globals fall back to the sandbox's as kam
 * set them up (kam.base, sandbox.c), not to the live globals a script may
 * have changed: a policy, a write guard or kam's own Lua run inside a
 * script's command (kam.request, a write) must not see the script's db. */
static void push_clean_env(lua_State *L) {
  lua_createtable(L, 0, 4);
  /* its _G is itself: rawset(_G, ...) and _G.x = ... stay in it */
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
  /* one metatable for all of them, out of the scripts' reach */
  if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.envmt") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.base") != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_pushglobaltable(L);
    }
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "kam.envmt");
  }
  lua_setmetatable(L, -2);
}

/* Runs a compiled chunk in a fresh environment (push_clean_env): every
 * evaluation starts from nothing another left behind. */
static int k_instantiate(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  push_clean_env(L);
  /* load() and require without an environment use this one */
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.env");
  if (!lua_setupvalue(L, 1, 1)) lua_pop(L, 1);
  lua_call(L, 0, 1);
  return 1;
}

static int k_funcline(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_Debug ar;
  lua_pushvalue(L, 1);
  lua_getinfo(L, ">S", &ar);
  lua_pushinteger(L, ar.linedefined);
  lua_pushinteger(L, ar.lastlinedefined);
  return 2;
}

/* the bytecode listing of a file, for kam check (luac from Debian's lua5.4) */
static int k_luac(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  for (const char *p = path; *p; p++)
    if (*p == '\'' || *p == '\\') { lua_pushnil(L); return 1; }
  char cmd[2200];
  snprintf(cmd, sizeof cmd, "luac5.4 -p -l -l '%s' 2>/dev/null", path);
  FILE *f = popen(cmd, "r");
  if (!f) { lua_pushnil(L); lua_pushliteral(L, "cannot run luac5.4"); return 2; }
  kbuf b = {0};
  int rerr = kbuf_read(&b, f, 0);
  int st = pclose(f);
  if (rerr || st != 0 || !b.len) {
    kbuf_free(&b);
    lua_pushnil(L);
    /* the shell's 127: the program is not there */
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
      lua_pushliteral(L, "kam check needs luac5.4 to list the bytecode (Debian package lua5.4); nothing was checked");
    else lua_pushliteral(L, "luac5.4 could not list it");
    return 2;
  }
  lua_pushlstring(L, (const char *)b.p, b.len);
  kbuf_free(&b);
  return 1;
}

/* ---- budgets -------------------------------------------------------------- */

/* Each evaluation: its budget, and modules loaded afresh (kam.loaded emptied;
 * their compiled chunks are kept). */
static int k_arm(lua_State *L) {
  pstate *ps = P_(L);
  snprintf(ps->label, sizeof ps->label, "%s", luaL_optstring(L, 1, ""));
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.loaded");
  /* each evaluation draws the same random numbers, whatever the last one seeded */
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.randomseed");
  lua_pushinteger(L, 0);
  lua_call(L, 1, 0);
  /* a policy reads; what it decides is written by --commit, by kam */
  ps->ctx->no_write = "a policy only reads the book (kam policy eval --commit writes its decisions)";
  if (!ps->covering) sandbox_arm_for(L, ps->policy_seconds, "limits.policy_seconds");
  if ((ps->evaluations++ & 511) == 0) sandbox_gc_tune(L);
  return 0;
}

static int k_disarm(lua_State *L) {
  pstate *ps = P_(L);
  ps->label[0] = 0;
  ps->ctx->no_write = NULL;
  if (ps->inner) sandbox_disarm_inner(L);
  else if (!ps->covering) sandbox_disarm_for(L, ps->ctx->cfg->script_seconds);
  return 0;
}

/* K.guard_call(fn, ...) -> true, results | false, error: a write guard's
 * check (or its file's top level) under the policy budget, the book read
 * whole and not written. Unlike K.arm nothing is reset and no label made:
 * a guard runs inside a script's write, a million times in an import. */
static int k_guard_call(lua_State *L) {
  pstate *ps = P_(L);
  kam_ctx *ctx = ps->ctx;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const char *was = ctx->no_write;
  ctx->no_write = "a guard only reads the book (what it decides, kam does)";
  ctx->unscoped++;
  sandbox_arm_for(L, ps->policy_seconds, "limits.policy_seconds");
  /* a row's table is garbage at once, the guards' memo lives on: a young
   * generation sized to the heap keeps the collector off the memo */
  if ((ps->evaluations++ & 4095) == 0) sandbox_gc_tune(L);
  int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  sandbox_disarm_inner(L);
  ctx->unscoped--;
  ctx->no_write = was;
  lua_pushboolean(L, st == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

/* A registry value taken aside (a ref, LUA_REFNIL for nil) and put back. */
static int take_aside(lua_State *L, const char *key) {
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

static void put_back(lua_State *L, const char *key, int ref) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  lua_setfield(L, LUA_REGISTRYINDEX, key);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
}

void policy_guard_enter(kam_ctx *ctx, policy_guard_scope *s, int arm, int swap) {
  lua_State *L = ctx->L;
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.guards.ps");
  pstate *ps = lua_touserdata(L, -1);
  lua_pop(L, 1);
  s->swapped = swap;
  if (!swap) goto arming;
  /* modules and the environment of the guards' own, one set per
   * transaction: a script's required modules (which it may have changed)
   * and its environment are put aside, and back after */
  s->loaded = take_aside(L, "kam.loaded");
  s->env = take_aside(L, "kam.env");
  if (ps && (!ps->has_loaded || ps->loaded_gen != ctx->guard_gen)) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "kam.guards.loaded");
    push_clean_env(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "kam.guards.env");
    ps->has_loaded = 1;
    ps->loaded_gen = ctx->guard_gen;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.guards.loaded");
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.loaded");
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.guards.env");
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.env");
arming:
  s->armed = arm;
  if (!arm) return;
  s->no_write = ctx->no_write;
  ctx->no_write = "a guard only reads the book (what it decides, kam does)";
  ctx->unscoped++;
  sandbox_arm_for(L, ps ? ps->policy_seconds : ctx->cfg->policy_seconds, "limits.policy_seconds");
  /* a row's table is garbage at once, the guards' memo lives on: a young
   * generation sized to the heap keeps the collector off the memo */
  if (ps && (ps->evaluations++ & 4095) == 0) sandbox_gc_tune(L);
}

void policy_guard_leave(kam_ctx *ctx, policy_guard_scope *s) {
  lua_State *L = ctx->L;
  if (s->armed) {
    sandbox_disarm_inner(L);
    ctx->unscoped--;
    ctx->no_write = s->no_write;
  }
  if (!s->swapped) return;
  put_back(L, "kam.loaded", s->loaded);
  put_back(L, "kam.env", s->env);
}

/* K.where(level) -> "rules/x.lua:42": the line a function up the stack is at */
static int k_where(lua_State *L) {
  lua_Debug ar;
  int level = (int)luaL_optinteger(L, 1, 1);
  if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Sl", &ar) || ar.currentline < 0) { lua_pushnil(L); return 1; }
  const char *src = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
  const char *root = P_(L)->ctx->cfg->root;
  size_t rl = strlen(root);
  if (rl && !strncmp(src, root, rl) && src[rl] == '/') src += rl + 1;
  lua_pushfstring(L, "%s:%d", src, ar.currentline);
  return 1;
}

/* K.as_engine(fn): fn's writes are the engine's (a guard's hold or flag acts
 * on its own authority, audited on channel "guard"), then it is the user's
 * transaction again. Inside kam.tx only. */
static int k_as_engine(lua_State *L) {
  kam_ctx *ctx = P_(L)->ctx;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (!ctx->wtxn) return luaL_error(L, "K.as_engine: only inside a write");
  int was = ctx->engine_write;
  kam_actor saved = ctx->engine_actor;
  ctx->engine_actor = ctx->actor;
  ctx->engine_actor.channel = "guard";
  ctx->engine_write = 1;
  lua_settop(L, 1);
  int st = lua_pcall(L, 0, 0, 0);
  ctx->engine_write = was;
  ctx->engine_actor = saved;
  if (st != LUA_OK) return lua_error(L);
  return 0;
}

/* K.memo(on): counts and sums remembered within the snapshot (whatif) */
static int k_memo(lua_State *L) {
  kam_memo(lua_toboolean(L, 1));
  return 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static int k_json(lua_State *L) {
  luaL_checkany(L, 1);
  out_opts o = {.fmt = FMT_JSON};
  out_check(L, 1); /* raises before the buffer exists: a refused value leaks nothing */
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  out_value(L, 1, &o, f);
  fclose(f);
  while (n && buf[n - 1] == '\n') n--;
  lua_pushlstring(L, buf, n);
  free(buf);
  return 1;
}

static void push_cjson(lua_State *L, const cJSON *j, int depth) {
  luaL_checkstack(L, 4, "json");
  if (depth > 64 || cJSON_IsNull(j)) lua_pushnil(L);
  else if (cJSON_IsBool(j)) lua_pushboolean(L, cJSON_IsTrue(j));
  else if (cJSON_IsNumber(j)) {
    double d = j->valuedouble;
    if (d == (double)(lua_Integer)d && d > -9e15 && d < 9e15) lua_pushinteger(L, (lua_Integer)d);
    else lua_pushnumber(L, d);
  } else if (cJSON_IsString(j)) lua_pushstring(L, j->valuestring);
  else {
    lua_newtable(L);
    lua_Integer i = 1;
    for (const cJSON *c = j->child; c; c = c->next) {
      push_cjson(L, c, depth + 1);
      if (cJSON_IsObject(j)) lua_setfield(L, -2, c->string);
      else lua_rawseti(L, -2, i++);
    }
  }
}

static int k_unjson(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  cJSON *j = cJSON_ParseWithLength(s, n);
  if (!j) { lua_pushnil(L); return 1; }
  push_cjson(L, j, 0);
  cJSON_Delete(j);
  return 1;
}

/* K.print(value [, columns]): records with columns print in that order */
static int k_print(lua_State *L) {
  pstate *ps = P_(L);
  out_opts o = {.fmt = (out_fmt)ps->fmt, .headers = 1, .max_width = 60};
  if (lua_istable(L, 2)) out_records(L, 1, 2, &o, stdout);
  else out_value(L, 1, &o, stdout);
  return 0;
}

/* K.warn(msg): a line on stderr in the kam: where: what form */
static int k_warn(lua_State *L) {
  fprintf(stderr, "kam: %s\n", luaL_checkstring(L, 1));
  return 0;
}

/* K.error_code(err): the exit code an error value carries (1 unless C
 * raised it with another); K.fail(code, msg): raises msg with that code. */
static int k_error_code(lua_State *L) {
  lua_settop(L, 1);
  lua_pushinteger(L, sandbox_error_code(L));
  return 1;
}

static int k_fail(lua_State *L) {
  int code = (int)luaL_checkinteger(L, 1);
  size_t n;
  const char *msg = luaL_checklstring(L, 2, &n);
  lerr_push(L, code, msg, n);
  return lua_error(L);
}

static int k_format(lua_State *L) {
  lua_pushstring(L, out_fmt_names[P_(L)->fmt]);
  return 1;
}

/* ---- decisions, runs and policy sources -------------------------------- */

/* Read txns here are short and separate from the statement's snapshot: the
 * decisions are not part of what a policy reads (inside kam.tx: its txn).
 * Kept in ps until end_read, so an error raised in between leaves none open:
 * policy_command ends it. */
static MDB_txn *begin_read(lua_State *L, pstate *ps) {
  kam_ctx *ctx = ps->ctx;
  if (ctx->wtxn) return ctx->wtxn;
  end_read(ps);
  kam_err e;
  if (store_begin(ctx->st, 0, &ps->rtxn, &e)) { fail_kam(L, &e); return NULL; }
  return ps->rtxn;
}

static void push_decision(lua_State *L, const MDB_val *v) {
  static const char *const names[] = {[DC_POLICY] = "policy", [DC_HASH] = "hash", [DC_COLL] = "collection",
                                      [DC_ID] = "id", [DC_RESULT] = "result", [DC_REASONS] = "reasons",
                                      [DC_TIME] = "time", [DC_USER] = "user", [DC_RUN] = "run"};
  rec_iter it;
  uint32_t fid;
  kval x;
  lua_newtable(L);
  if (!rec_iter_init(&it, v->mv_data, v->mv_size)) return;
  while (rec_next(&it, &fid, &x)) {
    if (fid < 1 || fid > DC_RUN) continue;
    kam_push_kval(L, &x);
    lua_setfield(L, -2, names[fid]);
  }
}

/* K.last(id, policy [, result_only]) -> the newest decision or nil; with
 * result_only its result (JSON text) alone, which is all an eval compares:
 * a decision's reasons are a list of texts not worth a table per subject.
 * One read transaction and cursor serve every look-up of a run; inside
 * kam.tx a cursor of the tx's own, which sees its writes. */
static int k_last(lua_State *L) {
  pstate *ps = P_(L);
  kam_ctx *ctx = ps->ctx;
  size_t idlen;
  const char *id = luaL_checklstring(L, 1, &idlen);
  const char *policy = luaL_checkstring(L, 2);
  kam_err e;
  MDB_cursor *cur = ps->dcur;
  if (ctx->wtxn) {
    if (decision_cursor(ctx->wtxn, ctx->st, &cur, &e)) return fail_kam(L, &e);
  } else if (!cur) {
    if (store_begin(ctx->st, 0, &ps->dtxn, &e)) return fail_kam(L, &e);
    if (decision_cursor(ps->dtxn, ctx->st, &ps->dcur, &e)) { end_dtxn(ps); return fail_kam(L, &e); }
    cur = ps->dcur;
  }
  MDB_val rec;
  int rc = decision_last(cur, id, idlen, policy, &rec, &e);
  if (cur != ps->dcur) decision_cursor_close(cur); /* the record stays valid: its txn goes on */
  if (rc) return fail_kam(L, &e);
  kval result;
  if (!rec.mv_data) lua_pushnil(L);
  else if (!lua_toboolean(L, 3)) push_decision(L, &rec);
  else if (rec_find(rec.mv_data, rec.mv_size, DC_RESULT, &result)) kam_push_kval(L, &result);
  else lua_pushnil(L);
  return 1;
}

/* staged decisions and copied records: a varint length, then the bytes */
static const uint8_t *staged_str(const uint8_t *p, const uint8_t *end, const char **s, size_t *n) {
  uint64_t len;
  size_t k = uvarint_get(p, end, &len);
  if (!k || (uint64_t)(end - p - k) < len) return NULL;
  *s = (const char *)p + k;
  *n = (size_t)len;
  return p + k + len;
}

/* copies a record out of the map, so the txn ends before Lua allocates */
static void keep_record(const MDB_val *rec, void *ud) {
  kbuf *b = ud;
  kbuf_uvarint(b, rec->mv_size);
  kbuf_put(b, rec->mv_data, rec->mv_size);
}

/* K.history(id [, policy]) -> decisions in key order (the driver puts them
 * in time order) */
static int k_history(lua_State *L) {
  pstate *ps = P_(L);
  size_t idlen;
  const char *id = luaL_checklstring(L, 1, &idlen);
  const char *policy = luaL_optstring(L, 2, NULL);
  MDB_txn *txn = begin_read(L, ps);
  kam_err e;
  kbuf *b = &ps->records;
  kbuf_reset(b);
  int rc = decision_history(txn, ps->ctx->st, id, idlen, policy, keep_record, b, &e);
  end_read(ps);
  if (rc) return fail_kam(L, &e);
  lua_newtable(L);
  lua_Integer n = 0;
  const uint8_t *p = b->p, *end = p + b->len;
  const char *r;
  size_t rlen;
  while (p && p < end && (p = staged_str(p, end, &r, &rlen))) {
    MDB_val v = {rlen, (void *)r};
    push_decision(L, &v);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

static kam_ctx *need_write(lua_State *L) {
  kam_ctx *ctx = P_(L)->ctx;
  if (!ctx->wtxn) luaL_error(L, "decisions are written only inside kam.tx");
  return ctx;
}

/* K.stage(id, result_json, reasons): a decision to commit later, encoded now
 * outside the Lua heap, so a big run does not keep every reason as Lua
 * strings until its end. */
static int k_stage(lua_State *L) {
  pstate *ps = P_(L);
  size_t idlen, rlen;
  const char *id = luaL_checklstring(L, 1, &idlen);
  const char *res = luaL_checklstring(L, 2, &rlen);
  luaL_checktype(L, 3, LUA_TTABLE);
  kbuf reasons = {0};
  lua_Integer nr = (lua_Integer)lua_rawlen(L, 3);
  kbuf_uvarint(&reasons, (uint64_t)nr);
  for (lua_Integer i = 1; i <= nr; i++) {
    lua_rawgeti(L, 3, i);
    size_t n;
    const char *str = luaL_tolstring(L, -1, &n);
    kval v = kv_str(str, n);
    val_put(&reasons, &v);
    lua_pop(L, 2);
  }
  kbuf *b = &ps->staged;
  kbuf_uvarint(b, idlen);
  kbuf_put(b, id, idlen);
  kbuf_uvarint(b, rlen);
  kbuf_put(b, res, rlen);
  kbuf_uvarint(b, reasons.len);
  kbuf_put(b, reasons.p, reasons.len);
  kbuf_free(&reasons);
  ps->nstaged++;
  return 0;
}

/* K.put_staged(run, policy, hash, coll) -> count: writes the staged decisions
 * with one range of sequence numbers and one time. They stay staged: a kam.tx
 * that fills the map runs this again in a fresh transaction. */
static int k_put_staged(lua_State *L) {
  pstate *ps = P_(L);
  kam_ctx *ctx = need_write(L);
  lua_Integer run = luaL_checkinteger(L, 1);
  const char *policy = luaL_checkstring(L, 2), *hash = luaL_checkstring(L, 3), *coll = luaL_checkstring(L, 4);
  kam_err e;
  uint64_t seq;
  if (decision_seq(ctx->wtxn, ctx->st, &seq, &e)) return fail_kam(L, &e);
  char now[40];
  datetime_now(now);
  decision d = {.policy = policy, .hash = hash, .coll = coll, .time = now, .user = ctx->actor.who, .run = run};
  const uint8_t *p = ps->staged.p, *end = p + ps->staged.len;
  lua_Integer n = 0;
  while (p && p < end) {
    if (!(p = staged_str(p, end, &d.id, &d.idlen)) || !(p = staged_str(p, end, &d.result, &d.resultlen)) ||
        !(p = staged_str(p, end, &d.reasons, &d.reasonslen)))
      break;
    n++;
    if (decision_put(ctx->wtxn, ctx->st, ++seq, &d, &e)) return fail_kam(L, &e);
  }
  if (n != ps->nstaged) return luaL_error(L, "staged decisions: %d of %d readable", (int)n, (int)ps->nstaged);
  if (decision_set_seq(ctx->wtxn, ctx->st, seq, &e)) return fail_kam(L, &e);
  lua_pushinteger(L, n);
  return 1;
}

/* K.commit_as(policy, hash, subject, writes): the right to commit the
 * policy (access.h), refused with exit 3 before anything is evaluated or
 * written. Inside kam.tx it also lets the policy's one field be written by
 * that right, audited as the policy's, until the transaction ends. */
static int k_commit_as(lua_State *L) {
  kam_ctx *ctx = P_(L)->ctx;
  const char *policy = luaL_checkstring(L, 1), *hash = luaL_checkstring(L, 2);
  const char *subject = luaL_optstring(L, 3, NULL), *writes = luaL_optstring(L, 4, NULL);
  kam_err e;
  if (ctx->access && ctx->who && access_may(ctx->access, ctx->who, ACT_COMMIT, policy, &e)) {
    lerr_push(L, e.code, e.msg, strlen(e.msg)); /* kam's own refusal: no script line to name */
    return lua_error(L);
  }
  if (!ctx->wtxn || !subject || !writes) return 0;
  const coll_def *c = schema_coll(ctx->sc, subject);
  int f = c ? coll_field(c, writes) : -1;
  if (f < 0) return luaL_error(L, "policy %s: writes %s.%s, which the schema does not have", policy, subject, writes);
  snprintf(ctx->commit_source, sizeof ctx->commit_source, "policy %s --commit", policy);
  ctx->commit_actor = ctx->actor;
  ctx->commit_actor.channel = "policy";
  ctx->commit_actor.source = ctx->commit_source;
  lua_pushstring(L, hash); /* kept alive by the registry while the commit runs */
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.commit_hash");
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.commit_hash");
  ctx->commit_actor.hash = lua_tostring(L, -1);
  lua_pop(L, 1);
  ctx->commit_coll = c;
  ctx->commit_field = f;
  return 0;
}

/* K.engine_write(): inside kam.tx, the request engine's writes from here to
 * the end of the transaction are its own (ctx.h), audited on channel
 * "request". Only the embedded driver holds K. */
static int k_engine_write(lua_State *L) {
  kam_ctx *ctx = P_(L)->ctx;
  if (!ctx->wtxn) return luaL_error(L, "K.engine_write: only inside kam.tx");
  ctx->engine_actor = ctx->actor;
  ctx->engine_actor.channel = "request";
  ctx->engine_write = 1;
  return 0;
}

/* K.may(action, on) -> nil | message, code: what the access rules say of
 * an action on something whole (approve KIND, commit POLICY). */
static int k_may(lua_State *L) {
  kam_ctx *ctx = P_(L)->ctx;
  int act = access_action(luaL_checkstring(L, 1));
  const char *on = luaL_checkstring(L, 2);
  kam_err e;
  if (act < 0) return luaL_error(L, "K.may: no such action");
  if (!ctx->access || !ctx->who || !access_may(ctx->access, ctx->who, act, on, &e)) return 0;
  lua_pushstring(L, e.msg);
  lua_pushinteger(L, e.code);
  return 2;
}

/* K.run(policy, hash, mode, evaluated, changed, failed) -> run id; the run's
 * record in `runs` */
static int k_run(lua_State *L) {
  kam_ctx *ctx = need_write(L);
  run_info r = {0};
  r.policy = luaL_checkstring(L, 1);
  r.hash = luaL_checkstring(L, 2);
  r.mode = luaL_checkstring(L, 3);
  r.evaluated = luaL_optinteger(L, 4, 0);
  r.changed = luaL_optinteger(L, 5, 0);
  r.failed = luaL_optinteger(L, 6, 0);
  char now[40];
  datetime_now(now);
  r.time = now;
  r.user = ctx->actor.who;
  kam_err e;
  uint64_t run;
  if (run_put(ctx->wtxn, ctx->st, &r, &run, &e)) return fail_kam(L, &e);
  lua_pushinteger(L, (lua_Integer)run);
  return 1;
}

/* K.save_source(name, hash, text): policy texts are kept by hash, so a
 * what-if can compare with the version whose decisions are in the book even
 * after the file was edited. */
static int k_save_source(lua_State *L) {
  kam_ctx *ctx = need_write(L);
  const char *name = luaL_checkstring(L, 1), *hash = luaL_checkstring(L, 2);
  size_t n;
  const char *src = luaL_checklstring(L, 3, &n);
  kam_err e;
  if (policy_text_put(ctx->wtxn, ctx->st, name, hash, src, n, &e)) return fail_kam(L, &e);
  return 0;
}

/* K.source(name) -> text, hash of the version last committed (nil, hash when
 * its text is missing; nil when none was); K.source(name, hash) -> text or nil */
static int k_source(lua_State *L) {
  pstate *ps = P_(L);
  kam_store *st = ps->ctx->st;
  const char *name = luaL_checkstring(L, 1);
  const char *hash = luaL_optstring(L, 2, NULL);
  MDB_txn *txn = begin_read(L, ps);
  kam_err e;
  MDB_val v;
  int n = 0, rc = 0;
  if (!hash) {
    rc = policy_text_current(txn, st, name, &v, &e);
    if (!rc && v.mv_data) { lua_pushlstring(L, v.mv_data, v.mv_size); hash = lua_tostring(L, -1); n = 1; }
  }
  if (!rc && hash) {
    rc = policy_text_get(txn, st, name, hash, &v, &e);
    if (!rc && v.mv_data) { lua_pushlstring(L, v.mv_data, v.mv_size); n++; }
    else if (!rc && n) { lua_pushnil(L); n++; }
  }
  end_read(ps);
  if (rc) return fail_kam(L, &e);
  if (!n) { lua_pushnil(L); return 1; }
  if (n == 2) lua_insert(L, -2); /* source, hash */
  return n;
}

/* ---- fresh books for kam test --------------------------------------------- */

static int k_fresh_book(lua_State *L) {
  pstate *ps = P_(L);
  kam_ctx *ctx = ps->ctx;
  end_dtxn(ps);
  end_read(ps);
  if (ctx->wtxn) return luaL_error(L, "a fresh book cannot start inside kam.tx");
  kam_end_snapshots(ctx);
  if (!ps->tmpdir[0]) {
    snprintf(ps->tmpdir, sizeof ps->tmpdir, "%s/kam-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(ps->tmpdir)) return luaL_error(L, "kam test: cannot make a temporary folder");
    ps->orig = ctx->st;
  } else if (ctx->st != ps->orig) {
    char old[400];
    snprintf(old, sizeof old, "%s/book%d.db", ps->tmpdir, ps->nbooks);
    store_close(ctx->st);
    store_remove(old);
  }
  char path[400];
  snprintf(path, sizeof path, "%s/book%d.db", ps->tmpdir, ++ps->nbooks);
  kam_err e;
  kam_store *st;
  if (store_open(&st, path, ctx->sc, STORE_CREATE, 16u << 20, &e)) return fail_kam(L, &e);
  ctx->st = st;
  ctx->scratch = 1;
  return 0;
}

static void drop_test_books(pstate *ps) {
  if (!ps->tmpdir[0]) return;
  kam_ctx *ctx = ps->ctx;
  if (ctx->st != ps->orig) {
    kam_end_snapshots(ctx);
    store_close(ctx->st);
    ctx->st = ps->orig;
    ctx->scratch = 0;
  }
  DIR *d = opendir(ps->tmpdir);
  if (d) {
    struct dirent *de;
    char p[600];
    while ((de = readdir(d)))
      if (de->d_name[0] != '.') { snprintf(p, sizeof p, "%s/%s", ps->tmpdir, de->d_name); unlink(p); }
    closedir(d);
  }
  rmdir(ps->tmpdir);
  ps->tmpdir[0] = 0;
}

/* K.import(json_text) — fixtures, through the same validated import */
static int k_import(lua_State *L) {
  pstate *ps = P_(L);
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  kam_ctx *ctx = ps->ctx;
  kam_end_snapshots(ctx);
  char path[400];
  snprintf(path, sizeof path, "%s/fixture.json", ps->tmpdir[0] ? ps->tmpdir : "/tmp");
  FILE *f = fopen(path, "wb");
  if (!f) return luaL_error(L, "fixture: cannot write %s", path);
  fwrite(text, 1, n, f);
  fclose(f);
  char *files[1] = {path};
  import_opts io = {NULL, 0, &ctx->actor, 5, NULL, NULL}; /* a scratch book: no rules */
  import_stats stats;
  kam_err e;
  int rc = import_files(ctx->st, files, 1, &io, &stats, &e);
  unlink(path);
  if (rc) {
    /* name the fixture, not the temporary file */
    const char *m = strstr(e.msg, "fixture.json");
    return luaL_error(L, "fixture%s", m ? m + 12 : e.msg);
  }
  lua_pushinteger(L, stats.rows);
  return 1;
}

/* ---- coverage -------------------------------------------------------------- */

static void cover_hook(lua_State *L, lua_Debug *ar) {
  if (ar->event != LUA_HOOKLINE) return;
  if (!lua_getinfo(L, "S", ar) || ar->source[0] != '@' || strncmp(ar->source, "@rules/", 7)) return;
  if (strstr(ar->source, "_test.lua")) return;
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.coverage");
  if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
  if (lua_getfield(L, -1, ar->source + 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, ar->source + 1);
  }
  lua_rawgeti(L, -1, ar->currentline);
  lua_Integer n = lua_tointeger(L, -1) + 1;
  lua_pop(L, 1);
  lua_pushinteger(L, n);
  lua_rawseti(L, -2, ar->currentline);
  lua_pop(L, 2);
}

static int k_coverage(lua_State *L) {
  P_(L)->covering = lua_toboolean(L, 1);
  if (lua_toboolean(L, 1)) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "kam.coverage");
    lua_sethook(L, cover_hook, LUA_MASKLINE, 0); /* no time budget while measuring */
    return 0;
  }
  lua_sethook(L, NULL, 0, 0);
  sandbox_arm(L, P_(L)->ctx->cfg->script_seconds);
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.coverage");
  return 1;
}

/* lines of a function and the functions it defines, for coverage totals */
static int k_activelines(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_Debug ar;
  lua_pushvalue(L, 1);
  lua_getinfo(L, ">L", &ar);
  return 1;
}

/* K.schema(coll) -> {name, prefix, fields = {{name, type, required, has_default, values, ref}}} or nil */
static int k_schema(lua_State *L) {
  const coll_def *c = schema_coll(P_(L)->ctx->sc, luaL_checkstring(L, 1));
  if (!c) { lua_pushnil(L); return 1; }
  lua_newtable(L);
  lua_pushstring(L, c->name); lua_setfield(L, -2, "name");
  lua_pushstring(L, c->prefix); lua_setfield(L, -2, "prefix");
  lua_newtable(L);
  for (int i = 0; i < c->nfields; i++) {
    const field_def *f = &c->fields[i];
    lua_newtable(L);
    lua_pushstring(L, f->name); lua_setfield(L, -2, "name");
    lua_pushstring(L, ftype_names[f->type]); lua_setfield(L, -2, "type");
    lua_pushboolean(L, f->required); lua_setfield(L, -2, "required");
    lua_pushboolean(L, f->has_def || i < 3); lua_setfield(L, -2, "has_default");
    if (f->ref_name) { lua_pushstring(L, f->ref_name); lua_setfield(L, -2, "ref"); }
    if (f->nvalues) {
      lua_newtable(L);
      for (int k = 0; k < f->nvalues; k++) { lua_pushstring(L, f->values[k]); lua_rawseti(L, -2, k + 1); }
      lua_setfield(L, -2, "values");
    }
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "fields");
  return 1;
}

/* ---- shares of a whole-book eval in other processes (workers.h) ---------- */

/* K.cores(): processors to share an evaluation among; 0 when this command
 * cannot start workers (a scheduled run, or no /proc). */
static int k_cores(lua_State *L) {
  lua_pushinteger(L, workers_available() ? workers_cores() : 0);
  return 1;
}

/* K.snapshot_id(): the id of the book's version the statement reads (the
 * last committed transaction's): a worker reads the same book only if it
 * finds the same id. */
static int k_snapshot_id(lua_State *L) {
  snap *s;
  MDB_txn *txn = kam_read_txn(L, P_(L)->ctx, &s);
  lua_pushinteger(L, (lua_Integer)mdb_txn_id(txn));
  return 1;
}

static int worker_gc(lua_State *L) {
  worker_stop(luaL_checkudata(L, 1, "kam.worker"));
  return 0;
}

/* K.worker_tie(parent pid): a worker ends with its command; K.pid() */
static int k_worker_tie(lua_State *L) {
  worker_tie_to((long)luaL_checkinteger(L, 1));
  grouppass_set_parts(1); /* the cores are the command's other workers' */
  return 0;
}

static int k_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

/* K.worker_start(option) -> handle, or nil and why: this command again with
 * the option; a handle dropped unfinished stops its worker when collected */
static int k_worker_start(lua_State *L) {
  const char *extra = luaL_checkstring(L, 1);
  worker *w = lua_newuserdatauv(L, sizeof *w, 0);
  w->pid = 0;
  w->fd = w->ofd = -1;
  if (luaL_newmetatable(L, "kam.worker")) {
    lua_pushcfunction(L, worker_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
  }
  lua_setmetatable(L, -2);
  /* the day the command started is the day of every share: a run that
   * passes midnight must not give half its subjects another today */
  if (!getenv("KAM_TODAY")) {
    char today[11];
    date_today(today);
    setenv("KAM_TODAY", today, 1);
  }
  kam_err e;
  if (worker_start(w, extra, &e)) {
    lua_pushnil(L);
    lua_pushstring(L, e.msg);
    return 2;
  }
  grouppass_set_parts(1); /* the other cores are the workers' now */
  return 1;
}

/* K.worker_finish(handle) -> results or nil, what it printed, exit status */
static int k_worker_finish(lua_State *L) {
  worker *w = luaL_checkudata(L, 1, "kam.worker");
  kbuf data = {0}, printed = {0};
  kam_err e;
  int status;
  int rc = worker_finish(w, &data, &printed, &status, &e);
  if (rc) {
    kbuf_free(&data);
    kbuf_free(&printed);
    return sandbox_raise_err(L, e.code, e.msg);
  }
  if (status == 0) {
    lua_pushlstring(L, data.len ? (const char *)data.p : "", data.len);
    lua_pushlstring(L, printed.len ? (const char *)printed.p : "", printed.len);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  kbuf_free(&data);
  kbuf_free(&printed);
  lua_pushinteger(L, status);
  return 3;
}

/* K.stdout(bytes): written as they are (what a worker's policy printed) */
static int k_stdout(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (n && fwrite(s, 1, n, stdout) != n) return sandbox_raise_err(L, KAM_EINTERNAL, "standard output: cannot write");
  return 0;
}

/* K.emit(bytes): a worker's results, to descriptor 3; K.emit() flushes */
static int k_emit(lua_State *L) {
  static FILE *f;
  if (!f && !(f = fdopen(WORKER_DATA_FD, "wb"))) return sandbox_raise_err(L, KAM_EINTERNAL, "workers: no results file");
  size_t n = 0;
  const char *s = lua_isnoneornil(L, 1) ? NULL : luaL_checklstring(L, 1, &n);
  if ((s && fwrite(s, 1, n, f) != n) || (!s && fflush(f)))
    return sandbox_raise_err(L, KAM_EINTERNAL, "workers: cannot write the results");
  return 0;
}

/* ---- the command ------------------------------------------------------------ */

static const luaL_Reg kfuncs[] = {
    {"read", k_read}, {"exists", k_exists}, {"root", k_root}, {"ls", k_ls}, {"sha256", k_sha256},
    {"compile", k_compile}, {"instantiate", k_instantiate}, {"funcline", k_funcline},
    {"luac", k_luac}, {"arm", k_arm}, {"disarm", k_disarm}, {"json", k_json}, {"unjson", k_unjson},
    {"print", k_print}, {"format", k_format}, {"warn", k_warn}, {"last", k_last}, {"history", k_history},
    {"stage", k_stage}, {"memo", k_memo}, {"put_staged", k_put_staged}, {"run", k_run}, {"save_source", k_save_source}, {"source", k_source},
    {"fresh_book", k_fresh_book}, {"import", k_import}, {"coverage", k_coverage},
    {"activelines", k_activelines}, {"schema", k_schema}, {"error_code", k_error_code},
    {"read_csv", kam_l_read_csv},
    {"fail", k_fail}, {"commit_as", k_commit_as}, {"engine_write", k_engine_write}, {"may", k_may},
    {"guard_call", k_guard_call}, {"where", k_where}, {"as_engine", k_as_engine},
    {"cores", k_cores}, {"snapshot_id", k_snapshot_id}, {"worker_start", k_worker_start},
    {"worker_finish", k_worker_finish}, {"emit", k_emit}, {"stdout", k_stdout},
    {"worker_tie", k_worker_tie}, {"pid", k_pid},
    {NULL, NULL}};

/* pushes the compiled chunk; on failure the message is on stderr */
static int load_embedded(lua_State *L, const embedded *m) {
  if (luaL_loadbufferx(L, (const char *)m->src, *m->len, m->chunk, "t") == LUA_OK) {
    push_clean_env(L); /* kam's own Lua sees kam's globals, not a script's */
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    return 0;
  }
  fprintf(stderr, "kam: %s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
  return 1;
}

/* Runs the driver on top of L's stack and leaves the stack as it found it.
 * 0 or an exit code; an error's message (with its subject's label) goes
 * to err when given, else to stderr. A result the driver returns beside
 * its code (the API's) is left in *res_ref as a registry ref, else
 * LUA_NOREF. */
static int run_driver_ps(kam_ctx *ctx, pstate *pp, const char *cmd, char **args, int nargs, char **opts, int nopts,
                         int fmt, kbuf *err, int *res_ref, int keep_snapshots);

static int run_driver(kam_ctx *ctx, const char *cmd, char **args, int nargs, char **opts, int nopts, int fmt,
                      kbuf *err, int *res_ref, int keep_snapshots) {
  pstate ps;
  memset(&ps, 0, sizeof ps);
  return run_driver_ps(ctx, &ps, cmd, args, nargs, opts, nopts, fmt, err, res_ref, keep_snapshots);
}

static int run_driver_ps(kam_ctx *ctx, pstate *pp, const char *cmd, char **args, int nargs, char **opts, int nopts,
                         int fmt, kbuf *err, int *res_ref, int keep_snapshots) {
  lua_State *L = ctx->L;
  int base = lua_gettop(L);
  pstate *psp = pp;
#define ps (*psp)
  ps.ctx = ctx;
  ps.fmt = fmt;
  ps.policy_seconds = ctx->cfg->policy_seconds;
  if (res_ref) *res_ref = LUA_NOREF;
  /* the driver gets K and its modules compiled, not run: it runs each once, when needed */
  if (load_embedded(L, &driver)) { lua_settop(L, base); return KAM_EINTERNAL; }
  lua_newtable(L);
  lua_pushlightuserdata(L, &ps);
  luaL_setfuncs(L, kfuncs, 1);
  lua_pushlightuserdata(L, (void *)&out_null); /* K.null: JSON's null in a record */
  lua_setfield(L, -2, "null");
  lua_createtable(L, 0, (int)(sizeof modules / sizeof *modules));
  for (size_t i = 0; i < sizeof modules / sizeof *modules; i++) {
    if (load_embedded(L, &modules[i])) { lua_settop(L, base); return KAM_EINTERNAL; }
    lua_setfield(L, -2, modules[i].name);
  }
  lua_pushstring(L, cmd);
  lua_newtable(L);
  for (int i = 0; i < nargs; i++) { lua_pushstring(L, args[i]); lua_rawseti(L, -2, i + 1); }
  lua_newtable(L);
  for (int i = 0; i < nopts; i++) {
    const char *o = opts[i] + 2;
    const char *eq = strchr(o, '=');
    if (eq) { lua_pushlstring(L, o, (size_t)(eq - o)); lua_pushstring(L, eq + 1); }
    else { lua_pushstring(L, o); lua_pushboolean(L, 1); }
    lua_rawset(L, -3);
  }
  int st = sandbox_pcall(L, 5, 2);
  int rc;
  if (st != LUA_OK) {
    size_t n;
    const char *msg = sandbox_error_message(L, &n);
    if (err) {
      if (ps.label[0]) kbuf_printf(err, "%s: ", ps.label);
      kbuf_put(err, msg, n);
    } else {
      if (ps.label[0]) fprintf(stderr, "kam: %s: %.*s\n", ps.label, (int)n, msg);
      else fprintf(stderr, "kam: %.*s\n", (int)n, msg);
      if (ps.label[0]) fputs("kam: nothing was committed\n", stderr);
    }
    rc = sandbox_error_code(L);
  } else {
    rc = lua_isinteger(L, -2) ? (int)lua_tointeger(L, -2) : 0;
    if (res_ref && !lua_isnil(L, -1)) {
      lua_pushvalue(L, -1);
      *res_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
  }
  lua_settop(L, base);
  end_dtxn(&ps);
  end_read(&ps);
  kbuf_free(&ps.staged);
  kbuf_free(&ps.records);
  kam_memo(0);
  if (!keep_snapshots) kam_end_snapshots(ctx);
  drop_test_books(&ps);
  return rc;
#undef ps
}

int policy_command(kam_ctx *ctx, const char *cmd, char **args, int nargs, char **opts, int nopts, int fmt) {
  lua_settop(ctx->L, 0);
  return run_driver(ctx, cmd, args, nargs, opts, nopts, fmt, NULL, NULL, 0);
}

int policy_guard_runner(kam_ctx *ctx, kbuf *err) {
  lua_State *L = ctx->L;
  if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.guards") == LUA_TTABLE) return 0;
  lua_pop(L, 1);
  /* its K outlives this call: the pstate belongs to the state */
  pstate *ps = lua_newuserdatauv(L, sizeof *ps, 0);
  memset(ps, 0, sizeof *ps);
  ps->inner = 1;
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.guards.ps");
  int ref;
  int rc = run_driver_ps(ctx, ps, "guards", NULL, 0, NULL, 0, FMT_TABLE, err, &ref, 1);
  if (rc) return rc;
  if (ref == LUA_NOREF) { kbuf_str(err, "the guard runner did not start"); return KAM_EINTERNAL; }
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, ref);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "kam.guards");
  return 0;
}

/* ---- requests from a script: kam.request{...}, kam.approve ... ------------ */

/* Runs a request verb for a script, quietly: 0 with its result (if any)
 * pushed, else the exit code with the message in err. Raises nothing, so
 * that the caller frees what it holds before raising. */
static int request_api(lua_State *L, char **args, int nargs, char **opts, int nopts, int *pushed, kbuf *err) {
  kam_ctx *ctx = kam_ctx_get(L);
  int ref;
  char *o2[10];
  int n2 = 0;
  *pushed = 0;
  for (int i = 0; i < nopts && n2 < 9; i++) o2[n2++] = opts[i];
  o2[n2++] = "--quiet";
  int rc = run_driver(ctx, "request", args, nargs, o2, n2, FMT_JSON, err, &ref, 1);
  if (rc) {
    if (!err->len) kbuf_str(err, "failed");
    return rc;
  }
  if (ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    *pushed = 1;
  }
  return 0;
}

/* Raises the error request_api left in err, after freeing it. */
static int raise_api(lua_State *L, int rc, kbuf *err) {
  char m[1200]; /* copied out first: nothing of C's is held once Lua may raise */
  size_t n = err->len < sizeof m ? err->len : sizeof m;
  memcpy(m, err->p, n);
  kbuf_free(err);
  lerr_push(L, rc, m, n);
  return lua_error(L);
}

static int not_in_tx(lua_State *L, const char *verb) {
  kam_ctx *ctx = kam_ctx_get(L);
  /* a policy's evaluation only reads, and the engine's own evaluations
   * (routing) would end its read-only spell: refused before anything runs */
  if (ctx->no_write) {
    char msg[300];
    snprintf(msg, sizeof msg, "kam.%s: %s", verb, ctx->no_write);
    return sandbox_raise_err(L, KAM_EPERM, msg);
  }
  if (!ctx->allow_write) return sandbox_raise_err(L, KAM_EPERM, "kam.request and kam.approve: this command only reads the book");
  if (ctx->wtxn) return luaL_error(L, "kam.%s: not inside kam.tx (a request decision is a transaction of its own)", verb);
  return 0;
}


static int l_request(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  not_in_tx(L, "request");
  lua_getfield(L, 1, "kind");
  const char *kind = luaL_optstring(L, -1, NULL);
  if (!kind) return luaL_error(L, "kam.request{kind = \"scope_change\", subject = ID, amount = N, reason = TEXT}");
  /* every Lua call that may raise happens before C holds anything */
  static const char *const f[][2] = {{"subject", "subject"}, {"amount", "amount"}, {"margin_after", "margin-after"},
                                     {"cr", "cr"}, {"reason", "reason"}};
  const char *vals[5];
  for (int i = 0; i < 5; i++) {
    lua_getfield(L, 1, f[i][0]);
    vals[i] = lua_isnil(L, -1) ? NULL : luaL_tolstring(L, -1, NULL); /* kept on the stack */
  }
  kbuf b = {0}, err = {0};
  long offs[5];
  int n = 0;
  for (int i = 0; i < 5; i++) {
    if (!vals[i]) continue;
    offs[n++] = (long)b.len;
    kbuf_printf(&b, "--%s=%s", f[i][1], vals[i]);
    kbuf_byte(&b, 0);
  }
  char *opts[6];
  for (int i = 0; i < n; i++) opts[i] = (char *)b.p + offs[i];
  char *args[2] = {"raise", (char *)kind};
  int pushed, rc = request_api(L, args, 2, opts, n, &pushed, &err);
  kbuf_free(&b);
  if (rc) return raise_api(L, rc, &err);
  kbuf_free(&err);
  return pushed;
}

static int decide_api(lua_State *L, const char *verb, const char *optname) {
  const char *id = luaL_checkstring(L, 1);
  const char *text = luaL_optstring(L, 2, NULL);
  not_in_tx(L, verb);
  kbuf b = {0}, err = {0};
  char *opts[1];
  int n = 0;
  if (text && optname) {
    kbuf_printf(&b, "--%s=%s", optname, text);
    opts[n++] = (char *)kbuf_cstr(&b);
  }
  char *args[2] = {(char *)verb, (char *)id};
  int pushed, rc = request_api(L, args, 2, opts, n, &pushed, &err);
  kbuf_free(&b);
  if (rc) return raise_api(L, rc, &err);
  kbuf_free(&err);
  return pushed;
}

static int l_approve(lua_State *L) { return decide_api(L, "approve", "note"); }
static int l_reject(lua_State *L) { return decide_api(L, "reject", "reason"); }
static int l_withdraw(lua_State *L) { return decide_api(L, "withdraw", NULL); }

void policy_open_api(lua_State *L) {
  lua_getglobal(L, "kam");
  lua_pushcfunction(L, l_request); lua_setfield(L, -2, "request");
  lua_pushcfunction(L, l_approve); lua_setfield(L, -2, "approve");
  lua_pushcfunction(L, l_reject); lua_setfield(L, -2, "reject");
  lua_pushcfunction(L, l_withdraw); lua_setfield(L, -2, "withdraw");
  lua_pop(L, 1);
}
