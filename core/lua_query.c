/* lua_query.c — query objects and running them (see lua_query.h): where,
 * sort, limit; iterators over a query's rows; list, each, ids, first,
 * explain; the row visitor the aggregates use. Errors are raised only
 * after an iterator's cursor is released. */
#include "lua_query.h"
#include "lua_agg.h"
#include "budget.h"
#include "progress.h"
#include <stdlib.h>
#include <string.h>

/* ---- query objects ------------------------------------------------------- */

lquery *kam_check_query(lua_State *L, int idx) {
  lquery *lq = kam_check_udata(L, idx, KAM_UD_QUERY, "query");
  /* a query reached again after its finalizer ran (through a weak table) */
  if (!lq->q) luaL_error(L, "this query was released");
  return lq;
}

static lquery *push_query(lua_State *L, const coll_def *c, const lquery *from) {
  lquery *lq = lua_newuserdatauv(L, sizeof *lq, 2);
  lq->q = NULL;
  lq->sort_field = -1;
  lq->desc = 0;
  lq->limit = -1;
  lq->is_coll = 0;
  kam_set_udata_mt(L, KAM_UD_QUERY);
  if (from) {
    lq->sort_field = from->sort_field;
    lq->desc = from->desc;
    lq->limit = from->limit;
    query_copy(&lq->qb, from->q);
  } else {
    query_init(&lq->qb, c);
  }
  lq->q = &lq->qb;
  return lq;
}

lquery *kam_push_query(lua_State *L, const coll_def *c) { return push_query(L, c, NULL); }

int kam_is_query(lua_State *L, int idx) { return kam_udata(L, idx, KAM_UD_QUERY) != NULL; }
const coll_def *kam_query_coll(lua_State *L, int idx) { return kam_check_query(L, idx)->q->c; }

static int query_gc(lua_State *L) {
  lquery *lq = kam_udata(L, 1, KAM_UD_QUERY);
  if (!lq) return 0;
  if (lq->q) query_release(lq->q);
  lq->q = NULL;
  return 0;
}

/* Clones the query at idx (with its predicates and comparator) and pushes it. */
static lquery *derive(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lquery *src = kam_check_query(L, idx);
  lquery *lq = push_query(L, src->q->c, src);
  int top = lua_gettop(L);
  /* the predicate list is copied only when there is one: most queries are
   * plain filters, and a table each would be garbage per where{} */
  if (lua_getiuservalue(L, idx, 1) == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    lua_createtable(L, (int)n + 1, 0);
    for (lua_Integer i = 1; i <= n; i++) { lua_rawgeti(L, -2, i); lua_rawseti(L, -2, i); }
    lua_setiuservalue(L, top, 1);
  }
  lua_pop(L, 1);
  if (lua_getiuservalue(L, idx, 2) != LUA_TNIL) lua_setiuservalue(L, top, 2);
  else lua_pop(L, 1);
  return lq;
}

static const struct { const char *name; qop op; } op_names[] = {
    {"=", Q_EQ}, {"==", Q_EQ}, {"~=", Q_NE}, {"!=", Q_NE}, {"<>", Q_NE}, {">=", Q_GE}, {">", Q_GT},
    {"<=", Q_LE}, {"<", Q_LT}, {"in", Q_IN}, {"between", Q_BETWEEN}, {NULL, Q_EQ}};

