/* lua_db.h — where Lua meets the book: the `db` namespace, its collections,
 * queries and entities, and kam.tx, registered into a Lua state.
 *
 * Reads outside kam.tx share one read snapshot per statement; entities are
 * views into it and raise a clear error if touched after it ended. Inside
 * kam.tx reads see the transaction's own writes and entities are copies.
 *
 * This header is the face the rest of kam uses; it brings in the Lua
 * layer's headers (ctx.h lists them), where each function is declared with
 * its lifetimes: kam_push_kval (lua_value.h), kam_end_snapshots and the
 * entity helpers (lua_entity.h), kam_query_list and kam_query_coll
 * (lua_query.h), kam_memo (lua_agg.h), kam_raise_write (lua_tx.h). */
#ifndef KAM_LUA_DB_H
#define KAM_LUA_DB_H
#include "ctx.h"
#include "lua_agg.h"
#include "lua_entity.h"
#include "lua_query.h"
#include "lua_tx.h"
#include "lua_value.h"

/* Ties ctx and ctx->L together (kam_ctx_get) and registers in the state
 * the global `db`, kam.db and kam.tx (the global `kam` must exist), and
 * the entity, query and iterator metatables. Once per state. */
void kam_lua_open_db(kam_ctx *ctx);

#endif
