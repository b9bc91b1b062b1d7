/* budget.h — what stops a script: the Lua heap cap, the time budgets (of a
 * script and of one policy evaluation), Ctrl-C; and the one message handler
 * and exit-code path of a Lua error. Below the Lua layer: it knows no book. */
#ifndef KAM_BUDGET_H
#define KAM_BUDGET_H
#include <lua.h>
#include <stddef.h>

/* A Lua state whose heap is counted and capped (memory_bytes; 0: none);
 * policy_memory_bytes caps one policy evaluation's growth. */
lua_State *limits_new_state(size_t memory_bytes, size_t policy_memory_bytes);
/* Stops the ticker; before lua_close. */
void limits_close(void);
/* Around a resume of coroutine co: the budget's hook must reach the thread
 * that runs. limits_enter returns the thread to give back to limits_leave. */
lua_State *limits_enter(lua_State *co);
void limits_leave(lua_State *prev);

/* The message handler sandbox_pcall uses (for other protected calls). */
int sandbox_msgh(lua_State *L);
/* The Lua error on top as a user reads it: its message without the
 * traceback (a memory cap's stop names its setting); *n is its length. */
const char *sandbox_error_message(lua_State *L, size_t *n);
/* Calls fn for each of the first max frames of the traceback of the Lua
 * error on top that are the user's own (not C, not tail calls, not in a
 * chunk whose name starts with skip, when given); returns how many. */
int sandbox_error_frames(lua_State *L, int max, const char *skip,
                         void (*fn)(const char *frame, size_t n, void *ud), void *ud);
/* Raises msg, prefixed with the script's position, as a kam error (see
 * lua_error.h): a value that carries its kam_err code (KAM_EINTERNAL for an
 * LMDB failure, KAM_EPERM ...) to the exit code, also when a script caught
 * it and raised it again. C must have released what it holds. */
int sandbox_raise_err(lua_State *L, int code, const char *msg);
/* The exit code of the Lua error on top: a kam error's code, else 1. */
int sandbox_error_code(lua_State *L);
/* Has a budget or Ctrl-C stopped the script? Then nothing may be written. */
int sandbox_killed(void);
/* Starts the time budget of a script (0: none) and forgets an earlier
 * Ctrl-C: the REPL re-arms before each statement. */
void sandbox_arm(lua_State *L, double seconds);
/* A budget of its own for one policy evaluation, inside the script's,
 * naming the setting in the message (limits.policy_seconds), and a cap on
 * how much the heap may grow meanwhile (limits.policy_memory_mb). No system
 * call. */
void sandbox_arm_for(lua_State *L, double seconds, const char *limit);
/* Sizes the young generation of the collector to the heap; for long runs
 * of small evaluations, called now and then. */
void sandbox_gc_tune(lua_State *L);
/* When the last stop was a memory cap (the heap's or an evaluation's): a
 * message naming the setting; else NULL. */
const char *sandbox_memory_stop(void);
/* Ends that budget; the script's starts again from now. */
void sandbox_disarm_for(lua_State *L, double script_seconds);
/* Ends that budget without giving the script its time back: a write guard
 * runs inside a script's write, and the script's budget keeps running. */
void sandbox_disarm_inner(lua_State *L);
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

#endif
