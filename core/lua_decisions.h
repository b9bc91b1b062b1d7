/* lua_decisions.h — kam.decisions{coll = C, id = ID [, policy = NAME]}: the
 * decisions `kam policy eval --commit` stored about one record, oldest
 * first, as {policy, hash, result, result_json, reasons, time, user, run}.
 * result is the decision's value when it is a JSON scalar (a tier "B", a
 * number, true); result_json is always the stored JSON text. Read scopes
 * hold: a collection she may not read raises; a record outside her rows,
 * or none, has no decisions. Reports read the reasons of a move here. */
#ifndef KAM_LUA_DECISIONS_H
#define KAM_LUA_DECISIONS_H
#include "ctx.h"

int kam_l_decisions(lua_State *L);

#endif
