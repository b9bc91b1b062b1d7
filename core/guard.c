/* guard.c — write guards on the write paths (see guard.h): C hands the
 * record to the runner of core/policy/guards.lua and applies its verdict to
 * the record before it is stored; what a verdict raises (a request, an
 * alert) is raised after, in the same transaction. */
#include "guard.h"
#include "budget.h"
#include "lua_value.h"
#include "policy.h"
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const OP_NAME[] = {"?", "insert", "update", "delete"};
static char load_error[1200];

/* Loads the guards once: which (collection, op) each watches. A guard that
 * cannot load refuses every write, since what it would stop cannot be told. */
static int load(kam_ctx *ctx, kam_err *e) {
  if (ctx->guard_loaded > 0) return 0;
  if (ctx->guard_loaded < 0) return kam_errf(e, KAM_EDATA, "%s", load_error);
  lua_State *L = ctx->L;
  int top = lua_gettop(L);
  kbuf err = {0};
  int rc = policy_guard_runner(ctx, &err);
  if (!rc) {
    lua_getfield(L, -1, "load");
    if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
      size_t n;
      const char *m = sandbox_error_message(L, &n);
      kbuf_put(&err, m, n);
      rc = KAM_EDATA;
    }
  }
  if (rc) {
    kbuf_cstr(&err);
    snprintf(load_error, sizeof load_error, "%s (a write guard of rules/ cannot load: nothing is written until kam check passes)",
             err.p ? (char *)err.p : "?");
    kbuf_free(&err);
    lua_settop(L, top);
    ctx->guard_loaded = -1;
    return kam_errf(e, KAM_EDATA, "%s", load_error);
  }
  kbuf_free(&err);
  free(ctx->guard_watch);
  free(ctx->guard_only);
  ctx->guard_watch = calloc((size_t)ctx->sc->ncolls + 1, 1);
  ctx->guard_only = calloc(((size_t)ctx->sc->ncolls + 1) * 4, sizeof *ctx->guard_only);
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    lua_getfield(L, -1, "key");
    const char *k = lua_tostring(L, -1), *colon = k ? strchr(k, ':') : NULL;
    if (colon) {
      char coll[128];
      snprintf(coll, sizeof coll, "%.*s", (int)(colon - k), k);
      const coll_def *c = schema_coll(ctx->sc, coll);
      for (int op = OP_INSERT; c && op <= OP_DELETE; op++) {
        if (strcmp(colon + 1, OP_NAME[op])) continue;
        ctx->guard_watch[c - ctx->sc->colls] |= (unsigned char)(1u << op);
        /* only_if: the fields one of which a write must have to be asked */
        guard_fields *gf = &ctx->guard_only[(c - ctx->sc->colls) * 4 + op];
        lua_getfield(L, -2, "only_if");
        if (lua_istable(L, -1)) {
          lua_Integer m = luaL_len(L, -1);
          for (lua_Integer j = 1; j <= m && gf->n < (int)(sizeof gf->f / sizeof *gf->f); j++) {
            lua_rawgeti(L, -1, j);
            int f = lua_isstring(L, -1) ? coll_field(c, lua_tostring(L, -1)) : -1;
            if (f > 0) gf->f[gf->n++] = f;
            lua_pop(L, 1);
          }
          gf->some = gf->n > 0;
        }
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 2);
  }
  lua_settop(L, top);
  ctx->guard_loaded = 1;
  return 0;
}

static int watches(kam_ctx *ctx, const coll_def *c, int op, int *yes, kam_err *e) {
  *yes = 0;
  if (!ctx->guard_loaded) {
    int rc = load(ctx, e);
    if (rc) return rc;
  }
  if (ctx->guard_loaded < 0) return kam_errf(e, KAM_EDATA, "%s", load_error);
  *yes = (ctx->guard_watch[c - ctx->sc->colls] >> op) & 1;
  return 0;
}

static void push_row(lua_State *L, const coll_def *c, const kval *v) {
  if (!v) { lua_pushnil(L); return; }
  lua_createtable(L, 0, c->nfields);
  for (int i = 0; i < c->nfields; i++) {
    if (v[i].tag == KV_NULL) continue;
    kam_push_kval(L, &v[i]);
    lua_setfield(L, -2, c->fields[i].name);
  }
}

