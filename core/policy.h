/* policy.h — the policy engine: decisions with reasons, their history, what-if
 * over the whole book, policy tests and static checks.
 *
 * The C side keeps what must be exact and fast (decisions and runs in the
 * book through decisions.h, hashes, budgets, fresh books for tests, the
 * bytecode listing for checks); the flow of each command is Lua, compiled
 * into kam: core/policy.lua, the driver, and its modules in core/policy/
 * (engine.lua, commands.lua, test.lua, check.lua). */
#ifndef KAM_POLICY_H
#define KAM_POLICY_H
#include "decisions.h" /* the layout of decisions and runs, DC_* (kam verify reads them) */
#include "lua_db.h"

/* Runs `kam policy ...`, `kam test` or `kam check`: cmd is "policy", "test"
 * or "check"; args are the positional arguments, opts the options as
 * "--name" or "--name=value"; fmt an out_fmt. Returns an exit code. */
int policy_command(kam_ctx *ctx, const char *cmd, char **args, int nargs, char **opts, int nopts,
                   int fmt);

/* Pushes the write guards' runner of ctx's state (core/policy/guards.lua:
 * load, run, after), made on first use and kept in the registry. 0, or an
 * exit code with the message in err and nothing pushed. */
int policy_guard_runner(kam_ctx *ctx, kbuf *err);

/* Around the runner's run() or after() for one write: with swap, the
 * guards' own modules and environment instead of the script's (put back
 * after; an import runs no script, and skips it); with arm, the policy
 * budget, the book read whole and not written. */
typedef struct policy_guard_scope { int loaded, env, armed, swapped; const char *no_write; } policy_guard_scope;
void policy_guard_enter(kam_ctx *ctx, policy_guard_scope *s, int arm, int swap);
void policy_guard_leave(kam_ctx *ctx, policy_guard_scope *s);

/* Adds kam.request{...}, kam.approve(id [, note]), kam.reject(id, reason) and
 * kam.withdraw(id) to the state's kam table: the request commands for
 * scripts, under the same rules, quiet, returning the request's id or its
 * new status; a refusal is raised as a kam error with its code. */
void policy_open_api(lua_State *L);

#endif
