/* lua_entity.c — read snapshots and the entity userdata (see lua_entity.h):
 * which transaction a read runs in, how long what it read stays valid, how
 * much of a collection the principal may read (read scopes), and an
 * entity's fields, from its index entry or its record. */
#include "lua_entity.h"
#include "budget.h"
#include "keyenc.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- snapshots ---------------------------------------------------------- */

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

void kam_snap_release(kam_ctx *ctx, snap *s) {
  if (!s) return;
  s->refs--;
  if (!s->alive && !s->refs) snap_free_dead(ctx);
}

static void snap_end(snap *s) {
  qcursors_close(&s->curs);
  if (s->alive) store_abort(s->txn);
  s->alive = 0;
}

/* The snapshot of that serial while its struct lives, else NULL. */
static snap *snap_of(kam_ctx *ctx, unsigned long serial) {
  for (snap *s = ctx->snaps; s; s = s->next)
    if (s->serial == serial) return s;
  return NULL;
}

/* ---- read scopes --------------------------------------------------------- */

/* The scopes of the statement's collections, by position in the schema:
 * 0 not asked yet, else SCOPE_* + 1. One principal acts per process, but
 * the cache is keyed by everything the answer depends on all the same, and
 * forgotten when a statement ends. */
#define RS_MAX 256
static struct {
  const kam_ctx *ctx;
  const kam_access *a;
  const kam_principal *p;
  const schema *sc;
  unsigned char s[RS_MAX];
} rscope;

int kam_read_scope(lua_State *L, const coll_def *c) {
  kam_ctx *ctx = kam_ctx_get(L);
  if (!ctx->access || !ctx->who || ctx->scratch || ctx->unscoped) return SCOPE_ALL;
  int scope;
  uintptr_t base = (uintptr_t)ctx->sc->colls, at = (uintptr_t)c;
  size_t i = (at - base) / sizeof *c;
  if (at >= base && i < (size_t)ctx->sc->ncolls && i < RS_MAX) {
    if (rscope.ctx != ctx || rscope.a != ctx->access || rscope.p != ctx->who || rscope.sc != ctx->sc) {
      memset(rscope.s, 0, sizeof rscope.s);
      rscope.ctx = ctx, rscope.a = ctx->access, rscope.p = ctx->who, rscope.sc = ctx->sc;
    }
    if (!rscope.s[i]) rscope.s[i] = (unsigned char)(access_read_scope(ctx->access, ctx->who, c) + 1);
    scope = rscope.s[i] - 1;
  } else {
    scope = access_read_scope(ctx->access, ctx->who, c);
  }
  if (scope == SCOPE_NONE) {
    char who[256], msg[700];
    snprintf(msg, sizeof msg, "permission denied: %s may not read %s: no rule grants it (%s)",
             identity_label(ctx->who, who, sizeof who), c->name, access_path(ctx->access));
    sandbox_raise_err(L, KAM_EPERM, msg);
  }
  return scope;
}

int kam_row_in_scope(kam_ctx *ctx, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen,
                     const void *rec, size_t len) {
  kval small[64];
  kval *v = c->nfields <= 64 ? small : malloc(sizeof *v * (size_t)c->nfields);
  if (!v) return 0;
  store_decode(c, rec, len, v);
  v[F_ID] = kv_str(id, idlen);
  int ok = access_row_readable(ctx->access, ctx->who, ctx->st, txn, c, v) == 1;
  if (v != small) free(v);
  return ok;
}

/* ---- the end of a statement ---------------------------------------------- */

void kam_end_snapshots(kam_ctx *ctx) {
  if (rscope.ctx == ctx) rscope.ctx = NULL; /* scopes are asked again by the next statement */
  for (snap *s = ctx->snaps; s; s = s->next) snap_end(s);
  ctx->rsnap = NULL;
  snap_free_dead(ctx);
  memset(ctx->agg_seen, 0, sizeof ctx->agg_seen); /* a result is money only in its own statement */
}

