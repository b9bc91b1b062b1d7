/* lua_kam.h — the `kam` library scripts see: dates (kam.today, kam.period,
 * kam.date_add ...), kam.fmt, kam.log, kam.progress, kam.user, kam.config
 * and kam.version. kam.tx is not here: it lives with the db bindings
 * (lua_db.h), which add it to this table. */
#ifndef KAM_LUA_KAM_H
#define KAM_LUA_KAM_H
#include "config.h"
#include "identity.h"
#include <lua.h>

/* Sets the global `kam`. kam.user and kam.config are copies made now (of
 * who and cfg's document; who may be NULL): the caller keeps
 * ownership of those and may free them after this returns, and later
 * changes to them are not seen. kam.config is read-only; sandbox_open makes
 * the rest read-only once every part of kam is in. */
void lua_kam_open(lua_State *L, kam_config *cfg, const kam_principal *who);

#endif