/* where{field = value | {op, ...}} or where(function(e) ... end) */
static int q_where(lua_State *L) {
  kam_check_query(L, 1);
  if (lua_type(L, 2) == LUA_TFUNCTION) {
    derive(L, 1);
    if (lua_getiuservalue(L, -1, 1) != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_setiuservalue(L, -3, 1);
    }
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
    return 1;
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  lquery *lq = derive(L, 1);
  int qi = lua_gettop(L);
  const coll_def *c = lq->q->c;
  char msg[1100];
  msg[0] = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING) { snprintf(msg, sizeof msg, "where: keys are field names of %s", c->name); lua_pop(L, 2); break; }
    const char *fname = lua_tostring(L, -2);
    int f = coll_field(c, fname);
    if (f < 0) { snprintf(msg, sizeof msg, "where: %s has no field '%s'", c->name, fname); lua_pop(L, 2); break; }
    int vi = lua_gettop(L);
    qop op = Q_EQ;
    kval vals[256];
    int nv = 0;
    kbuf tmp = {0};
    kam_err e = {0};
    const char *bad = NULL;
    if (lua_type(L, vi) == LUA_TFUNCTION) {
      snprintf(msg, sizeof msg, "where: %s.%s: use where(function(e) ... end) for a test on a field", c->name, fname);
      lua_pop(L, 2);
      break;
    }
    if (lua_type(L, vi) == LUA_TTABLE && !kam_is_entity(L, vi)) {
      lua_rawgeti(L, vi, 1);
      const char *os = lua_tostring(L, -1);
      lua_pop(L, 1);
      int found = 0;
      for (int i = 0; os && op_names[i].name && !found; i++)
        if (!strcmp(op_names[i].name, os)) { op = op_names[i].op; found = 1; }
      if (!found) { snprintf(msg, sizeof msg, "where: %s.%s: expected {\">=\", v}, {\"in\", {...}}, {\"between\", a, b} ... (operators: = ~= >= > <= < in between)", c->name, fname); lua_pop(L, 2); break; }
      if (op == Q_IN) {
        lua_rawgeti(L, vi, 2);
        if (!lua_istable(L, -1)) { lua_pop(L, 3); snprintf(msg, sizeof msg, "where: %s.%s: \"in\" takes a list: {\"in\", {a, b}}", c->name, fname); break; }
        int li = lua_gettop(L);
        lua_Integer n = (lua_Integer)lua_rawlen(L, li);
        if (n > 256) {
          snprintf(msg, sizeof msg, "where: %s.%s: \"in\" takes at most 256 values (this list has %lld); "
                   "split it, or test with where(function(e) ... end)", c->name, fname, (long long)n);
          lua_pop(L, 3);
          break;
        }
        /* each value stays on the stack while the query copies it */
        luaL_checkstack(L, (int)n + 4, "where: the \"in\" list");
        for (lua_Integer i = 1; i <= n && !bad; i++) {
          if (lua_rawgeti(L, li, i) == LUA_TTABLE && !kam_is_entity(L, -1)) bad = "plain values in the \"in\" list";
          else bad = kam_to_field(L, lua_gettop(L), &c->fields[f], &vals[nv++], &tmp);
        }
      } else {
        int want = op == Q_BETWEEN ? 2 : 1;
        for (int i = 0; i < want && !bad; i++) {
          if (lua_rawgeti(L, vi, i + 2) == LUA_TNIL) bad = "a value after the operator";
          else bad = kam_to_field(L, lua_gettop(L), &c->fields[f], &vals[nv++], &tmp);
        }
      }
    } else {
      lua_pushvalue(L, vi);
      bad = kam_to_field(L, lua_gettop(L), &c->fields[f], &vals[nv++], &tmp);
    }
    int rc = bad ? 1 : query_add(lq->q, f, op, vals, nv, &e);
    kbuf_free(&tmp);
    lua_settop(L, vi);
    if (bad) { snprintf(msg, sizeof msg, "where: %s.%s: expected %s", c->name, fname, bad); lua_pop(L, 2); break; }
    if (rc) { snprintf(msg, sizeof msg, "where: %s", e.msg); lua_pop(L, 2); break; }
    lua_pop(L, 1);
  }
  if (msg[0]) return luaL_error(L, "%s", msg);
  lua_settop(L, qi);
  return 1;
}

static int q_all(lua_State *L) {
  kam_check_query(L, 1);
  derive(L, 1);
  return 1;
}

static int q_sort(lua_State *L) {
  lquery *src = kam_check_query(L, 1);
  const char *dir = luaL_optstring(L, 3, "asc");
  int desc = !strcmp(dir, "desc");
  if (!desc && strcmp(dir, "asc")) return luaL_error(L, "sort: direction is \"asc\" or \"desc\"");
  if (lua_type(L, 2) == LUA_TFUNCTION) {
    lquery *lq = derive(L, 1);
    lq->sort_field = -1;
    lq->desc = desc;
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 2);
    return 1;
  }
  const char *f = luaL_checkstring(L, 2);
  int fi = coll_field(src->q->c, f);
  if (fi < 0) return luaL_error(L, "sort: %s has no field '%s'", src->q->c->name, f);
  lquery *lq = derive(L, 1);
  lq->sort_field = fi;
  lq->desc = desc;
  lua_pushnil(L);
  lua_setiuservalue(L, -2, 2);
  return 1;
}

