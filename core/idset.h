/* idset.h — every id of a collection in a hash set, for the ref checks of a
 * bulk load.
 *
 * Checking a ref is then a hash probe instead of a B-tree search per row
 * (20M searches for 10M invoices with two refs each). The set is loaded
 * once, when a ref to its collection is first checked; ids the load writes
 * join it after.
 *
 * A zeroed idset is empty and not loaded. Ids are copied in; nothing the
 * set returns points into it. */
#ifndef KAM_IDSET_H
#define KAM_IDSET_H
#include "bulk.h"

/* 32 bytes: one probe reads one cache line. */
typedef struct idslot {
  uint32_t hash;     /* 0: empty */
  uint8_t len;       /* 0xFF: the id is in the arena (long ids) */
  char id[27];
} idslot;

/* The fields are idset.c's, but for loaded, which the caller may read. */
typedef struct idset {
  idslot *slot;
  size_t cap, n;
  bulk_list arena;   /* ids longer than idslot.id */
  int loaded;        /* idset_load was called */
} idset;

/* Adds every key of dbi (a collection's table) as seen by txn, and marks
 * the set loaded. A cursor that cannot be opened leaves it loaded and
 * without those keys. */
void idset_load(idset *s, MDB_txn *txn, MDB_dbi dbi);
/* 1 if the id is in the set, else 0. */
int idset_has(const idset *s, const char *id, size_t n);
/* Asks the CPU for the slot idset_has(s, id, n) will read first. A set of
 * 100k clients is megabytes, read at random: a reader that knows an id a
 * row's worth of work before it is checked hides the wait for memory. */
void idset_prefetch(const idset *s, const char *id, size_t n);
/* Adds a copy of the id (once: an id already there is left as it is). */
void idset_add(idset *s, const char *id, size_t n);
/* Frees the set; it is empty and not loaded again. */
void idset_free(idset *s);

#endif
