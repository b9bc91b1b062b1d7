/* lua_agg.c — count, sum, avg, min, max and group over a query (see
 * lua_agg.h), computed in C over the query's rows (kam_query_visit), and
 * the memo of counts and sums within a snapshot, and which results table
 * output prints as money. */
#include "lua_agg.h"
#include "budget.h"
#include "grouppass.h"
#include <stdlib.h>
#include <string.h>

static int field_arg(lua_State *L, lquery *lq, int arg, const char *what) {
  const char *f = luaL_checkstring(L, arg);
  int fi = coll_field(lq->q->c, f);
  if (fi < 0) luaL_error(L, "%s: %s has no field '%s'", what, lq->q->c->name, f);
  return fi;
}

/* ---- what table output prints as money ---------------------------------- */

/* A total of đồng is money to the person reading it, yet a script must get
 * a plain number (arithmetic, comparisons, JSON). So the value stays plain
 * and kam remembers where it came from: the statement's last few numeric
 * results, each marked money or not (ctx.h), and the tables group() made of
 * a money field, in a weak-keyed set. Only table output asks. */
static const char money_tables; /* its address is the set's registry key */

static int is_money(const lquery *lq, int field) { return field >= 0 && lq->q->c->fields[field].type == FT_MONEY; }

/* Notes the result on top of the stack. */
static void seen(lua_State *L, int money) {
  kam_ctx *ctx = kam_ctx_get(L);
  int t = lua_type(L, -1);
  if (t != LUA_TNUMBER) return;
  size_t n = sizeof ctx->agg_seen / sizeof ctx->agg_seen[0];
  unsigned k = ctx->agg_next++ % (unsigned)n;
  ctx->agg_seen[k].kind = lua_isinteger(L, -1) ? 1 : 2;
  ctx->agg_seen[k].money = money;
  ctx->agg_seen[k].i = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
  ctx->agg_seen[k].n = lua_tonumber(L, -1);
}

/* Pushes the weak-keyed table the registry holds at key, made on first use:
 * what kam remembers of a table a script holds lasts as long as the table. */
static void push_weak_keyed(lua_State *L, const void *key) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

/* Marks the table on top of the stack as a group of money. */
static void mark_money_table(lua_State *L) {
  push_weak_keyed(L, &money_tables);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* group() results over several keys or aggregates, weak-keyed, each to its layout */
static const char group_layouts;

int kam_group_layout(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_checkstack(L, 3)) return 0;
  idx = lua_absindex(L, idx);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &group_layouts) != LUA_TTABLE) { lua_pop(L, 1); return 0; }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) != LUA_TTABLE) { lua_pop(L, 2); return 0; }
  lua_remove(L, -2);
  return 1;
}

int kam_agg_money(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &money_tables) != LUA_TTABLE) { lua_pop(L, 1); return 0; }
    lua_pushvalue(L, idx);
    int r = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return r;
  }
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  kam_ctx *ctx = kam_ctx_get(L);
  int isint = lua_isinteger(L, idx), money = 0, plain = 0;
  lua_Integer i = isint ? lua_tointeger(L, idx) : 0;
  lua_Number n = lua_tonumber(L, idx);
  for (size_t k = 0; k < sizeof ctx->agg_seen / sizeof ctx->agg_seen[0]; k++) {
    const struct kam_agg_seen *a = &ctx->agg_seen[k];
    if (a->kind == 0 || a->kind != (isint ? 1 : 2) || (isint ? a->i != i : a->n != n)) continue;
    if (a->money) money = 1; else plain = 1;
  }
  return money && !plain; /* a count that equals a total (0 and 0) stays a number */
}

typedef struct agg {
  int field;
  int is_int;      /* every value so far was an integer */
  int64_t isum;
  double nsum;
  lua_Integer n;
  kval best;       /* min/max */
  int have;
  kbuf best_store;
  int want_max;
  int overflow;
} agg;

static int add_num(agg *a, const kval *v) {
  if (v->tag == KV_INT) {
    if (a->is_int && !__builtin_add_overflow(a->isum, v->u.i, &a->isum)) { a->n++; return 1; }
    if (a->is_int) { a->nsum = (double)a->isum; a->is_int = 0; }
    a->nsum += (double)v->u.i;
  } else if (v->tag == KV_NUM) {
    if (a->is_int) { a->nsum = (double)a->isum; a->is_int = 0; }
    a->nsum += v->u.n;
  } else {
    return 0;
  }
  a->n++;
  return 1;
}

static int visit_count(kam_row *r, void *ud) { (void)r; (*(lua_Integer *)ud)++; return 0; }

static int visit_sum(kam_row *r, void *ud) {
  agg *a = ud;
  kval v;
  kam_row_field(r, a->field, &v);
  add_num(a, &v);
  return 0;
}

static int visit_minmax(kam_row *r, void *ud) {
  agg *a = ud;
  kval v;
  kam_row_field(r, a->field, &v);
  if (v.tag == KV_NULL) return 0;
  int c = a->have ? kval_cmp(&v, &a->best) : 0;
  if (!a->have || (c != 2 && (a->want_max ? c > 0 : c < 0))) {
    a->have = 1;
    a->best = v;
    if (v.tag == KV_STR) { /* own it: the row's memory moves on */
      kbuf_reset(&a->best_store);
      kbuf_put(&a->best_store, v.u.s.p, v.u.s.len);
      a->best.u.s.p = (const char *)a->best_store.p;
    }
  }
  return 0;
}

/* ---- aggregates remembered within a snapshot --------------------------- */

/* kam policy whatif runs the current and the candidate policy on the same
 * subject, one after the other, in one snapshot: the second asks the same
 * counts and sums. While remembering is on, a count or sum over plain
 * conditions (no predicate, sort or limit) is kept by its snapshot and its
 * conditions; a snapshot's answers never change. */
#define MEMO_SLOTS 512
#define MEMO_KEY_MAX 480
typedef struct memo_slot {
  unsigned long serial; /* 0: empty */
  uint64_t h;
  size_t klen;
  char *key;
  int is_int;
  lua_Integer i;
  lua_Number n;
} memo_slot;
static memo_slot memo[MEMO_SLOTS];
static int memo_on;

void kam_memo(int on) {
  memo_on = on;
  if (on) return;
  for (int i = 0; i < MEMO_SLOTS; i++) { free(memo[i].key); memset(&memo[i], 0, sizeof memo[i]); }
}

typedef struct memo_key { unsigned long serial; uint64_t h; size_t len; char b[MEMO_KEY_MAX]; } memo_key;

static int memo_add(memo_key *k, const void *p, size_t n) {
  if (k->len + n > MEMO_KEY_MAX) return 0;
  memcpy(k->b + k->len, p, n);
  k->len += n;
  return 1;
}

