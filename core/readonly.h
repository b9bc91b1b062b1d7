/* readonly.h — kam's read-only tables, for the state and the kam library
 * alike: a proxy whose writes raise (reads, pairs and # see through it),
 * and the mark that makes rawset and setmetatable refuse a table.
 *
 * The marks live in the registry (kam.frozen, weak keys): a marked table
 * stays marked for as long as it lives, and the mark goes with it. */
#ifndef KAM_READONLY_H
#define KAM_READONLY_H
#include <lua.h>

/* Marks the table at idx as kam's: rawset and setmetatable refuse it. */
void sandbox_freeze(lua_State *L, int idx);
/* Is the table at idx marked so? */
int sandbox_frozen(lua_State *L, int idx);
/* Pushes a read-only proxy of the table at real, whose writes call the
 * function on top (popped): reads, pairs and # see through it, its
 * metatable is out of reach, rawset and setmetatable refuse it. The proxy
 * keeps the table alive. */
void readonly_proxy(lua_State *L, int real);
/* Replaces the table field `key` of the table at t by a read-only proxy of
 * it, whose writes raise "<label> is kam's and read-only"; the table itself
 * is marked too (rawset through another reference is refused). Nothing
 * happens when the field is not a table. */
void readonly_field(lua_State *L, int t, const char *key, const char *label);

#endif