static int q_limit(lua_State *L) {
  kam_check_query(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 0) return luaL_error(L, "limit: expected a count >= 0");
  lquery *lq = derive(L, 1);
  if (lq->limit < 0 || n < lq->limit) lq->limit = n;
  return 1;
}

static int q_tostring(lua_State *L) {
  lquery *lq = kam_check_query(L, 1);
  lua_pushfstring(L, "query on %s (%d conditions)", lq->q->c->name, lq->q->ncond);
  return 1;
}

int kam_query_has_preds(lua_State *L, int qidx) {
  int t = lua_getiuservalue(L, qidx, 1);
  int r = t == LUA_TTABLE && lua_rawlen(L, -1) > 0;
  lua_pop(L, 1);
  return r;
}

int kam_query_has_sortfn(lua_State *L, int qidx) {
  int t = lua_getiuservalue(L, qidx, 2);
  lua_pop(L, 1);
  return t == LUA_TFUNCTION;
}

/* ---- iterators ----------------------------------------------------------- */

typedef struct liter {
  qiter it;
  snap *s;             /* held (refs) while open; NULL inside kam.tx */
  unsigned long wserial;
  int open;
  int scope;           /* the read scope of the query's collection (kam_read_scope) */
  progress pg;         /* each(): a bar on a terminal when the loop runs long */
} liter;

static void liter_release(lua_State *L, liter *li) {
  if (!li->open) return;
  kam_ctx *ctx = kam_ctx_get(L);
  /* a write txn frees its cursors itself when it ends */
  if (li->s || (ctx->wtxn && ctx->wserial == li->wserial)) qiter_close(&li->it);
  else { li->it.cur = NULL; qiter_close(&li->it); }
  li->open = 0;
  progress_end(&li->pg);
  if (li->s) { kam_snap_release(ctx, li->s); li->s = NULL; }
}

static int iter_gc(lua_State *L) {
  liter_release(L, kam_check_udata(L, 1, KAM_UD_ITER, "iterator"));
  return 0;
}

/* Pushes an open iterator over the query's rows. */
static liter *open_iter(lua_State *L, lquery *lq, int want) {
  kam_ctx *ctx = kam_ctx_get(L);
  int scope = kam_read_scope(L, lq->q->c); /* raises before anything is open */
  liter *li = lua_newuserdatauv(L, sizeof *li, 0);
  memset(li, 0, sizeof *li);
  kam_set_udata_mt(L, KAM_UD_ITER);
  snap *s;
  MDB_txn *txn = kam_read_txn(L, ctx, &s);
  kam_err e;
  if (qiter_open_cached(&li->it, txn, lq->q, want, s ? &s->curs : NULL, &e)) {
    qiter_close(&li->it);
    sandbox_raise_err(L, e.code, e.msg);
  }
  li->open = 1;
  li->scope = scope;
  li->s = s;
  if (s) s->refs++;
  li->wserial = ctx->wserial;
  return li;
}

static void check_iter_alive(lua_State *L, liter *li) {
  kam_ctx *ctx = kam_ctx_get(L);
  if (!li->open) luaL_error(L, "a query's iteration went on after it was closed");
  if (li->s ? !li->s->alive : !(ctx->wtxn && ctx->wserial == li->wserial)) {
    liter_release(L, li);
    luaL_error(L, "a query's iteration went on after its snapshot ended");
  }
}

/* Is the current row within the iterator's read scope? Its record is read
 * for the check (and kept: the row's entity then needs no lookup). */
static int row_in_scope(lua_State *L, liter *li) {
  kam_err e;
  MDB_val rec;
  if (qiter_record(&li->it, &rec, &e) < 0) { liter_release(L, li); sandbox_raise_err(L, e.code, e.msg); }
  return kam_row_in_scope(kam_ctx_get(L), li->it.txn, li->it.q->c, li->it.id.u.s.p, li->it.id.u.s.len,
                          rec.mv_data, rec.mv_size);
}

/* Next row of an open iterator within its read scope: 1 row, 0 done;
 * errors are raised after the cursor is released. */