/* The key of aggregate `kind` of `field` over the query at qidx; 0 when it
 * is not to be remembered. Holds nothing on the heap (errors may follow). */
static int memo_key_of(lua_State *L, int qidx, lquery *lq, int kind, int field, memo_key *k) {
  if (!memo_on) return 0;
  kam_ctx *ctx = kam_ctx_get(L);
  if (ctx->wtxn || lq->limit >= 0 || lq->sort_field >= 0 || kam_query_has_preds(L, qidx) ||
      kam_query_has_sortfn(L, qidx))
    return 0;
  /* a result within a read scope is not remembered, nor answered from what was */
  if (kam_read_scope(L, lq->q->c) != SCOPE_ALL) return 0;
  snap *s;
  kam_read_txn(L, ctx, &s);
  if (!s) return 0;
  k->serial = s->serial;
  k->len = 0;
  const query *q = lq->q;
  int ok = memo_add(k, &kind, sizeof kind) && memo_add(k, &q->c, sizeof q->c) && memo_add(k, &field, sizeof field) &&
           memo_add(k, &q->never, sizeof q->never);
  for (int i = 0; ok && i < q->ncond; i++) {
    const qcond *c = &q->cond[i];
    ok = memo_add(k, &c->field, sizeof c->field) && memo_add(k, &c->op, sizeof c->op) && memo_add(k, &c->nv, sizeof c->nv);
    for (int j = 0; ok && j < c->nv; j++) {
      const kval *v = &c->v[j];
      uint8_t tag = (uint8_t)v->tag;
      ok = memo_add(k, &tag, 1);
      if (!ok) break;
      if (v->tag == KV_INT) ok = memo_add(k, &v->u.i, sizeof v->u.i);
      else if (v->tag == KV_NUM) ok = memo_add(k, &v->u.n, sizeof v->u.n);
      else if (v->tag == KV_STR || v->tag == KV_LIST || v->tag == KV_MAP)
        ok = memo_add(k, &v->u.s.len, sizeof v->u.s.len) && memo_add(k, v->u.s.p, v->u.s.len);
    }
  }
  if (!ok) return 0;
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < k->len; i++) { h ^= (uint8_t)k->b[i]; h *= 1099511628211ull; }
  k->h = h;
  return 1;
}

static memo_slot *memo_find(const memo_key *k) {
  memo_slot *m = &memo[k->h % MEMO_SLOTS];
  if (m->serial == k->serial && m->h == k->h && m->klen == k->len && !memcmp(m->key, k->b, k->len)) return m;
  return NULL;
}

static void memo_put(const memo_key *k, int is_int, lua_Integer i, lua_Number n) {
  memo_slot *m = &memo[k->h % MEMO_SLOTS];
  char *key = m->klen >= k->len && m->key ? m->key : realloc(m->key, k->len ? k->len : 1);
  if (!key) return;
  memcpy(key, k->b, k->len);
  m->key = key;
  m->klen = k->len;
  m->serial = k->serial;
  m->h = k->h;
  m->is_int = is_int;
  m->i = i;
  m->n = n;
}

static int gp_stop(void) { return sandbox_stopping() ? -1 : 0; }

/* ---- count, sum, avg, min, max ------------------------------------------ */

static int q_count(lua_State *L) {
  lquery *lq = kam_check_query(L, 1);
  if (!lq->q->ncond && !lq->q->never && !kam_query_has_preds(L, 1) &&
      kam_read_scope(L, lq->q->c) == SCOPE_ALL) { /* O(1) from LMDB's own count; a scope counts rows */
    kam_ctx *ctx = kam_ctx_get(L);
    snap *s;
    MDB_txn *txn = kam_read_txn(L, ctx, &s);
    size_t cnt;
    kam_err e;
    if (store_count(txn, lq->q->c, &cnt, &e)) return sandbox_raise_err(L, e.code, e.msg);
    lua_Integer n = (lua_Integer)cnt;
    if (lq->limit >= 0 && n > lq->limit) n = lq->limit;
    lua_pushinteger(L, n);
    seen(L, 0);
    return 1;
  }
  memo_key k;
  int mk = memo_key_of(L, 1, lq, 'c', -1, &k);
  memo_slot *m = mk ? memo_find(&k) : NULL;
  if (m) { lua_pushinteger(L, m->i); seen(L, 0); return 1; }
  lua_Integer n = 0;
  kam_query_visit(L, 1, -1, visit_count, &n);
  if (mk) memo_put(&k, 1, n, 0);
  lua_pushinteger(L, n);
  seen(L, 0);
  return 1;
}

static void push_sum(lua_State *L, int is_int, lua_Integer i, lua_Number n) {
  if (is_int) lua_pushinteger(L, i);
  else lua_pushnumber(L, n);
}

/* Sums the query at 1 into a: field arg 2's values, or what the function
 * at 2 returns for each entity (nil skipped). With `remember`, a sum over
 * a field may come from the memo: then it is pushed and 1 returned. */
