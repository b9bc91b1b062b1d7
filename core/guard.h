/* guard.h — write guards: the files of rules/ whose table says kind = "guard"
 * (core/policy/guards.lua loads and runs them), asked by every path that
 * writes an entity: kam.tx's insert, update and delete (lua_tx.c, and so
 * scripts, the REPL, requests, scheduled jobs) and kam import (import.c).
 * A guard decides allow, hold (stored "held", a request raised), flag
 * (stored with its flag, an alert raised) or refuse (the transaction rolls
 * back with the guard's reasons, file:line). No role skips them; a guard
 * that cannot load stops every write until it is fixed (kam check). */
#ifndef KAM_GUARD_H
#define KAM_GUARD_H
#include "ctx.h"
#include "import.h"

/* The hooks a kam_ctx takes (ctx->guards = &guard_hooks). */
extern const kam_guard_hooks guard_hooks;

/* The same hooks for kam import, over ctx's state: the import's rows are
 * guarded as the inserts they are. */
void guard_import_hooks(kam_ctx *ctx, import_guard *out);

/* Forgets what was loaded (the next write loads rules/ again). */
void guard_free(kam_ctx *ctx);

#endif
