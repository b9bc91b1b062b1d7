/* lua_tx.h — kam.tx and the writes of Lua (insert, update, delete): the one
 * place a Lua write begins.
 *
 * kam.tx(fn) runs fn in a write transaction and commits when fn returns;
 * an error inside aborts it and nothing is written. A kam.tx inside another
 * is a savepoint. When the map fills, every snapshot of the statement ends,
 * the map grows and fn runs again from the start. Writes happen only inside
 * kam.tx; they convert their Lua values in scratch memory that a Lua error
 * cannot leak. */
#ifndef KAM_LUA_TX_H
#define KAM_LUA_TX_H
#include "ctx.h"

/* ---- for the rest of kam ------------------------------------------------ */

/* Raises a write's error; a full map is raised so that kam.tx grows the map
 * and runs its function again. Never returns. */
int kam_raise_write(lua_State *L, kam_err *e);

/* What kam.tx committed since the counts were ins, upd, del ("2 inserted,
 * 1 updated"), in buf; 0 when nothing was. A run that fails after a kam.tx
 * committed says so: those writes stay in the book. */
int kam_written_since(const kam_ctx *ctx, long ins, long upd, long del, char *buf, size_t n);

/* ---- for the Lua layer --------------------------------------------------- */

/* kam.tx(fn), the function at 1: returns what fn returns. */
int kam_l_tx(lua_State *L);
/* The writes of db.<c>:insert(t), :update(id, t), :delete(id), each
 * refused outside kam.tx. t is the table at stack index tbl; what is above
 * it is dropped. id must stay valid during the call (a Lua string below
 * tbl). Each pushes its result (the new id, or true) and returns 1, or
 * raises with nothing written. A delete is refused while a record refers
 * to the one deleted. */
int kam_insert(lua_State *L, const coll_def *c, int tbl);
int kam_update(lua_State *L, const coll_def *c, const char *id, size_t idlen, int tbl);
int kam_delete(lua_State *L, const coll_def *c, const char *id, size_t idlen);

#endif