static int sum_into(lua_State *L, lquery *lq, agg *a, const char *what, int remember) {
  a->is_int = 1;
  if (lua_type(L, 2) == LUA_TFUNCTION) {
    kam_query_list(L, 1);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_pushvalue(L, 2);
      lua_rawgeti(L, -2, i);
      lua_call(L, 1, 1);
      if (!lua_isnil(L, -1)) {
        kval v = lua_isinteger(L, -1) ? kv_int(lua_tointeger(L, -1)) : kv_num(lua_tonumber(L, -1));
        if (!lua_isnumber(L, -1)) luaL_error(L, "the function for sum/avg must return a number");
        add_num(a, &v);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
  }
  a->field = field_arg(L, lq, 2, what);
  memo_key k;
  int mk = remember && memo_key_of(L, 1, lq, 's', a->field, &k);
  memo_slot *m = mk ? memo_find(&k) : NULL;
  if (m) { push_sum(L, m->is_int, m->i, m->n); return 1; }
  kam_query_visit(L, 1, a->field, visit_sum, a);
  if (mk) memo_put(&k, a->is_int, a->isum, a->nsum);
  return 0;
}

static int q_sum(lua_State *L) {
  lquery *lq = kam_check_query(L, 1);
  agg a = {0};
  a.field = -1;
  if (!sum_into(L, lq, &a, "sum", 1)) push_sum(L, a.is_int, a.isum, a.nsum);
  seen(L, is_money(lq, a.field));
  return 1;
}

static int q_avg(lua_State *L) {
  lquery *lq = kam_check_query(L, 1);
  agg a = {0};
  a.field = -1;
  sum_into(L, lq, &a, "avg", 0);
  if (!a.n) lua_pushnil(L);
  else lua_pushnumber(L, (a.is_int ? (double)a.isum : a.nsum) / (double)a.n);
  seen(L, is_money(lq, a.field));
  return 1;
}

static int minmax(lua_State *L, int want_max) {
  lquery *lq = kam_check_query(L, 1);
  agg a = {0};
  a.want_max = want_max;
  a.field = field_arg(L, lq, 2, want_max ? "max" : "min");
  kam_query_visit(L, 1, a.field, visit_minmax, &a);
  if (a.have) kam_push_kval(L, &a.best);
  else lua_pushnil(L);
  kbuf_free(&a.best_store);
  seen(L, is_money(lq, a.field));
  return 1;
}
static int q_min(lua_State *L) { return minmax(L, 0); }
static int q_max(lua_State *L) { return minmax(L, 1); }

/* ---- group --------------------------------------------------------------- */

#define GROUP_MAX_HOPS 8
typedef struct group_st {
  int key, field, kind; /* key: a field of the query's collection; kind 0 count, 1 sum, 2 avg, 3 min, 4 max */
  int keyfn;            /* stack slot of the key function, or 0 */
  /* a key reached through refs (client.owner): hop[0] is key, a ref; each
   * hop[i] a field of the collection hop[i - 1] refers to */
  int nhop, hop[GROUP_MAX_HOPS];
  const coll_def *hopc[GROUP_MAX_HOPS];
  int hscope[GROUP_MAX_HOPS]; /* the read scope of hopc[h], h >= 1: a row outside it is as if absent */
  MDB_txn *txn;         /* the rows' own: no Lua runs between taking it and the rows' snapshot */
  int cache;            /* stack slot: ref id -> key, so each referred entity is read once */
  int tsum, tcnt;       /* stack slots of the result tables */
  lua_State *L;
} group_st;

/* Pushes t[key] of the result table at slot t, the key at slot ki. */
static void group_get(lua_State *L, int t, int ki) {
  lua_pushvalue(L, ki);
  lua_rawget(L, t);
}

/* t[key] = the value on top, which it pops. */
static void group_set(lua_State *L, int t, int ki) {
  lua_pushvalue(L, ki);
  lua_insert(L, -2);
  lua_rawset(L, t);
}

/* Follows ref id (string) through the hops after the first, to the last
 * hop's value: nil where a ref is empty, leads nowhere or out of the read
 * scope. With cursors (one per hop, near[] as store_get_at keeps it), ids
 * asked in order are found next to the one before. 0, or an LMDB code and
 * *where the collection read. */
static int follow_hops(group_st *g, MDB_cursor **cur, int *near, kval *id, const char **where) {
  for (int h = 1; h < g->nhop; h++) {
    if (id->tag != KV_STR) { *id = kv_null(); return 0; }
    const coll_def *c = g->hopc[h];
    MDB_val rec;
    int rc = cur ? store_get_at(cur[h], id->u.s.p, id->u.s.len, &rec, &near[h])
                 : store_get(g->txn, c, id->u.s.p, id->u.s.len, &rec);
    if (rc == MDB_NOTFOUND) { *id = kv_null(); return 0; }
    if (rc) { *where = c->name; return rc; }
    if (g->hscope[h] != SCOPE_ALL &&
        !kam_row_in_scope(kam_ctx_get(g->L), g->txn, c, id->u.s.p, id->u.s.len, rec.mv_data, rec.mv_size)) {
      *id = kv_null();
      return 0;
    }
    if (g->hop[h] == F_ID) continue; /* client.id is the ref itself */
    if (!rec_find_inline(rec.mv_data, rec.mv_size, c->fields[g->hop[h]].fid, id)) *id = kv_null();
  }
  return 0;
}

/* Pushes the last hop's value for the entity that ref id (string) names. */
static void push_hops(group_st *g, kam_row *r, kval id) {
  lua_State *L = g->L;
  const char *where = "";
  int rc = follow_hops(g, NULL, NULL, &id, &where);
  if (rc) {
    lua_pushfstring(L, "group: reading %s: %s", where, mdb_strerror(rc));
    if (r) kam_row_error(r);
    lua_error(L); /* no row: nothing held */
  }
  kam_push_kval(L, &id);
}

/* The key each result of a pass reaches through the refs, found in C
 * before any of it goes to Lua: keys[i] points into the book's pages,
 * valid while g->txn is. The pass gives the refs in order, so each hop's
 * cursor finds the next one mostly beside the one before (a look-up from
 * the root for each was a quarter of a pass over 200k projects), and the
 * cursors are closed before Lua can raise. 0, or an LMDB code with *where
 * the collection read. */
static int resolve_hops(group_st *g, const gp_result *r, kval *keys, const char **where) {
  MDB_cursor *cur[GROUP_MAX_HOPS] = {0};
  int near[GROUP_MAX_HOPS] = {0}, rc = 0;
  for (int h = 1; h < g->nhop && !rc; h++)
    if ((rc = mdb_cursor_open(g->txn, g->hopc[h]->dbi, &cur[h]))) { cur[h] = NULL; *where = g->hopc[h]->name; }
  for (size_t i = 0; i < r->n && !rc; i++) {
    keys[i] = gp_result_key(r, i);
    rc = follow_hops(g, cur, near, &keys[i], where);
  }
  for (int h = 1; h < g->nhop; h++) if (cur[h]) mdb_cursor_close(cur[h]);
  return rc;
}

/* Pushes the row's group key when it is reached through refs or is what
 * the key function returns (an entity stands for its id); nil is
 * "(none)". */
static void push_key(group_st *g, kam_row *r) {
  lua_State *L = g->L;
  kval k;
  if (g->keyfn) {
    lua_pushvalue(L, g->keyfn);
    kam_row_push(r);
    kam_row_call(r, 1, 1);
    kam_entity_to_id(L, lua_gettop(L));
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1)) {
      luaL_where(L, 1);
      lua_pushliteral(L, "group: the key function returned NaN");
      lua_concat(L, 2);
      kam_row_error(r);
    }
  } else {
    kam_row_field(r, g->key, &k);
    if (k.tag != KV_STR) lua_pushnil(L);
    else {
      lua_pushlstring(L, k.u.s.p, k.u.s.len);
      lua_pushvalue(L, -1);
      if (lua_rawget(L, g->cache) == LUA_TNIL) {
        lua_pop(L, 1);
        push_hops(g, r, k);
        if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushliteral(L, "(none)"); }
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        lua_rawset(L, g->cache);
      }
      lua_remove(L, -2);
    }
  }
  if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushliteral(L, "(none)"); }
}

/* Adds to the group whose key is at slot ki: cnt to its count (count,
 * avg); v to its sum (sum, avg: an integer while it fits, past that a
 * float, as sum() does), or v as a candidate min or max. */
