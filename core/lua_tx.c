/* lua_tx.c — kam.tx, its savepoints, and insert / update / delete (see
 * lua_tx.h). A write transaction is aborted before an error leaves kam.tx,
 * and conversion buffers are released before an error is raised. */
#include "lua_tx.h"
#include "approved.h"
#include <stdarg.h>
#include "budget.h"
#include "lua_entity.h"
#include <stdio.h>
#include <string.h>

static char FULL_SENTINEL; /* raised through Lua when the map fills */

/* ---- writes --------------------------------------------------------------- */

/* A write the command or the policy may not make: exit 3, like any
 * permission the book refuses. */
static int raise_refused(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *msg = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return sandbox_raise_err(L, KAM_EPERM, msg);
}

static kam_ctx *need_tx(lua_State *L, const coll_def *c, const char *what) {
  kam_ctx *ctx = kam_ctx_get(L);
  if (ctx->no_write) raise_refused(L, "db.%s:%s: %s", c->name, what, ctx->no_write);
  if (sandbox_killed()) luaL_error(L, "db.%s:%s: the script was stopped; nothing more is written", c->name, what);
  if (!ctx->wtxn)
    luaL_error(L, "db.%s:%s: writes happen only inside kam.tx(function() ... end)", c->name, what);
  if (!ctx->allow_write) raise_refused(L, "db.%s:%s: this command does not write to the book", c->name, what);
  return ctx;
}

/* Raises the error of a failed write; the caller has released its buffers. */
static int raise_write(lua_State *L, kam_ctx *ctx, kam_err *e) {
  /* a data error is found before anything is written; anything else may
   * have left part of a write behind */
  if (e->code != KAM_EDATA && e->code != KAM_EUSAGE && e->code != KAM_EFULL && e->code != KAM_EPERM) ctx->broken = 1;
  /* a refused write takes its whole transaction with it, caught or not */
  if (e->code == KAM_EPERM && ctx->wtxn && !ctx->refused[0]) snprintf(ctx->refused, sizeof ctx->refused, "%.*s", (int)sizeof ctx->refused - 1, e->msg);
  if (e->code == KAM_EFULL) {
    ctx->full = 1;
    lua_pushlightuserdata(L, &FULL_SENTINEL);
    return lua_error(L);
  }
  return sandbox_raise_err(L, e->code, e->msg);
}

int kam_raise_write(lua_State *L, kam_err *e) { return raise_write(L, kam_ctx_get(L), e); }

/* The guard of every entity write of a Lua state: the access rules, except
 * for the one field a policy being committed writes. */
static int only_field(const coll_def *c, const kval *newv, const kval *oldv, int f) {
  if (!newv || !oldv) return 0;
  for (int i = 3; i < c->nfields; i++)
    if (i != f && !kval_same(&newv[i], &oldv[i])) return 0;
  return 1;
}

static int tx_guard(void *ud, MDB_txn *txn, const coll_def *c, int op, const kval *newv, const kval *oldv, kam_err *e) {
  kam_ctx *ctx = ud;
  if (!ctx->access || !ctx->who || ctx->scratch || ctx->engine_write || ctx->access_checked) return 0;
  if (!ctx->who->bootstrap && approved_check(c, op, newv, oldv, e)) return e->code;
  if (ctx->commit_coll == c && op == OP_UPDATE && only_field(c, newv, oldv, ctx->commit_field)) return 0;
  return access_write(ctx->access, ctx->who, ctx->st, txn, c, op, newv, oldv, e);
}

static write_opts tx_opts(kam_ctx *ctx, write_guard *g) {
  g->fn = tx_guard;
  g->ud = ctx;
  write_opts o = {ctx->commit_coll ? &ctx->commit_actor : ctx->engine_write ? &ctx->engine_actor : &ctx->actor, 1, 1, 0, g};
  return o;
}

/* The write guards of rules/ (guard.h) on a write about to be made: when one
 * watches it, the write is checked whole first (schema, access), then the
 * guards may change it (held, flagged, set), and the write that follows is
 * not asked again of the access rules: what changed is the guards'. 0 with
 * *res for guard_after and *guarded, or the code with e set; a refusal
 * takes the whole kam.tx with it, caught or not. The record as it was (old)
 * is decoded into oldv, of id, only when a guard watches the write. */
