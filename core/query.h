/* query.h — filters over a collection, planned onto an index when one fits.
 *
 * A query is a list of conditions (field, operator, values). qiter_open picks
 * the index whose leading fields are covered by the most equality (or `in`)
 * conditions, followed by at most one range; every condition is still checked
 * on each row, from the index entry when it holds the field, so the plan only
 * changes speed, never results. Rows stream from an LMDB cursor. */
#ifndef KAM_QUERY_H
#define KAM_QUERY_H
#include "kerr.h"
#include "keyenc.h"
#include "schema.h"
#include <lmdb.h>

typedef enum { Q_EQ, Q_NE, Q_GE, Q_GT, Q_LE, Q_LT, Q_IN, Q_BETWEEN } qop;
extern const char *const qop_names[];

typedef struct qcond {
  int field;
  qop op;
  int nv;
  kval *v;
} qcond;

/* A policy makes a few small queries per subject: those live in the struct
 * itself, so where{} allocates nothing; bigger ones spill to the heap. The
 * struct must not be moved once it holds conditions. */
#define Q_SMALL_CONDS 6
#define Q_SMALL_VALS 12
#define Q_SMALL_TEXT 256

typedef struct query {
  const coll_def *c;
  int ncond, cap;
  qcond *cond;
  int never; /* a condition no value can meet */
  int vals_used;
  size_t text_used;
  qcond cond_small[Q_SMALL_CONDS];
  kval val_small[Q_SMALL_VALS];
  char text_small[Q_SMALL_TEXT];
} query;

query *query_new(const coll_def *c);
query *query_clone(const query *q);
void query_free(query *q);
/* The same for a query that lives inside another struct. */
void query_init(query *q, const coll_def *c);
void query_copy(query *dst, const query *src); /* dst: not yet initialised */
void query_release(query *q);

/* Cursors kept open for the queries of one read transaction: a query takes
 * the one for its database and gives it back, so a run of small queries
 * opens no cursor and re-seeks from where the last one stopped. */
#define QC_MAX 8
typedef struct qcursors {
  MDB_txn *txn;
  int n;
  MDB_dbi dbi[QC_MAX];
  MDB_cursor *cur[QC_MAX];
} qcursors;
void qcursors_close(qcursors *qc); /* before or after its txn ends */
/* Adds a condition; values are copied and coerced to the field's type. */
int query_add(query *q, int field, qop op, const kval *vals, int nv, kam_err *e);
/* Checks a filter written as a Lua expression over c's fields (`tier == "Z"
 * and amount > 1e8`) as query_add checks a filter table: a field compared
 * with == or ~= to a text literal the field can never hold (a value outside
 * an enum, text for a number) is an error, not an empty answer. Only plain
 * comparisons are read; anything it cannot be sure of is left to Lua. */
int query_check_expr(const coll_def *c, const char *text, kam_err *e);

typedef struct qiter {
  const query *q;
  MDB_txn *txn;
  MDB_cursor *cur;
  int kind; /* plan */
  const index_def *ix;
  int eqn;         /* leading index fields fixed by equality */
  int range;       /* a range condition on index field eqn */
  const kval *lo, *hi;
  int lo_open, hi_open;
  kbuf prefixes;   /* one prefix per combination of `in` values */
  size_t *poff;
  int ncombo, combo;
  int started;
  /* current row */
  MDB_val key, val;  /* index entry, or id -> record for a primary scan */
  kval id;          /* the current row's id: read it through qiter_field */
  kval comp[IDX_MAXF];
  char idbuf[KEY_ID_MAX]; /* the id of an index entry, unpacked */
  char compbuf[IDX_MAXF][KEY_ID_MAX]; /* its refs, unpacked (comp points here) */
  kval rangev;       /* the range part of the current key (range scans), read alone */
  char rangebuf[KEY_ID_MAX];
  const uint8_t *idp; /* where the packed id starts in key, once decoded */
  const uint8_t *tail; /* past the parts the scan has read (the prefix, the range part) */
  int tail_part;       /* the first part after tail */
  int decoded;       /* comp holds the current index key's parts */
  int id_ready;      /* id holds the current row's id */
  int rec_loaded;
  MDB_val rec;
  int scanned;       /* entries visited (for tests of the plan) */
  unsigned char *skip; /* conditions the scan itself guarantees */
  unsigned char *bounded; /* range conditions the scan guarantees unless the key holds a cut string */
  qcursors *cache;   /* where the cursor came from and goes back to */
  MDB_dbi dbi;
  size_t poff_small[9];
  unsigned char skip_small[2 * 32];
} qiter;

enum { PLAN_SCAN, PLAN_IDS, PLAN_INDEX };

/* want: a field the caller will read from every row (-1 if none); an index
 * that carries it is preferred. */
int qiter_open(qiter *it, MDB_txn *txn, const query *q, int want, kam_err *e);
/* The same, with a cursor from cache (may be NULL; its txn must be txn). */
int qiter_open_cached(qiter *it, MDB_txn *txn, const query *q, int want, qcursors *cache, kam_err *e);
/* 1: a row; 0: done; <0: error (e set). */
int qiter_next(qiter *it, kam_err *e);
void qiter_close(qiter *it);
/* A field of the current row, from the index entry when it holds it. Returns
 * 1 and sets *out (KV_NULL when absent), or <0 on error. A string in *out
 * points into LMDB's map or the iterator's decoded key: valid until the next
 * qiter_next or qiter_close, and never after the txn ends. */
int qiter_field(qiter *it, int field, kval *out, kam_err *e);
/* The current row's record (fetched once): valid as store_get's, until the
 * next qiter_next, qiter_close or the end of the txn. */
int qiter_record(qiter *it, MDB_val *rec, kam_err *e);
/* For a plan that is one range on an index's first field: the share of the
 * index's entries the range spans, were they spread evenly between its
 * first and last value (numbers, dates, times); -1 for any other plan or
 * type. Moves the cursor: before the first qiter_next only. */
double qiter_range_share(qiter *it);
/* For an index plan: its entries under the equal values' prefixes, the
 * conditions unchecked, counted up to max. Moves the cursor: before the
 * first qiter_next only. */
size_t qiter_count_prefix(qiter *it, size_t max);
/* A description of the plan, for `explain`. */
void qiter_explain(const qiter *it, kbuf *out);

/* Does a value meet one condition? */
int qcond_match(const qcond *c, const kval *v);

#endif
