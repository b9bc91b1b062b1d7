/* workers.h — a share of a command run by other kam processes.
 *
 * `kam policy eval` over a whole book hands contiguous shares of the
 * subjects to copies of itself (the same command line plus one option), so
 * that a machine with more than one core evaluates them side by side. A
 * worker is a fresh process: it opens the book and loads the policy as the
 * command would, and shares no memory, Lua state or LMDB handle with the
 * command that started it (LMDB's handles must not cross a fork). It
 * writes its results to descriptor 3 and what it prints to its standard
 * output, both unlinked temporary files read back when it exits: a worker
 * never waits on a reader busy evaluating, and what a policy prints comes
 * out in the order one process would have printed it. */
#ifndef KAM_WORKERS_H
#define KAM_WORKERS_H
#include "buf.h"
#include "kerr.h"
#include <sys/types.h>

/* The command line as kam was started with it; workers run it again. */
void workers_set_argv(int argc, char **argv);
/* Lets this process start workers (only commands that know how to split
 * their work call it; a scheduled run inside `kam tick` does not). */
void workers_allow(void);
/* Whether workers can be started: allowed, and this program's file found. */
int workers_available(void);
/* Processors online (1 when unknown). */
int workers_cores(void);

#define WORKER_DATA_FD 3

typedef struct worker {
  pid_t pid; /* 0: not running */
  int fd;    /* its results (descriptor 3), a temporary file; -1: none */
  int ofd;   /* its standard output, another */
} worker;

/* Starts the command line again with `extra` (an option) put first. */
int worker_start(worker *w, const char *extra, kam_err *e);
/* Waits for it; on exit 0 appends its results to data and what it printed
 * to printed. *status is its exit
 * code, or 128 + the signal that ended it. Returns 0, or an error when it
 * could not be waited for or read. The worker is finished either way. */
int worker_finish(worker *w, kbuf *data, kbuf *printed, int *status, kam_err *e);
/* In a worker: ends this process when the command that started it (pid
 * parent) ends first, so that no worker outlives its command. */
void worker_tie_to(long parent);
/* Ends a worker still running (SIGTERM), waits for it, closes its file. */
void worker_stop(worker *w);

#endif
