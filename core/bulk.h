/* bulk.h — the index entries of a bulk load, sorted and written in order.
 *
 * A bulk load (kam import) does not put index entries into LMDB row by row,
 * where every put searches a B-tree from the root: it copies them here,
 * sorts them in blocks on a second thread while rows are still being read,
 * and at the end merges the sorted blocks into each index in key order, so
 * that an empty index is written with MDB_APPEND.
 *
 * A zeroed bulk_list or bulk_index is empty and ready; one bulk_sorter
 * serves every index of a load.
 *
 * Ownership and lifetimes: the add functions copy the bytes they are given.
 * An entry's bytes belong to its list or index and stay put (they never
 * move) until that list or index is freed. A block handed to the sorter is
 * sorted in place on the sorter's thread: from the add that fills it (or
 * bulk_index_finish) until bulk_index_wait or bulk_sorter_stop returns,
 * the index may be added to but not read, written or freed. */
#ifndef KAM_BULK_H
#define KAM_BULK_H
#include "store.h"
#include <pthread.h>

/* A key and its value, stored back to back at p. */
typedef struct bulk_entry {
  const uint8_t *p;
  uint32_t klen, vlen;
} bulk_entry;

typedef struct bulk_chunk bulk_chunk;

/* Entries in the order they were added (e[0..n-1]), their bytes in chunks
 * of 4 MiB or more: one malloc per chunk, not per entry. */
typedef struct bulk_list {
  bulk_entry *e;
  size_t n, cap;
  bulk_chunk *chunks;
} bulk_list;

/* Appends a copy of k and v (v may be NULL when vl is 0) as e[n]. */
void bulk_list_add(bulk_list *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);
/* Frees the entries and their bytes; the list is empty again. */
void bulk_list_free(bulk_list *b);

/* The thread that sorts full blocks while the load goes on. Its fields are
 * bulk.c's. */
typedef struct bulk_sorter {
  pthread_t th;
  int running, quit;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct { bulk_entry *e; size_t n; int done; } *q;
  size_t nq, capq, next;
  bulk_entry *tmp; /* the waiting thread's scratch, when it sorts too */
} bulk_sorter;

/* Starts the thread. Should it not start, every block is sorted on the
 * caller's thread as it is handed over, which is slower but the same. */
void bulk_sorter_start(bulk_sorter *so);
/* Sorts what is still queued, ends the thread and frees the sorter's own
 * memory (not the blocks: they are their indexes'). Call it before freeing
 * an index with blocks in the queue, also when the load failed. */
void bulk_sorter_stop(bulk_sorter *so);

/* The entries of one index. n (entries added) may be read; the other
 * fields are bulk.c's. */
typedef struct bulk_index {
  bulk_entry **blocks;
  size_t nblocks, capblocks, n;
  size_t last_job;   /* 1 + the sorter's queue position of its last block */
  bulk_list bytes;   /* key and value bytes (only its chunks are used) */
} bulk_index;

/* Adds a copy of an entry; a block that becomes full goes to the sorter. */
void bulk_index_add(bulk_index *b, bulk_sorter *so, const uint8_t *k, size_t kl,
                    const uint8_t *v, size_t vl);
/* Hands the last, partial block to the sorter: once per index, after its
 * last add. */
void bulk_index_finish(bulk_index *b, bulk_sorter *so);
/* Returns once the index's blocks are sorted (after bulk_index_finish),
 * sorting queued blocks on the caller's thread meanwhile: the first index
 * can be written while the sorter still sorts the next. */
void bulk_index_wait(bulk_index *b, bulk_sorter *so);
/* Puts every entry into the index's table in key order, after
 * bulk_index_wait. MDB_APPEND when the table is
 * empty, plain puts otherwise; an entry already there is overwritten. 0, or
 * an LMDB failure in e (KAM_EFULL: the map is full): the txn must then be
 * aborted. The entries stay until bulk_index_free. */
int bulk_index_write(bulk_index *b, MDB_txn *txn, const index_def *ix, kam_err *e);
/* Frees the blocks and bytes; the index is empty again. */
void bulk_index_free(bulk_index *b);

#endif
