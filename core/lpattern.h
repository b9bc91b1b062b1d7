/* lpattern.h — Lua's string patterns (reference manual §6.4.1) behind
 * string.find, string.match, string.gmatch and string.gsub, with a matcher
 * that polls the sandbox's time budget and Ctrl-C while it runs: the stock
 * matcher runs in C where no hook fires, so a pathological pattern could
 * outlive any budget. What a script can observe (results, captures,
 * positions, error messages) is as in Lua 5.4. */
#ifndef KAM_LPATTERN_H
#define KAM_LPATTERN_H
#include <lua.h>

/* Replaces find, match, gmatch and gsub in the global `string` table (the
 * string metatable's __index, so s:find(...) uses them too). */
void lpattern_install(lua_State *L);

#endif