#define MAX_OPEN_SNAPS 64
void kam_snap_detach(kam_ctx *ctx) {
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

MDB_txn *kam_read_txn(lua_State *L, kam_ctx *ctx, snap **out) {
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

/* ---- entities ----------------------------------------------------------- */

/* A new entity of c with its id and `extra` more bytes after it; its
 * record is not set. */
static kam_entity *new_entity(lua_State *L, const coll_def *c, unsigned long serial, const char *id,
                              size_t idlen, size_t extra) {
  kam_entity *e = lua_newuserdatauv(L, sizeof *e + idlen + 1 + extra, 0);
  e->c = c;
  e->serial = serial;
  e->idlen = idlen;
  memcpy(e->data, id, idlen);
  e->data[idlen] = 0;
  e->ix = NULL;
  e->rec = NULL;
  e->len = 0;
  return e;
}

void kam_push_entity(lua_State *L, const coll_def *c, snap *s, const char *id, size_t idlen,
                     const void *rec, size_t len) {
  kam_entity *e = new_entity(L, c, s ? s->serial : 0, id, idlen, s ? 0 : len);
  e->len = len;
  if (s) e->rec = rec;
  else { memcpy(e->data + idlen + 1, rec, len); e->rec = (uint8_t *)e->data + idlen + 1; }
  kam_set_udata_mt(L, KAM_UD_ENTITY);
}

void kam_push_index_entity(lua_State *L, const coll_def *c, snap *s, const qiter *it) {
  kam_entity *e = new_entity(L, c, s->serial, it->id.u.s.p, it->id.u.s.len, 0);
  e->ix = it->ix;
  e->ikey = it->key.mv_data;
  e->iklen = it->key.mv_size;
  e->ival = it->val.mv_data;
  e->ivlen = it->val.mv_size;
  kam_set_udata_mt(L, KAM_UD_ENTITY);
}

int kam_entity_read(lua_State *L, const coll_def *c, const char *id, size_t idlen) {
  kam_ctx *ctx = kam_ctx_get(L);
  int scope = kam_read_scope(L, c);
  snap *s;
  MDB_txn *txn = kam_read_txn(L, ctx, &s);
  MDB_val rec;
  int rc = store_get(txn, c, id, idlen, &rec);
  if (rc == MDB_NOTFOUND) { lua_pushnil(L); return 1; }
  if (rc) { kam_err e; lmdb_err(&e, rc, c->name); return sandbox_raise_err(L, e.code, e.msg); }
  /* a row outside the read scope is as if it were not there */
  if (scope != SCOPE_ALL && !kam_row_in_scope(ctx, txn, c, id, idlen, rec.mv_data, rec.mv_size)) {
    lua_pushnil(L);
    return 1;
  }
  kam_push_entity(L, c, s, id, idlen, rec.mv_data, rec.mv_size);
  return 1;
}

void kam_entity_to_id(lua_State *L, int idx) {
  kam_entity *e = kam_udata(L, idx, KAM_UD_ENTITY);
  if (!e) return;
  lua_pushlstring(L, e->data, e->idlen);
  lua_replace(L, idx);
}

/* The record of an entity, looked up now if it started as an index entry. */
static const uint8_t *entity_rec(lua_State *L, kam_entity *e) {
  if (e->rec) return e->rec;
  snap *s = snap_of(kam_ctx_get(L), e->serial);
  MDB_val rec;
  if (!s || !s->alive || store_get(s->txn, e->c, e->data, e->idlen, &rec))
    luaL_error(L, "%s %s: its record cannot be read", e->c->name, e->data);
  e->rec = rec.mv_data;
  e->len = rec.mv_size;
  return e->rec;
}

/* A field from the index entry when it holds it: 1 found, 0 not held. */
static int entity_from_index(const kam_entity *e, int field, kval *out) {
  const index_def *ix = e->ix;
  for (int i = 0; i < ix->nc; i++)
    if (ix->carry[i] == field) {
      if (!rec_find_inline(e->ival, e->ivlen, e->c->fields[field].fid, out)) *out = kv_null();
      return 1;
    }
  const uint8_t *p = e->ikey, *end = e->ikey + e->iklen;
  for (int i = 0; i < ix->nf; i++) {
    const field_def *f = &e->c->fields[ix->f[i]];
    /* a ref is unpacked into a buffer no caller could hold on to: the record has it */
    if (ix->f[i] == field && f->type == FT_REF) return 0;
    char scratch[KEY_ID_MAX];
    size_t k = key_get(p, end, f, out, scratch);
    if (!k) return 0;
    if (ix->f[i] == field) return !(out->tag == KV_STR && out->u.s.len >= KEY_STR_MAX);
    p += k;
  }
  return 0;
}

void kam_entity_get(lua_State *L, kam_entity *e, int field, kval *out) {
  if (field == F_ID) { *out = kam_entity_id(e); return; }
  if (!e->rec && e->ix && entity_from_index(e, field, out)) return;
  const uint8_t *rec = entity_rec(L, e);
  if (!rec_find_inline(rec, e->len, e->c->fields[field].fid, out)) *out = kv_null();
}

int kam_is_entity(lua_State *L, int idx) { return kam_udata(L, idx, KAM_UD_ENTITY) != NULL; }
const coll_def *kam_entity_coll(lua_State *L, int idx) {
  return ((kam_entity *)kam_check_udata(L, idx, KAM_UD_ENTITY, "entity"))->c;
}

kam_entity *kam_check_live(lua_State *L, int idx) {
  kam_entity *e = kam_check_udata(L, idx, KAM_UD_ENTITY, "entity");
  snap *s = e->serial ? snap_of(kam_ctx_get(L), e->serial) : NULL;
  if (e->serial && (!s || !s->alive))
    luaL_error(L, "%s %s: this entity was read in a snapshot that has ended; read it again with db.%s:get(\"%s\")",
               e->c->name, e->data, e->c->name, e->data);
  return e;
}

static void push_field(lua_State *L, kam_entity *e, int field) {
  if (field == F_ID) { lua_pushlstring(L, e->data, e->idlen); return; }
  kval v;
  kam_entity_get(L, e, field, &v);
  kam_push_kval(L, &v);
}

void kam_entity_field(lua_State *L, int idx, int field) { push_field(L, kam_check_live(L, idx), field); }

int kam_entity_kval(lua_State *L, int idx, int field, kval *out) {
  kam_entity_get(L, kam_check_live(L, idx), field, out);
  return 1;
}

/* The few texts an enum or date field holds, pushed from a table of Lua
 * strings (entity_index's upvalue, its array part) instead of interned again on every read:
 * interning hashes the text byte by byte and walks a chain of the string
 * table that is cold when a policy reads a million rows. A slot is picked
 * from the text's first and last eight bytes and checked against the text,
 * so a collision only costs the push it would have cost anyway. */
#define TEXT_CACHE 4096 /* slots, a power of two */
#define TEXT_CACHE_MAX 16 /* longer texts are pushed as they are */

static lua_Integer text_slot(const char *p, size_t n) {
  uint64_t a = 0, b = 0;
  if (n >= 8) { memcpy(&a, p, 8); memcpy(&b, p + n - 8, 8); }
  else memcpy(&a, p, n);
  uint64_t h = a ^ (b << 31 | b >> 33) ^ n; /* then MurmurHash3's finalizer: every bit counts */
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDu;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53u;
  h ^= h >> 33;
  return (lua_Integer)(h & (TEXT_CACHE - 1)) + 1;
}

static void push_text_cached(lua_State *L, const char *p, size_t n) {
  lua_Integer slot = text_slot(p, n);
  if (lua_rawgeti(L, lua_upvalueindex(1), slot) == LUA_TSTRING) {
    size_t m;
    const char *s = lua_tolstring(L, -1, &m);
    if (m == n && !memcmp(s, p, n)) return;
  }
  lua_pop(L, 1);
  lua_pushlstring(L, p, n);
  lua_pushvalue(L, -1);
  lua_rawseti(L, lua_upvalueindex(1), slot);
}

/* The field named by the string at index 2, or -1: remembered by the
 * string's address, which stays its own while the string is kept in the
 * upvalue table (a policy reads a handful of names, millions of times). */
static int field_named(lua_State *L, const coll_def *c) {
  size_t n;
  const char *k = luaL_checklstring(L, 2, &n);
  kam_ctx *ctx = kam_ctx_get(L);
  /* every bit of both addresses mixed in: names allocated near each other differ in few bits */
  uint64_t h = ((uint64_t)(uintptr_t)k ^ (uint64_t)(uintptr_t)c << 17) * 0x9E3779B97F4A7C15ull;
  size_t set = (size_t)(h >> 58) % KAM_FIELD_MEMO_SETS;
  struct kam_field_memo *w = &ctx->field_memo[2 * set];
  for (int i = 0; i < 2; i++)
    if (w[i].name == k && w[i].coll == c) {
      ctx->field_memo_next[set] = (unsigned char)(i ^ 1);
      return w[i].field;
    }
  int f = coll_field_n(c, k, n);
  if (f < 0) return -1;
  lua_pushvalue(L, 2);
  lua_pushboolean(L, 1);
  lua_rawset(L, lua_upvalueindex(1));
  struct kam_field_memo *m = &w[ctx->field_memo_next[set] & 1];
  ctx->field_memo_next[set] ^= 1;
  m->name = k;
  m->coll = c;
  m->field = f;
  return f;
}

/* e.field: the hot path of every policy, so one type check and no copies. */
static int entity_index(lua_State *L) {
  kam_entity *e = kam_check_live(L, 1);
  int f = field_named(L, e->c);
  if (f < 0) return luaL_error(L, "%s has no field '%s'", e->c->name, lua_tostring(L, 2));
  ftype t = e->c->fields[f].type;
  if (t != FT_ENUM && t != FT_DATE) { push_field(L, e, f); return 1; }
  kval v;
  kam_entity_get(L, e, f, &v);
  if (v.tag == KV_STR && v.u.s.len <= TEXT_CACHE_MAX) push_text_cached(L, v.u.s.p, v.u.s.len);
  else kam_push_kval(L, &v);
  return 1;
}

void kam_entity_meta_open(lua_State *L) {
  lua_createtable(L, TEXT_CACHE, 0);
  lua_pushcclosure(L, entity_index, 1);
  lua_setfield(L, -2, "__index");
}

static int entity_newindex(lua_State *L) {
  kam_entity *e = kam_check_udata(L, 1, KAM_UD_ENTITY, "entity");
  return luaL_error(L, "%s %s is read-only; change it with db.%s:update(id, {%s = ...}) inside kam.tx",
                    e->c->name, e->data, e->c->name, luaL_optstring(L, 2, "field"));
}

static int entity_tostring(lua_State *L) {
  kam_entity *e = kam_check_udata(L, 1, KAM_UD_ENTITY, "entity");
  lua_pushfstring(L, "%s %s", e->c->name, e->data);
  return 1;
}

static int entity_eq(lua_State *L) {
  kam_entity *a = kam_check_udata(L, 1, KAM_UD_ENTITY, "entity"), *b = kam_check_udata(L, 2, KAM_UD_ENTITY, "entity");
  lua_pushboolean(L, a->c == b->c && a->idlen == b->idlen && !memcmp(a->data, b->data, a->idlen));
  return 1;
}

/* pairs(entity): fields in schema order, skipping absent ones */
static int entity_next(lua_State *L) {
  kam_entity *e = kam_check_live(L, 1);
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
  kam_check_live(L, 1);
  lua_pushcfunction(L, entity_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

const luaL_Reg kam_entity_meta[] = {
    {"__newindex", entity_newindex}, {"__tostring", entity_tostring},
    {"__eq", entity_eq}, {"__pairs", entity_pairs}, {NULL, NULL}};
