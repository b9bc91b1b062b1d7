/* bulk.c — index entries of a bulk load: copied into chunks, sorted in
 * blocks on a second thread, merged into LMDB in key order. See bulk.h. */
#include "bulk.h"
#include <stdlib.h>
#include <string.h>

/* ---- entries in chunks ----------------------------------------------------- */

struct bulk_chunk { struct bulk_chunk *next; size_t used, cap; uint8_t data[]; };

static uint8_t *chunk_alloc(bulk_list *b, size_t n) {
  if (!b->chunks || b->chunks->used + n > b->chunks->cap) {
    size_t cap = n > (1u << 22) ? n : (1u << 22);
    bulk_chunk *c = malloc(sizeof *c + cap);
    if (!c) abort();
    c->next = b->chunks;
    c->used = 0;
    c->cap = cap;
    b->chunks = c;
  }
  uint8_t *p = b->chunks->data + b->chunks->used;
  b->chunks->used += n;
  return p;
}

/* Copies k and v into b's chunks, back to back, and describes them in *e. */
static void entry_copy(bulk_list *b, bulk_entry *e, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  uint8_t *p = chunk_alloc(b, kl + vl);
  memcpy(p, k, kl);
  if (vl) memcpy(p + kl, v, vl);
  e->p = p;
  e->klen = (uint32_t)kl;
  e->vlen = (uint32_t)vl;
}

void bulk_list_add(bulk_list *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 4096;
    b->e = realloc(b->e, sizeof *b->e * b->cap);
    if (!b->e) abort();
  }
  entry_copy(b, &b->e[b->n], k, kl, v, vl);
  b->n++;
}

void bulk_list_free(bulk_list *b) {
  for (bulk_chunk *c = b->chunks, *n; c; c = n) { n = c->next; free(c); }
  free(b->e);
  memset(b, 0, sizeof *b);
}

/* ---- sorting --------------------------------------------------------------- */

static inline int ent_cmp(const bulk_entry *a, const bulk_entry *b, size_t d) {
  size_t n = (a->klen < b->klen ? a->klen : b->klen);
  if (d < n) {
    int c = memcmp(a->p + d, b->p + d, n - d);
    if (c) return c;
  }
  return (a->klen > b->klen) - (a->klen < b->klen);
}

static inline int byte_at(const bulk_entry *e, size_t d) { return d < e->klen ? e->p[d] : -1; }

/* MSD radix sort on key bytes: index keys share long prefixes, where
 * comparison sorts pay for every common byte again. */
static void radix_sort(bulk_entry *a, bulk_entry *tmp, size_t n, size_t d) {
  while (n > 32) {
    size_t count[258] = {0};
    for (size_t i = 0; i < n; i++) count[byte_at(&a[i], d) + 2]++;
    if (count[1] == 0) { /* every key has this byte: skip the pass if all equal */
      size_t nz = 0;
      for (int k = 2; k < 258; k++) nz += count[k] != 0;
      if (nz == 1) { d++; continue; }
    }
    size_t start[257];
    start[0] = 0;
    for (int k = 1; k < 257; k++) start[k] = start[k - 1] + count[k];
    size_t pos[257];
    memcpy(pos, start, sizeof pos);
    for (size_t i = 0; i < n; i++) tmp[pos[byte_at(&a[i], d) + 1]++] = a[i];
    memcpy(a, tmp, sizeof *a * n);
    for (int k = 1; k < 257; k++) {
      size_t m = (k < 256 ? start[k + 1] : n) - start[k];
      if (m > 1) radix_sort(a + start[k], tmp, m, d + 1);
    }
    return;
  }
  for (size_t i = 1; i < n; i++) { /* insertion sort for small runs */
    bulk_entry t = a[i];
    size_t j = i;
    while (j > 0 && ent_cmp(&a[j - 1], &t, d) > 0) { a[j] = a[j - 1]; j--; }
    a[j] = t;
  }
}

/* Index entries come in blocks of RUN: a full block is sorted at once on the
 * second thread while this one goes on reading rows. */
#define RUN ((size_t)1 << 18)

/* Takes the next queued block and sorts it, the lock held on entry and on
 * return. */
static void sort_next(bulk_sorter *so, bulk_entry *tmp) {
  size_t j = so->next++;
  bulk_entry *e = so->q[j].e;
  size_t n = so->q[j].n;
  pthread_mutex_unlock(&so->mu);
  radix_sort(e, tmp, n, 0);
  pthread_mutex_lock(&so->mu);
  so->q[j].done = 1;
  pthread_cond_broadcast(&so->cv);
}

static void *sorter_main(void *arg) {
  bulk_sorter *so = arg;
  bulk_entry *tmp = malloc(sizeof *tmp * RUN);
  pthread_mutex_lock(&so->mu);
  for (;;) {
    while (so->next == so->nq && !so->quit) pthread_cond_wait(&so->cv, &so->mu);
    if (so->next == so->nq) break;
    sort_next(so, tmp);
  }
  pthread_mutex_unlock(&so->mu);
  free(tmp);
  return NULL;
}

void bulk_sorter_start(bulk_sorter *so) {
  memset(so, 0, sizeof *so);
  pthread_mutex_init(&so->mu, NULL);
  pthread_cond_init(&so->cv, NULL);
  so->running = pthread_create(&so->th, NULL, sorter_main, so) == 0;
}

/* Sorts a block, on the second thread when there is one. Returns 1 + its
 * position in the queue (0: sorted already). */
