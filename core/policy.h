/* policy.h — the policy engine: decisions with reasons, their history, what-if
 * over the whole book, policy tests and static checks.
 *
 * The C side keeps what must be exact and fast (decisions and runs in LMDB,
 * hashes, budgets, fresh books for tests, the bytecode listing for checks);
 * the flow of each command is Lua (core/policy.lua, compiled into kam). */
#ifndef KAM_POLICY_H
#define KAM_POLICY_H
#include "lua_db.h"

/* Runs `kam policy ...`, `kam test` or `kam check`: cmd is "policy", "test"
 * or "check"; args are the positional arguments, opts the options as
 * "--name" or "--name=value"; fmt an out_fmt. Returns an exit code. */
int policy_command(kam_ctx *ctx, const char *cmd, char **args, int nargs, char **opts, int nopts,
                   int fmt);

/* Decision records (sub-database `decisions`), key: id \0 policy \0 u64 seq. */
enum { DC_POLICY = 1, DC_HASH, DC_COLL, DC_ID, DC_RESULT, DC_REASONS, DC_TIME, DC_USER, DC_RUN };

#endif
