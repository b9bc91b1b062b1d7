/* schedule.h — the scheduler's part of the book: one record per (schedule,
 * due time), which is both the claim on that run and its history.
 *
 * Layout
 *   sched  key    NAME \0 due     due: Unix seconds, 8 bytes big-endian, so a schedule's
 *                                 runs sort oldest first
 *          value  a record (record.h) of the fields SR_* below
 *   meta   "sched_seen:NAME"      when kam first saw the schedule (8 bytes, host order):
 *                                 occurrences before it are not "missed"
 *
 * At most one run per (schedule, due time), across any number of processes:
 * a run begins with one put that fails if the key exists (sched_claim). A
 * claim holds the claimer's pid and the start time of that process, so a
 * claim whose process died is told from one still running (sched_alive).
 *
 * Errors as decisions.h: 0, or a kam_err code with e set (KAM_EINTERNAL,
 * KAM_EFULL). Texts read point into the map: valid until the txn ends or
 * writes. */
#ifndef KAM_SCHEDULE_H
#define KAM_SCHEDULE_H
#include "kerr.h"
#include "store.h"
#include <stdint.h>

enum { SR_SCHEDULE = 1, SR_DUE, SR_STATUS, SR_START, SR_END, SR_WHO, SR_HASH, SR_SUMMARY, SR_ERROR,
       SR_PID, SR_PSTART, SR_HOST, SR_TRIGGER };

/* running, ok, failed, abandoned, missed, skipped */
typedef struct sched_run {
  kval schedule;       /* text */
  int64_t due;         /* Unix seconds */
  kval status;         /* text */
  int64_t start, end;  /* Unix milliseconds; 0 when not (yet) */
  kval who, hash, summary, error, host, trigger; /* text, or KV_NULL */
  int64_t pid, pstart; /* the claimer, while running */
} sched_run;

/* The run record of (name, due): 1 found (r filled), 0 not, <0 e set. */
int sched_get(MDB_txn *txn, kam_store *st, const char *name, int64_t due, sched_run *r, kam_err *e);
/* The latest run record of a schedule (the highest due): 1, 0 or <0. */
int sched_last(MDB_txn *txn, kam_store *st, const char *name, sched_run *r, kam_err *e);
/* Calls fn for each run of name (NULL: every schedule) whose due is at or
 * after since, oldest first per schedule; stops when fn returns nonzero. */
typedef int (*sched_fn)(void *ud, const sched_run *r, kam_err *e);
int sched_each(MDB_txn *txn, kam_store *st, const char *name, int64_t since, sched_fn fn, void *ud, kam_err *e);
/* Writes r; with claim set the put fails if (schedule, due) exists: then
 * *taken = 0 and nothing is written. */
int sched_put(MDB_txn *txn, kam_store *st, const sched_run *r, int claim, int *taken, kam_err *e);
/* When kam first saw the schedule: written as now the first time. */
int sched_seen(MDB_txn *txn, kam_store *st, const char *name, int64_t now, int64_t *since, kam_err *e);

/* This process's start time (clock ticks after boot, /proc/self/stat). */
int64_t sched_proc_start(void);
/* Whether the process (pid, its start time) still runs on this machine. */
int sched_alive(int64_t pid, int64_t pstart);

#endif
