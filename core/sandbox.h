/* sandbox.h — the Lua state scripts run in: libraries from an explicit list
 * (no io, no debug, no package.loadlib, of os only time/date/clock), text
 * chunks only, `require` limited to rules/ and scripts/, and the `kam`
 * namespace (dates, money, the acting user, config). */
#ifndef KAM_SANDBOX_H
#define KAM_SANDBOX_H
#include "lua_db.h"
#include "budget.h"
#include <stdio.h>

/* Creates ctx->L with the sandbox, kam.* and db. */
int sandbox_open(kam_ctx *ctx, kam_err *e);
void sandbox_close(kam_ctx *ctx);
/* Loads a text chunk in the sandbox's globals. */
int sandbox_load(lua_State *L, const char *buf, size_t len, const char *name);
/* Runs the function on top with n args in protected mode with a traceback;
 * on error leaves the message on the stack and returns non-zero. */
int sandbox_pcall(lua_State *L, int nargs, int nres);
/* Marks the table at idx as kam's: rawset and setmetatable refuse it. */
void sandbox_freeze(lua_State *L, int idx);
/* Where print writes (NULL: standard output). */
void sandbox_set_output(FILE *f);

#endif
