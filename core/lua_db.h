/* lua_db.h — where Lua meets the book: the `db` namespace (collections,
 * queries, entities), `kam.tx`, and the snapshots reads run in.
 *
 * Reads outside kam.tx share one read snapshot per statement; entities are
 * views into it and raise a clear error if touched after it ended. Inside
 * kam.tx reads see the transaction's own writes and entities are copies. */
#ifndef KAM_LUA_DB_H
#define KAM_LUA_DB_H
#include "config.h"
#include "store.h"
#include <lua.h>

typedef struct snap snap;

typedef struct kam_ctx {
  lua_State *L;
  kam_store *st;
  schema *sc;
  kam_config *cfg;
  const kam_user *user;
  char user_id[128];
  snap *rsnap;            /* current read snapshot, or NULL */
  snap *snaps;            /* every snapshot still referenced */
  MDB_txn *wtxn;          /* inside kam.tx */
  unsigned long wserial;  /* which write txn entities/iterators belong to */
  int full;               /* the map filled during this kam.tx */
  int broken;             /* a write failed half way: the kam.tx may not commit */
  long n_ins, n_upd, n_del;
  int allow_write;        /* 0 for read-only commands */
  const char *no_write;   /* while set (a policy evaluation), writes are refused with it */
  /* entity, query and iterator metatables: registry refs and identities, so
   * that checking a userdata's type costs no string lookup */
  int mt_ref[3];
  const void *mt_ptr[3];
} kam_ctx;

void kam_lua_open_db(kam_ctx *ctx);   /* registers db, kam.tx and the metatables */
/* Remembers counts and sums within a snapshot while on (kam policy whatif
 * asks each subject's questions twice); off forgets them. */
void kam_memo(int on);
/* Raises a write's error; a full map is raised so that kam.tx grows the map
 * and runs its function again. */
int kam_raise_write(lua_State *L, kam_err *e);
kam_ctx *kam_ctx_get(lua_State *L);
/* Ends every snapshot of the statement (entities from it become unusable). */
void kam_end_snapshots(kam_ctx *ctx);
/* Pushes a stored value as Lua. */
void kam_push_kval(lua_State *L, const kval *v);
/* Entity userdata helpers, for output. */
int kam_is_entity(lua_State *L, int idx);
int kam_is_query(lua_State *L, int idx);
const coll_def *kam_entity_coll(lua_State *L, int idx);
/* The stored value of field i (valid while the entity is). */
int kam_entity_kval(lua_State *L, int idx, int field, kval *out);
/* Pushes field i of an entity (nil if absent). */
void kam_entity_field(lua_State *L, int idx, int field);
/* Pushes query results as a list of entities (for output). */
void kam_query_list(lua_State *L, int idx);
const coll_def *kam_query_coll(lua_State *L, int idx);

#endif