/* Reads are made through the writing transaction while a guard runs, also
 * for an import, which holds its own. */
typedef struct txn_swap { MDB_txn *txn; unsigned long serial; } txn_swap;
static unsigned long guard_serials = 1ul << (sizeof(unsigned long) * 8 - 2);

static txn_swap use_txn(kam_ctx *ctx, MDB_txn *txn) {
  txn_swap s = {ctx->wtxn, ctx->wserial};
  if (ctx->wtxn != txn) {
    ctx->wtxn = txn;
    ctx->wserial = ++guard_serials;
  }
  return s;
}

static void end_txn(kam_ctx *ctx, txn_swap s) {
  ctx->wtxn = s.txn;
  ctx->wserial = s.serial;
}

static void show_id(const kval *vals, const kval *oldv, char *out, size_t n) {
  const kval *id = vals && vals[F_ID].tag == KV_STR ? &vals[F_ID] : oldv && oldv[F_ID].tag == KV_STR ? &oldv[F_ID] : NULL;
  if (id) snprintf(out, n, "%.*s", (int)(id->u.s.len > 200 ? 200 : id->u.s.len), id->u.s.p);
  else snprintf(out, n, "(new)");
}

/* The refusal as the user reads it: the record, the field, the guard and
 * where in it, its reasons. The verdict table is on top. */
static int refusal(lua_State *L, const coll_def *c, const kval *vals, const kval *oldv, kam_err *e) {
  char id[256];
  show_id(vals, oldv, id, sizeof id);
  kbuf b = {0};
  kbuf_printf(&b, "%s %s", c->name, id);
  lua_getfield(L, -1, "field");
  const char *field = lua_tostring(L, -1);
  int f = field ? coll_field(c, field) : -1;
  if (f >= 0) {
    kbuf_printf(&b, ": field %s", field);
    const kval *v = vals && vals[f].tag != KV_NULL ? &vals[f] : NULL;
    if (v) {
      kbuf_str(&b, " (");
      kval_show(&b, v);
      kbuf_str(&b, ")");
    }
  }
  lua_pop(L, 1);
  lua_getfield(L, -1, "guard");
  lua_getfield(L, -2, "lines");
  lua_rawgeti(L, -1, 1);
  const char *at = lua_tostring(L, -1);
  lua_getfield(L, -4, "path");
  kbuf_printf(&b, ": refused by guard %s (%s)", lua_tostring(L, -4) ? lua_tostring(L, -4) : "?",
              at ? at : lua_tostring(L, -1) ? lua_tostring(L, -1) : "rules/");
  lua_pop(L, 4);
  lua_getfield(L, -1, "reasons");
  lua_Integer n = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    const char *r = lua_tostring(L, -1);
    if (r) kbuf_printf(&b, "%s%s", i == 1 ? ": " : "; ", r);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  kbuf_cstr(&b);
  kam_errf(e, KAM_EDATA, "%s", (char *)b.p);
  kbuf_free(&b);
  return KAM_EDATA;
}

/* A text value into vals[field], kept alive by the verdict (on top) under
 * key; what: the verdict that needs it, for the message. */
static int set_text(lua_State *L, const coll_def *c, const char *field, const char *text, const char *key,
                    const char *what, kval *vals, kam_err *e) {
  int f = coll_field(c, field);
  if (f < 0) return kam_errf(e, KAM_EDATA, "%s has no field %s for a guard's verdict", c->name, field);
  lua_pushstring(L, text);
  kval v = kv_str(lua_tostring(L, -1), strlen(text));
  char why[200];
  if (!field_check(&c->fields[f], &v, why, sizeof why)) {
    lua_pop(L, 1);
    return kam_errf(e, KAM_EDATA, "%s: field %s cannot be \"%s\" (%s): a guard's %s needs it", c->name, field, text, why,
                    what);
  }
  lua_setfield(L, -2, key);
  lua_getfield(L, -1, key);
  vals[f] = kv_str(lua_tostring(L, -1), strlen(text));
  lua_pop(L, 1);
  return 0;
}

