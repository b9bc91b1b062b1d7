/* lua_colmap.h — a CSV file read into Lua rows, for the engine's modules
 * (K.read_csv in policy.c; kam reconcile reads the other side's figures
 * with it). */
#ifndef KAM_LUA_COLMAP_H
#define KAM_LUA_COLMAP_H
#include <lua.h>

/* K.read_csv(path, map, coll) -> rows, info. map: a map's name (colmap.h)
 * or nil for a CSV of coll's field names; coll: the collection the values
 * are checked against (default: the map's). Each row is {field = value,
 * _line = N}, values as kam import converts them (money and int as
 * integers, dates as YYYY-MM-DD); info = {file, map, into, columns = {field
 * = column in the file}}. What is wrong in the file raises a data error
 * (up to ten of them, each file:line:column); a missing map a usage error. */
int kam_l_read_csv(lua_State *L);

#endif
