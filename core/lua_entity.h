/* lua_entity.h — read snapshots, read scopes and entities.
 *
 * Reads outside kam.tx share one read snapshot per statement, opened on the
 * first read and ended by kam_end_snapshots when the statement ends (and by
 * kam.tx when the map must grow). An entity read in a snapshot is a view
 * into it: it refuses to be read after the snapshot ended, with a message
 * that says how to read it again; its id stays usable. Inside kam.tx an
 * entity is a copy that lives as long as Lua keeps it. Entities are Lua's
 * (no finalizer: they hold no reference, only their snapshot's serial).
 * The layout of an entity is in ctx.h. */
#ifndef KAM_LUA_ENTITY_H
#define KAM_LUA_ENTITY_H
#include "lua_value.h"
#include "query.h"

/* ---- for the rest of kam ------------------------------------------------ */

/* Ends every snapshot of the statement (entities from it become unusable;
 * iterators on it stop with an error). */
void kam_end_snapshots(kam_ctx *ctx);
int kam_is_entity(lua_State *L, int idx);
/* The collection of the entity at idx (raises if it is none). */
const coll_def *kam_entity_coll(lua_State *L, int idx);
/* The stored value of field i: it points into the snapshot's map or the
 * entity's copy, valid while the entity is reachable and, for a view, until
 * its snapshot ends. Raises if the snapshot has ended. Returns 1. */
int kam_entity_kval(lua_State *L, int idx, int field, kval *out);
/* Pushes field i of an entity (nil if absent). */
void kam_entity_field(lua_State *L, int idx, int field);

/* ---- for the Lua layer --------------------------------------------------- */

/* A read snapshot. Its struct is freed (by this file) once it has ended
 * and no iterator holds it: an iterator holds it with refs++ and lets go
 * with kam_snap_release. Entities name it by serial, not by pointer. */
struct snap {
  MDB_txn *txn;
  qcursors curs;       /* cursors its queries reuse */
  unsigned long serial;
  int refs;            /* open iterators on it */
  int alive;
  snap *next;
};

/* The transaction reads run in: inside kam.tx its write txn (*s = NULL),
 * else the statement's snapshot (*s, opened now if needed). Valid until
 * kam.tx ends, or until the snapshot ends. Raises if none can begin. */
MDB_txn *kam_read_txn(lua_State *L, kam_ctx *ctx, snap **s);
void kam_snap_release(kam_ctx *ctx, snap *s); /* s may be NULL */
/* After a commit, so that later reads see it: the next read opens a fresh
 * snapshot; entities keep the old one until the statement ends, up to a
 * bound on open snapshots (past it the oldest end). */
void kam_snap_detach(kam_ctx *ctx);

/* Read scopes (access.h): how much of a collection this state's principal
 * reads. Every read path asks before it reads a collection's rows:
 * SCOPE_ALL (no rules: ctx->access or ctx->who NULL, or a scratch book;
 * or the principal reads every row) costs nothing more; SCOPE_TEAM and
 * SCOPE_OWN mean each row is checked (kam_row_in_scope) where it is read,
 * and answers from index entries, counts or the memo are not used;
 * SCOPE_NONE is raised here as KAM_EPERM. Asked once per collection per
 * statement (remembered until kam_end_snapshots). */
int kam_read_scope(lua_State *L, const coll_def *c);
/* Whether one row of c (its id and record, read in txn) is within the
 * principal's read scope: 1 or 0. Never raises. Only for a scope that is
 * not SCOPE_ALL. */
int kam_row_in_scope(kam_ctx *ctx, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen,
                     const void *rec, size_t len);

/* Pushes an entity of c read in snapshot s (a view of rec, which must live
 * as long as the snapshot), or inside kam.tx (s NULL: id and rec copied). */
void kam_push_entity(lua_State *L, const coll_def *c, snap *s, const char *id, size_t idlen,
                     const void *rec, size_t len);
/* Pushes an entity from the current row of an index scan in snapshot s,
 * without its record (looked up when a field the index lacks is read). */
void kam_push_index_entity(lua_State *L, const coll_def *c, snap *s, const qiter *it);
/* Reads c/id and pushes its entity, or nil (also for a row outside the
 * read scope). Returns 1. */
int kam_entity_read(lua_State *L, const coll_def *c, const char *id, size_t idlen);
/* The entity at idx, raising if it is none or its snapshot has ended. */
kam_entity *kam_check_live(lua_State *L, int idx);
/* One field of a live entity, valid as kam_entity_kval's. */
void kam_entity_get(lua_State *L, kam_entity *e, int field, kval *out);
/* Replaces an entity at idx by its id (anything else stays). */
void kam_entity_to_id(lua_State *L, int idx);
/* The entity metatable's fields (__newindex, __tostring, __eq, __pairs),
 * for kam_lua_open_db. */
extern const luaL_Reg kam_entity_meta[];
/* Sets __index, a closure with the cache of field texts, in the entity
 * metatable on top of the stack. */
void kam_entity_meta_open(lua_State *L);

#endif
