/* lua_db.c — the `db` namespace and kam.tx (see lua_db.h and DESIGN.md).
 *
 * Lua errors are raised only after C has released what it holds: cursors
 * live in iterator userdata with __gc/__close, conversion buffers are freed
 * before luaL_error, and a write transaction is aborted before an error
 * leaves kam.tx. */
#include "lua_db.h"
#include "keyenc.h"
#include "progress.h"
#include "query.h"
#include "budget.h"
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define MT_ENTITY "kam.entity"
#define MT_QUERY "kam.query"
#define MT_ITER "kam.iter"
enum { MTI_ENTITY, MTI_QUERY, MTI_ITER };

/* The userdata at idx if its metatable is the one of `which`, else NULL. */
static void *udata_of(lua_State *L, int idx, int which) {
  void *p = lua_touserdata(L, idx);
  if (!p || !lua_getmetatable(L, idx)) return NULL;
  const void *mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  return mt == kam_ctx_get(L)->mt_ptr[which] ? p : NULL;
}

static void *check_udata(lua_State *L, int idx, int which, const char *what) {
  void *p = udata_of(L, idx, which);
  if (!p) luaL_typeerror(L, idx, what);
  return p;
}

static void set_mt(lua_State *L, int which) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, kam_ctx_get(L)->mt_ref[which]);
  lua_setmetatable(L, -2);
}

static char FULL_SENTINEL; /* raised through Lua when the map fills */

/* ---- snapshots ---------------------------------------------------------- */

/* The context lives in the state's extra space: found per row without a
 * registry lookup. */
kam_ctx *kam_ctx_get(lua_State *L) { return *(kam_ctx **)lua_getextraspace(L); }

struct snap {
  MDB_txn *txn;
  qcursors curs;       /* cursors its queries reuse */
  unsigned long serial;
  int refs;            /* open iterators on it */
  int alive;
  snap *next;
};

/* Entities carry their snapshot's serial, not a pointer or a reference: no
 * finalizer per entity, so scanning millions of rows keeps the heap flat.
 * A snapshot stays open until its statement ends; the struct is freed when
 * it has ended and no iterator points at it. */
static void snap_free_dead(kam_ctx *ctx) {
  for (snap **p = &ctx->snaps; *p;) {
    snap *s = *p;
    if (!s->alive && !s->refs) { *p = s->next; free(s); }
    else p = &s->next;
  }
}

static void snap_release(kam_ctx *ctx, snap *s) {
  if (!s) return;
  s->refs--;
  if (!s->alive && !s->refs) snap_free_dead(ctx);
}

static void snap_end(snap *s) {
  qcursors_close(&s->curs);
  if (s->alive) mdb_txn_abort(s->txn);
  s->alive = 0;
}

static int snap_alive(kam_ctx *ctx, unsigned long serial) {
  for (snap *s = ctx->snaps; s; s = s->next)
    if (s->serial == serial) return s->alive;
  return 0;
}

void kam_end_snapshots(kam_ctx *ctx) {
  for (snap *s = ctx->snaps; s; s = s->next) snap_end(s);
  ctx->rsnap = NULL;
  snap_free_dead(ctx);
}

/* After a commit later reads need a fresh snapshot; the old one stays for
 * the entities read from it, up to a bound on open readers. */
#define MAX_OPEN_SNAPS 64
static void snap_detach(kam_ctx *ctx) {
  ctx->rsnap = NULL;
  int open = 0;
  for (snap *s = ctx->snaps; s; s = s->next) open += s->alive;
  if (open >= MAX_OPEN_SNAPS) { /* end the oldest ones */
    int keep = MAX_OPEN_SNAPS / 2;
    for (snap *s = ctx->snaps; s; s = s->next)
      if (s->alive && keep-- <= 0) snap_end(s);
    snap_free_dead(ctx);
  }
}

/* The transaction reads run in: the write txn inside kam.tx, else the read
 * snapshot of the statement (opened on first use). */
static MDB_txn *read_txn(lua_State *L, kam_ctx *ctx, snap **out) {
  *out = NULL;
  if (ctx->wtxn) return ctx->wtxn;
  if (!ctx->rsnap) {
    kam_err e;
    MDB_txn *txn;
    if (store_begin(ctx->st, 0, &txn, &e)) {
      lua_gc(L, LUA_GCCOLLECT); /* release snapshots only garbage still holds */
      if (store_begin(ctx->st, 0, &txn, &e)) sandbox_raise_err(L, e.code, e.msg);
    }
    snap *s = calloc(1, sizeof *s);
    static unsigned long serials;
    s->txn = txn;
    s->curs.txn = txn;
    s->serial = ++serials;
    s->alive = 1;
    s->next = ctx->snaps;
    ctx->snaps = s;
    ctx->rsnap = s;
  }
  *out = ctx->rsnap;
  return ctx->rsnap->txn;
}

/* ---- values ------------------------------------------------------------- */

static void push_coll_value(lua_State *L, const kval *v, int depth);

void kam_push_kval(lua_State *L, const kval *v) { push_coll_value(L, v, 0); }

static void push_coll_value(lua_State *L, const kval *v, int depth) {
  switch (v->tag) {
  case KV_NULL: lua_pushnil(L); break;
  case KV_TRUE: lua_pushboolean(L, 1); break;
  case KV_FALSE: lua_pushboolean(L, 0); break;
  case KV_INT: lua_pushinteger(L, v->u.i); break;
  case KV_NUM: lua_pushnumber(L, v->u.n); break;
  case KV_STR: lua_pushlstring(L, v->u.s.p, v->u.s.len); break;
  case KV_LIST: case KV_MAP: {
    coll_iter it;
    const char *k;
    size_t kl;
    kval x;
    luaL_checkstack(L, 4, "value nesting");
    lua_newtable(L);
    if (depth > 64) break;
    citer_init(&it, v);
    lua_Integer i = 1;
    while (citer_next(&it, &k, &kl, &x)) {
      push_coll_value(L, &x, depth + 1);
      if (k) { lua_pushlstring(L, k, kl); lua_insert(L, -2); lua_rawset(L, -3); }
      else lua_rawseti(L, -2, i++);
    }
    break;
  }
  }
}

/* Lua value -> encoded nested value (for list and map fields). Returns an
 * error message or NULL. */
static kval entity_id_kval(void *entity);
static const char *encode_lua(lua_State *L, int idx, kbuf *b, int depth, int as_map);

