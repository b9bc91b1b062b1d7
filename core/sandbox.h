/* sandbox.h — the Lua state scripts run in: libraries from an explicit list
 * (no io, no debug, no package.loadlib, of os only time/date/clock), text
 * chunks only, `require` limited to rules/ and scripts/, and the `kam`
 * namespace (dates, money, the acting user, config). */
#ifndef KAM_SANDBOX_H
#define KAM_SANDBOX_H
#include "lua_db.h"
#include <stdio.h>

/* Creates ctx->L with the sandbox, kam.* and db. */
int sandbox_open(kam_ctx *ctx, kam_err *e);
void sandbox_close(kam_ctx *ctx);
/* Loads a text chunk in the sandbox's globals. */
int sandbox_load(lua_State *L, const char *buf, size_t len, const char *name);
/* Runs the function on top with n args in protected mode with a traceback;
 * on error leaves the message on the stack and returns non-zero. */
int sandbox_pcall(lua_State *L, int nargs, int nres);
/* The message handler sandbox_pcall uses (for other protected calls). */
int sandbox_msgh(lua_State *L);
/* Raises msg as a Lua error that carries a kam_err code (KAM_EINTERNAL for
 * an LMDB failure, KAM_EPERM ...) to the exit code: the code is kept until
 * a pcall inside the script catches the error or the next statement
 * starts. C must have released what it holds. */
int sandbox_raise_err(lua_State *L, int code, const char *msg);
/* The exit code of the last Lua error: its kam_err code, else 1 (data). */
int sandbox_error_code(void);
/* Has a budget or Ctrl-C stopped the script? Then nothing may be written. */
int sandbox_killed(void);
/* Starts the time budget of a script (0: none) and forgets an earlier
 * Ctrl-C: the REPL re-arms before each statement. */
void sandbox_arm(lua_State *L, int seconds);
/* A budget of its own for one policy evaluation, inside the script's,
 * naming the setting in the message (limits.policy_seconds), and a cap on
 * how much the heap may grow meanwhile (limits.policy_memory_mb). No system
 * call. */
void sandbox_arm_for(lua_State *L, int seconds, const char *limit);
/* Sizes the young generation of the collector to the heap; for long runs
 * of small evaluations, called now and then. */
void sandbox_gc_tune(lua_State *L);
/* When the last stop was the per-evaluation memory cap: a message naming it. */
const char *sandbox_memory_stop(void);
/* Ends that budget; the script's starts again from now. */
void sandbox_disarm_for(lua_State *L, int script_seconds);
/* Ctrl-C: stops the running chunk at its next instruction with the error
 * "interrupted", which no pcall inside it can catch. Safe in a signal
 * handler (it only sets a flag and a hook). */
void sandbox_interrupt(lua_State *L);
/* Has Ctrl-C been pressed since the last sandbox_arm? For loops in C. */
int sandbox_stopping(void);
/* For long loops in C that run no Lua code (pattern matching, formatting):
 * raises the stop error if a budget ran out or Ctrl-C was pressed, else
 * returns. Cheap (reads two flags); C must hold nothing that a Lua error
 * would leak when it calls this. */
void sandbox_poll(lua_State *L);
/* Would sandbox_poll raise? (to release what C holds first) */
int sandbox_should_stop(void);
/* Raises the "interrupted" error; C must have released what it holds. */
int sandbox_raise_stop(lua_State *L);
/* Marks the table at idx as kam's: rawset and setmetatable refuse it. */
void sandbox_freeze(lua_State *L, int idx);
/* Where print writes (NULL: standard output). */
void sandbox_set_output(FILE *f);
/* Formats integer đồng as 1.234.567 ₫ into out. */
void fmt_money(char *out, size_t n, long long v, int with_symbol);

#endif
