/* ctx.h — what the Lua layer's files share: the kam context of a Lua state
 * (kam_ctx, found from the state with kam_ctx_get), the kinds of userdata
 * the layer makes (entity, query, iterator) with their type checks, and the
 * layout of an entity.
 *
 * The Lua layer, bottom to top (a file includes only the headers below it):
 *   ctx.h        this file
 *   lua_value.h  stored values <-> Lua values
 *   lua_entity.h read snapshots, entities
 *   lua_query.h  query objects and running them
 *   lua_agg.h    aggregates (count, sum ... group) and their memo
 *   lua_tx.h     kam.tx, insert / update / delete
 *   lua_db.h     the `db` namespace and registration */
#ifndef KAM_CTX_H
#define KAM_CTX_H
#include "access.h"
#include "config.h"
#include "store.h"
#include <lauxlib.h>
#include <lua.h>

#define KAM_FIELD_MEMO_SETS 64
typedef struct snap snap; /* a read snapshot (lua_entity.h) */
typedef struct kam_ctx kam_ctx;
typedef struct guard_fields guard_fields;

/* The write guards (guard.h) as the write paths call them, from below the
 * layer that runs them. watches: 0 with *yes set when a guard watches op on
 * c, else an exit code with e set. before: runs them on the record about to be
 * written (vals, changeable: a hold sets status held, a flag the flag
 * field, a guard's `set` its fields; bufs, one per field, hold what it
 * converts); 0 with *res a ref of what `after` must do (LUA_NOREF:
 * nothing) and *changed when vals changed, else KAM_EDATA (refused, with
 * the guard's reasons) or another code. after: once the record is stored
 * under id, raises the hold's request and the flag's alert in the same
 * transaction, and drops res. */
typedef struct kam_guard_hooks {
  int (*watches)(kam_ctx *ctx, const coll_def *c, int op, int *yes, kam_err *e);
  int (*before)(kam_ctx *ctx, MDB_txn *txn, const coll_def *c, int op, kval *vals, kbuf *bufs, const kval *oldv,
                int *res, int *changed, kam_err *e);
  int (*after)(kam_ctx *ctx, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen, int res, kam_err *e);
} kam_guard_hooks;

/* The userdata kinds; kam_lua_open_db registers a metatable for each. */
enum { KAM_UD_ENTITY, KAM_UD_QUERY, KAM_UD_ITER, KAM_UD_KINDS };

/* One per Lua state. The caller (cli.c, tests) owns the struct and fills
 * st, sc, cfg, who, access, actor and allow_write; sandbox_open makes L and
 * kam_lua_open_db ties the two together. ctx must stay valid and unmoved
 * until sandbox_close (the state points at it). */