static const char *encode_table(lua_State *L, int idx, kbuf *b, int depth, int as_map) {
  idx = lua_absindex(L, idx);
  if (depth > 32) return "nesting deeper than 32 levels (a cycle?)";
  if (!lua_checkstack(L, 4)) return "nesting too deep";
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  int is_list = !as_map;
  if (as_map < 0) { /* decide: a sequence (or empty) is a list */
    lua_Integer cnt = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { cnt++; lua_pop(L, 1); }
    is_list = cnt == n;
  }
  kbuf body = {0};
  const char *err = NULL;
  if (is_list) {
    lua_Integer cnt = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { cnt++; lua_pop(L, 1); }
    if (cnt != n) { kbuf_free(&body); return "a list (keys 1..n)"; }
    kbuf_uvarint(&body, (uint64_t)n);
    for (lua_Integer i = 1; i <= n && !err; i++) {
      lua_rawgeti(L, idx, i);
      err = encode_lua(L, -1, &body, depth + 1, -1);
      lua_pop(L, 1);
    }
    if (!err) { kval v; v.tag = KV_LIST; v.u.s.p = (const char *)body.p; v.u.s.len = body.len; val_put(b, &v); }
  } else {
    uint64_t cnt = 0;
    kbuf items = {0};
    lua_pushnil(L);
    while (!err && lua_next(L, idx)) {
      size_t kl;
      const char *k;
      char num[32];
      if (lua_type(L, -2) == LUA_TSTRING) k = lua_tolstring(L, -2, &kl);
      else if (lua_type(L, -2) == LUA_TNUMBER) {
        if (lua_isinteger(L, -2)) kl = (size_t)snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -2));
        else kl = (size_t)snprintf(num, sizeof num, "%.14g", lua_tonumber(L, -2));
        k = num;
      } else { err = "map keys must be text"; lua_pop(L, 2); break; }
      kbuf_uvarint(&items, kl);
      kbuf_put(&items, k, kl);
      err = encode_lua(L, -1, &items, depth + 1, -1);
      lua_pop(L, 1);
      cnt++;
    }
    if (err) lua_pop(L, 1); /* the key left by an aborted traversal */
    if (!err) {
      kbuf_uvarint(&body, cnt);
      kbuf_put(&body, items.p, items.len);
      kval v; v.tag = KV_MAP; v.u.s.p = (const char *)body.p; v.u.s.len = body.len; val_put(b, &v);
    }
    kbuf_free(&items);
  }
  kbuf_free(&body);
  return err;
}

static const char *encode_lua(lua_State *L, int idx, kbuf *b, int depth, int as_map) {
  kval v;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: v = kv_null(); break;
  case LUA_TBOOLEAN: v = kv_bool(lua_toboolean(L, idx)); break;
  case LUA_TNUMBER:
    v = lua_isinteger(L, idx) ? kv_int(lua_tointeger(L, idx)) : kv_num(lua_tonumber(L, idx));
    break;
  case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(L, idx, &n); v = kv_str(s, n); break; }
  case LUA_TTABLE: return encode_table(L, idx, b, depth, as_map);
  case LUA_TUSERDATA: {
    /* its id, carried: no read that could raise while b holds memory */
    void *en = udata_of(L, idx, MTI_ENTITY);
    if (en) { v = entity_id_kval(en); break; }
  }
    /* fallthrough */
  default: return "text, a number, true/false or a table";
  }
  val_put(b, &v);
  return NULL;
}

/* Converts the Lua value at idx to a field value. Strings point into Lua
 * (valid while the value is on the stack); lists/maps are encoded into *buf.
 * Returns NULL or what was expected. */
static const char *to_field(lua_State *L, int idx, const field_def *f, kval *out, kbuf *buf) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: *out = kv_null(); return NULL;
  case LUA_TBOOLEAN: *out = kv_bool(lua_toboolean(L, idx)); return NULL;
  case LUA_TNUMBER:
    *out = lua_isinteger(L, idx) ? kv_int(lua_tointeger(L, idx)) : kv_num(lua_tonumber(L, idx));
    return NULL;
  case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(L, idx, &n); *out = kv_str(s, n); return NULL; }
  case LUA_TTABLE: {
    if (f->type != FT_LIST && f->type != FT_MAP) return "a plain value, not a table";
    kbuf_reset(buf);
    const char *err = encode_table(L, idx, buf, 0, f->type == FT_MAP);
    if (err) return err;
    val_get(buf->p, buf->p + buf->len, out);
    return NULL;
  }
  case LUA_TUSERDATA: {
    /* an entity stands for its id, which it carries: read without raising,
     * even when its snapshot has ended */
    struct { const coll_def *c; } *en = udata_of(L, idx, MTI_ENTITY);
    if (en) { *out = entity_id_kval(en); return NULL; }
  }
    /* fallthrough */
  default: return "text, a number, true/false or a table";
  }
}

/* ---- entities ----------------------------------------------------------- */

typedef struct lentity {
  const coll_def *c;
  /* Read from an index scan, an entity starts as its index entry: fields the
   * index holds (its key, its carried values) are read from there, and the
   * record is looked up only when another field is read. */
  const index_def *ix;
  const uint8_t *ikey, *ival;
  size_t iklen, ivlen;
  unsigned long serial; /* its snapshot; 0: owns a copy (read inside kam.tx) */
  const uint8_t *rec;
  size_t len;
  size_t idlen;
  char data[];         /* id, then the copied record */
} lentity;

static kval entity_id_kval(void *entity) {
  lentity *e = entity;
  return kv_str(e->data, e->idlen);
}

/* Replaces an entity at idx by its id (which it carries: no read, so even
 * an entity from an ended snapshot names its record). */