static int guard_before(kam_ctx *ctx, const coll_def *c, int op, kval *vals, kbuf *bufs, const uint8_t *old,
                        size_t oldlen, kval *oldv, const char *id, size_t idlen, const write_opts *o, int *res,
                        int *guarded, kam_err *e) {
  *res = LUA_NOREF;
  *guarded = 0;
  if (!ctx->guards || ctx->scratch) return 0;
  int yes = 0, changed = 0;
  int rc = ctx->guards->watches(ctx, c, op, &yes, e);
  if (rc || !yes) return rc;
  if (old) {
    store_decode(c, old, oldlen, oldv);
    oldv[F_ID] = kv_str(id, idlen);
  }
  if (op != OP_DELETE && (rc = store_check_write(ctx->st, ctx->wtxn, c, vals, old, oldlen, op, o, e))) return rc;
  rc = ctx->guards->before(ctx, ctx->wtxn, c, op, vals, bufs, oldv, res, &changed, e);
  if (rc == KAM_EDATA && ctx->wtxn && !ctx->refused[0]) {
    snprintf(ctx->refused, sizeof ctx->refused, "%.*s", (int)sizeof ctx->refused - 1, e->msg);
    ctx->refused_code = KAM_EDATA;
  }
  *guarded = !rc;
  return rc;
}

static int guard_after(kam_ctx *ctx, const coll_def *c, int rc, const char *id, size_t idlen, int res, kam_err *e) {
  if (res == LUA_NOREF) return rc;
  if (rc) { luaL_unref(ctx->L, LUA_REGISTRYINDEX, res); return rc; }
  return ctx->guards->after(ctx, ctx->wtxn, c, id, idlen, res, e);
}

/* Scratch memory of a write, owned by a userdata on the stack: a Lua error
 * raised while fields are converted cannot leak it (its __gc frees it). */
typedef struct scratch {
  int n;
  kval *vals, *chg;
  kbuf *bufs;
  kbuf old;
} scratch;

static void scratch_free(scratch *s) {
  for (int i = 0; i < s->n; i++) kbuf_free(&s->bufs[i]);
  kbuf_free(&s->old);
  s->n = 0;
}

static int scratch_gc(lua_State *L) {
  scratch_free(lua_touserdata(L, 1));
  return 0;
}

static scratch *push_scratch(lua_State *L, int nfields) {
  size_t n = (size_t)nfields;
  scratch *s = lua_newuserdatauv(L, sizeof *s + n * (2 * sizeof(kval) + sizeof(kbuf)), 0);
  memset(s, 0, sizeof *s + n * (2 * sizeof(kval) + sizeof(kbuf)));
  s->vals = (kval *)(s + 1);
  s->chg = s->vals + n;
  s->bufs = (kbuf *)(s->chg + n);
  s->n = nfields;
  if (luaL_newmetatable(L, "kam.scratch")) {
    lua_pushcfunction(L, scratch_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return s;
}

/* Converts the fields of the table at idx into vals; returns 0 or sets e. */
static int table_to_vals(lua_State *L, int idx, const coll_def *c, kval *vals, kbuf *bufs, kam_err *e) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) { lua_pop(L, 2); return kam_errf(e, KAM_EDATA, "%s: field names are text", c->name); }
    const char *k = lua_tostring(L, -2);
    int f = coll_field(c, k);
    if (f < 0) { lua_pop(L, 2); return kam_errf(e, KAM_EDATA, "%s: unknown field '%s'", c->name, k); }
    const char *bad = kam_to_field(L, lua_gettop(L), &c->fields[f], &vals[f], &bufs[f]);
    if (bad) {
      kam_errf(e, KAM_EDATA, "%s: field %s: expected %s", c->name, k, bad);
      lua_pop(L, 2);
      return e->code;
    }
    /* the value stays referenced by the table, so its string stays valid */
    lua_pop(L, 1);
  }
  return 0;
}

int kam_insert(lua_State *L, const coll_def *c, int tbl) {
  kam_ctx *ctx = need_tx(L, c, "insert");
  lua_settop(L, tbl);
  scratch *sc = push_scratch(L, c->nfields);
  kval *vals = sc->vals;
  kbuf *bufs = sc->bufs;
  kam_err e = {0};
  char idbuf[256];
  int rc = table_to_vals(L, tbl, c, vals, bufs, &e);
  write_guard g;
  write_opts o = tx_opts(ctx, &g);
  /* the next id is taken only once the record passed every check: a
   * refused insert uses up no number (invoices are numbered without gaps) */
  int gres = LUA_NOREF, guarded = 0;
  if (!rc) rc = guard_before(ctx, c, OP_INSERT, vals, bufs, NULL, 0, NULL, NULL, 0, &o, &gres, &guarded, &e);
  ctx->access_checked = guarded;
  if (!rc) rc = store_insert(ctx->st, ctx->wtxn, c, vals, &o, idbuf, sizeof idbuf, &e);
  ctx->access_checked = 0;
  if (!rc) lua_pushlstring(L, vals[F_ID].u.s.p, vals[F_ID].u.s.len);
  rc = guard_after(ctx, c, rc, rc ? "" : vals[F_ID].u.s.p, rc ? 0 : vals[F_ID].u.s.len, gres, &e);
  scratch_free(sc);
  if (rc) return raise_write(L, ctx, &e);
  ctx->n_ins++;
  return 1;
}

