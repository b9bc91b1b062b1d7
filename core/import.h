/* import.h — YAML, CSV and JSON files into the book, all or nothing.
 *
 * One import is one write transaction. Every row is converted and checked
 * against the schema; a bad row is reported with file:line:column (or the
 * entity and field) and nothing is written. Refs may point to rows later in
 * the same import. Records append in id order and index entries are sorted
 * before they are written, which is what makes a large import fast.
 *
 * Input that would lie is refused, located: JSON is read by RFC 8259 alone
 * (one document per file, no key twice, text without \u0000 and in UTF-8,
 * whole numbers exact, i.e. at most 2^53), lists and maps deeper than 32
 * levels, ids of another collection's form, values too long for an index
 * key; YAML as ydoc.h loads it (aliases capped, one document). */
#ifndef KAM_IMPORT_H
#define KAM_IMPORT_H
#include "store.h"
#include <stdio.h>

/* Who may import what (access.h): `coll` is asked once per collection,
 * before its first row is written; nonzero refuses the whole import (e
 * set, KAM_EPERM). When it sets *each_row, every row of that collection is
 * then asked of `row` as the insert it is. */
typedef struct import_access {
  int (*coll)(void *ud, const coll_def *c, int *each_row, kam_err *e);
  int (*row)(void *ud, MDB_txn *txn, const coll_def *c, const kval *vals, kam_err *e);
  void *ud;
} import_access;

/* The write guards (guard.h) over an import's rows, as the inserts they
 * are: watches once per collection (0 and *yes, or an error); before on a
 * row that passed every check, which may change its values (kbufs, one per
 * field, hold what it converts) and returns in *res what after must do
 * once the row is written (-2: nothing); begin when an attempt begins (the
 * import is replayed when the map grows). */
typedef struct import_guard {
  int (*watches)(void *ud, const coll_def *c, int *yes, kam_err *e);
  int (*before)(void *ud, MDB_txn *txn, const coll_def *c, kval *vals, kbuf *bufs, int *res, int *changed, kam_err *e);
  int (*after)(void *ud, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen, int res, kam_err *e);
  void (*begin)(void *ud);
  void *ud;
} import_guard;

typedef struct import_opts {
  const char *into;   /* collection for CSV/JSON lists (default: the file's name) */
  int dry_run;
  const kam_actor *actor; /* for the audit */
  int max_errors;     /* errors reported before giving up (default 10) */
  const import_access *access; /* NULL: no checks (a scratch book) */
  const import_guard *guard;   /* NULL: no write guards */
} import_opts;

typedef struct import_stats {
  long rows;
  long per_coll[256];
} import_stats;

/* Imports the files (their names end .csv, .tsv, .yaml, .yml or .json),
 * each read whole first, in one write transaction of its own: the caller
 * holds none on st, as the map may have to grow. 0 and *stats (if not
 * NULL; per_coll by collection position) filled, nothing written with
 * dry_run; else nothing is written and e holds the errors, each after the
 * first on a line of its own that begins "kam: ". */
int import_files(kam_store *st, char *const *files, int nfiles, const import_opts *o,
                 import_stats *stats, kam_err *e);

#endif