/* Is the write one the guards look at (their only_if), without running Lua? */
static int asked(kam_ctx *ctx, const coll_def *c, int op, const kval *vals, const kval *oldv) {
  const guard_fields *gf = &ctx->guard_only[(c - ctx->sc->colls) * 4 + op];
  if (!gf->some) return 1;
  for (int i = 0; i < gf->n; i++)
    if ((vals && vals[gf->f[i]].tag != KV_NULL) || (oldv && oldv[gf->f[i]].tag != KV_NULL)) return 1;
  return 0;
}

/* swap: a script may have run in this state (not in an import's) */
static int before_in(kam_ctx *ctx, MDB_txn *txn, const coll_def *c, int op, kval *vals, kbuf *bufs, const kval *oldv,
                     int *res, int *changed, int swap, kam_err *e) {
  *res = LUA_NOREF;
  *changed = 0;
  if (!asked(ctx, c, op, op == OP_DELETE ? NULL : vals, oldv)) return 0;
  lua_State *L = ctx->L;
  int top = lua_gettop(L);
  txn_swap sw = use_txn(ctx, txn);
  /* top+1: the row (kept for the verdict), then runner, run, key, row, old, gen */
  push_row(L, c, op == OP_DELETE ? NULL : vals);
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.guards");
  lua_getfield(L, -1, "run");
  lua_remove(L, -2);
  lua_pushfstring(L, "%s:%s", c->name, OP_NAME[op]);
  lua_pushvalue(L, top + 1);
  push_row(L, c, oldv);
  lua_pushinteger(L, (lua_Integer)ctx->guard_gen);
  policy_guard_scope scope;
  policy_guard_enter(ctx, &scope, 1, swap);
  int st = lua_pcall(L, 4, 1, 0);
  policy_guard_leave(ctx, &scope);
  end_txn(ctx, sw);
  if (st != LUA_OK) {
    size_t n;
    const char *m = sandbox_error_message(L, &n);
    char id[256];
    show_id(vals, oldv, id, sizeof id);
    kam_errf(e, KAM_EDATA, "%s %s: a write guard stopped: %.*s", c->name, id, (int)n, m);
    lua_settop(L, top);
    return KAM_EDATA;
  }
  if (!lua_istable(L, -1)) { lua_settop(L, top); return 0; }
  lua_getfield(L, -1, "verdict");
  const char *v = lua_tostring(L, -1);
  int verdict = !v ? 0 : !strcmp(v, "refuse") ? 3 : !strcmp(v, "hold") ? 2 : !strcmp(v, "flag") ? 1 : 0;
  lua_pop(L, 1);
  if (verdict == 3) {
    int rc = refusal(L, c, vals, oldv, e);
    lua_settop(L, top);
    return rc;
  }
  lua_getfield(L, -1, "set");
  lua_getfield(L, -2, "flags");
  int quiet = verdict == 0 && lua_isnil(L, -1) && lua_isnil(L, -2);
  lua_pop(L, 2);
  if (quiet) { lua_settop(L, top); return 0; } /* allowed as it is: the common case */
  int rc = 0;
  lua_getfield(L, -1, "set");
  if (lua_istable(L, -1) && op != OP_DELETE) {
    lua_pushnil(L);
    while (!rc && lua_next(L, -2)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      int f = k ? coll_field(c, k) : -1;
      if (f <= F_UPDATED) rc = kam_errf(e, KAM_EDATA, "%s: a guard's set names %s, which it may not set", c->name, k ? k : "a non-text key");
      else {
        char why[200];
        const char *bad = kam_to_field(L, lua_gettop(L), &c->fields[f], &vals[f], &bufs[f]);
        if (bad) rc = kam_errf(e, KAM_EDATA, "%s: a guard's set of %s: expected %s", c->name, k, bad);
        else if (vals[f].tag != KV_NULL && !field_check(&c->fields[f], &vals[f], why, sizeof why))
          rc = kam_errf(e, KAM_EDATA, "%s: a guard's set of %s: not %s", c->name, k, why);
        else *changed = 1;
      }
      lua_pop(L, 1);
    }
    if (rc) lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (!rc && verdict == 2 && op != OP_DELETE) {
    rc = set_text(L, c, "status", "held", "_status", "hold", vals, e);
    *changed = 1;
  }
  if (!rc && op != OP_DELETE) {
    lua_getfield(L, -1, "flags");
    int flagged = lua_istable(L, -1);
    lua_pop(L, 1);
    if (flagged && coll_field(c, "flag") >= 0) {
      lua_getfield(L, -1, "flags");
      lua_rawgeti(L, -1, 1);
      lua_getfield(L, -1, "flag");
      lua_getfield(L, -2, "guard");
      const char *tag = lua_tostring(L, -2) ? lua_tostring(L, -2) : lua_tostring(L, -1);
      char t[200];
      snprintf(t, sizeof t, "%s", tag ? tag : "flagged");
      lua_pop(L, 4);
      rc = set_text(L, c, "flag", t, "_flag", "flag", vals, e);
      *changed = 1;
    }
  }
  if (rc) { lua_settop(L, top); return rc; }
  lua_pushvalue(L, top + 1);
  lua_setfield(L, -2, "row");
  *res = luaL_ref(L, LUA_REGISTRYINDEX); /* the verdict: its values back vals until the write */
  lua_settop(L, top);
  return 0;
}

static int before(kam_ctx *ctx, MDB_txn *txn, const coll_def *c, int op, kval *vals, kbuf *bufs, const kval *oldv,
                  int *res, int *changed, kam_err *e) {
  return before_in(ctx, txn, c, op, vals, bufs, oldv, res, changed, 1, e);
}

static int after(kam_ctx *ctx, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen, int res, kam_err *e) {
  if (res == LUA_NOREF) return 0;
  lua_State *L = ctx->L;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, res);
  luaL_unref(L, LUA_REGISTRYINDEX, res);
  int verdict = top + 1;
  lua_getfield(L, verdict, "verdict");
  int hold = lua_isstring(L, -1) && !strcmp(lua_tostring(L, -1), "hold");
  lua_getfield(L, verdict, "flags");
  int flags = lua_istable(L, -1);
  lua_pop(L, 2);
  if (!hold && !flags) { lua_settop(L, top); return 0; }
  txn_swap sw = use_txn(ctx, txn);
  ctx->unscoped++; /* the engine reads what it needs (the client, the approval policy's figures) */
  policy_guard_scope scope;
  policy_guard_enter(ctx, &scope, 0, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.guards");
  lua_getfield(L, -1, "after");
  lua_pushstring(L, c->name);
  lua_pushlstring(L, id, idlen);
  lua_pushvalue(L, verdict);
  lua_getfield(L, verdict, "row");
  lua_pushlstring(L, id, idlen);
  lua_setfield(L, -2, "id");
  int st = lua_pcall(L, 4, 0, 0);
  policy_guard_leave(ctx, &scope);
  ctx->unscoped--;
  end_txn(ctx, sw);
  if (st != LUA_OK) {
    size_t n;
    const char *m = sandbox_error_message(L, &n);
    kam_errf(e, sandbox_error_code(L) > 1 ? sandbox_error_code(L) : KAM_EDATA, "%s %.*s: what a guard's verdict raises failed: %.*s",
             c->name, (int)idlen, id, (int)n, m);
    lua_settop(L, top);
    return e->code;
  }
  lua_settop(L, top);
  return 0;
}

const kam_guard_hooks guard_hooks = {watches, before, after};

/* ---- kam import ------------------------------------------------------------ */

static int imp_watches(void *ud, const coll_def *c, int *yes, kam_err *e) { return watches(ud, c, OP_INSERT, yes, e); }
static int imp_before(void *ud, MDB_txn *txn, const coll_def *c, kval *vals, kbuf *bufs, int *res, int *changed,
                      kam_err *e) {
  return before_in(ud, txn, c, OP_INSERT, vals, bufs, NULL, res, changed, 0, e);
}
static int imp_after(void *ud, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen, int res, kam_err *e) {
  return after(ud, txn, c, id, idlen, res, e);
}
static void imp_begin(void *ud) { ((kam_ctx *)ud)->guard_gen++; }

void guard_import_hooks(kam_ctx *ctx, import_guard *out) {
  out->watches = imp_watches;
  out->before = imp_before;
  out->after = imp_after;
  out->begin = imp_begin;
  out->ud = ctx;
}

void guard_free(kam_ctx *ctx) {
  free(ctx->guard_watch);
  free(ctx->guard_only);
  ctx->guard_only = NULL;
  ctx->guard_watch = NULL;
  ctx->guard_loaded = 0;
}