int kam_update(lua_State *L, const coll_def *c, const char *id, size_t idlen, int tbl) {
  kam_ctx *ctx = need_tx(L, c, "update");
  MDB_val rec;
  kam_err e = {0};
  int rc = store_get(ctx->wtxn, c, id, idlen, &rec);
  if (rc == MDB_NOTFOUND) return luaL_error(L, "db.%s:update: no %s with id \"%s\"", c->name, c->name, id);
  if (rc) { lmdb_err(&e, rc, c->name); return raise_write(L, ctx, &e); }
  lua_settop(L, tbl);
  scratch *sc = push_scratch(L, c->nfields);
  kbuf_put(&sc->old, rec.mv_data, rec.mv_size); /* the put below may move the record */
  const uint8_t *old = sc->old.p;
  size_t oldlen = rec.mv_size;
  kval *vals = sc->vals, *chg = sc->chg;
  kbuf *bufs = sc->bufs;
  store_decode(c, old, oldlen, vals);
  vals[F_ID] = kv_str(id, idlen);
  rc = table_to_vals(L, tbl, c, chg, bufs, &e);
  if (!rc && chg[F_ID].tag != KV_NULL && (chg[F_ID].tag != KV_STR || chg[F_ID].u.s.len != idlen || memcmp(chg[F_ID].u.s.p, id, idlen)))
    rc = kam_errf(&e, KAM_EDATA, "%s %s: an id cannot change", c->name, id);
  if (!rc && (chg[F_CREATED].tag != KV_NULL || chg[F_UPDATED].tag != KV_NULL))
    rc = kam_errf(&e, KAM_EDATA, "%s %s: created_at and updated_at are kept by kam", c->name, id);
  if (!rc) {
    for (int i = 3; i < c->nfields; i++) if (chg[i].tag != KV_NULL) vals[i] = chg[i];
    write_guard g;
    write_opts o = tx_opts(ctx, &g);
    int gres = LUA_NOREF, guarded = 0;
    /* chg is spent: it may hold the record as it was, for the guards */
    rc = guard_before(ctx, c, OP_UPDATE, vals, bufs, old, oldlen, chg, id, idlen, &o, &gres, &guarded, &e);
    ctx->access_checked = guarded;
    if (!rc) rc = store_write(ctx->st, ctx->wtxn, c, vals, old, oldlen, OP_UPDATE, &o, &e);
    ctx->access_checked = 0;
    rc = guard_after(ctx, c, rc, id, idlen, gres, &e);
  }
  scratch_free(sc);
  if (rc) return raise_write(L, ctx, &e);
  ctx->n_upd++;
  lua_pushboolean(L, 1);
  return 1;
}

/* Is the record c/id pointed to by a ref field of any collection? Fills
 * who with the first ("invoices INV-000012 (client)"). Returns 1, 0, or <0
 * with e set. Uses an index on the field when there is one. */
static int referenced(kam_ctx *ctx, const coll_def *c, const char *id, size_t idlen, char *who, size_t n,
                      kam_err *e) {
  int me = (int)(c - ctx->sc->colls);
  for (int ci = 0; ci < ctx->sc->ncolls; ci++) {
    const coll_def *rc = &ctx->sc->colls[ci];
    for (int f = 0; f < rc->nfields; f++) {
      if (rc->fields[f].type != FT_REF || rc->fields[f].ref != me) continue;
      query q;
      query_init(&q, rc);
      kval v = kv_str(id, idlen);
      qiter it;
      int r = query_add(&q, f, Q_EQ, &v, 1, e) ? -1 : 0;
      if (!r && qiter_open(&it, ctx->wtxn, &q, F_ID, e)) { qiter_close(&it); r = -1; }
      else if (!r) {
        r = qiter_next(&it, e);
        if (r == 1) {
          kval rid;
          if (qiter_field(&it, F_ID, &rid, e) == 1 && rid.tag == KV_STR)
            snprintf(who, n, "%s %.*s (%s)", rc->name, (int)rid.u.s.len, rid.u.s.p, rc->fields[f].name);
          else snprintf(who, n, "%s (%s)", rc->name, rc->fields[f].name);
        }
        qiter_close(&it);
      }
      query_release(&q);
      if (r) return r;
    }
  }
  return 0;
}