static void group_add(group_st *g, int ki, lua_Integer cnt, const kval *v) {
  lua_State *L = g->L;
  if (g->kind == 0 || g->kind == 2) {
    group_get(L, g->tcnt, ki);
    lua_Integer n = lua_tointeger(L, -1) + cnt;
    lua_pop(L, 1);
    lua_pushinteger(L, n);
    group_set(L, g->tcnt, ki);
  }
  if (g->kind == 1 || g->kind == 2) {
    group_get(L, g->tsum, ki);
    lua_Integer s;
    if (v->tag == KV_INT && (lua_isnil(L, -1) || lua_isinteger(L, -1)) &&
        !__builtin_add_overflow(lua_tointeger(L, -1), v->u.i, &s)) {
      lua_pop(L, 1);
      lua_pushinteger(L, s);
    } else {
      lua_Number t = lua_tonumber(L, -1) + (v->tag == KV_INT ? (lua_Number)v->u.i : v->tag == KV_NUM ? v->u.n : 0);
      lua_pop(L, 1);
      lua_pushnumber(L, t);
    }
    group_set(L, g->tsum, ki);
  }
  if (g->kind == 3 || g->kind == 4) {
    group_get(L, g->tsum, ki);
    int replace = lua_isnil(L, -1);
    if (!replace) {
      kam_push_kval(L, v);
      replace = g->kind == 3 ? lua_compare(L, -1, -2, LUA_OPLT) : lua_compare(L, -2, -1, LUA_OPLT);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (replace) { kam_push_kval(L, v); group_set(L, g->tsum, ki); }
  }
}

static int visit_group(kam_row *r, void *ud) {
  group_st *g = ud;
  lua_State *L = g->L;
  kval v;
  if (g->keyfn) push_key(g, r); /* first: the function may read, and v points into the book */
  if (g->kind) {
    kam_row_field(r, g->field, &v);
    if (v.tag == KV_NULL) { if (g->keyfn) lua_pop(L, 1); return 0; }
  }
  if (g->nhop) push_key(g, r);
  else if (!g->keyfn) { /* a field: the common case, kept inline */
    kval k;
    kam_row_field(r, g->key, &k);
    kam_push_kval(L, &k);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushliteral(L, "(none)"); }
  }
  int ki = lua_gettop(L);
  group_add(g, ki, 1, &v);
  lua_settop(L, ki - 1);
  return 0;
}

/* Reads the key at arg: a function, a field, or fields joined by dots
 * through refs ("client.owner", "client.owner.name"). */
static void group_key(lua_State *L, lquery *lq, group_st *g, int arg) {
  if (lua_type(L, arg) == LUA_TFUNCTION) { g->keyfn = arg; g->key = -1; return; }
  size_t len;
  const char *k = luaL_checklstring(L, arg, &len);
  const char *dot = memchr(k, '.', len);
  if (!dot) { g->key = field_arg(L, lq, arg, "group"); return; }
  const coll_def *c = lq->q->c;
  const schema *sc = kam_ctx_get(L)->sc;
  const char *p = k, *end = k + len;
  for (g->nhop = 0; p <= end; g->nhop++) {
    const char *e = memchr(p, '.', (size_t)(end - p));
    if (!e) e = end;
    if (g->nhop == GROUP_MAX_HOPS) luaL_error(L, "group: '%s' follows more than %d refs", k, GROUP_MAX_HOPS - 1);
    int f = coll_field_n(c, p, (size_t)(e - p));
    if (f < 0) luaL_error(L, "group: %s has no field '%s' (in '%s')", c->name, lua_pushlstring(L, p, (size_t)(e - p)), k);
    g->hop[g->nhop] = f;
    g->hopc[g->nhop] = c;
    if (e < end) {
      if (c->fields[f].type != FT_REF)
        luaL_error(L, "group: %s.%s is not a ref, so '%s' cannot go through it (a dotted key follows refs: client.owner)", c->name, c->fields[f].name, k);
      c = &sc->colls[c->fields[f].ref];
    }
    p = e + 1;
  }
  g->key = g->hop[0];
}

/* ---- group in one pass over the index its key leads (grouppass.h) ------ */

/* A plan that reads more than this share of the entries the pass would
 * read loses to the pass: its rows each cost a Lua table update (and often
 * a record read), the pass's entries a cursor step. A range's share is
 * estimated from its bounds; equal values have their rows counted, up to
 * that share. */
#define GROUP_PASS_SHARE 0.15
/* groups kept in C (outside the Lua heap's cap) at most; more are visited from Lua */
#define GROUP_PASS_MAX_GROUPS 1000000

/* The groups live in a userdata, so that a Lua error while the result
 * table is built (the memory cap) frees them. */
static int gp_result_gc(lua_State *L) {
  gp_result *r = lua_touserdata(L, 1);
  gp_result_free(r);
  return 0;
}

static int whole(const lquery *lq, int field) {
  ftype t = lq->q->c->fields[field].type;
  return t == FT_INT || t == FT_MONEY;
}

/* How a group of the query at 1 by gfield (and subf) reads its rows:
 * GROUP_PASS, one pass over the index *ix that the key leads, which holds
 * every field asked, when the query's own plan would read more than a
 * share of it; GROUP_ROWS, the query's own plan, each row aggregated in C
 * as it comes; GROUP_VISIT, each row visited from Lua, for what C does not
 * do (a predicate, a limit, a read scope, inside a write). *why says why
 * not the pass. */
enum { GROUP_VISIT, GROUP_ROWS, GROUP_PASS };
static int group_plan(lua_State *L, lquery *lq, int gfield, int subf, const gp_agg *a, int nagg,
                      const index_def **ix, const char **why) {
  kam_ctx *ctx = kam_ctx_get(L);
  const query *q = lq->q;
  *why = NULL;
  *ix = NULL;
  if (gfield < 0) return *why = "the key is not a field of the collection", GROUP_VISIT;
  if (ctx->wtxn) return *why = "inside a write", GROUP_VISIT;
  if (lq->limit >= 0) return *why = "a limit", GROUP_VISIT;
  if (kam_query_has_preds(L, 1)) return *why = "a predicate function", GROUP_VISIT;
  if (kam_read_scope(L, q->c) != SCOPE_ALL) return *why = "a read scope", GROUP_VISIT;
  if (q->never) return *why = "no row can match", GROUP_ROWS;
  for (int i = 0; i < q->ncond; i++)
    if (q->cond[i].field == gfield) return *why = "a condition on the key itself", GROUP_ROWS;
  for (int j = 0; j < nagg; j++) {
    /* a sum of fractions depends on the order it is added in: a pass adds in another order */
    if (a[j].kind == GP_SUM && !whole(lq, a[j].field)) return *why = "a sum or average of a field that is not whole numbers", GROUP_ROWS;
    if (a[j].kind != GP_COUNT && a[j].field == gfield) return *why = "an aggregate of the key itself", GROUP_ROWS;
  }
  *ix = grouppass_index(q, gfield, subf, a, nagg);
  if (!*ix) return *why = "no index led by the key holds every field the conditions and aggregates read", GROUP_ROWS;
  if (q->ncond) { /* the query's own plan: an index range over few entries is cheaper */
    snap *s;
    MDB_txn *txn = kam_read_txn(L, ctx, &s);
    qiter it;
    kam_err e;
    int use = 0;
    if (qiter_open(&it, txn, q, -1, &e) == 0) {
      if (it.kind == PLAN_SCAN) use = 1;
      else if (it.kind == PLAN_INDEX && it.eqn == 0) use = qiter_range_share(&it) > GROUP_PASS_SHARE;
      else if (it.kind == PLAN_INDEX) { /* equal values: count their entries up to the share that pays */
        MDB_stat st;
        if (mdb_stat(txn, (*ix)->dbi, &st) == 0) {
          size_t want = (size_t)((double)st.ms_entries * GROUP_PASS_SHARE);
          use = qiter_count_prefix(&it, want) >= want;
        }
      }
    }
    qiter_close(&it);
    if (!use) return *ix = NULL, *why = "the query's own plan reads few rows", GROUP_ROWS;
  }
  return GROUP_PASS;
}