static int iter_step(lua_State *L, liter *li) {
  kam_err e;
  check_iter_alive(L, li);
  for (;;) {
    if (sandbox_should_stop()) { liter_release(L, li); sandbox_poll(L); } /* Ctrl-C, or the budget ran out */
    int rc = qiter_next(&li->it, &e);
    if (rc < 0) { liter_release(L, li); return sandbox_raise_err(L, e.code, e.msg); }
    if (__builtin_expect(li->scope == SCOPE_ALL, 1) || !rc || row_in_scope(L, li)) return rc;
  }
}

static void push_row_entity(lua_State *L, liter *li) {
  kam_err e;
  MDB_val rec;
  if (li->s && li->it.kind == PLAN_INDEX && !li->it.rec_loaded) { /* the record waits until needed */
    kval id;
    if (qiter_field(&li->it, F_ID, &id, &e) < 0) { liter_release(L, li); sandbox_raise_err(L, e.code, e.msg); }
    kam_push_index_entity(L, li->it.q->c, li->s, &li->it);
    return;
  }
  if (qiter_record(&li->it, &rec, &e) < 0) { liter_release(L, li); sandbox_raise_err(L, e.code, e.msg); }
  kam_push_entity(L, li->it.q->c, li->s, li->it.id.u.s.p, li->it.id.u.s.len, rec.mv_data, rec.mv_size);
}

/* Calls the predicates (uservalue 1 of the query at qidx) on the entity on
 * top of the stack; pops it; returns whether all passed. */
static int preds_pass(lua_State *L, int qidx, liter *li) {
  int ent = lua_gettop(L);
  if (lua_getiuservalue(L, qidx, 1) != LUA_TTABLE) { lua_settop(L, ent - 1); return 1; }
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  int ok = 1;
  for (lua_Integer i = 1; i <= n && ok; i++) {
    lua_rawgeti(L, ent + 1, i);
    lua_pushvalue(L, ent);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      if (li) liter_release(L, li);
      lua_error(L);
    }
    ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  lua_settop(L, ent - 1);
  return ok;
}

/* ---- list ----------------------------------------------------------------- */

typedef struct sort_row { kval key; int pos; } sort_row;
static int sort_desc;
static int cmp_rows(const void *a, const void *b) {
  const sort_row *x = a, *y = b;
  int c;
  if (x->key.tag == KV_NULL || y->key.tag == KV_NULL) /* nil last either way */
    c = (x->key.tag == KV_NULL) - (y->key.tag == KV_NULL);
  else {
    c = kval_cmp(&x->key, &y->key);
    if (c == 2) c = x->key.tag - y->key.tag;
    if (sort_desc) c = -c;
  }
  return c ? c : x->pos - y->pos;
}

/* Materialises the matching rows as a Lua list of entities, sorted and
 * limited as the query says. Pushes the list. */
static void query_materialize(lua_State *L, int qidx) {
  qidx = lua_absindex(L, qidx);
  lquery *lq = kam_check_query(L, qidx);
  int preds = kam_query_has_preds(L, qidx), sortfn = kam_query_has_sortfn(L, qidx);
  int sorted = lq->sort_field >= 0 || sortfn;
  lua_newtable(L);
  int list = lua_gettop(L);
  liter *li = open_iter(L, lq, lq->sort_field);
  lua_Integer n = 0;
  while ((!(lq->limit >= 0 && !sorted) || n < lq->limit) && iter_step(L, li)) {
    push_row_entity(L, li);
    if (preds) {
      lua_pushvalue(L, -1);
      if (!preds_pass(L, qidx, li)) { lua_pop(L, 1); continue; }
    }
    lua_rawseti(L, list, ++n);
  }
  liter_release(L, li);
  lua_pop(L, 1);
  if (lq->sort_field >= 0 && n > 1) {
    sort_row *rows = malloc(sizeof *rows * (size_t)n);
    for (lua_Integer i = 0; i < n; i++) {
      lua_rawgeti(L, list, i + 1);
      kam_entity *e = lua_touserdata(L, -1);
      lua_pop(L, 1); /* the list keeps it alive */
      rows[i].pos = (int)i;
      kam_entity_get(L, e, lq->sort_field, &rows[i].key);
    }
    sort_desc = lq->desc;
    qsort(rows, (size_t)n, sizeof *rows, cmp_rows);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
      lua_rawgeti(L, list, rows[i].pos + 1);
      lua_rawseti(L, -2, i + 1);
    }
    free(rows);
    lua_replace(L, list);
  } else if (sortfn && n > 1) {
    lua_getfield(L, LUA_REGISTRYINDEX, "kam.sort"); /* not the global: a script may replace it */
    lua_pushvalue(L, list);
    lua_getiuservalue(L, qidx, 2);
    lua_call(L, 2, 0);
    if (lq->desc) {
      for (lua_Integer i = 1, j = n; i < j; i++, j--) {
        lua_rawgeti(L, list, i); lua_rawgeti(L, list, j);
        lua_rawseti(L, list, i); lua_rawseti(L, list, j);
      }
    }
  }
  if (sorted && lq->limit >= 0 && n > lq->limit)
    for (lua_Integer i = n; i > lq->limit; i--) { lua_pushnil(L); lua_rawseti(L, list, i); }
}

