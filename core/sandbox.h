/* sandbox.h — the Lua state scripts run in: libraries from an explicit list
 * (no io, no debug, no package.loadlib, of os only time/date/clock), guarded
 * where a script could escape its budget or change what every evaluation
 * shares, text chunks only, `require` limited to rules/ and scripts/
 * (loader.h), the `kam` namespace (lua_kam.h) and `db` (lua_db.h). */
#ifndef KAM_SANDBOX_H
#define KAM_SANDBOX_H
#include "lua_db.h"
#include "budget.h"
#include "loader.h"   /* sandbox_load, for the callers that run chunks */
#include "readonly.h" /* sandbox_freeze, for the callers that add kam's tables */
#include <stdio.h>

/* Creates ctx->L with the sandbox, kam.* and db. ctx, with its cfg and
 * user, must stay valid until sandbox_close (require and the db bindings
 * read them while scripts run). */
int sandbox_open(kam_ctx *ctx, kam_err *e);
/* Ends the statement's snapshots, closes ctx->L and returns the Lua heap's
 * memory: nothing taken from the state stays valid. ctx itself is the
 * caller's. */
void sandbox_close(kam_ctx *ctx);
/* Runs the function on top with n args in protected mode with a traceback;
 * on error leaves the message on the stack and returns non-zero. */
int sandbox_pcall(lua_State *L, int nargs, int nres);
/* Where print writes (NULL: standard output). The caller keeps f open while
 * scripts may print, or sets NULL before closing it. */
void sandbox_set_output(FILE *f);

#endif
