/* lua_audit.h — kam.audit{coll = C [, id = ID] [, field = F] [, since =
 * "YYYY-MM-DD"] [, via = "policy"] [, limit = N]}: the book's audit trail,
 * newest first, as a list of {seq, when, who, role, via, op, coll, id,
 * changes = {{field, old, new}}} (with field, also from and to on each
 * entry). Read scopes hold: a collection she may not read raises; one she
 * reads in part gives the entries of the rows she may read now. */
#ifndef KAM_LUA_AUDIT_H
#define KAM_LUA_AUDIT_H
#include "ctx.h"

int kam_l_audit(lua_State *L);

#endif