void kam_query_list(lua_State *L, int idx) { query_materialize(L, idx); }

static int q_list(lua_State *L) {
  kam_check_query(L, 1);
  query_materialize(L, 1);
  return 1;
}

/* ---- the row visitor ----------------------------------------------------- */

struct kam_row {
  lua_State *L;
  liter *li;           /* streaming rows */
  kam_entity *ent;     /* materialised rows */
  int ent_idx;         /* the stack slot of ent */
};

void kam_row_field(kam_row *r, int field, kval *out) {
  if (r->ent) { kam_entity_get(r->L, r->ent, field, out); return; }
  kam_err e;
  if (qiter_field(&r->li->it, field, out, &e) < 0) {
    liter_release(r->L, r->li);
    sandbox_raise_err(r->L, e.code, e.msg);
  }
}

void kam_row_push(kam_row *r) {
  if (r->ent) lua_pushvalue(r->L, r->ent_idx);
  else push_row_entity(r->L, r->li);
}

int kam_row_error(kam_row *r) {
  if (r->li) liter_release(r->L, r->li);
  return lua_error(r->L);
}

void kam_row_call(kam_row *r, int nargs, int nres) {
  if (lua_pcall(r->L, nargs, nres, 0) != LUA_OK) kam_row_error(r);
}

void kam_query_visit(lua_State *L, int qidx, int want, kam_row_fn fn, void *ud) {
  qidx = lua_absindex(L, qidx);
  lquery *lq = kam_check_query(L, qidx);
  kam_row r = {L, NULL, NULL, 0};
  if (kam_query_has_preds(L, qidx) || lq->sort_field >= 0 || kam_query_has_sortfn(L, qidx) ||
      (want == KAM_WANT_ENTITY && kam_ctx_get(L)->wtxn)) {
    query_materialize(L, qidx);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      r.ent = kam_check_live(L, -1);
      r.ent_idx = lua_gettop(L);
      int stop = fn(&r, ud);
      lua_pop(L, 1);
      if (stop) break;
    }
    lua_pop(L, 1);
    return;
  }
  liter *li = open_iter(L, lq, want == KAM_WANT_ENTITY ? -1 : want);
  r.li = li;
  lua_Integer n = 0;
  while ((lq->limit < 0 || n < lq->limit) && iter_step(L, li)) {
    n++;
    if (fn(&r, ud)) break;
  }
  liter_release(L, li);
  lua_pop(L, 1);
}

static int visit_ids(kam_row *r, void *ud) {
  lua_State *L = r->L;
  kval id;
  kam_row_field(r, F_ID, &id);
  lua_pushlstring(L, id.u.s.p, id.u.s.len);
  lua_Integer *n = ud;
  lua_rawseti(L, -2 - (r->ent ? 2 : 1), ++*n); /* list sits below the iterator (or the list+entity) */
  return 0;
}

static int q_ids(lua_State *L) {
  kam_check_query(L, 1);
  lua_settop(L, 1);
  lua_newtable(L);
  lua_Integer n = 0;
  kam_query_visit(L, 1, F_ID, visit_ids, &n);
  return 1;
}

/* ---- first, each, explain ------------------------------------------------ */

static int q_first(lua_State *L) {
  lquery *lq = kam_check_query(L, 1);
  if (lq->limit == 0) { lua_pushnil(L); return 1; }
  if (kam_query_has_preds(L, 1) || lq->sort_field >= 0 || kam_query_has_sortfn(L, 1)) {
    lquery *l1 = derive(L, 1);
    l1->limit = 1;
    query_materialize(L, -1);
    lua_rawgeti(L, -1, 1);
    return 1;
  }
  liter *li = open_iter(L, lq, -1);
  if (iter_step(L, li)) push_row_entity(L, li);
  else lua_pushnil(L);
  liter_release(L, li);
  return 1;
}