int kam_delete(lua_State *L, const coll_def *c, const char *id, size_t idlen) {
  kam_ctx *ctx = need_tx(L, c, "delete");
  kam_err e = {0};
  /* a delete never leaves a reference dangling */
  char who[300];
  int r = referenced(ctx, c, id, idlen, who, sizeof who, &e);
  if (r < 0) return raise_write(L, ctx, &e);
  if (r == 1)
    return luaL_error(L, "db.%s:delete: %s %s is still referred to by %s; change or delete that first",
                      c->name, c->name, id, who);
  write_guard g;
  write_opts o = tx_opts(ctx, &g);
  int watched = 0;
  if (ctx->guards && !ctx->scratch && ctx->guards->watches(ctx, c, OP_DELETE, &watched, &e)) return raise_write(L, ctx, &e);
  if (watched) { /* a guard on deletes sees the record as it was */
    MDB_val rec;
    if (!store_get(ctx->wtxn, c, id, idlen, &rec)) {
      scratch *sc = push_scratch(L, c->nfields);
      kbuf_put(&sc->old, rec.mv_data, rec.mv_size);
      int gres = LUA_NOREF, guarded = 0;
      int rc = guard_before(ctx, c, OP_DELETE, NULL, sc->bufs, sc->old.p, rec.mv_size, sc->chg, id, idlen, &o, &gres,
                            &guarded, &e);
      if (gres != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, gres);
      scratch_free(sc);
      lua_pop(L, 1);
      if (rc) return raise_write(L, ctx, &e);
    }
  }
  if (store_delete(ctx->st, ctx->wtxn, c, id, idlen, &o, &e)) return raise_write(L, ctx, &e);
  ctx->n_del++;
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- kam.tx ------------------------------------------------------------- */

static int tx_msgh(lua_State *L) {
  if (lua_touserdata(L, 1) == &FULL_SENTINEL) return 1;
  return sandbox_msgh(L);
}

/* Write transactions get serials never used before: an iterator is usable
 * only while the transaction it was opened in is the current one. */
static unsigned long tx_serials;

/* What a transaction that is dropped must undo in ctx. */
typedef struct tx_mark { long ins, upd, del; int broken; } tx_mark;

static tx_mark tx_mark_of(const kam_ctx *ctx) {
  tx_mark m = {ctx->n_ins, ctx->n_upd, ctx->n_del, ctx->broken};
  return m;
}

/* Its writes are gone: so are their counts. */
static void tx_undo_counts(kam_ctx *ctx, const tx_mark *m) {
  ctx->n_ins = m->ins;
  ctx->n_upd = m->upd;
  ctx->n_del = m->del;
}

/* Runs the function at 1 with txn as the current write transaction, under
 * the message handler (at 2); its results are left above it. Returns
 * lua_pcall's status. The caller ends txn and sets wtxn back. */
static int tx_run(lua_State *L, kam_ctx *ctx, MDB_txn *txn) {
  ctx->wtxn = txn;
  ctx->wserial = ++tx_serials;
  lua_settop(L, 1);
  lua_pushcfunction(L, tx_msgh);
  lua_pushvalue(L, 1);
  return lua_pcall(L, 0, LUA_MULTRET, 2);
}

/* A kam.tx inside another is a savepoint: its writes join the enclosing
 * transaction when it returns, and are dropped, alone, when it raises
 * (a pcall around it may then go on). */
static int tx_nested(lua_State *L, kam_ctx *ctx) {
  MDB_txn *parent = ctx->wtxn, *child;
  unsigned long pserial = ctx->wserial;
  kam_err e;
  if (store_begin_child(ctx->st, parent, &child, &e)) return raise_write(L, ctx, &e);
  tx_mark m = tx_mark_of(ctx);
  int st = tx_run(L, ctx, child);
  int ok = st == LUA_OK && !ctx->full && !ctx->broken, rc = 0;
  if (ok) rc = store_commit(ctx->st, child, &e);
  else store_abort(child);
  ctx->wtxn = parent;
  ctx->wserial = pserial;
  if (ok && !rc) return lua_gettop(L) - 2;
  ctx->guard_gen++; /* a guard's memo may count what was dropped */
  /* a half write goes with the rest of its writes */
  tx_undo_counts(ctx, &m);
  ctx->broken = m.broken;
  if (rc) return raise_write(L, ctx, &e);
  if (st == LUA_OK) return luaL_error(L, "kam.tx: a write inside failed; nothing of it was written");
  return lua_error(L);
}

int kam_written_since(const kam_ctx *ctx, long ins, long upd, long del, char *buf, size_t n) {
  long d[3] = {ctx->n_ins - ins, ctx->n_upd - upd, ctx->n_del - del};
  const char *verb[3] = {"inserted", "updated", "deleted"};
  size_t k = 0;
  if (n) buf[0] = 0;
  for (int i = 0; i < 3; i++) {
    if (!d[i] || k >= n) continue;
    int w = snprintf(buf + k, n - k, "%s%ld %s", k ? ", " : "", d[i], verb[i]);
    if (w > 0) k += (size_t)w;
  }
  return k > 0;
}

static int tx_top(lua_State *L, kam_ctx *ctx);

int kam_l_tx(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  kam_ctx *ctx = kam_ctx_get(L);
  if (ctx->no_write) return raise_refused(L, "kam.tx: %s", ctx->no_write);
  if (!ctx->allow_write) return raise_refused(L, "kam.tx: this command only reads the book (use kam run or kam eval)");
  if (sandbox_killed()) return luaL_error(L, "kam.tx: the script was stopped; nothing more is written");
  if (ctx->wtxn) return tx_nested(L, ctx);
  int rc = tx_top(L, ctx);
  ctx->commit_coll = NULL; /* a policy's commit right ends with its transaction */
  ctx->engine_write = 0;   /* and so does the request engine's */
  ctx->refused[0] = 0;
  return rc;
}

static int tx_top(lua_State *L, kam_ctx *ctx) {
  for (int attempt = 0;; attempt++) {
    kam_err e;
    MDB_txn *txn;
    if (store_begin(ctx->st, 1, &txn, &e)) return sandbox_raise_err(L, e.code, e.msg);
    ctx->full = 0;
    ctx->broken = 0;
    ctx->refused[0] = 0;
    ctx->refused_code = 0;
    ctx->guard_gen++; /* the guards' memo is one transaction's */
    tx_mark m = tx_mark_of(ctx);
    int st = tx_run(L, ctx, txn);
    int full = ctx->full;
    /* its iterators end with it, committed or not */
    ctx->wtxn = NULL;
    ctx->wserial = ++tx_serials;
    if (st == LUA_OK && !full && !ctx->broken && !ctx->refused[0]) {
      int rc = store_commit(ctx->st, txn, &e);
      if (!rc) {
        /* later reads must see what was written: a fresh snapshot; entities
         * read before keep their old one until the statement ends */
        kam_snap_detach(ctx);
        return lua_gettop(L) - 2;
      }
      if (rc != KAM_EFULL) {
        char msg[sizeof e.msg + 8];
        snprintf(msg, sizeof msg, "kam.tx: %s", e.msg);
        return sandbox_raise_err(L, e.code, msg);
      }
      full = 1;
    } else {
      store_abort(txn);
      if (sandbox_stopping()) ctx->tx_interrupted = 1;
    }
    tx_undo_counts(ctx, &m);
    if (ctx->refused[0] && !full) { /* refused, whether the script caught it or not */
      char msg[sizeof ctx->refused + 40];
      snprintf(msg, sizeof msg, "%s; nothing of this kam.tx was written", ctx->refused);
      return sandbox_raise_err(L, ctx->refused_code ? ctx->refused_code : KAM_EPERM, msg);
    }
    if (st == LUA_OK && !full) /* a pcall swallowed a half write */
      return sandbox_raise_err(L, KAM_EINTERNAL, "kam.tx: a write inside it failed half way; nothing was written");
    if (!full || attempt >= 8) {
      if (full) return sandbox_raise_err(L, KAM_EINTERNAL, "kam.tx: the book's map cannot grow further");
      return lua_error(L); /* the error, traceback included */
    }
    /* the map is full: nothing may be mapped while it grows, so every
     * snapshot of the statement ends; then the whole unit of work replays */
    kam_end_snapshots(ctx);
    if (store_grow(ctx->st, &e)) return sandbox_raise_err(L, e.code, e.msg);
  }
}
