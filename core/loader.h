/* loader.h — how code gets into the state: text chunks only (never
 * bytecode), the script's load() bounded in size, and require limited to
 * the project's rules/ and scripts/.
 *
 * load() and require give the chunk the environment of the policy
 * evaluation running (the registry's kam.env) when there is one, never the
 * globals every evaluation shares. A module is compiled once for the
 * state's life (registry kam.chunks) and run again whenever kam.loaded was
 * emptied (each policy evaluation), so its locals never carry over. */
#ifndef KAM_LOADER_H
#define KAM_LOADER_H
#include <lua.h>
#include <stddef.h>

/* Loads a text chunk in the sandbox's globals (buf is copied: the caller
 * keeps it); pushes the function, or the error message. */
int sandbox_load(lua_State *L, const char *buf, size_t len, const char *name);
/* Sets the globals load and require, and the registry tables require
 * keeps. require finds the project through kam_ctx_get(L)->cfg->root
 * whenever it runs: the context must outlive the state. */
void loader_open(lua_State *L);

#endif