/* Pushes a userdata holding the groups, or nothing and 0 when the rows are
 * to be visited from Lua (group_plan). */
static int group_by_pass(lua_State *L, lquery *lq, int gfield, int subf, const gp_agg *a, int nagg) {
  const char *why;
  const index_def *ix;
  int how = group_plan(L, lq, gfield, subf, a, nagg, &ix, &why);
  if (how == GROUP_VISIT) return 0;
  snap *s;
  MDB_txn *txn = kam_read_txn(L, kam_ctx_get(L), &s);
  gp_result *r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  if (luaL_newmetatable(L, "kam.group_pass")) {
    lua_pushcfunction(L, gp_result_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  kam_err e = {0};
  int rc = how == GROUP_PASS
             ? grouppass_collect_parts(txn, !kam_ctx_get(L)->wtxn, lq->q, ix, gfield, subf, a, nagg,
                                       GROUP_PASS_MAX_GROUPS, gp_stop, r, &e)
             : grouppass_collect_rows(txn, lq->q, gfield, subf, a, nagg, GROUP_PASS_MAX_GROUPS, gp_stop, r, &e);
  if (rc == 0) return 1;
  lua_pop(L, 1);
  if (rc == GP_CUT || rc == GP_TOO_MANY) return 0;
  if (sandbox_stopping()) return sandbox_raise_stop(L);
  return sandbox_raise_err(L, e.code ? e.code : KAM_EINTERNAL, e.msg);
}

/* What explain(key, ...) says of a group: the pass and its index, or how
 * its rows are read and why. */
static int push_group_explain(lua_State *L, lquery *lq, int gfield, int subf, const gp_agg *a, int nagg,
                              const char *why) {
  const index_def *ix = NULL;
  int how = why ? GROUP_VISIT : group_plan(L, lq, gfield, subf, a, nagg, &ix, &why);
  if (how == GROUP_PASS) {
    snap *s;
    kam_ctx *ctx = kam_ctx_get(L);
    int parts = grouppass_parts(kam_read_txn(L, ctx, &s), !ctx->wtxn, ix);
    if (parts > 1) lua_pushfstring(L, "group: one pass over index %s, shared among %d threads", ix->name, parts);
    else lua_pushfstring(L, "group: one pass over index %s", ix->name);
    return 1;
  }
  lua_pushfstring(L, how == GROUP_ROWS ? "group: rows aggregated in C as the query reads them (%s); "
                                       : "group: rows visited one by one (%s); ", why);
  lua_pushcfunction(L, kam_query_explain);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  lua_concat(L, 2);
  return 1;
}

/* Pushes aggregate x of kind k as group() gives it, or nothing and 0 when
 * the group has no value for it (no row had the field). */
static int push_group_value(lua_State *L, gp_kind k, const gp_acc *x, int64_t rows, int avg) {
  if (k == GP_COUNT) { lua_pushinteger(L, rows); return 1; }
  if (k == GP_SUM) {
    if (!x->n) return 0;
    if (avg) lua_pushnumber(L, (x->is_int ? (double)x->isum : x->nsum) / (double)x->n);
    else push_sum(L, x->is_int, x->isum, x->nsum);
    return 1;
  }
  if (!x->have) return 0;
  kam_push_kval(L, &x->best);
  return 1;
}

/* Pushes group key i of r: its value, "(none)" for rows without one. */
static void push_group_key(lua_State *L, const gp_result *r, size_t i) {
  kval k = gp_result_key(r, i);
  kam_push_kval(L, &k);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushliteral(L, "(none)"); }
}

static const gp_kind gp_of_kind[] = {GP_COUNT, GP_SUM, GP_SUM, GP_MIN, GP_MAX}; /* count sum avg min max */

/* ---- group over several keys, several aggregates, in one pass ----------- */

#define GROUP_MAX_KEYS 4
#define GROUP_MAX_AGGS 16
#define SUB_KEEP 8 /* second keys of a group pass kept as Lua strings */
static const char *const agg_kinds[] = {"count", "sum", "avg", "min", "max", NULL};

typedef struct gagg { int kind, field, name; } gagg; /* name: stack slot of its name */
typedef struct gmulti {
  lua_State *L;
  int nkeys, nagg;
  group_st key[GROUP_MAX_KEYS]; /* each key's field or path through refs, and its cache */
  gagg agg[GROUP_MAX_AGGS];
  int single;                   /* the aggregate given as a string: each leaf is its value */
  int result;                   /* stack slot of the result table */
} gmulti;

static int agg_kind(lua_State *L, const char *kind) {
  for (int i = 0; agg_kinds[i]; i++) if (!strcmp(agg_kinds[i], kind)) return i;
  return luaL_error(L, "group: the aggregate is count, sum, avg, min or max, not '%s'", kind);
}

/* Pushes key i of the row; an empty key is "(none)". */
static void push_multi_key(gmulti *m, int i, kam_row *r) {
  group_st *k = &m->key[i];
  if (k->nhop) { push_key(k, r); return; }
  kval v;
  kam_row_field(r, k->key, &v);
  kam_push_kval(m->L, &v);
  if (lua_isnil(m->L, -1)) { lua_pop(m->L, 1); lua_pushliteral(m->L, "(none)"); }
}

/* Pushes t[key] for the key on top (popping it), made an empty table when absent. */
static void descend(lua_State *L, int t) {
  lua_pushvalue(L, -1);
  if (lua_rawget(L, t) == LUA_TTABLE) { lua_remove(L, -2); return; }
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -2); /* key */
  lua_pushvalue(L, -2); /* the new table */
  lua_rawset(L, t);
  lua_remove(L, -2);
}

