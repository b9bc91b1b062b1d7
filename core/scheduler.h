/* scheduler.h — kam.yaml's schedules run: `kam tick` (whatever is due,
 * once), `kam scheduler` (the same in a loop), and `kam schedule
 * list|next|run|history`.
 *
 * A job is a schedule's `run` steps in order, each a script of the project
 * (run as `kam run` runs it, its returned text the step's summary) or
 * `policy NAME --commit`. It acts as `system:schedule NAME` with its
 * owner's rights (identity.h, access.h): the audit names it so, and the
 * access rules are the owner's. Each step is one transaction at most: a
 * step that fails rolls back its own writes, stops the job and marks the
 * run failed; the steps before it stay.
 *
 * When: an occurrence is due once its time (cron.h, in the schedule's zone)
 * has come. Occurrences before the schedule was first seen are not owed.
 * catch_up says which owed occurrences run after kam was not ticking:
 * latest (the default) the newest only, none only one due this minute,
 * all N the newest N; a deadline makes later starts `missed`. Every
 * occurrence not run is recorded (missed, skipped), never dropped.
 * schedule.h keeps the records and the claims. */
#ifndef KAM_SCHEDULER_H
#define KAM_SCHEDULER_H
#include "access.h"
#include "config.h"
#include "store.h"
#include <stdio.h>

typedef struct sched_host {
  kam_config *cfg;
  schema *sc;
  kam_store *st;
  const kam_access *access;
  int fmt;               /* out_fmt of the listings */
  int fake_clock;        /* --now or KAM_NOW: jobs see that day as today */
} sched_host;

/* Runs once whatever is due at now; prints a line per run or missed
 * occurrence. *failed counts failed runs. 0, or a kam_err code (the book). */
int scheduler_tick(sched_host *h, int64_t now, int *failed, kam_err *e);
/* The next time any schedule is due after now (INT64_MAX when none). */
int64_t scheduler_next(sched_host *h, int64_t now);
/* `kam schedule run NAME`: now, by hand, recorded like any run. */
int scheduler_run_now(sched_host *h, const char *name, int64_t now, int *failed, kam_err *e);
/* `kam schedule list`, `history [NAME] [since]`, `next`: printed to stdout. */
int scheduler_list(sched_host *h, int64_t now, kam_err *e);
int scheduler_history(sched_host *h, const char *name, int64_t since, kam_err *e);
/* The next n times of an expression in zone tz after from, printed. */
int scheduler_print_next(const char *expr, const char *tz, int64_t from, int n, int fmt, kam_err *e);
/* The zone a schedule runs in: its own, else the book's. */
const char *scheduler_zone(const kam_config *cfg, const kam_schedule *s);
const kam_schedule *scheduler_find(const kam_config *cfg, const char *name);

#endif
