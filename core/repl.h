/* repl.h — `kam repl`: a Lua prompt over the book.
 *
 * A line is tried as an expression first (its values are printed), then as
 * a statement; input that ends mid-chunk continues on a second prompt. Each
 * statement reads one snapshot, which ends with it; writes go through
 * kam.tx. Dot commands (.help, .schema, .mode ...) change the session.
 * On a terminal: line editing, history and completion (libedit), Ctrl-C
 * stops the running statement. Otherwise statements are read from standard
 * input without prompts, and --bail stops at the first error. */
#ifndef KAM_REPL_H
#define KAM_REPL_H
#include "lua_db.h"
#include "output.h"

typedef struct repl_opts {
  out_fmt fmt;          /* the first .mode */
  int bail;             /* not on a terminal: the first error ends the run (exit 1) */
  const char *book;     /* the book's path, for the greeting */
} repl_opts;

/* Runs the session on ctx (its Lua state open, writes allowed) until .quit,
 * Ctrl-D or the end of input. Returns the exit code: 0, or 1 when a
 * statement failed and input was not a terminal. History goes to
 * $KAM_HISTORY, else ~/.kam_history (KAM_HISTORY= keeps none). */
int repl_run(kam_ctx *ctx, const repl_opts *o);

#endif