/* each(): a streaming iterator for `for e in q:each() do`; a `break` closes
 * the cursor at once through the iterator's __close. */
static int each_step(lua_State *L) {
  int qidx = lua_upvalueindex(1);
  liter *li = lua_touserdata(L, lua_upvalueindex(2));
  lquery *lq = kam_check_query(L, qidx);
  lua_Integer n = lua_tointeger(L, lua_upvalueindex(3));
  for (;;) {
    if (!li->open || (lq->limit >= 0 && n >= lq->limit)) { liter_release(L, li); return 0; }
    if (!iter_step(L, li)) { liter_release(L, li); return 0; }
    progress_tick(&li->pg, li->it.scanned);
    push_row_entity(L, li);
    lua_pushvalue(L, -1);
    if (!preds_pass(L, qidx, li)) { lua_pop(L, 1); continue; }
    lua_pushinteger(L, n + 1);
    lua_replace(L, lua_upvalueindex(3));
    return 1;
  }
}

static int list_step(lua_State *L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;
  lua_pushinteger(L, i);
  lua_replace(L, lua_upvalueindex(2));
  lua_rawgeti(L, lua_upvalueindex(1), i);
  return 1;
}

static int q_each(lua_State *L) {
  lquery *lq = kam_check_query(L, 1);
  kam_ctx *ctx = kam_ctx_get(L);
  if (lq->sort_field >= 0 || kam_query_has_sortfn(L, 1) || ctx->wtxn) {
    /* sorted, or inside kam.tx where the loop body may write: take the rows first */
    query_materialize(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, list_step, 2);
    return 1;
  }
  lua_pushvalue(L, 1);
  liter *li = open_iter(L, lq, -1);
  /* a full scan knows how far it has to go; an index range does not */
  size_t total = 0;
  kam_err e;
  if (li->scope == SCOPE_ALL && li->it.kind == PLAN_SCAN && store_count(li->it.txn, lq->q->c, &total, &e))
    total = 0; /* only the bar's length: the scan itself reports a failing read */
  progress_start(&li->pg, lq->q->c->name, (long)total, 1.0);
  lua_pushinteger(L, 0);
  lua_pushvalue(L, -2); /* the iterator again, as the to-be-closed value */
  lua_insert(L, -4);
  lua_pushcclosure(L, each_step, 3);
  lua_insert(L, -2);  /* fn, closing value */
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_pushnil(L);
  lua_insert(L, -2);
  return 4; /* fn, nil, nil, iterator (closed on break) */
}

int kam_query_explain(lua_State *L) {
  lquery *lq = kam_check_query(L, 1);
  if (lua_gettop(L) > 1) return kam_agg_explain_group(L); /* explain("client", "sum", "amount") */
  liter *li = open_iter(L, lq, -1);
  kbuf b = {0};
  qiter_explain(&li->it, &b);
  int rows = 0;
  while (iter_step(L, li)) rows++;
  int scanned = li->it.scanned, scope = li->scope;
  liter_release(L, li);
  lua_pushlstring(L, (const char *)b.p, b.len);
  /* within a read scope, how many entries the book holds is not the reader's to know */
  if (scope == SCOPE_ALL) lua_pushfstring(L, "; %d entries read", scanned);
  else lua_pushfstring(L, "; %d rows within the read scope (%s)", rows, scope == SCOPE_OWN ? "own" : "team");
  lua_concat(L, 2);
  kbuf_free(&b);
  return 1;
}

const luaL_Reg kam_query_meta[] = {{"__gc", query_gc}, {"__tostring", q_tostring}, {NULL, NULL}};
const luaL_Reg kam_query_methods[] = {
    {"where", q_where}, {"all", q_all}, {"sort", q_sort}, {"limit", q_limit},
    {"each", q_each}, {"list", q_list}, {"ids", q_ids}, {"first", q_first},
    {"explain", kam_query_explain}, {NULL, NULL}};
const luaL_Reg kam_iter_meta[] = {{"__gc", iter_gc}, {"__close", iter_gc}, {NULL, NULL}};
