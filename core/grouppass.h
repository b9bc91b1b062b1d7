/* grouppass.h — a query's rows grouped by the field that leads an index
 * (and, within each group, by a second field the index holds), aggregated
 * in C in one cursor pass over that index.
 *
 * group() visits rows one by one and updates a Lua table for each; a pass
 * reads the entries of an index led by the group key, in order, so a
 * group's rows come together: one cursor step per entry, no record read,
 * no Lua value until the groups are done. Where a range on the index's
 * second field leaves part of a group out, the pass skips it on the
 * entries' bytes and seeks past it. Every condition is still checked on
 * every entry it keeps (qcond_match, as a query does), so the groups are
 * the ones visiting the query's rows would give. */
#ifndef KAM_GROUPPASS_H
#define KAM_GROUPPASS_H
#include "query.h"

typedef enum { GP_COUNT, GP_SUM, GP_MIN, GP_MAX } gp_kind;
typedef struct gp_agg { gp_kind kind; int field; } gp_agg; /* field -1 for a count */

/* One aggregate of one group, computed as count(), sum(), min() and max()
 * compute it: a sum stays an integer until it would overflow; a row without
 * the value is skipped (n counts those with one); best is the min or max. */
typedef struct gp_acc {
  int is_int;
  int64_t isum;
  double nsum;
  int64_t n;
  int have;
  kval best;
} gp_acc;

#define GP_MAX_AGGS 16
#define GP_MAX_SUBS 64 /* second-key values within one group */

/* The index a pass over q grouped by gfield (and sub, a field or -1) would
 * read, or NULL: led by gfield, holding sub, every field q's conditions
 * read and every aggregate's field. q must have no condition on gfield. */
const index_def *grouppass_index(const query *q, int gfield, int sub, const gp_agg *a, int nagg);

/* The groups, kept in C (no Lua error can come while the pass holds its
 * cursor). A text's bytes live in the result. */
typedef struct gp_result {
  size_t n, cap;
  int nagg;
  kval *key, *sub;  /* sub: KV_NULL without a second key */
  int64_t *rows;    /* rows that met the conditions */
  gp_acc *acc;      /* n * nagg */
  kbuf arena;
} gp_result;

enum {
  GP_CUT = 1,      /* a key is a text cut short in the index: the pass cannot tell groups apart */
  GP_TOO_MANY = 2, /* more than max_groups, or than GP_MAX_SUBS in a group */
};
/* Runs the pass into *out (zeroed first). Returns 0; GP_CUT or
 * GP_TOO_MANY, keeping nothing (the caller visits the rows instead); what
 * stop returned when it asked to stop (stop, when given, is asked every few
 * thousand entries: a long pass ends at Ctrl-C); or <0 on an LMDB error (e
 * set). */
int grouppass_collect(MDB_txn *txn, const query *q, const index_def *ix, int gfield, int sub, const gp_agg *a,
                      int nagg, size_t max_groups, int (*stop)(void), gp_result *out, kam_err *e);
/* The same pass, shared among threads when the index is long (at least
 * GP_PART_MIN entries a thread) and txn only reads: the index is cut at
 * group boundaries into stretches, each read by a thread in a read
 * transaction of its own on the same version of the book, and their groups
 * put together in order. A group is never cut, so every group is the one
 * one pass gives, to the last digit. Anything else: as grouppass_collect. */
#define GP_MAX_PARTS 8
#define GP_PART_MIN 100000
int grouppass_collect_parts(MDB_txn *txn, int read_only, const query *q, const index_def *ix, int gfield, int subf,
                            const gp_agg *a, int nagg, size_t max_groups, int (*stop)(void), gp_result *out,
                            kam_err *e);
/* How many threads a pass over ix would take (1: one pass, not shared). */
int grouppass_parts(MDB_txn *txn, int read_only, const index_def *ix);
/* How many threads a pass may take (1: never shared); by default the
 * processors online, at most GP_MAX_PARTS. A process that is itself one
 * of several sharing the work takes 1. */
void grouppass_set_parts(int n);
/* The same from KAM_THREADS when it is set: 0, or a usage error naming it
 * when it is not a whole number of 1 or more (more than GP_MAX_PARTS is
 * GP_MAX_PARTS). */
int grouppass_parts_from_env(kam_err *e);
/* The same groups from the rows of q's own plan (any plan: a scan, an index
 * range), aggregated in a hash in C as they come: no Lua value per row, and
 * each group's rows added in the order visiting them would add them. No
 * index is needed; keys and aggregates are read as a query reads fields.
 * Returns as grouppass_collect (never GP_CUT). */
int grouppass_collect_rows(MDB_txn *txn, const query *q, int gfield, int subf, const gp_agg *a, int nagg,
                           size_t max_groups, int (*stop)(void), gp_result *out, kam_err *e);
/* Group i's key, second key, and aggregate j; valid until r is freed. */
kval gp_result_key(const gp_result *r, size_t i);
kval gp_result_sub(const gp_result *r, size_t i);
gp_acc gp_result_acc(const gp_result *r, size_t i, int j);
void gp_result_free(gp_result *r);

#endif