static void entity_to_id(lua_State *L, int idx) {
  lentity *e = udata_of(L, idx, MTI_ENTITY);
  if (!e) return;
  lua_pushlstring(L, e->data, e->idlen);
  lua_replace(L, idx);
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

static void push_entity(lua_State *L, kam_ctx *ctx, const coll_def *c, snap *s, const char *id,
                        size_t idlen, const void *rec, size_t len) {
  size_t extra = idlen + 1 + (s ? 0 : len);
  lentity *e = lua_newuserdatauv(L, sizeof *e + extra, 0);
  e->c = c;
  e->serial = s ? s->serial : 0;
  e->idlen = idlen;
  memcpy(e->data, id, idlen);
  e->data[idlen] = 0;
  e->len = len;
  e->ix = NULL;
  if (s) e->rec = rec;
  else { memcpy(e->data + idlen + 1, rec, len); e->rec = (uint8_t *)e->data + idlen + 1; }
  (void)ctx;
  set_mt(L, MTI_ENTITY);
}

static lentity *check_live(lua_State *L, int idx);

/* The record of an entity, looked up now if it started as an index entry. */
static const uint8_t *entity_rec(lua_State *L, lentity *e) {
  if (e->rec) return e->rec;
  kam_ctx *ctx = kam_ctx_get(L);
  MDB_txn *txn = NULL;
  for (snap *s = ctx->snaps; s; s = s->next)
    if (s->serial == e->serial && s->alive) txn = s->txn;
  MDB_val rec;
  if (!txn || store_get(txn, e->c, e->data, e->idlen, &rec))
    luaL_error(L, "%s %s: its record cannot be read", e->c->name, e->data);
  e->rec = rec.mv_data;
  e->len = rec.mv_size;
  return e->rec;
}

/* A field from the index entry when it holds it: 1 found, 0 not held. */
static int entity_from_index(const lentity *e, int field, kval *out) {
  const index_def *ix = e->ix;
  for (int i = 0; i < ix->nc; i++)
    if (ix->carry[i] == field) {
      if (!rec_find(e->ival, e->ivlen, e->c->fields[field].fid, out)) *out = kv_null();
      return 1;
    }
  const uint8_t *p = e->ikey, *end = e->ikey + e->iklen;
  for (int i = 0; i < ix->nf; i++) {
    size_t k = key_get(p, end, e->c->fields[ix->f[i]].type, out);
    if (!k) return 0;
    if (ix->f[i] == field) return !(out->tag == KV_STR && out->u.s.len >= KEY_STR_MAX);
    p += k;
  }
  return 0;
}

/* One field of an entity, from wherever it is. */
static void entity_get(lua_State *L, lentity *e, int field, kval *out) {
  if (field == F_ID) { *out = kv_str(e->data, e->idlen); return; }
  if (!e->rec && e->ix && entity_from_index(e, field, out)) return;
  const uint8_t *rec = entity_rec(L, e);
  if (!rec_find(rec, e->len, e->c->fields[field].fid, out)) *out = kv_null();
}

/* An entity from the current row of an index scan, without its record. */
static void push_index_entity(lua_State *L, const coll_def *c, snap *s, const qiter *it) {
  lentity *e = lua_newuserdatauv(L, sizeof *e + it->id.u.s.len + 1, 0);
  e->c = c;
  e->serial = s->serial;
  e->idlen = it->id.u.s.len;
  memcpy(e->data, it->id.u.s.p, e->idlen);
  e->data[e->idlen] = 0;
  e->rec = NULL;
  e->len = 0;
  e->ix = it->ix;
  e->ikey = it->key.mv_data;
  e->iklen = it->key.mv_size;
  e->ival = it->val.mv_data;
  e->ivlen = it->val.mv_size;
  set_mt(L, MTI_ENTITY);
}

int kam_is_entity(lua_State *L, int idx) { return udata_of(L, idx, MTI_ENTITY) != NULL; }
int kam_is_query(lua_State *L, int idx) { return udata_of(L, idx, MTI_QUERY) != NULL; }
const coll_def *kam_entity_coll(lua_State *L, int idx) { return ((lentity *)check_udata(L, idx, MTI_ENTITY, "entity"))->c; }

static lentity *check_live(lua_State *L, int idx) {
  lentity *e = check_udata(L, idx, MTI_ENTITY, "entity");
  if (e->serial && !snap_alive(kam_ctx_get(L), e->serial))
    luaL_error(L, "%s %s: this entity was read in a snapshot that has ended; read it again with db.%s:get(\"%s\")",
               e->c->name, e->data, e->c->name, e->data);
  return e;
}

void kam_entity_field(lua_State *L, int idx, int field) {
  lentity *e = check_live(L, idx);
  if (field == F_ID) { lua_pushlstring(L, e->data, e->idlen); return; }
  kval v;
  entity_get(L, e, field, &v);
  kam_push_kval(L, &v);
}

int kam_entity_kval(lua_State *L, int idx, int field, kval *out) {
  lentity *e = check_live(L, idx);
  entity_get(L, e, field, out);
  return 1;
}

/* e.field: the hot path of every policy, so one type check and no copies. */
static int entity_index(lua_State *L) {
  lentity *e = check_live(L, 1);
  size_t n;
  const char *k = luaL_checklstring(L, 2, &n);
  int f = coll_field_n(e->c, k, n);
  if (f < 0) return luaL_error(L, "%s has no field '%s'", e->c->name, k);
  if (f == F_ID) { lua_pushlstring(L, e->data, e->idlen); return 1; }
  kval v;
  entity_get(L, e, f, &v);
  kam_push_kval(L, &v);
  return 1;
}

static int entity_newindex(lua_State *L) {
  lentity *e = check_udata(L, 1, MTI_ENTITY, "entity");
  return luaL_error(L, "%s %s is read-only; change it with db.%s:update(id, {%s = ...}) inside kam.tx",
                    e->c->name, e->data, e->c->name, luaL_optstring(L, 2, "field"));
}

static int entity_tostring(lua_State *L) {
  lentity *e = check_udata(L, 1, MTI_ENTITY, "entity");
  lua_pushfstring(L, "%s %s", e->c->name, e->data);
  return 1;
}

static int entity_eq(lua_State *L) {
  lentity *a = check_udata(L, 1, MTI_ENTITY, "entity"), *b = check_udata(L, 2, MTI_ENTITY, "entity");
  lua_pushboolean(L, a->c == b->c && a->idlen == b->idlen && !memcmp(a->data, b->data, a->idlen));
  return 1;
}

/* pairs(entity): fields in schema order, skipping absent ones */
static int entity_next(lua_State *L) {
  lentity *e = check_live(L, 1);
  int i = lua_isnil(L, 2) ? 0 : coll_field(e->c, luaL_checkstring(L, 2)) + 1;
  const uint8_t *rec = entity_rec(L, e);
  for (; i > 0 && i < e->c->nfields; i++) {
    kval v;
    if (rec_find(rec, e->len, e->c->fields[i].fid, &v)) break;
  }
  if (i >= e->c->nfields) return 0;
  lua_pushstring(L, e->c->fields[i].name);
  kam_entity_field(L, 1, i);
  return 2;
}

static int entity_pairs(lua_State *L) {
  check_live(L, 1);
  lua_pushcfunction(L, entity_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* ---- queries ------------------------------------------------------------ */

typedef struct lquery {
  query *q;            /* &qb while alive */
  query qb;
  int sort_field; /* -1: none */
  int desc;
  lua_Integer limit; /* <0: none */
  int is_coll;
} lquery;
/* uservalue 1: list of predicate functions; 2: sort comparator */

static lquery *check_query(lua_State *L, int idx) {
  lquery *lq = check_udata(L, idx, MTI_QUERY, "query");
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
  set_mt(L, MTI_QUERY);
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

const coll_def *kam_query_coll(lua_State *L, int idx) { return check_query(L, idx)->q->c; }

static int query_gc(lua_State *L) {
  lquery *lq = udata_of(L, 1, MTI_QUERY);
  if (!lq) return 0;
  if (lq->q) query_release(lq->q);
  lq->q = NULL;
  return 0;
}

/* Clones the query at idx (with its predicates and comparator) and pushes it. */
static lquery *derive(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lquery *src = check_query(L, idx);
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
  check_query(L, 1);
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
      for (int i = 0; os && op_names[i].name; i++)
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
          else bad = to_field(L, lua_gettop(L), &c->fields[f], &vals[nv++], &tmp);
        }
      } else {
        int want = op == Q_BETWEEN ? 2 : 1;
        for (int i = 0; i < want && !bad; i++) {
          if (lua_rawgeti(L, vi, i + 2) == LUA_TNIL) bad = "a value after the operator";
          else bad = to_field(L, lua_gettop(L), &c->fields[f], &vals[nv++], &tmp);
        }
      }
    } else {
      lua_pushvalue(L, vi);
      bad = to_field(L, lua_gettop(L), &c->fields[f], &vals[nv++], &tmp);
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
  check_query(L, 1);
  derive(L, 1);
  return 1;
}

static int q_sort(lua_State *L) {
  lquery *src = check_query(L, 1);
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
  check_query(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 0) return luaL_error(L, "limit: expected a count >= 0");
  lquery *lq = derive(L, 1);
  if (lq->limit < 0 || n < lq->limit) lq->limit = n;
  return 1;
}

/* ---- running a query --------------------------------------------------- */

typedef struct liter {
  qiter it;
  snap *s;
  unsigned long wserial;
  int open;
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
  if (li->s) { snap_release(ctx, li->s); li->s = NULL; }
}

static int iter_gc(lua_State *L) {
  liter_release(L, check_udata(L, 1, MTI_ITER, "iterator"));
  return 0;
}

static liter *open_iter(lua_State *L, lquery *lq, int want) {
  kam_ctx *ctx = kam_ctx_get(L);
  liter *li = lua_newuserdatauv(L, sizeof *li, 0);
  memset(li, 0, sizeof *li);
  set_mt(L, MTI_ITER);
  snap *s;
  MDB_txn *txn = read_txn(L, ctx, &s);
  kam_err e;
  if (qiter_open_cached(&li->it, txn, lq->q, want, s ? &s->curs : NULL, &e)) {
    qiter_close(&li->it);
    sandbox_raise_err(L, e.code, e.msg);
  }
  li->open = 1;
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

/* Next row of an open iterator: 1 row, 0 done; errors are raised after the
 * cursor is released. */
static int iter_step(lua_State *L, liter *li) {
  kam_err e;
  check_iter_alive(L, li);
  if (sandbox_should_stop()) { liter_release(L, li); sandbox_poll(L); } /* Ctrl-C, or the budget ran out */
  int rc = qiter_next(&li->it, &e);
  if (rc < 0) { liter_release(L, li); return sandbox_raise_err(L, e.code, e.msg); }
  return rc;
}

static void push_row_entity(lua_State *L, liter *li) {
  kam_err e;
  MDB_val rec;
  if (li->s && li->it.kind == PLAN_INDEX && !li->it.rec_loaded) { /* the record waits until needed */
    kval id;
    if (qiter_field(&li->it, F_ID, &id, &e) < 0) { liter_release(L, li); sandbox_raise_err(L, e.code, e.msg); }
    push_index_entity(L, li->it.q->c, li->s, &li->it);
    return;
  }
  if (qiter_record(&li->it, &rec, &e) < 0) { liter_release(L, li); sandbox_raise_err(L, e.code, e.msg); }
  push_entity(L, kam_ctx_get(L), li->it.q->c, li->s, li->it.id.u.s.p, li->it.id.u.s.len, rec.mv_data, rec.mv_size);
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

static int has_preds(lua_State *L, int qidx) {
  int t = lua_getiuservalue(L, qidx, 1);
  int r = t == LUA_TTABLE && lua_rawlen(L, -1) > 0;
  lua_pop(L, 1);
  return r;
}

static int has_sortfn(lua_State *L, int qidx) {
  int t = lua_getiuservalue(L, qidx, 2);
  lua_pop(L, 1);
  return t == LUA_TFUNCTION;
}

/* Materialises the matching rows as a Lua list of entities, sorted and
 * limited as the query says. Pushes the list. */
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

static void query_materialize(lua_State *L, int qidx) {
  qidx = lua_absindex(L, qidx);
  lquery *lq = check_query(L, qidx);
  int preds = has_preds(L, qidx), sortfn = has_sortfn(L, qidx);
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
      lentity *e = lua_touserdata(L, -1);
      lua_pop(L, 1); /* the list keeps it alive */
      rows[i].pos = (int)i;
      if (lq->sort_field == F_ID) rows[i].key = kv_str(e->data, e->idlen);
      else entity_get(L, e, lq->sort_field, &rows[i].key);
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
  check_query(L, 1);
  query_materialize(L, 1);
  return 1;
}

/* Row visitor over a query, in C: no Lua value per row unless predicates or
 * a sort need entities. fn returns 0 to go on, 1 to stop. */
typedef struct row_ctx {
  lua_State *L;
  const coll_def *c;
  liter *li;           /* streaming rows */
  lentity *ent;        /* materialised rows */
} row_ctx;

static int row_field(row_ctx *r, int field, kval *out) {
  if (r->ent) {
    if (field == F_ID) { *out = kv_str(r->ent->data, r->ent->idlen); return 1; }
    entity_get(r->L, r->ent, field, out);
    return 1;
  }
  kam_err e;
  if (qiter_field(&r->li->it, field, out, &e) < 0) {
    liter_release(r->L, r->li);
    sandbox_raise_err(r->L, e.code, e.msg);
  }
  return 1;
}

typedef int (*row_fn)(row_ctx *r, void *ud);

static void query_visit(lua_State *L, int qidx, int want, row_fn fn, void *ud) {
  qidx = lua_absindex(L, qidx);
  lquery *lq = check_query(L, qidx);
  row_ctx r = {L, lq->q->c, NULL, NULL};
  if (has_preds(L, qidx) || lq->sort_field >= 0 || has_sortfn(L, qidx)) {
    query_materialize(L, qidx);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      r.ent = check_live(L, -1);
      int stop = fn(&r, ud);
      lua_pop(L, 1);
      if (stop) break;
    }
    lua_pop(L, 1);
    return;
  }
  liter *li = open_iter(L, lq, want);
  r.li = li;
  lua_Integer n = 0;
  while ((lq->limit < 0 || n < lq->limit) && iter_step(L, li)) {
    n++;
    if (fn(&r, ud)) break;
  }
  liter_release(L, li);
  lua_pop(L, 1);
}

static int field_arg(lua_State *L, lquery *lq, int arg, const char *what) {
  const char *f = luaL_checkstring(L, arg);
  int fi = coll_field(lq->q->c, f);
  if (fi < 0) luaL_error(L, "%s: %s has no field '%s'", what, lq->q->c->name, f);
  return fi;
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

static int visit_count(row_ctx *r, void *ud) { (void)r; (*(lua_Integer *)ud)++; return 0; }

static int visit_sum(row_ctx *r, void *ud) {
  agg *a = ud;
  kval v;
  row_field(r, a->field, &v);
  add_num(a, &v);
  return 0;
}

static int visit_minmax(row_ctx *r, void *ud) {
  agg *a = ud;
  kval v;
  row_field(r, a->field, &v);
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
  if (ctx->wtxn || lq->limit >= 0 || lq->sort_field >= 0 || has_preds(L, qidx) || has_sortfn(L, qidx)) return 0;
  snap *s;
  read_txn(L, ctx, &s);
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

static int q_count(lua_State *L) {
  lquery *lq = check_query(L, 1);
  if (!lq->q->ncond && !lq->q->never && !has_preds(L, 1)) { /* O(1) from LMDB's own count */
    kam_ctx *ctx = kam_ctx_get(L);
    snap *s;
    MDB_txn *txn = read_txn(L, ctx, &s);
    size_t cnt;
    kam_err e;
    if (store_count(txn, lq->q->c, &cnt, &e)) return sandbox_raise_err(L, e.code, e.msg);
    lua_Integer n = (lua_Integer)cnt;
    if (lq->limit >= 0 && n > lq->limit) n = lq->limit;
    lua_pushinteger(L, n);
    return 1;
  }
  memo_key k;
  int mk = memo_key_of(L, 1, lq, 'c', -1, &k);
  memo_slot *m = mk ? memo_find(&k) : NULL;
  if (m) { lua_pushinteger(L, m->i); return 1; }
  lua_Integer n = 0;
  query_visit(L, 1, -1, visit_count, &n);
  if (mk) memo_put(&k, 1, n, 0);
  lua_pushinteger(L, n);
  return 1;
}

/* sum/avg with a function: f(entity) -> number */
static void agg_fn(lua_State *L, agg *a) {
  query_materialize(L, 1);
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
}

static int q_sum(lua_State *L) {
  lquery *lq = check_query(L, 1);
  agg a = {0};
  a.is_int = 1;
  if (lua_type(L, 2) == LUA_TFUNCTION) agg_fn(L, &a);
  else {
    a.field = field_arg(L, lq, 2, "sum");
    memo_key k;
    int mk = memo_key_of(L, 1, lq, 's', a.field, &k);
    memo_slot *m = mk ? memo_find(&k) : NULL;
    if (m) {
      if (m->is_int) lua_pushinteger(L, m->i);
      else lua_pushnumber(L, m->n);
      return 1;
    }
    query_visit(L, 1, a.field, visit_sum, &a);
    if (mk) memo_put(&k, a.is_int, a.isum, a.nsum);
  }
  if (a.is_int) lua_pushinteger(L, a.isum);
  else lua_pushnumber(L, a.nsum);
  return 1;
}

static int q_avg(lua_State *L) {
  lquery *lq = check_query(L, 1);
  agg a = {0};
  a.is_int = 1;
  if (lua_type(L, 2) == LUA_TFUNCTION) agg_fn(L, &a);
  else {
    a.field = field_arg(L, lq, 2, "avg");
    query_visit(L, 1, a.field, visit_sum, &a);
  }
  if (!a.n) lua_pushnil(L);
  else lua_pushnumber(L, (a.is_int ? (double)a.isum : a.nsum) / (double)a.n);
  return 1;
}

static int minmax(lua_State *L, int want_max) {
  lquery *lq = check_query(L, 1);
  agg a = {0};
  a.want_max = want_max;
  a.field = field_arg(L, lq, 2, want_max ? "max" : "min");
  query_visit(L, 1, a.field, visit_minmax, &a);
  if (a.have) kam_push_kval(L, &a.best);
  else lua_pushnil(L);
  kbuf_free(&a.best_store);
  return 1;
}
static int q_min(lua_State *L) { return minmax(L, 0); }
static int q_max(lua_State *L) { return minmax(L, 1); }

typedef struct group_st {
  int key, field, kind; /* 0 count, 1 sum, 2 avg, 3 min, 4 max */
  int tsum, tcnt;       /* stack slots of the result tables */
  lua_State *L;
} group_st;

static int visit_group(row_ctx *r, void *ud) {
  group_st *g = ud;
  lua_State *L = g->L;
  kval k, v;
  row_field(r, g->key, &k);
  if (g->kind) {
    row_field(r, g->field, &v);
    if (v.tag == KV_NULL) return 0;
  }
  kam_push_kval(L, &k);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushliteral(L, "(none)"); }
  int ki = lua_gettop(L);
  if (g->kind == 0 || g->kind == 2) { /* counts */
    lua_pushvalue(L, ki);
    lua_rawget(L, g->tcnt);
    lua_Integer n = lua_tointeger(L, -1) + 1;
    lua_pop(L, 1);
    lua_pushvalue(L, ki);
    lua_pushinteger(L, n);
    lua_rawset(L, g->tcnt);
  }
  if (g->kind == 1 || g->kind == 2) {
    lua_pushvalue(L, ki);
    lua_rawget(L, g->tsum);
    lua_Integer s;
    if (v.tag == KV_INT && (lua_isnil(L, -1) || lua_isinteger(L, -1)) &&
        !__builtin_add_overflow(lua_tointeger(L, -1), v.u.i, &s)) { /* past the integers: a float, as sum() does */
      lua_pop(L, 1);
      lua_pushvalue(L, ki);
      lua_pushinteger(L, s);
    } else {
      lua_Number s = lua_tonumber(L, -1) + (v.tag == KV_INT ? (lua_Number)v.u.i : v.tag == KV_NUM ? v.u.n : 0);
      lua_pop(L, 1);
      lua_pushvalue(L, ki);
      lua_pushnumber(L, s);
    }
    lua_rawset(L, g->tsum);
  }
  if (g->kind == 3 || g->kind == 4) {
    lua_pushvalue(L, ki);
    lua_rawget(L, g->tsum);
    int replace = lua_isnil(L, -1);
    if (!replace) {
      kam_push_kval(L, &v);
      replace = g->kind == 3 ? lua_compare(L, -1, -2, LUA_OPLT) : lua_compare(L, -2, -1, LUA_OPLT);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (replace) { lua_pushvalue(L, ki); kam_push_kval(L, &v); lua_rawset(L, g->tsum); }
  }
  lua_settop(L, ki - 1);
  return 0;
}

/* group(key, agg, field): {key_value = aggregate}; agg is count|sum|avg|min|max */
static int q_group(lua_State *L) {
  lquery *lq = check_query(L, 1);
  group_st g = {0};
  g.L = L;
  g.key = field_arg(L, lq, 2, "group");
  const char *kind = luaL_optstring(L, 3, "count");
  const char *kinds[] = {"count", "sum", "avg", "min", "max", NULL};
  g.kind = -1;
  for (int i = 0; kinds[i]; i++) if (!strcmp(kinds[i], kind)) g.kind = i;
  if (g.kind < 0) return luaL_error(L, "group: the aggregate is count, sum, avg, min or max, not '%s'", kind);
  if (g.kind) g.field = field_arg(L, lq, 4, "group");
  lua_settop(L, 4);
  lua_newtable(L);
  g.tsum = lua_gettop(L);
  lua_newtable(L);
  g.tcnt = lua_gettop(L);
  query_visit(L, 1, g.kind ? g.field : g.key, visit_group, &g);
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
  return 1;
}

static int visit_ids(row_ctx *r, void *ud) {
  lua_State *L = r->L;
  kval id;
  row_field(r, F_ID, &id);
  lua_pushlstring(L, id.u.s.p, id.u.s.len);
  lua_Integer *n = ud;
  lua_rawseti(L, -2 - (r->ent ? 2 : 1), ++*n); /* list sits below the iterator (or the list+entity) */
  return 0;
}

static int q_ids(lua_State *L) {
  check_query(L, 1);
  lua_settop(L, 1);
  lua_newtable(L);
  lua_Integer n = 0;
  query_visit(L, 1, F_ID, visit_ids, &n);
  return 1;
}

static int q_first(lua_State *L) {
  lquery *lq = check_query(L, 1);
  if (lq->limit == 0) { lua_pushnil(L); return 1; }
  if (has_preds(L, 1) || lq->sort_field >= 0 || has_sortfn(L, 1)) {
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
  lquery *lq = check_query(L, qidx);
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
  lquery *lq = check_query(L, 1);
  kam_ctx *ctx = kam_ctx_get(L);
  if (lq->sort_field >= 0 || has_sortfn(L, 1) || ctx->wtxn) {
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
  if (li->it.kind == PLAN_SCAN && store_count(li->it.txn, lq->q->c, &total, &e))
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

static int q_explain(lua_State *L) {
  lquery *lq = check_query(L, 1);
  liter *li = open_iter(L, lq, -1);
  kbuf b = {0};
  qiter_explain(&li->it, &b);
  int scanned = 0;
  while (iter_step(L, li)) scanned++;
  scanned = li->it.scanned;
  liter_release(L, li);
  lua_pushlstring(L, (const char *)b.p, b.len);
  lua_pushfstring(L, "; %d entries read", scanned);
  lua_concat(L, 2);
  kbuf_free(&b);
  return 1;
}

static int q_tostring(lua_State *L) {
  lquery *lq = check_query(L, 1);
  lua_pushfstring(L, "query on %s (%d conditions)", lq->q->c->name, lq->q->ncond);
  return 1;
}

/* ---- reads and writes on a collection ---------------------------------- */

static int c_get(lua_State *L) {
  lquery *lq = check_query(L, 1);
  size_t n;
  const char *id;
  entity_to_id(L, 2);
  id = luaL_checklstring(L, 2, &n);
  kam_ctx *ctx = kam_ctx_get(L);
  snap *s;
  MDB_txn *txn = read_txn(L, ctx, &s);
  MDB_val rec;
  int rc = store_get(txn, lq->q->c, id, n, &rec);
  if (rc == MDB_NOTFOUND) { lua_pushnil(L); return 1; }
  if (rc) { kam_err e; lmdb_err(&e, rc, lq->q->c->name); return sandbox_raise_err(L, e.code, e.msg); }
  push_entity(L, ctx, lq->q->c, s, id, n, rec.mv_data, rec.mv_size);
  return 1;
}

static kam_ctx *need_tx(lua_State *L, lquery *lq, const char *what) {
  kam_ctx *ctx = kam_ctx_get(L);
  if (ctx->no_write) luaL_error(L, "db.%s:%s: %s", lq->q->c->name, what, ctx->no_write);
  if (sandbox_killed()) luaL_error(L, "db.%s:%s: the script was stopped; nothing more is written", lq->q->c->name, what);
  if (!ctx->wtxn)
    luaL_error(L, "db.%s:%s: writes happen only inside kam.tx(function() ... end)", lq->q->c->name, what);
  if (!ctx->allow_write) luaL_error(L, "db.%s:%s: this command does not write to the book", lq->q->c->name, what);
  return ctx;
}

/* Raises the error of a failed write; the caller has released its buffers. */
static int raise_write(lua_State *L, kam_ctx *ctx, kam_err *e) {
  /* a data error is found before anything is written; anything else may
   * have left part of a write behind */
  if (e->code != KAM_EDATA && e->code != KAM_EUSAGE && e->code != KAM_EFULL) ctx->broken = 1;
  if (e->code == KAM_EFULL) {
    ctx->full = 1;
    lua_pushlightuserdata(L, &FULL_SENTINEL);
    return lua_error(L);
  }
  return sandbox_raise_err(L, e->code, e->msg);
}

int kam_raise_write(lua_State *L, kam_err *e) { return raise_write(L, kam_ctx_get(L), e); }

/* Converts the fields of the table at idx into vals; returns 0 or sets e. */
static int table_to_vals(lua_State *L, int idx, const coll_def *c, kval *vals, kbuf *bufs, kam_err *e) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING) { lua_pop(L, 2); return kam_errf(e, KAM_EDATA, "%s: field names are text", c->name); }
    const char *k = lua_tostring(L, -2);
    int f = coll_field(c, k);
    if (f < 0) { lua_pop(L, 2); return kam_errf(e, KAM_EDATA, "%s: unknown field '%s'", c->name, k); }
    const char *bad = to_field(L, lua_gettop(L), &c->fields[f], &vals[f], &bufs[f]);
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

static int c_insert(lua_State *L) {
  lquery *lq = check_query(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  kam_ctx *ctx = need_tx(L, lq, "insert");
  const coll_def *c = lq->q->c;
  lua_settop(L, 2);
  scratch *sc = push_scratch(L, c->nfields);
  kval *vals = sc->vals;
  kbuf *bufs = sc->bufs;
  kam_err e = {0};
  char idbuf[256];
  int rc = table_to_vals(L, 2, c, vals, bufs, &e);
  write_opts o = {ctx->user_id, 1, 1, 0};
  /* the next id is taken only once the record passed every check: a
   * refused insert uses up no number (invoices are numbered without gaps) */
  if (!rc) rc = store_insert(ctx->st, ctx->wtxn, c, vals, &o, idbuf, sizeof idbuf, &e);
  if (!rc) lua_pushlstring(L, vals[F_ID].u.s.p, vals[F_ID].u.s.len);
  scratch_free(sc);
  if (rc) return raise_write(L, ctx, &e);
  ctx->n_ins++;
  return 1;
}

static int c_update(lua_State *L) {
  lquery *lq = check_query(L, 1);
  entity_to_id(L, 2);
  size_t idlen;
  const char *id = luaL_checklstring(L, 2, &idlen);
  luaL_checktype(L, 3, LUA_TTABLE);
  kam_ctx *ctx = need_tx(L, lq, "update");
  const coll_def *c = lq->q->c;
  MDB_val rec;
  kam_err e = {0};
  int rc = store_get(ctx->wtxn, c, id, idlen, &rec);
  if (rc == MDB_NOTFOUND) return luaL_error(L, "db.%s:update: no %s with id \"%s\"", c->name, c->name, id);
  if (rc) { lmdb_err(&e, rc, c->name); return raise_write(L, ctx, &e); }
  lua_settop(L, 3);
  scratch *sc = push_scratch(L, c->nfields);
  kbuf_put(&sc->old, rec.mv_data, rec.mv_size);
  const uint8_t *old = sc->old.p;
  size_t oldlen = rec.mv_size;
  kval *vals = sc->vals, *chg = sc->chg;
  kbuf *bufs = sc->bufs;
  store_decode(c, old, oldlen, vals);
  vals[F_ID] = kv_str(id, idlen);
  rc = table_to_vals(L, 3, c, chg, bufs, &e);
  if (!rc && chg[F_ID].tag != KV_NULL && (chg[F_ID].tag != KV_STR || chg[F_ID].u.s.len != idlen || memcmp(chg[F_ID].u.s.p, id, idlen)))
    rc = kam_errf(&e, KAM_EDATA, "%s %s: an id cannot change", c->name, id);
  if (!rc && (chg[F_CREATED].tag != KV_NULL || chg[F_UPDATED].tag != KV_NULL))
    rc = kam_errf(&e, KAM_EDATA, "%s %s: created_at and updated_at are kept by kam", c->name, id);
  if (!rc) {
    for (int i = 3; i < c->nfields; i++) if (chg[i].tag != KV_NULL) vals[i] = chg[i];
    write_opts o = {ctx->user_id, 1, 1, 0};
    rc = store_write(ctx->st, ctx->wtxn, c, vals, old, oldlen, OP_UPDATE, &o, &e);
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

static int c_delete(lua_State *L) {
  lquery *lq = check_query(L, 1);
  entity_to_id(L, 2);
  size_t idlen;
  const char *id = luaL_checklstring(L, 2, &idlen);
  kam_ctx *ctx = need_tx(L, lq, "delete");
  kam_err e = {0};
  /* a delete never leaves a reference dangling */
  char who[300];
  int r = referenced(ctx, lq->q->c, id, idlen, who, sizeof who, &e);
  if (r < 0) return raise_write(L, ctx, &e);
  if (r == 1)
    return luaL_error(L, "db.%s:delete: %s %s is still referred to by %s; change or delete that first",
                      lq->q->c->name, lq->q->c->name, id, who);
  write_opts o = {ctx->user_id, 1, 1, 0};
  if (store_delete(ctx->st, ctx->wtxn, lq->q->c, id, idlen, &o, &e)) return raise_write(L, ctx, &e);
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

/* A kam.tx inside another is a savepoint: its writes join the enclosing
 * transaction when it returns, and are dropped, alone, when it raises
 * (a pcall around it may then go on). */
static int tx_nested(lua_State *L, kam_ctx *ctx) {
  MDB_txn *parent = ctx->wtxn, *child;
  unsigned long pserial = ctx->wserial;
  kam_err e;
  if (store_begin_child(ctx->st, parent, &child, &e)) return raise_write(L, ctx, &e);
  ctx->wtxn = child;
  ctx->wserial = ++tx_serials;
  long ins = ctx->n_ins, upd = ctx->n_upd, del = ctx->n_del;
  int broken = ctx->broken;
  lua_settop(L, 1);
  lua_pushcfunction(L, tx_msgh);
  lua_pushvalue(L, 1);
  int st = lua_pcall(L, 0, LUA_MULTRET, 2);
  int rc = 0;
  if (st == LUA_OK && !ctx->full && !ctx->broken) rc = store_commit(ctx->st, child, &e);
  else mdb_txn_abort(child);
  ctx->wtxn = parent;
  ctx->wserial = pserial;
  if (st == LUA_OK && !ctx->full && !ctx->broken && !rc) return lua_gettop(L) - 2;
  /* its writes are gone: so are their counts, and a half write with them */
  ctx->n_ins = ins; ctx->n_upd = upd; ctx->n_del = del;
  ctx->broken = broken;
  if (rc) return raise_write(L, ctx, &e);
  if (st == LUA_OK) return luaL_error(L, "kam.tx: a write inside failed; nothing of it was written");
  return lua_error(L);
}

static int l_tx(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  kam_ctx *ctx = kam_ctx_get(L);
  if (ctx->no_write) return luaL_error(L, "kam.tx: %s", ctx->no_write);
  if (!ctx->allow_write) return luaL_error(L, "kam.tx: this command only reads the book (use kam run or kam eval)");
  if (sandbox_killed()) return luaL_error(L, "kam.tx: the script was stopped; nothing more is written");
  if (ctx->wtxn) return tx_nested(L, ctx);
  for (int attempt = 0;; attempt++) {
    kam_err e;
    MDB_txn *txn;
    if (store_begin(ctx->st, 1, &txn, &e)) return sandbox_raise_err(L, e.code, e.msg);
    ctx->wtxn = txn;
    ctx->wserial = ++tx_serials;
    ctx->full = 0;
    ctx->broken = 0;
    long ins = ctx->n_ins, upd = ctx->n_upd, del = ctx->n_del;
    lua_settop(L, 1);
    lua_pushcfunction(L, tx_msgh);
    lua_pushvalue(L, 1);
    int st = lua_pcall(L, 0, LUA_MULTRET, 2);
    int full = ctx->full;
    if (st == LUA_OK && !full && ctx->broken) { /* a pcall swallowed a half write */
      mdb_txn_abort(txn);
      ctx->wtxn = NULL;
      ctx->wserial = ++tx_serials;
      ctx->n_ins = ins; ctx->n_upd = upd; ctx->n_del = del;
      return luaL_error(L, "kam.tx: a write inside it failed half way; nothing was written");
    }
    if (st == LUA_OK && !full) {
      ctx->wtxn = NULL;
      ctx->wserial = ++tx_serials;
      int rc = store_commit(ctx->st, txn, &e);
      if (!rc) {
        /* later reads must see what was written: a fresh snapshot; entities
         * read before keep their old one until the statement ends */
        snap_detach(ctx);
        return lua_gettop(L) - 2;
      }
      if (rc != KAM_EFULL) {
        char m[sizeof e.msg + 8];
        snprintf(m, sizeof m, "kam.tx: %s", e.msg);
        return sandbox_raise_err(L, e.code, m);
      }
      full = 1;
    } else {
      mdb_txn_abort(txn);
      ctx->wtxn = NULL;
      ctx->wserial = ++tx_serials;
    }
    ctx->n_ins = ins; ctx->n_upd = upd; ctx->n_del = del;
    if (!full || attempt >= 8) {
      if (full) return luaL_error(L, "kam.tx: the book's map cannot grow further");
      return lua_error(L); /* the error, traceback included */
    }
    /* the map is full: nothing may be mapped while it grows, so every
     * snapshot of the statement ends; then the whole unit of work replays */
    kam_end_snapshots(ctx);
    if (store_grow(ctx->st, &e)) return sandbox_raise_err(L, e.code, e.msg);
  }
}

/* ---- registration -------------------------------------------------------- */

static int db_index(lua_State *L) {
  kam_ctx *ctx = kam_ctx_get(L);
  const char *name = luaL_checkstring(L, 2);
  coll_def *c = schema_coll(ctx->sc, name);
  if (!c) return luaL_error(L, "db.%s: no such collection (see config/schema.yaml)", name);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* made before */
  lua_pop(L, 1);
  lquery *lq = push_query(L, c, NULL);
  lq->is_coll = 1;
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, lua_upvalueindex(1)); /* cached outside db, so db stays read-only */
  return 1;
}

static int db_newindex(lua_State *L) { return luaL_error(L, "db is read-only"); }

static const luaL_Reg query_methods[] = {
    {"where", q_where}, {"all", q_all}, {"sort", q_sort}, {"limit", q_limit},
    {"each", q_each}, {"list", q_list}, {"ids", q_ids}, {"first", q_first},
    {"count", q_count}, {"sum", q_sum}, {"avg", q_avg}, {"min", q_min}, {"max", q_max},
    {"group", q_group}, {"explain", q_explain},
    {"get", c_get}, {"insert", c_insert}, {"update", c_update}, {"delete", c_delete},
    {NULL, NULL}};

void kam_lua_open_db(kam_ctx *ctx) {
  lua_State *L = ctx->L;
  *(kam_ctx **)lua_getextraspace(L) = ctx;

  luaL_newmetatable(L, MT_ENTITY);
  lua_pushvalue(L, -1);
  ctx->mt_ptr[MTI_ENTITY] = lua_topointer(L, -1);
  ctx->mt_ref[MTI_ENTITY] = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, entity_index); lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, entity_newindex); lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, entity_tostring); lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, entity_eq); lua_setfield(L, -2, "__eq");
  lua_pushcfunction(L, entity_pairs); lua_setfield(L, -2, "__pairs");
  lua_pushliteral(L, "entity"); lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "__metatable"); /* getmetatable gives false */
  lua_pop(L, 1);

  luaL_newmetatable(L, MT_QUERY);
  lua_pushvalue(L, -1);
  ctx->mt_ptr[MTI_QUERY] = lua_topointer(L, -1);
  ctx->mt_ref[MTI_QUERY] = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_newlib(L, query_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, query_gc); lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, q_tostring); lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "query"); lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  luaL_newmetatable(L, MT_ITER);
  lua_pushvalue(L, -1);
  ctx->mt_ptr[MTI_ITER] = lua_topointer(L, -1);
  ctx->mt_ref[MTI_ITER] = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushcfunction(L, iter_gc); lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, iter_gc); lua_setfield(L, -2, "__close");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  lua_newtable(L); /* db */
  lua_newtable(L);
  lua_newtable(L);
  lua_pushcclosure(L, db_index, 1); lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, db_newindex); lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setglobal(L, "db");
  lua_getglobal(L, "kam");
  lua_insert(L, -2);
  lua_setfield(L, -2, "db");
  lua_pushcfunction(L, l_tx);
  lua_setfield(L, -2, "tx");
  lua_pop(L, 1);
}