static size_t sorter_submit(bulk_sorter *so, bulk_entry *e, size_t n) {
  if (!so->running) {
    bulk_entry *tmp = malloc(sizeof *tmp * (n ? n : 1));
    radix_sort(e, tmp, n, 0);
    free(tmp);
    return 0;
  }
  pthread_mutex_lock(&so->mu);
  if (so->nq == so->capq) {
    so->capq = so->capq ? so->capq * 2 : 64;
    so->q = realloc(so->q, sizeof *so->q * so->capq);
  }
  so->q[so->nq].e = e;
  so->q[so->nq].n = n;
  so->q[so->nq].done = 0;
  size_t job = ++so->nq;
  pthread_cond_broadcast(&so->cv);
  pthread_mutex_unlock(&so->mu);
  return job;
}

void bulk_index_wait(bulk_index *b, bulk_sorter *so) {
  if (!so->running || !b->last_job) return;
  pthread_mutex_lock(&so->mu);
  for (size_t j = 0; j < b->last_job;) {
    if (so->q[j].done) { j++; continue; }
    if (so->next < b->last_job) { /* a block of this index or before it: sort it here */
      if (!so->tmp) so->tmp = malloc(sizeof *so->tmp * RUN);
      if (so->tmp) { sort_next(so, so->tmp); continue; }
    }
    pthread_cond_wait(&so->cv, &so->mu);
  }
  pthread_mutex_unlock(&so->mu);
}

void bulk_sorter_stop(bulk_sorter *so) {
  if (so->running) {
    pthread_mutex_lock(&so->mu);
    so->quit = 1;
    pthread_cond_broadcast(&so->cv);
    pthread_mutex_unlock(&so->mu);
    pthread_join(so->th, NULL);
  }
  pthread_mutex_destroy(&so->mu);
  pthread_cond_destroy(&so->cv);
  free(so->q);
  free(so->tmp);
  memset(so, 0, sizeof *so);
}

/* ---- an index's entries ---------------------------------------------------- */

void bulk_index_add(bulk_index *b, bulk_sorter *so, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  size_t at = b->n % RUN;
  if (at == 0) {
    if (b->nblocks == b->capblocks) {
      b->capblocks = b->capblocks ? b->capblocks * 2 : 8;
      b->blocks = realloc(b->blocks, sizeof *b->blocks * b->capblocks);
    }
    b->blocks[b->nblocks++] = malloc(sizeof(bulk_entry) * RUN);
  }
  entry_copy(&b->bytes, &b->blocks[b->nblocks - 1][at], k, kl, v, vl);
  b->n++;
  if (b->n % RUN == 0) b->last_job = sorter_submit(so, b->blocks[b->nblocks - 1], RUN);
}

void bulk_index_finish(bulk_index *b, bulk_sorter *so) {
  if (b->n % RUN) b->last_job = sorter_submit(so, b->blocks[b->nblocks - 1], b->n % RUN);
}

void bulk_index_free(bulk_index *b) {
  for (size_t i = 0; i < b->nblocks; i++) free(b->blocks[i]);
  free(b->blocks);
  bulk_list_free(&b->bytes);
  memset(b, 0, sizeof *b);
}

/* ---- the merge into LMDB ----------------------------------------------------- */

/* The sorted blocks are merged with a small heap of their heads. */
#define PREFETCH 8
typedef struct mhead { const bulk_entry *e; size_t left; } mhead;

static int mhead_less(const mhead *a, const mhead *b) { return ent_cmp(a->e, b->e, 0) < 0; }

static void heap_down(mhead *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && mhead_less(&h[l], &h[m])) m = l;
    if (r < n && mhead_less(&h[r], &h[m])) m = r;
    if (m == i) return;
    mhead t = h[i]; h[i] = h[m]; h[m] = t;
    i = m;
  }
}

int bulk_index_write(bulk_index *b, MDB_txn *txn, const index_def *ix, kam_err *e) {
  MDB_stat st;
  mdb_stat(txn, ix->dbi, &st);
  unsigned fl = st.ms_entries == 0 ? MDB_APPEND : 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, ix->dbi, &cur);
  if (rc) return lmdb_err(e, rc, ix->name);
  mhead *h = malloc(sizeof *h * (b->nblocks + 1));
  size_t nh = 0;
  for (size_t i = 0; i < b->nblocks; i++) {
    size_t cnt = i + 1 < b->nblocks || b->n % RUN == 0 ? RUN : b->n % RUN;
    h[nh].e = b->blocks[i];
    h[nh].left = cnt;
    nh++;
  }
  for (size_t i = nh; i-- > 0;) heap_down(h, nh, i);
  while (nh && !rc) {
    const bulk_entry *x = h[0].e;
    /* entries are in key order, their bytes in the order they came: fetch
     * the key of a put eight entries ahead */
    if (h[0].left > PREFETCH) __builtin_prefetch(x[PREFETCH].p);
    MDB_val key = {x->klen, (void *)x->p}, v = {x->vlen, (void *)(x->p + x->klen)};
    rc = mdb_cursor_put(cur, &key, &v, fl);
    if (rc == MDB_KEYEXIST && fl) rc = mdb_cursor_put(cur, &key, &v, 0);
    if (rc) { rc = lmdb_err(e, rc, ix->name); break; }
    if (--h[0].left) h[0].e++;
    else h[0] = h[--nh];
    heap_down(h, nh, 0);
  }
  free(h);
  mdb_cursor_close(cur);
  return rc;
}
