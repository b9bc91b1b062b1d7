/* lua_agg.h — aggregates over a query: count, sum, avg, min, max, group;
 * and the memo that answers a count or sum asked twice in one snapshot.
 * Results are plain Lua values (numbers, text, tables): they hold nothing
 * of the book. */
#ifndef KAM_LUA_AGG_H
#define KAM_LUA_AGG_H
#include "lua_query.h"

/* Remembers counts and sums within a snapshot while on (kam policy whatif
 * asks each subject's questions twice); off forgets them and frees what
 * they held. Only answers over a whole read scope (SCOPE_ALL) are
 * remembered or answered from the memo; so is count's O(1) answer. */
void kam_memo(int on);

/* q:explain(key, ...) with group()'s arguments: how that group would read
 * its rows (one pass over an index, or each row visited, and why). */
int kam_agg_explain_group(lua_State *L);

/* Is the value at idx a money aggregate? A number that one of this
 * statement's last aggregates returned from a money field (and no other
 * aggregate returned: a count of 0 beside a total of 0 stays a number), or
 * a table group() made of a money field's sum, avg, min or max. Table
 * output prints it as money; the value itself stays a plain number or
 * table. Never raises. */
int kam_agg_money(lua_State *L, int idx);
/* Is the table at idx what group() over several keys, or with named
 * aggregates, returned? Then pushes its layout, a table {keys = {key
 * names}, cols = {aggregate names, sorted} (absent when each leaf is the
 * value), money = {[name] = true}, value_money = true|nil}, and returns 1;
 * else 0, pushing nothing. Table and CSV output print such a result as one
 * row per leaf. Never raises. */
int kam_group_layout(lua_State *L, int idx);

/* The aggregate methods of a query (count, sum, avg, min, max, group), for
 * kam_lua_open_db. */
extern const luaL_Reg kam_agg_methods[];

#endif
