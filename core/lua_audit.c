/* lua_audit.c — kam.audit{...}: the audit trail read from a script (see
 * lua_audit.h). Entries are copied into a buffer a userdata owns while
 * audit.c reads them, and turned into Lua tables only after: a Lua error
 * (memory) while building them leaves nothing of C's behind. */
#include "lua_audit.h"
#include "audit.h"
#include "budget.h"
#include "lua_entity.h"
#include "lua_value.h"
#include <string.h>

typedef struct collected {
  kam_ctx *ctx;
  MDB_txn *txn;
  const coll_def *c;
  const char *field, *via;
  int scoped;
  kbuf b;          /* the entries, encoded as below */
  long n;
} collected;

static int collected_gc(lua_State *L) {
  collected *x = lua_touserdata(L, 1);
  kbuf_free(&x->b);
  return 0;
}

/* one entry: seq, 7 texts (when who role via op coll id), then the changes
 * (a count, then name, has_old, old, has_new, new), each value as val_put */
static void put_text(kbuf *b, const kval *v) {
  kval t = v->tag == KV_STR ? *v : kv_null();
  val_put(b, &t);
}

static int keep(void *ud, const audit_entry *a, kam_err *e) {
  (void)e;
  collected *x = ud;
  if (x->via && !kval_is_text(&a->channel, x->via)) return 0;
  int want = -1;
  if (x->field) {
    for (int i = 0; i < a->nchanges && want < 0; i++)
      if (a->changes[i].namelen == strlen(x->field) && !memcmp(a->changes[i].name, x->field, a->changes[i].namelen)) want = i;
    if (want < 0) return 0;
  }
  if (x->scoped) { /* a reader of part of the collection sees entries of the rows she may read now */
    MDB_val rec;
    if (a->id.tag != KV_STR || store_get(x->txn, x->c, a->id.u.s.p, a->id.u.s.len, &rec) ||
        !kam_row_in_scope(x->ctx, x->txn, x->c, a->id.u.s.p, a->id.u.s.len, rec.mv_data, rec.mv_size))
      return 0;
  }
  kval seq = kv_int((int64_t)a->seq);
  val_put(&x->b, &seq);
  put_text(&x->b, &a->when);
  put_text(&x->b, &a->who);
  put_text(&x->b, &a->role);
  put_text(&x->b, &a->channel);
  put_text(&x->b, &a->op);
  put_text(&x->b, &a->coll);
  put_text(&x->b, &a->id);
  int from = want >= 0 ? want : 0, to = want >= 0 ? want + 1 : a->nchanges;
  kval cnt = kv_int(to - from);
  val_put(&x->b, &cnt);
  for (int i = from; i < to; i++) {
    const audit_change *ch = &a->changes[i];
    kval name = kv_str(ch->name, ch->namelen), ho = kv_bool(ch->has_old), hn = kv_bool(ch->has_new);
    val_put(&x->b, &name);
    val_put(&x->b, &ho);
    val_put(&x->b, &ch->old);
    val_put(&x->b, &hn);
    val_put(&x->b, &ch->new_);
  }
  x->n++;
  return 0;
}

static const uint8_t *get(const uint8_t *p, const uint8_t *end, kval *v) {
  size_t n = val_get(p, end, v);
  return n ? p + n : end;
}

static void set_kv(lua_State *L, const char *k, const kval *v) {
  if (v->tag == KV_NULL) return;
  kam_push_kval(L, v);
  lua_setfield(L, -2, k);
}

int kam_l_audit(lua_State *L) {
  kam_ctx *ctx = kam_ctx_get(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "coll");
  lua_getfield(L, 1, "id");
  lua_getfield(L, 1, "field");
  lua_getfield(L, 1, "since");
  lua_getfield(L, 1, "via");
  lua_getfield(L, 1, "limit");
  const char *coll = luaL_optstring(L, 2, NULL), *id = luaL_optstring(L, 3, NULL), *field = luaL_optstring(L, 4, NULL),
             *since = luaL_optstring(L, 5, NULL), *via = luaL_optstring(L, 6, NULL);
  lua_Integer limit = luaL_optinteger(L, 7, 500);
  if (!coll) return luaL_error(L, "kam.audit: coll = \"clients\" names the collection whose trail to read");
  const coll_def *c = schema_coll(ctx->sc, coll);
  if (!c) return luaL_error(L, "kam.audit: coll %s: no such collection", coll);
  if (field && coll_field(c, field) < 0) return luaL_error(L, "kam.audit: field %s: %s has no such field", field, coll);
  if (limit < 1 || limit > 100000) return luaL_error(L, "kam.audit: limit: from 1 to 100000");
  int scope = kam_read_scope(L, c); /* raises when she may not read it at all */
  audit_filter f = {id, NULL, coll, since, (size_t)limit, 0};
  kam_err e;
  if (audit_check_filter(ctx->sc, &f, &e)) return luaL_error(L, "kam.audit: %s", e.msg);
  if (field) f.limit = 0; /* counted below, on what matches the field */
  collected *x = lua_newuserdatauv(L, sizeof *x, 0);
  memset(x, 0, sizeof *x);
  lua_newtable(L);
  lua_pushcfunction(L, collected_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  int xi = lua_gettop(L);
  snap *s;
  x->ctx = ctx;
  x->txn = kam_read_txn(L, ctx, &s);
  x->c = c;
  x->field = field;
  x->via = via;
  x->scoped = scope != SCOPE_ALL;
  int rc = audit_each(ctx->st, x->txn, &f, keep, x, &e);
  if (rc) return sandbox_raise_err(L, e.code, e.msg); /* the buffer goes with the userdata */
  /* newest first, as audit_each gives them; a field filter counts what matched */
  long n = field && x->n > limit ? (long)limit : x->n;
  lua_createtable(L, (int)n, 0);
  const uint8_t *p = x->b.p, *end = p + x->b.len;
  static const char *const names[] = {"when", "who", "role", "via", "op", "coll", "id"};
  for (long i = 0; i < n && p < end; i++) {
    kval v;
    lua_createtable(L, 0, 10);
    p = get(p, end, &v);
    set_kv(L, "seq", &v);
    for (int k = 0; k < 7; k++) {
      p = get(p, end, &v);
      set_kv(L, names[k], &v);
    }
    p = get(p, end, &v);
    int nch = v.tag == KV_INT ? (int)v.u.i : 0;
    lua_createtable(L, nch, 0);
    for (int k = 0; k < nch; k++) {
      kval name, ho, old, hn, nw;
      p = get(p, end, &name);
      p = get(p, end, &ho);
      p = get(p, end, &old);
      p = get(p, end, &hn);
      p = get(p, end, &nw);
      lua_createtable(L, 0, 3);
      set_kv(L, "field", &name);
      if (ho.tag == KV_TRUE) set_kv(L, "old", &old);
      if (hn.tag == KV_TRUE) set_kv(L, "new", &nw);
      if (field) { /* the one field asked for: also as from / to on the entry */
        lua_getfield(L, -1, "old");
        lua_setfield(L, -4, "from");
        lua_getfield(L, -1, "new");
        lua_setfield(L, -4, "to");
      }
      lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "changes");
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
  }
  lua_remove(L, xi);
  return 1;
}