/* leaf[name] += 1 (count) or += v (sum, avg), as integers while they fit */
static void leaf_add(lua_State *L, int leaf, int name, const kval *v) {
  lua_pushvalue(L, name);
  lua_rawget(L, leaf);
  lua_Integer s;
  if (!v) lua_pushinteger(L, lua_tointeger(L, -1) + 1);
  else if (v->tag == KV_INT && (lua_isnil(L, -1) || lua_isinteger(L, -1)) &&
           !__builtin_add_overflow(lua_tointeger(L, -1), v->u.i, &s))
    lua_pushinteger(L, s);
  else lua_pushnumber(L, lua_tonumber(L, -1) + (v->tag == KV_INT ? (lua_Number)v->u.i : v->tag == KV_NUM ? v->u.n : 0));
  lua_remove(L, -2);
  lua_pushvalue(L, name);
  lua_insert(L, -2);
  lua_rawset(L, leaf);
}

static int visit_multi(kam_row *r, void *ud) {
  gmulti *m = ud;
  lua_State *L = m->L;
  int top = lua_gettop(L);
  if (m->single && m->agg[0].kind) { /* a row without the value is not counted, as group() does */
    kval v;
    kam_row_field(r, m->agg[0].field, &v);
    if (v.tag == KV_NULL) return 0;
  }
  lua_pushvalue(L, m->result);
  for (int i = 0; i < m->nkeys; i++) {
    push_multi_key(m, i, r);
    descend(L, lua_gettop(L) - 1);
    lua_remove(L, -2);
  }
  int leaf = lua_gettop(L);
  for (int j = 0; j < m->nagg; j++) {
    const gagg *a = &m->agg[j];
    if (a->kind == 0) { leaf_add(L, leaf, a->name, NULL); continue; }
    kval v; /* read and used at once: the next read may reuse its buffer */
    kam_row_field(r, a->field, &v);
    if (v.tag == KV_NULL) continue;
    if (a->kind == 1 || a->kind == 2) {
      leaf_add(L, leaf, a->name, &v);
      if (a->kind == 2) { /* avg: its count under the aggregate's number, divided out at the end */
        lua_rawgeti(L, leaf, j + 1);
        lua_Integer n = lua_tointeger(L, -1) + 1;
        lua_pop(L, 1);
        lua_pushinteger(L, n);
        lua_rawseti(L, leaf, j + 1);
      }
      continue;
    }
    lua_pushvalue(L, a->name);
    lua_rawget(L, leaf);
    int replace = lua_isnil(L, -1);
    if (!replace) {
      kam_push_kval(L, &v);
      replace = a->kind == 3 ? lua_compare(L, -1, -2, LUA_OPLT) : lua_compare(L, -2, -1, LUA_OPLT);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (replace) {
      lua_pushvalue(L, a->name);
      kam_push_kval(L, &v);
      lua_rawset(L, leaf);
    }
  }
  lua_settop(L, top);
  return 0;
}

/* The leaves under the table at t, depth levels down: averages divided,
 * and with a single aggregate each leaf replaced by its value. */
static void finish_multi(gmulti *m, int t, int depth) {
  lua_State *L = m->L;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int v = lua_gettop(L);
    if (depth > 1) { finish_multi(m, v, depth - 1); lua_pop(L, 1); continue; }
    for (int j = 0; j < m->nagg; j++) {
      if (m->agg[j].kind != 2) continue;
      lua_rawgeti(L, v, j + 1);
      lua_pushvalue(L, m->agg[j].name);
      lua_rawget(L, v);
      if (!lua_isnil(L, -1)) {
        lua_Number avg = lua_tonumber(L, -1) / lua_tonumber(L, -2);
        lua_pushvalue(L, m->agg[j].name);
        lua_pushnumber(L, avg);
        lua_rawset(L, v);
      }
      lua_pop(L, 2);
      lua_pushnil(L);
      lua_rawseti(L, v, j + 1);
    }
    if (m->single) { /* t[k] = leaf[name]: a value of an existing key, allowed during lua_next */
      lua_pushvalue(L, v - 1);
      lua_pushvalue(L, m->agg[0].name);
      lua_rawget(L, v);
      lua_rawset(L, t);
    }
    lua_pop(L, 1);
  }
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Remembers the layout of the result at res (keys: the stack slots of the
 * key names), for table output to print it a row per leaf. */
static void mark_group_layout(lua_State *L, const gmulti *m, const lquery *lq, int res, int keys) {
  push_weak_keyed(L, &group_layouts);
  lua_pushvalue(L, res);
  lua_createtable(L, 0, 4);
  lua_createtable(L, m->nkeys, 0);
  for (int i = 0; i < m->nkeys; i++) {
    lua_pushvalue(L, keys + i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "keys");
  if (m->single) {
    if (m->agg[0].kind && is_money(lq, m->agg[0].field)) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "value_money");
    }
  } else {
    const char *names[GROUP_MAX_AGGS];
    for (int j = 0; j < m->nagg; j++) names[j] = lua_tostring(L, m->agg[j].name);
    qsort(names, (size_t)m->nagg, sizeof *names, cmp_names);
    lua_createtable(L, m->nagg, 0);
    for (int j = 0; j < m->nagg; j++) {
      lua_pushstring(L, names[j]);
      lua_rawseti(L, -2, j + 1);
    }
    lua_setfield(L, -2, "cols");
    lua_createtable(L, 0, m->nagg);
    for (int j = 0; j < m->nagg; j++) {
      if (!m->agg[j].kind || !is_money(lq, m->agg[j].field)) continue;
      lua_pushvalue(L, m->agg[j].name);
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "money");
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* group({k1, k2, ...}, agg, field) -> {k1 = {k2 = aggregate}}, and
 * group(key or keys, {name = "count" | {"sum", field} | ...}) -> {key = {name = value}}:
 * several keys (fields or paths through refs) and several aggregates in one
 * pass over the rows. */
static int group_multi(lua_State *L, lquery *lq, int explain) {
  lua_settop(L, 4);
  luaL_checkstack(L, 2 * GROUP_MAX_KEYS + GROUP_MAX_AGGS + 24, "group"); /* names, caches, the walk */
  gmulti *m = lua_newuserdatauv(L, sizeof *m, 0); /* big: off the C stack; no __gc needed */
  memset(m, 0, sizeof *m);
  m->L = L;
  int want = -1;
  if (lua_type(L, 2) == LUA_TTABLE) {
    m->nkeys = (int)lua_rawlen(L, 2);
    if (m->nkeys < 1 || m->nkeys > GROUP_MAX_KEYS) return luaL_error(L, "group: from 1 to %d keys", GROUP_MAX_KEYS);
    for (int i = 0; i < m->nkeys; i++) {
      lua_rawgeti(L, 2, i + 1);
      if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "group: key %d: a field or a path through refs (client.owner)", i + 1);
    }
  } else {
    if (lua_type(L, 2) != LUA_TSTRING) return luaL_error(L, "group: with several aggregates the key is a field or a list of fields");
    m->nkeys = 1;
    lua_pushvalue(L, 2);
  }
  int keys = lua_gettop(L) - m->nkeys + 1; /* the key names, one slot each */
  for (int i = 0; i < m->nkeys; i++) {
    group_st *k = &m->key[i];
    k->L = L;
    group_key(L, lq, k, keys + i);
    if (k->nhop) {
      for (int h = 1; h < k->nhop; h++) k->hscope[h] = kam_read_scope(L, k->hopc[h]); /* raises for none */
      snap *s;
      k->txn = kam_read_txn(L, kam_ctx_get(L), &s);
    }
    lua_newtable(L);
    k->cache = lua_gettop(L);
  }
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      if (lua_type(L, -2) != LUA_TSTRING) return luaL_error(L, "group: each aggregate is named: {revenue = {\"sum\", \"amount\"}}");
      if (m->nagg == GROUP_MAX_AGGS) return luaL_error(L, "group: at most %d aggregates", GROUP_MAX_AGGS);
      gagg *a = &m->agg[m->nagg];
      const char *name = lua_tostring(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) a->kind = agg_kind(L, lua_tostring(L, -1));
      else if (lua_type(L, -1) == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        if (lua_type(L, -2) != LUA_TSTRING) return luaL_error(L, "group: aggregate '%s': {\"sum\", \"field\"}", name);
        a->kind = agg_kind(L, lua_tostring(L, -2));
        if (a->kind) {
          if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "group: aggregate '%s': %s of which field?", name, agg_kinds[a->kind]);
          a->field = coll_field(lq->q->c, lua_tostring(L, -1));
          if (a->field < 0) return luaL_error(L, "group: %s has no field '%s'", lq->q->c->name, lua_tostring(L, -1));
        }
        lua_pop(L, 2);
      } else return luaL_error(L, "group: aggregate '%s' is \"count\" or {\"sum\", \"field\"}", name);
      if (a->kind == 0) a->field = -1;
      if (want < 0 && a->kind) want = a->field;
      lua_pop(L, 1);
      lua_pushvalue(L, -1); /* the name, kept in a slot of its own */
      lua_insert(L, -2);
      a->name = lua_gettop(L) - 1;
      m->nagg++;
    }
    if (!m->nagg) return luaL_error(L, "group: no aggregate asked for");
  } else {
    m->single = 1;
    m->nagg = 1;
    m->agg[0].kind = agg_kind(L, luaL_optstring(L, 3, "count"));
    m->agg[0].field = m->agg[0].kind ? field_arg(L, lq, 4, "group") : -1;
    want = m->agg[0].field;
    lua_pushliteral(L, "value");
    m->agg[0].name = lua_gettop(L);
  }
  if (want < 0) want = m->key[0].key;
  int plain = !m->key[0].nhop && (m->nkeys == 1 || (m->nkeys == 2 && !m->key[1].nhop));
  gp_agg a[GROUP_MAX_AGGS];
  for (int j = 0; j < m->nagg; j++) a[j] = (gp_agg){gp_of_kind[m->agg[j].kind], m->agg[j].kind ? m->agg[j].field : -1};
  int subf = m->nkeys == 2 ? m->key[1].key : -1;
  if (explain)
    return push_group_explain(L, lq, m->key[0].key, subf, a, m->nagg,
                              plain ? NULL : m->nkeys > 2 ? "more than two keys" : "a key goes through a ref");
  if (plain) {
    if (group_by_pass(L, lq, m->key[0].key, subf, a, m->nagg)) {
      const gp_result *r = lua_touserdata(L, -1);
      /* the second keys are few (a status, a month): each pushed once, then
       * copied from a stack slot of its own instead of interned again */
      kval subk[SUB_KEEP];
      int nsubk = 0;
      if (subf >= 0) luaL_checkstack(L, SUB_KEEP + 8, "group");
      size_t groups = r->n;
      if (subf >= 0 && r->n) { /* the number of first keys, for the table's size */
        groups = 1;
        for (size_t i = 1; i < r->n; i++) {
          kval k = gp_result_key(r, i), prev = gp_result_key(r, i - 1);
          groups += !kval_same(&k, &prev);
        }
      }
      lua_createtable(L, 0, groups > 1u << 24 ? 1 << 24 : (int)groups);
      int res = lua_gettop(L), into = res; /* the kept second keys: the slots right above res */
      size_t key_end = 0; /* the first entry past the current first key's */
      for (size_t i = 0; i < r->n; i++) {
        if (subf >= 0) { /* one table for a key's second keys (a pass gives them together) */
          if (i == key_end) {
            kval k = gp_result_key(r, i), next;
            for (key_end = i + 1; key_end < r->n && (next = gp_result_key(r, key_end), kval_same(&k, &next)); key_end++) {}
            size_t n = key_end - i; /* entries under this key, for its table's size */
            lua_settop(L, res + nsubk);
            push_group_key(L, r, i);
            lua_pushvalue(L, -1);
            if (lua_rawget(L, res) != LUA_TTABLE) {
              lua_pop(L, 1);
              lua_createtable(L, 0, n > 64 ? 64 : (int)n);
              lua_pushvalue(L, -2);
              lua_pushvalue(L, -2);
              lua_rawset(L, res);
            }
            lua_remove(L, -2);
            into = lua_gettop(L);
          }
          kval sk = gp_result_sub(r, i);
          int kept = -1;
          for (int j = 0; j < nsubk && kept < 0; j++) if (kval_same(&sk, &subk[j])) kept = j;
          if (kept >= 0) lua_pushvalue(L, res + 1 + kept);
          else {
            kam_push_kval(L, &sk);
            if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushliteral(L, "(none)"); }
            if (nsubk < SUB_KEEP && (sk.tag != KV_STR || sk.u.s.len <= 40)) {
              /* kept in the slot after the last kept one, above the result */
              lua_pushvalue(L, -1);
              lua_insert(L, res + 1 + nsubk);
              subk[nsubk++] = sk;
              into++;
            }
          }
        } else push_group_key(L, r, i);
        if (m->single) {
          gp_acc x = gp_result_acc(r, i, 0);
          if (push_group_value(L, a[0].kind, &x, r->rows[i], m->agg[0].kind == 2)) lua_rawset(L, into);
          else lua_pop(L, 1);
          continue;
        }
        lua_createtable(L, 0, m->nagg);
        for (int j = 0; j < m->nagg; j++) {
          gp_acc x = gp_result_acc(r, i, j);
          lua_pushvalue(L, m->agg[j].name);
          if (push_group_value(L, a[j].kind, &x, r->rows[i], m->agg[j].kind == 2)) lua_rawset(L, -3);
          else lua_pop(L, 1);
        }
        lua_rawset(L, into);
      }
      lua_settop(L, res);
      mark_group_layout(L, m, lq, res, keys);
      return 1;
    }
  }
  lua_newtable(L);
  m->result = lua_gettop(L);
  kam_query_visit(L, 1, want, visit_multi, m);
  finish_multi(m, m->result, m->nkeys);
  mark_group_layout(L, m, lq, m->result, keys);
  lua_pushvalue(L, m->result);
  return 1;
}