struct kam_ctx {
  lua_State *L;           /* sandbox_open to sandbox_close */
  /* Borrowed: the caller frees them after sandbox_close. policy.c swaps st
   * for a test book between statements, never while a snapshot is open. */
  kam_store *st;
  schema *sc;
  kam_config *cfg;
  const kam_principal *who; /* who acts (identity.h) */
  const kam_access *access; /* the rules every write is held to; NULL: none */
  kam_actor actor;          /* how the audit names this state's writes */
  int scratch;              /* st is a scratch book of kam test: no rules */
  /* While a policy's commit runs (set by its K.run, cleared when its
   * kam.tx ends): the right to commit it covers updates of its one field,
   * audited as the policy's. */
  const coll_def *commit_coll;
  int commit_field;
  /* While the request engine (core/policy/requests.lua) applies what a
   * decision on a request does (set by its K.engine_write inside kam.tx,
   * cleared when that kam.tx ends): its writes are the engine's, which has
   * checked who may decide, not the user's grants. */
  int engine_write;
  kam_actor engine_actor;   /* channel "request" */
  kam_actor commit_actor;
  char commit_source[160];
  /* Read snapshots belong to lua_entity.c: opened on a statement's first
   * read, ended by kam_end_snapshots when the statement ends. */
  snap *rsnap;            /* current read snapshot, or NULL */
  snap *snaps;            /* every snapshot still referenced */
  /* The write transaction of kam.tx (lua_tx.c) while its function runs,
   * else NULL. Others may read and write through it (policy.c), never
   * commit or abort it. */
  MDB_txn *wtxn;
  unsigned long wserial;  /* which write txn entities/iterators belong to */
  int full;               /* the map filled during this kam.tx */
  int broken;             /* a write failed half way: the kam.tx may not commit */
  char refused[512];      /* a write was refused (access): the kam.tx may not commit */
  long n_ins, n_upd, n_del; /* what kam.tx wrote, for the caller to report */
  int tx_interrupted;     /* Ctrl-C rolled back an open kam.tx: said when the run ends */
  int allow_write;        /* 0 for read-only commands */
  /* Adds functions of layers above this one to `kam` before it is frozen
   * (cli.c gives policy.c's kam.request, kam.approve ...); NULL: none. */
  void (*open_api)(lua_State *L);
  /* The numbers the statement's last aggregates returned and whether each
   * was of a money field: table output prints such a result as money while
   * the script holds a plain number (lua_agg.c writes, kam_end_snapshots
   * forgets). */
  struct kam_agg_seen { int kind, money; lua_Integer i; lua_Number n; } agg_seen[8]; /* kind 0 none, 1 int, 2 float */
  unsigned agg_next;
  /* While set (a policy evaluation), writes are refused with it; the
   * caller keeps the string valid while it is set. */
  const char *no_write;
  /* entity, query and iterator metatables (KAM_UD_*): registry refs and
   * identities, set by kam_lua_open_db, valid as long as L, so that
   * checking a userdata's kind costs no string lookup */
  int mt_ref[KAM_UD_KINDS];
  const void *mt_ptr[KAM_UD_KINDS];
  /* e.field's name to the field's position, by the address of the name's
   * Lua string (lua_entity.c): each name remembered is kept alive by the
   * state, so its address names it alone. Cleared when a state opens.
   * Two ways a set: a loop reads a few names in turn, and two of them
   * falling in one slot would push each other out at every row. */
  struct kam_field_memo { const char *name; const void *coll; int field; } field_memo[2 * KAM_FIELD_MEMO_SETS];
  unsigned char field_memo_next[KAM_FIELD_MEMO_SETS]; /* the way a miss replaces */
  /* Write guards: the hooks (cli.c gives guard.c's; NULL: none run) and
   * guard.c's state. guard_gen moves when a transaction begins or a
   * savepoint is dropped: guard files then start afresh (their memo). */
  const kam_guard_hooks *guards;
  unsigned char *guard_watch;   /* per collection: bit op watched (guard.c owns it) */
  struct guard_fields { int some, n, f[16]; } *guard_only; /* per collection and op: only_if */
  int guard_loaded;             /* 0 not yet, 1 loaded, -1 failed */
  unsigned guard_gen;
  int unscoped;                 /* > 0 while a guard reads: the whole book, not the user's view */
  int access_checked;           /* the write now made was checked before its guards changed it */
  int refused_code;             /* what refused holds: 0 a permission, else this code */
};

/* The context lives in the state's extra space: found per row without a
 * registry lookup (coroutines inherit it). */
static inline kam_ctx *kam_ctx_get(lua_State *L) { return *(kam_ctx **)lua_getextraspace(L); }

/* The userdata at idx if it is of kind `kind` (KAM_UD_*), else NULL. Never
 * raises. The pointer is valid while the value is reachable from Lua. */
static inline void *kam_udata(lua_State *L, int idx, int kind) {
  void *p = lua_touserdata(L, idx);
  if (!p || !lua_getmetatable(L, idx)) return NULL;
  const void *mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  return mt == kam_ctx_get(L)->mt_ptr[kind] ? p : NULL;
}

/* The same, raising a type error naming `what` when it is not. */
static inline void *kam_check_udata(lua_State *L, int idx, int kind, const char *what) {
  void *p = kam_udata(L, idx, kind);
  if (!p) luaL_typeerror(L, idx, what);
  return p;
}

/* Gives the userdata on top of the stack the metatable of `kind`. */
static inline void kam_set_udata_mt(lua_State *L, int kind) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, kam_ctx_get(L)->mt_ref[kind]);
  lua_setmetatable(L, -2);
}

/* An entity userdata; lua_entity.h is what it does. The layout is here
 * rather than there because lua_value.c, below lua_entity.c, stores an
 * entity as the id it carries. */
typedef struct kam_entity {
  const coll_def *c;
  /* Read from an index scan, an entity starts as its index entry: fields the
   * index holds (its key, its carried values) are read from there, and the
   * record is looked up only when another field is read. ix NULL: not so. */
  const index_def *ix;
  const uint8_t *ikey, *ival;
  size_t iklen, ivlen;
  unsigned long serial; /* its snapshot; 0: owns a copy (read inside kam.tx) */
  const uint8_t *rec;   /* into the snapshot's map, or into data; NULL: not read yet */
  size_t len;
  size_t idlen;
  char data[];          /* id, NUL, then the copied record */
} kam_entity;

/* An entity's id as a stored value: it reads nothing, so it works even
 * after the entity's snapshot ended. Valid while the entity is. */
static inline kval kam_entity_id(const kam_entity *e) { return kv_str(e->data, e->idlen); }

#endif
