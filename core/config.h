/* config.h — config/kam.yaml: which one is read, and its settings. People
 * are staff records (identity.h), not a list here. */
#ifndef KAM_CONFIG_H
#define KAM_CONFIG_H
#include "kerr.h"
#include "ydoc.h"
#include <stddef.h>

/* One entry of kam.yaml's `schedules:` (scheduler.h runs them). */
typedef struct kam_schedule {
  char *name;
  char *cron;            /* the expression as written */
  char **steps; int nsteps; /* `run`: scripts/X.lua [ARGS] or `policy NAME --commit`, in order */
  char *owner;           /* the staff id whose rights the job acts with */
  char *tz;              /* IANA zone; NULL: the book's */
  int catch_up;          /* SCHED_LATEST, SCHED_NONE, SCHED_ALL */
  int catch_n;           /* all N: at most N missed occurrences run */
  long deadline;         /* seconds a start may be late; 0: no limit */
  int line;              /* in kam.yaml, for messages */
} kam_schedule;
enum { SCHED_LATEST, SCHED_NONE, SCHED_ALL };

typedef struct kam_config {
  char path[1024];
  char root[1024];       /* the project folder: rules/, scripts/, config/ */
  char *db;              /* book path; kam.yaml's relative paths are from root */
  char *schema;          /* schema path, the same */
  int auth_trust;        /* `auth: trust`: --as is honoured for anyone */
  int utc_offset;        /* seconds: the zone's offset now, or a fixed `timezone: +07:00` */
  char *tz;              /* the book's IANA zone (Asia/Ho_Chi_Minh by default), NULL for a fixed offset */
  size_t map_size;       /* initial map size in bytes */
  double script_seconds; /* a script or chunk running longer is stopped (0: never) */
  double policy_seconds; /* the same for one evaluation of a policy */
  size_t memory_bytes;   /* the Lua heap may not grow past this (0: no cap) */
  size_t policy_memory_bytes; /* nor by more than this during one policy evaluation (0: no cap) */
  int unknown_read;      /* `unknown_logins: read`: a login no staff record names may read */
  char *access;          /* the access rules (config/access.yaml) */
  kam_schedule *sched; int nsched;
  ydoc doc;              /* kept for kam.config */
} kam_config;

/* Which kam.yaml to read, into path: `given` (--config), else $KAM_CONFIG,
 * else config/kam.yaml in the current folder or the nearest folder above
 * it, else the one installed with kam (PREFIX/share/kam/config/kam.yaml
 * beside PREFIX/bin/kam). A usage error (2) when there is none. */
int config_find(char *path, size_t n, const char *given, kam_err *e);
int config_load(kam_config **out, const char *path, kam_err *e);
void config_free(kam_config *c);

#endif