/* group(key, agg, field): {key_value = aggregate}; agg is count|sum|avg|min|max;
 * key is a field, a dotted path through refs, or a function of the entity. */
static int group_impl(lua_State *L, int explain) {
  lquery *lq = kam_check_query(L, 1);
  if (lua_type(L, 2) == LUA_TTABLE || lua_type(L, 3) == LUA_TTABLE) return group_multi(L, lq, explain);
  group_st g = {0};
  g.L = L;
  group_key(L, lq, &g, 2);
  const char *kind = luaL_optstring(L, 3, "count");
  const char *kinds[] = {"count", "sum", "avg", "min", "max", NULL};
  g.kind = -1;
  for (int i = 0; kinds[i]; i++) if (!strcmp(kinds[i], kind)) g.kind = i;
  if (g.kind < 0) return luaL_error(L, "group: the aggregate is count, sum, avg, min or max, not '%s'", kind);
  if (g.kind) g.field = field_arg(L, lq, 4, "group");
  lua_settop(L, 4);
  if (g.nhop) {
    for (int h = 1; h < g.nhop; h++) g.hscope[h] = kam_read_scope(L, g.hopc[h]); /* raises for none */
    snap *s;
    g.txn = kam_read_txn(L, kam_ctx_get(L), &s);
  }
  gp_agg a = {gp_of_kind[g.kind], g.kind ? g.field : -1};
  /* a key through refs (client.owner): grouped by its first ref, then each
   * group's ref followed once and the groups merged, where merging adds
   * whole numbers (a sum of fractions would depend on the order) */
  int merge = g.nhop && !g.keyfn && (g.kind == 0 || g.kind >= 3 || whole(lq, g.field));
  if (explain) {
    if (merge) {
      push_group_explain(L, lq, g.key, -1, &a, 1, NULL);
      lua_pushliteral(L, "; then each value's refs followed once");
      lua_concat(L, 2);
      return 1;
    }
    return push_group_explain(L, lq, g.key, -1, &a, 1, g.keyfn ? "a key function" : g.nhop ? "a sum of fractions through a ref" : NULL);
  }
  if (merge && group_by_pass(L, lq, g.key, -1, &a, 1)) {
    const gp_result *r = lua_touserdata(L, -1);
    /* a userdata, so a Lua error while the keys are pushed frees it */
    kval *keys = lua_newuserdatauv(L, (r->n ? r->n : 1) * sizeof *keys, 0);
    const char *where = "";
    int rc = resolve_hops(&g, r, keys, &where);
    if (rc) return luaL_error(L, "group: reading %s: %s", where, mdb_strerror(rc));
    /* sized for a key per entry, the most there can be (a project's client: fewer) */
    int most = r->n > 1u << 24 ? 1 << 24 : (int)r->n;
    lua_createtable(L, 0, g.kind ? most : 0);
    g.tsum = lua_gettop(L);
    lua_createtable(L, 0, g.kind == 1 ? 0 : most);
    g.tcnt = lua_gettop(L);
    lua_pushnil(L); /* the key pushed last: the next is often the same */
    int last = lua_gettop(L);
    const kval *last_id = NULL;
    for (size_t i = 0; i < r->n; i++) {
      gp_acc x = gp_result_acc(r, i, 0);
      if (g.kind && !x.n && !x.have) continue; /* no row had the value */
      const kval *id = &keys[i];
      if (last_id && kval_same(id, last_id))
        lua_pushvalue(L, last);
      else {
        kam_push_kval(L, id);
        if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushliteral(L, "(none)"); }
        lua_pushvalue(L, -1);
        lua_replace(L, last);
        last_id = id;
      }
      int ki = lua_gettop(L);
      kval v = g.kind >= 3 ? x.best : x.is_int ? kv_int(x.isum) : kv_num(x.nsum);
      group_add(&g, ki, g.kind == 0 ? r->rows[i] : x.n, &v);
      lua_settop(L, ki - 1);
    }
    goto finish;
  }
  if (!g.nhop && !g.keyfn) {
    if (group_by_pass(L, lq, g.key, -1, &a, 1)) {
      const gp_result *r = lua_touserdata(L, -1);
      lua_createtable(L, 0, r->n > 1u << 24 ? 1 << 24 : (int)r->n);
      for (size_t i = 0; i < r->n; i++) {
        gp_acc x = gp_result_acc(r, i, 0);
        push_group_key(L, r, i);
        if (push_group_value(L, a.kind, &x, r->rows[i], g.kind == 2)) lua_rawset(L, -3);
        else lua_pop(L, 1);
      }
      if (g.kind && is_money(lq, g.field)) mark_money_table(L);
      return 1;
    }
  }
  lua_newtable(L);
  g.cache = lua_gettop(L);
  lua_newtable(L);
  g.tsum = lua_gettop(L);
  lua_newtable(L);
  g.tcnt = lua_gettop(L);
  kam_query_visit(L, 1, g.keyfn ? KAM_WANT_ENTITY : g.kind ? g.field : g.key, visit_group, &g);
finish:
  if (g.kind == 0) { lua_pushvalue(L, g.tcnt); return 1; }
  if (g.kind == 2) { /* avg = sum / count */
    lua_pushnil(L);
    while (lua_next(L, g.tsum)) {
      lua_pushvalue(L, -2);
      lua_rawget(L, g.tcnt);
      lua_Number avg = lua_tonumber(L, -2) / lua_tonumber(L, -1);
      lua_pop(L, 2);
      lua_pushvalue(L, -1);
      lua_pushnumber(L, avg);
      lua_rawset(L, g.tsum);
    }
  }
  lua_pushvalue(L, g.tsum);
  if (is_money(lq, g.field)) mark_money_table(L);
  return 1;
}

static int q_group(lua_State *L) { return group_impl(L, 0); }
int kam_agg_explain_group(lua_State *L) { return group_impl(L, 1); }

const luaL_Reg kam_agg_methods[] = {
    {"count", q_count}, {"sum", q_sum}, {"avg", q_avg}, {"min", q_min}, {"max", q_max},
    {"group", q_group}, {NULL, NULL}};
