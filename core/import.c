/* import.c — see import.h. */
#include "import.h"
#include "keyenc.h"
#include "kdate.h"
#include "ydoc.h"
#include <cjson/cJSON.h>
#include <csv.h>
#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- index entries, buffered and sorted -------------------------------- */

typedef struct ientry { const uint8_t *p; uint32_t klen, vlen; } ientry;

typedef struct chunk { struct chunk *next; size_t used, cap; uint8_t data[]; } chunk;

typedef struct ibuf {
  ientry *e;
  size_t n, cap;
  chunk *chunks;
} ibuf;

static uint8_t *ibuf_alloc(ibuf *b, size_t n) {
  if (!b->chunks || b->chunks->used + n > b->chunks->cap) {
    size_t cap = n > (1u << 22) ? n : (1u << 22);
    chunk *c = malloc(sizeof *c + cap);
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

static void ibuf_add(ibuf *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 4096;
    b->e = realloc(b->e, sizeof *b->e * b->cap);
    if (!b->e) abort();
  }
  uint8_t *p = ibuf_alloc(b, kl + vl);
  memcpy(p, k, kl);
  if (vl) memcpy(p + kl, v, vl);
  b->e[b->n].p = p;
  b->e[b->n].klen = (uint32_t)kl;
  b->e[b->n].vlen = (uint32_t)vl;
  b->n++;
}

static void ibuf_free(ibuf *b) {
  for (chunk *c = b->chunks, *n; c; c = n) { n = c->next; free(c); }
  free(b->e);
  memset(b, 0, sizeof *b);
}

static inline int ent_cmp(const ientry *a, const ientry *b, size_t d) {
  size_t n = (a->klen < b->klen ? a->klen : b->klen);
  if (d < n) {
    int c = memcmp(a->p + d, b->p + d, n - d);
    if (c) return c;
  }
  return (a->klen > b->klen) - (a->klen < b->klen);
}

static inline int byte_at(const ientry *e, size_t d) { return d < e->klen ? e->p[d] : -1; }

/* MSD radix sort on key bytes: index keys share long prefixes, where
 * comparison sorts pay for every common byte again. */
static void radix_sort(ientry *a, ientry *tmp, size_t n, size_t d) {
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
    ientry t = a[i];
    size_t j = i;
    while (j > 0 && ent_cmp(&a[j - 1], &t, d) > 0) { a[j] = a[j - 1]; j--; }
    a[j] = t;
  }
}

/* Index entries of a bulk load, in blocks of RUN entries. A full block is
 * sorted at once on a second thread while this one goes on reading rows;
 * at the end the sorted blocks are merged straight into LMDB, in order, so
 * every index is written with MDB_APPEND. */
#define RUN ((size_t)1 << 20)

typedef struct ixbuf {
  ientry **blocks;
  size_t nblocks, capblocks, n;
  ibuf bytes;        /* key and value bytes (only its arena is used) */
} ixbuf;

typedef struct sorter {
  pthread_t th;
  int running, quit;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct { ientry *e; size_t n; } *q;
  size_t nq, capq, next, done;
} sorter;

static void *sorter_main(void *arg) {
  sorter *so = arg;
  ientry *tmp = malloc(sizeof *tmp * RUN);
  pthread_mutex_lock(&so->mu);
  for (;;) {
    while (so->next == so->nq && !so->quit) pthread_cond_wait(&so->cv, &so->mu);
    if (so->next == so->nq) break;
    ientry *e = so->q[so->next].e;
    size_t n = so->q[so->next].n;
    so->next++;
    pthread_mutex_unlock(&so->mu);
    radix_sort(e, tmp, n, 0);
    pthread_mutex_lock(&so->mu);
    so->done++;
    pthread_cond_broadcast(&so->cv);
  }
  pthread_mutex_unlock(&so->mu);
  free(tmp);
  return NULL;
}

static void sorter_start(sorter *so) {
  memset(so, 0, sizeof *so);
  pthread_mutex_init(&so->mu, NULL);
  pthread_cond_init(&so->cv, NULL);
  so->running = pthread_create(&so->th, NULL, sorter_main, so) == 0;
}

/* Sorts a block, on the second thread when there is one. */
static void sorter_submit(sorter *so, ientry *e, size_t n) {
  if (!so->running) {
    ientry *tmp = malloc(sizeof *tmp * (n ? n : 1));
    radix_sort(e, tmp, n, 0);
    free(tmp);
    return;
  }
  pthread_mutex_lock(&so->mu);
  if (so->nq == so->capq) {
    so->capq = so->capq ? so->capq * 2 : 64;
    so->q = realloc(so->q, sizeof *so->q * so->capq);
  }
  so->q[so->nq].e = e;
  so->q[so->nq].n = n;
  so->nq++;
  pthread_cond_broadcast(&so->cv);
  pthread_mutex_unlock(&so->mu);
}

static void sorter_wait(sorter *so) {
  if (!so->running) return;
  pthread_mutex_lock(&so->mu);
  while (so->done < so->nq) pthread_cond_wait(&so->cv, &so->mu);
  pthread_mutex_unlock(&so->mu);
}

static void sorter_stop(sorter *so) {
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
  memset(so, 0, sizeof *so);
}

static void ixbuf_add(ixbuf *b, sorter *so, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  size_t at = b->n % RUN;
  if (at == 0) {
    if (b->nblocks == b->capblocks) {
      b->capblocks = b->capblocks ? b->capblocks * 2 : 8;
      b->blocks = realloc(b->blocks, sizeof *b->blocks * b->capblocks);
    }
    b->blocks[b->nblocks++] = malloc(sizeof(ientry) * RUN);
  }
  uint8_t *p = ibuf_alloc(&b->bytes, kl + vl);
  memcpy(p, k, kl);
  if (vl) memcpy(p + kl, v, vl);
  ientry *e = &b->blocks[b->nblocks - 1][at];
  e->p = p;
  e->klen = (uint32_t)kl;
  e->vlen = (uint32_t)vl;
  b->n++;
  if (b->n % RUN == 0) sorter_submit(so, b->blocks[b->nblocks - 1], RUN);
}

/* the last, partial block */
static void ixbuf_finish(ixbuf *b, sorter *so) {
  if (b->n % RUN) sorter_submit(so, b->blocks[b->nblocks - 1], b->n % RUN);
}

static void ixbuf_free(ixbuf *b) {
  for (size_t i = 0; i < b->nblocks; i++) free(b->blocks[i]);
  free(b->blocks);
  ibuf_free(&b->bytes);
  memset(b, 0, sizeof *b);
}

/* Merges the sorted blocks into the index with a small heap of block heads. */
typedef struct mhead { const ientry *e; size_t left; } mhead;

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

static int ixbuf_write(ixbuf *b, MDB_txn *txn, const index_def *ix, kam_err *e) {
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
    const ientry *x = h[0].e;
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

/* KAM_TRACE=1 prints how long each phase took, for profiling large imports */
static double trace_t0;
static void trace(const char *what) {
  static int on = -1;
  if (on < 0) on = getenv("KAM_TRACE") != NULL;
  if (!on) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  if (trace_t0 == 0) trace_t0 = t;
  fprintf(stderr, "[%8.3f s] %s\n", t - trace_t0, what);
}

/* ---- sets of ids, for ref checks --------------------------------------- */

/* Every id of a referenced collection, loaded once: checking a ref is then a
 * hash probe instead of a B-tree search per row (20M searches for 10M
 * invoices with two refs each). Ids written by the import join the set. */
typedef struct idslot {
  uint32_t hash;     /* 0: empty */
  uint8_t len;       /* 0xFF: the id is in the arena (long ids) */
  char id[27];
} idslot;           /* 32 bytes: one probe, one cache line */

typedef struct idset {
  idslot *slot;
  size_t cap, n;
  ibuf arena;        /* long ids */
  int loaded;
} idset;

static unsigned hash_str(const char *s, size_t n);

static int slot_is(const idset *s, const idslot *sl, const char *id, size_t n) {
  if (sl->len != 0xFF) return sl->len == n && !memcmp(sl->id, id, n);
  uint32_t at;
  memcpy(&at, sl->id, 4);
  const ientry *e = &s->arena.e[at];
  return e->klen == n && !memcmp(e->p, id, n);
}

static int idset_has(const idset *s, const char *id, size_t n, unsigned h) {
  if (!s->cap) return 0;
  h |= 1; /* never 0 */
  for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    const idslot *sl = &s->slot[i];
    if (!sl->hash) return 0;
    if (sl->hash == h && slot_is(s, sl, id, n)) return 1;
  }
}

static void idset_add(idset *s, const char *id, size_t n) {
  unsigned h = hash_str(id, n) | 1;
  if (idset_has(s, id, n, h)) return;
  if ((s->n + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    idslot *slot = calloc(cap, sizeof *slot);
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slot[i].hash) continue;
      size_t j = s->slot[i].hash & (cap - 1);
      while (slot[j].hash) j = (j + 1) & (cap - 1);
      slot[j] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
  }
  size_t j = h & (s->cap - 1);
  while (s->slot[j].hash) j = (j + 1) & (s->cap - 1);
  idslot *sl = &s->slot[j];
  sl->hash = h;
  if (n <= sizeof sl->id) {
    sl->len = (uint8_t)n;
    memcpy(sl->id, id, n);
  } else {
    uint32_t at = (uint32_t)s->arena.n;
    ibuf_add(&s->arena, (const uint8_t *)id, n, NULL, 0);
    sl->len = 0xFF;
    memcpy(sl->id, &at, 4);
  }
  s->n++;
}

static void idset_free(idset *s) {
  free(s->slot);
  ibuf_free(&s->arena);
  memset(s, 0, sizeof *s);
}

/* ---- the import -------------------------------------------------------- */

typedef struct coll_state {
  ixbuf *ix;         /* one per index */
  kbuf last_id;      /* append while ids ascend past everything stored */
  uint64_t max_seq;  /* highest id number seen, for the collection's sequence */
  int can_append;
  long rows;
  int touched;
} coll_state;

typedef struct pending_ref {
  int coll, field;
  char *value;
  char *at;
} pending_ref;

typedef struct imp {
  kam_store *st;
  MDB_txn *txn;
  const import_opts *o;
  coll_state *cs;
  kam_err *e;
  kbuf errs;
  int nerr, max_err;
  long rows;
  char now[40];
  kbuf rec, kb, vb;
  rec_builder rb;
  pending_ref *pend;
  size_t npend, cappend;
  idset *ids;        /* per collection, loaded when first referenced */
  sorter sorter;
  int fatal;
} imp;


static void add_error(imp *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(imp *m, const char *fmt, ...) {
  m->nerr++;
  if (m->nerr > m->max_err) return;
  char msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (m->errs.len) kbuf_str(&m->errs, "\nkam: ");
  kbuf_str(&m->errs, msg);
}

static unsigned hash_str(const char *s, size_t n) {
  unsigned h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

/* Where a row came from, formatted only for messages: a label (the record's
 * file:line:col in YAML and JSON), or a CSV file and line with the column
 * of each field (fcol, by field position; 0 when the file has none). */
typedef struct row_loc { const char *file; long line; const char *label; const int *fcol; } row_loc;

static const char *loc_str(const row_loc *loc, int field, char *buf, size_t n) {
  if (loc->label) return loc->label;
  if (field >= 0 && loc->fcol && loc->fcol[field]) snprintf(buf, n, "%s:%ld:%d", loc->file, loc->line, loc->fcol[field]);
  else snprintf(buf, n, "%s:%ld", loc->file, loc->line);
  return buf;
}

/* The indexed text field with the longest value: where a key too long for
 * LMDB is best shown. */
static int longest_key_field(const coll_def *c, const kval *vals) {
  int best = F_ID;
  size_t len = 0;
  for (int xi = 0; xi < c->nindexes; xi++)
    for (int k = 0; k < c->indexes[xi].nf; k++) {
      int f = c->indexes[xi].f[k];
      if (vals[f].tag == KV_STR && vals[f].u.s.len > len) { len = vals[f].u.s.len; best = f; }
    }
  return best;
}

/* Writes one row (vals by field position; strings valid for the call). */
static void put_row(imp *m, const coll_def *c, kval *vals, const row_loc *loc) {
  char wbuf[600];
#define where loc_str(loc, -1, wbuf, sizeof wbuf)
#define where_f(f) loc_str(loc, (f), wbuf, sizeof wbuf)
  kam_err e = {0};
  char idbuf[256], why[600];
  int ci = (int)(c - m->st->sc->colls);
  coll_state *cs = &m->cs[ci];
  if (vals[F_ID].tag == KV_NULL) {
    /* explicit ids seen so far go to the sequence first, so none is reused */
    if ((cs->max_seq && store_note_seq(m->st, m->txn, c, cs->max_seq, &e)) ||
        store_next_id(m->st, m->txn, c, idbuf, sizeof idbuf, &e)) { m->fatal = e.code; *m->e = e; return; }
    vals[F_ID] = kv_str(idbuf, strlen(idbuf));
  } else if (vals[F_ID].tag == KV_STR) { /* the sequence is written once, at the end */
    uint64_t num;
    if (id_number(c, vals[F_ID].u.s.p, vals[F_ID].u.s.len, &num) && num > cs->max_seq) cs->max_seq = num;
  }
  kval *id = &vals[F_ID];
  if (id->tag != KV_STR) {
    add_error(m, "%s: %s: id must be text of 1 to 200 bytes without spaces", where_f(F_ID), c->name);
    return;
  }
  if (store_check_id(m->st->sc, c, id->u.s.p, id->u.s.len, &e)) {
    add_error(m, "%s: %s", where_f(F_ID), e.msg);
    return;
  }
  if (vals[F_CREATED].tag == KV_NULL) vals[F_CREATED] = kv_str(m->now, strlen(m->now));
  if (vals[F_UPDATED].tag == KV_NULL) vals[F_UPDATED] = vals[F_CREATED];
  for (int i = 1; i < c->nfields; i++) {
    const field_def *f = &c->fields[i];
    kval *v = &vals[i];
    if (v->tag == KV_NULL) {
      if (f->has_def) *v = f->def;
      else if (f->required) {
        add_error(m, "%s: %s %.*s: field %s is required", where_f(i), c->name, (int)id->u.s.len, id->u.s.p, f->name);
        return;
      }
      continue;
    }
    if (!field_check(f, v, why, sizeof why)) {
      kbuf b = {0};
      kval_show(&b, v);
      kbuf_cstr(&b);
      add_error(m, "%s: %s %.*s: field %s: value %s is not %s", where_f(i), c->name, (int)id->u.s.len, id->u.s.p, f->name, (char *)b.p, why);
      kbuf_free(&b);
      return;
    }
    if (v->tag == KV_STR && utf8_invalid_at(v->u.s.p, v->u.s.len) != v->u.s.len) {
      add_error(m, "%s: %s %.*s: field %s: text is not UTF-8 (save the file as UTF-8, e.g. \"CSV UTF-8\" in Excel)", where_f(i), c->name, (int)id->u.s.len, id->u.s.p, f->name);
      return;
    }
    if (f->type == FT_REF) {
      const coll_def *t = &m->st->sc->colls[f->ref];
      idset *set = &m->ids[f->ref];
      if (!set->loaded) { /* every id already in the book */
        MDB_cursor *cur;
        MDB_val k, d;
        set->loaded = 1;
        if (!mdb_cursor_open(m->txn, t->dbi, &cur)) {
          for (int op = MDB_FIRST; !mdb_cursor_get(cur, &k, &d, op); op = MDB_NEXT)
            idset_add(set, k.mv_data, k.mv_size);
          mdb_cursor_close(cur);
        }
      }
      if (idset_has(set, v->u.s.p, v->u.s.len, hash_str(v->u.s.p, v->u.s.len))) continue;
      /* maybe later in this import: check again at the end */
      if (m->npend == m->cappend) {
        m->cappend = m->cappend ? m->cappend * 2 : 64;
        m->pend = realloc(m->pend, sizeof *m->pend * m->cappend);
      }
      pending_ref *p = &m->pend[m->npend++];
      p->coll = ci;
      p->field = i;
      p->value = strndup(v->u.s.p, v->u.s.len);
      size_t wl = strlen(where_f(i)) + id->u.s.len + strlen(c->name) + 8;
      p->at = malloc(wl);
      snprintf(p->at, wl, "%s: %s %.*s", where_f(i), c->name, (int)id->u.s.len, id->u.s.p);
    }
  }
  /* an index key over LMDB's limit would fail only when the indexes are
   * written at the end, unlocated: check it with the row */
  if (c->nindexes && store_check_keys(m->st, c, vals, &e)) {
    add_error(m, "%s: %s", where_f(longest_key_field(c, vals)), e.msg);
    return;
  }
  if (m->nerr) return; /* keep checking rows, but stop writing */
  rb_reset(&m->rb);
  kbuf_reset(&m->rec);
  for (int i = 1; i < c->nfields; i++) rb_add(&m->rb, c->fields[i].fid, vals[i]);
  rb_finish(&m->rb, &m->rec);
  MDB_val k = {id->u.s.len, (void *)id->u.s.p}, d = {m->rec.len, m->rec.p};
  unsigned fl = MDB_NOOVERWRITE;
  if (cs->can_append) {
    size_t n = cs->last_id.len < k.mv_size ? cs->last_id.len : k.mv_size;
    int cmp = n ? memcmp(k.mv_data, cs->last_id.p, n) : 0;
    /* past the last key: append, and skip the search NOOVERWRITE would do
     * (LMDB itself refuses an append that is not past the last key) */
    if (cmp > 0 || (cmp == 0 && k.mv_size > cs->last_id.len) || !cs->touched) fl = MDB_APPEND;
  }
  int rc = mdb_put(m->txn, c->dbi, &k, &d, fl);
  if (rc == MDB_KEYEXIST && (fl & MDB_APPEND)) { /* out of order after all: a plain put decides */
    rc = mdb_put(m->txn, c->dbi, &k, &d, MDB_NOOVERWRITE);
  }
  if (rc == MDB_KEYEXIST) {
    add_error(m, "%s: %s %.*s: duplicate id (already in the book or earlier in this import)", where_f(F_ID), c->name, (int)k.mv_size, (char *)k.mv_data);
    return;
  }
  if (rc) { m->fatal = lmdb_err(m->e, rc, c->name); return; }
  if (fl & MDB_APPEND) { kbuf_reset(&cs->last_id); kbuf_put(&cs->last_id, k.mv_data, k.mv_size); }
  if (m->ids[ci].loaded) idset_add(&m->ids[ci], k.mv_data, k.mv_size);
  cs->touched = 1;
  for (int xi = 0; xi < c->nindexes; xi++) {
    kbuf_reset(&m->kb);
    kbuf_reset(&m->vb);
    index_key(&m->kb, c, &c->indexes[xi], vals);
    index_val(&m->vb, c, &c->indexes[xi], vals);
    ixbuf_add(&cs->ix[xi], &m->sorter, m->kb.p, m->kb.len, m->vb.p, m->vb.len);
  }
  cs->rows++;
  m->rows++;
#undef where
#undef where_f
}

/* ---- strict JSON ----------------------------------------------------------- */

/* cJSON is lenient: it reads the first document of a file and ignores what
 * follows, cuts text at \u0000, rounds whole numbers past 2^53, keeps both
 * values of a key given twice, and takes 01, 1., raw control characters and
 * bytes that are not UTF-8. One linear pass over the text refuses all of it
 * by RFC 8259, at the offset of the first offence, before cJSON reads it. */
#define JSON_MAX_DEPTH 512

typedef struct jkey { size_t off; uint32_t hash; } jkey;
typedef struct jframe {
  uint8_t close;    /* ']' or '}' */
  size_t kstart;    /* its keys in jcheck.keys */
  size_t *tab, tcap; /* a hash of them, once an object has many */
} jframe;

typedef struct jcheck {
  const uint8_t *s;
  size_t n, i;
  size_t err;
  char msg[300];
  jframe *st;
  int depth, cap;
  jkey *keys;
  size_t nkeys, capkeys;
  int in_cell;       /* a CSV cell: no line:col of its own */
} jcheck;

static int jfail(jcheck *j, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jfail(jcheck *j, size_t at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->msg, sizeof j->msg, fmt, ap);
  va_end(ap);
  j->err = at;
  return 0;
}

static inline int jdigit(uint8_t c) { return c >= '0' && c <= '9'; }

static int jhex4(const uint8_t *p, unsigned *out) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    uint8_t c = p[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static uint32_t jhash_bytes(uint32_t h, const uint8_t *p, size_t n) {
  for (size_t k = 0; k < n; k++) h = (h ^ p[k]) * 16777619u;
  return h;
}

static size_t utf8_put(uint8_t *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
  if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xE0 | cp >> 12); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | cp >> 18); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* The text of a checked string (at its opening quote), decoded. */
static void junescape(const uint8_t *s, size_t at, kbuf *out) {
  static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
  kbuf_reset(out);
  for (size_t i = at + 1; s[i] != '"';) {
    if (s[i] != '\\') { kbuf_byte(out, s[i++]); continue; }
    if (s[i + 1] != 'u') { kbuf_byte(out, (uint8_t)esc_out[strchr(esc_in, s[i + 1]) - esc_in]); i += 2; continue; }
    unsigned cp, lo;
    jhex4(s + i + 2, &cp);
    i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) { jhex4(s + i + 2, &lo); cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); i += 6; }
    uint8_t u[4];
    kbuf_put(out, u, utf8_put(u, cp));
  }
}

/* A string at j->i (its opening quote); *hash: FNV-1a of its decoded bytes. */
static int jstring(jcheck *j, uint32_t *hash) {
  const uint8_t *s = j->s;
  size_t n = j->n, start = j->i, i = j->i + 1;
  uint32_t h = 2166136261u;
  for (;;) {
    size_t run = i; /* plain ASCII: the common case, hashed in one go */
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') i++;
    if (hash) h = jhash_bytes(h, s + run, i - run);
    if (i >= n) return jfail(j, start, "text that is never closed (a \" is missing)");
    uint8_t c = s[i];
    if (c == '"') { j->i = i + 1; if (hash) *hash = h; return 1; }
    if (!c) return jfail(j, i, "a NUL byte in text: kam text cannot hold NUL");
    if (c < 0x20)
      return jfail(j, i, "a control character (U+%04X) in text: write it as \\n, \\t or \\u%04X", c, c);
    if (c >= 0x80) {
      size_t k = utf8_char_len(s + i, n - i);
      if (!k) return jfail(j, i, "text is not UTF-8 (save the file as UTF-8)");
      if (hash) h = jhash_bytes(h, s + i, k);
      i += k;
      continue;
    }
    /* an escape */
    if (i + 1 >= n) return jfail(j, start, "text that is never closed (a \" is missing)");
    uint8_t x = s[i + 1];
    if (x != 'u') {
      if (!x || !memchr("\"\\/bfnrt", x, 8)) {
        if (x >= 0x21 && x < 0x7F)
          return jfail(j, i, "an unknown escape \\%c (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", x);
        return jfail(j, i, "a backslash must start an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      }
      static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
      uint8_t o = (uint8_t)esc_out[strchr(esc_in, x) - esc_in];
      if (hash) h = jhash_bytes(h, &o, 1);
      i += 2;
      continue;
    }
    unsigned cp, lo;
    if (n - i < 6 || !jhex4(s + i + 2, &cp)) return jfail(j, i, "\\u must be followed by four hexadecimal digits");
    if (cp == 0) return jfail(j, i, "\\u0000 (a NUL character) in text: kam text cannot hold NUL");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return jfail(j, i, "a lone surrogate \\u%04X (a low surrogate must follow a high one, \\uD800-\\uDBFF)", cp);
    size_t len = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (n - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' || !jhex4(s + i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return jfail(j, i, "a lone surrogate \\u%04X (a high surrogate must be followed by a low one, \\uDC00-\\uDFFF)", cp);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      len = 12;
    }
    uint8_t u[4];
    if (hash) h = jhash_bytes(h, u, utf8_put(u, cp));
    i += len;
  }
}

static int jnumber(jcheck *j) {
  const uint8_t *s = j->s;
  size_t n = j->n, st = j->i, i = j->i;
  if (s[i] == '-') i++;
  if (i >= n || !jdigit(s[i])) {
    if (n - i >= 8 && !memcmp(s + i, "Infinity", 8)) return jfail(j, st, "-Infinity is not a JSON number");
    return jfail(j, st, "a minus sign must be followed by digits");
  }
  size_t d0 = i;
  if (s[i] == '0') {
    i++;
    if (i < n && jdigit(s[i])) return jfail(j, st, "a number must not start with 0 (to keep leading zeros, write it as text in quotes)");
    if (i < n && (s[i] == 'x' || s[i] == 'X')) return jfail(j, st, "hexadecimal numbers are not JSON");
  } else {
    while (i < n && jdigit(s[i])) i++;
  }
  size_t ndig = i - d0;
  int frac = 0, exp = 0;
  if (i < n && s[i] == '.') {
    i++;
    if (i >= n || !jdigit(s[i])) return jfail(j, st, "digits must follow the decimal point (1.0, not 1.)");
    while (i < n && jdigit(s[i])) i++;
    frac = 1;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !jdigit(s[i])) return jfail(j, st, "an exponent must have digits (1e5, not 1e)");
    while (i < n && jdigit(s[i])) i++;
    exp = 1;
  }
  j->i = i;
  int len = (int)(i - st > 40 ? 40 : i - st);
  if (!frac && !exp && ndig > 15) { /* 15 digits are always below 2^53 */
    uint64_t v = 0;
    for (size_t k = d0; k < d0 + ndig && ndig < 20; k++) v = v * 10 + (uint64_t)(s[k] - '0');
    if (ndig >= 20 || v > ((uint64_t)1 << 53))
      return jfail(j, st, "the whole number %.*s%s is beyond 2^53 and would not be read exactly; write it in quotes",
                   len, (const char *)s + st, i - st > 40 ? "..." : "");
  }
  if (exp) { /* only an exponent takes a number past the largest double */
    kbuf t = {0};
    kbuf_put(&t, s + st, i - st);
    double d = strtod(kbuf_cstr(&t), NULL);
    kbuf_free(&t);
    if (isinf(d))
      return jfail(j, st, "the number %.*s%s is too large", len, (const char *)s + st, i - st > 40 ? "..." : "");
  }
  return 1;
}

static size_t jkey_find(jcheck *j, jframe *f, size_t off, uint32_t h, kbuf *a, kbuf *b) {
  /* candidates with the same hash are compared as decoded text */
  if (f->tab) {
    for (size_t k = h & (f->tcap - 1);; k = (k + 1) & (f->tcap - 1)) {
      size_t x = f->tab[k];
      if (x == (size_t)-1) return (size_t)-1;
      if (j->keys[x].hash != h) continue;
      junescape(j->s, j->keys[x].off, a);
      junescape(j->s, off, b);
      if (a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len))) return j->keys[x].off;
    }
  }
  for (size_t x = f->kstart; x < j->nkeys; x++) {
    if (j->keys[x].hash != h) continue;
    junescape(j->s, j->keys[x].off, a);
    junescape(j->s, off, b);
    if (a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len))) return j->keys[x].off;
  }
  return (size_t)-1;
}

static void jtab_put(jframe *f, const jkey *keys, size_t x) {
  size_t k = keys[x].hash & (f->tcap - 1);
  while (f->tab[k] != (size_t)-1) k = (k + 1) & (f->tcap - 1);
  f->tab[k] = x;
}

/* Adds a key of the innermost object; 0 if it is there already. A small
 * object is searched in order, a large one through a hash of its keys. */
static int jkey_add(jcheck *j, size_t off, uint32_t h) {
  jframe *f = &j->st[j->depth - 1];
  kbuf a = {0}, b = {0};
  size_t first = jkey_find(j, f, off, h, &a, &b);
  kbuf_free(&a);
  kbuf_free(&b);
  if (first != (size_t)-1) {
    kbuf k = {0};
    junescape(j->s, off, &k);
    long line = 1, col = 1;
    for (size_t p = 0; p < first; p++) {
      if (j->s[p] == '\n') { line++; col = 1; } else if ((j->s[p] & 0xC0) != 0x80) col++;
    }
    if (j->in_cell)
      jfail(j, off, "key \"%.*s\" appears twice in this object", (int)(k.len > 80 ? 80 : k.len), (const char *)k.p);
    else
      jfail(j, off, "key \"%.*s\" appears twice in this object (first at %ld:%ld)",
            (int)(k.len > 80 ? 80 : k.len), (const char *)k.p, line, col);
    kbuf_free(&k);
    return 0;
  }
  if (j->nkeys == j->capkeys) {
    j->capkeys = j->capkeys ? j->capkeys * 2 : 64;
    j->keys = realloc(j->keys, sizeof *j->keys * j->capkeys);
    if (!j->keys) abort();
  }
  j->keys[j->nkeys++] = (jkey){off, h};
  size_t cnt = j->nkeys - f->kstart;
  if (cnt > 16 && (!f->tab || cnt * 2 > f->tcap)) {
    free(f->tab);
    f->tcap = 64;
    while (f->tcap < cnt * 4) f->tcap *= 2;
    f->tab = malloc(sizeof *f->tab * f->tcap);
    if (!f->tab) abort();
    for (size_t k = 0; k < f->tcap; k++) f->tab[k] = (size_t)-1;
    for (size_t x = f->kstart; x < j->nkeys; x++) jtab_put(f, j->keys, x);
  } else if (f->tab) {
    jtab_put(f, j->keys, j->nkeys - 1);
  }
  return 1;
}

static void jws(jcheck *j) {
  while (j->i < j->n) {
    uint8_t c = j->s[j->i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
    j->i++;
  }
}

/* What was found where a value was expected, said as plainly as possible. */
static int jnot_value(jcheck *j) {
  const uint8_t *p = j->s + j->i;
  size_t left = j->n - j->i;
  if (!left) return jfail(j, j->i, "the text ends where a value is expected");
  if (*p == '\'') return jfail(j, j->i, "text takes double quotes (\"...\"), not single quotes");
  if (*p == '/') return jfail(j, j->i, "comments are not JSON");
  if (*p == '+') return jfail(j, j->i, "a number must not start with +");
  if (*p == '.') return jfail(j, j->i, "a number must start with a digit (0.5, not .5)");
  if ((left >= 3 && !memcmp(p, "NaN", 3)) || (left >= 8 && !memcmp(p, "Infinity", 8)))
    return jfail(j, j->i, "NaN and Infinity are not JSON numbers");
  if (*p == ',') return jfail(j, j->i, "a value is missing before this comma");
  if (*p == ']' || *p == '}') return jfail(j, j->i, "a value is missing before %c", *p);
  return jfail(j, j->i, "expected a value (text in double quotes, a number, an object, an array, true, false or null)");
}

/* Checks one JSON text (a file, or a CSV cell when in_cell); 1 if it is
 * one, else 0 with the offset and what is wrong. A leading UTF-8 BOM is
 * skipped by the caller. */
static int json_check(const char *buf, size_t len, int in_cell, size_t *err_at, char *msg, size_t msglen) {
  jcheck j = {0};
  j.in_cell = in_cell;
  j.s = (const uint8_t *)buf;
  j.n = len;
  int ok = 0;
  if (j.n >= 2 && ((j.s[0] == 0xFF && j.s[1] == 0xFE) || (j.s[0] == 0xFE && j.s[1] == 0xFF))) {
    jfail(&j, 0, "the text is UTF-16, not UTF-8 (save the file as UTF-8)");
    goto done;
  }
  jws(&j);
  if (j.i == j.n) { jfail(&j, 0, "no JSON here (the text is empty)"); goto done; }
  for (;;) {
    /* a value */
    jws(&j);
    if (j.i >= j.n) { jnot_value(&j); goto done; }
    uint8_t c = j.s[j.i];
    if (c == '{' || c == '[') {
      if (j.depth == JSON_MAX_DEPTH) { jfail(&j, j.i, "nested deeper than %d levels", JSON_MAX_DEPTH); goto done; }
      if (j.depth == j.cap) {
        j.cap = j.cap ? j.cap * 2 : 16;
        j.st = realloc(j.st, sizeof *j.st * (size_t)j.cap);
        if (!j.st) abort();
      }
      jframe *f = &j.st[j.depth++];
      f->close = c == '{' ? '}' : ']';
      f->kstart = j.nkeys;
      f->tab = NULL;
      f->tcap = 0;
      j.i++;
      jws(&j);
      if (j.i < j.n && j.s[j.i] == f->close) { j.depth--; j.i++; goto after; }
      if (c == '[') continue;
      goto key;
    } else if (c == '"') {
      if (!jstring(&j, NULL)) goto done;
    } else if (c == '-' || jdigit(c)) {
      if (!jnumber(&j)) goto done;
    } else if (j.n - j.i >= 4 && (!memcmp(j.s + j.i, "true", 4) || !memcmp(j.s + j.i, "null", 4))) {
      j.i += 4;
    } else if (j.n - j.i >= 5 && !memcmp(j.s + j.i, "false", 5)) {
      j.i += 5;
    } else {
      jnot_value(&j);
      goto done;
    }
  after:
    /* after a value: a comma, the end of its object or array, or of the text */
    for (;;) {
      jws(&j);
      if (!j.depth) {
        if (j.i < j.n) {
          jfail(&j, j.i, "text after the end of the JSON document (a file holds one: wrap records in [...])");
          goto done;
        }
        ok = 1;
        goto done;
      }
      jframe *f = &j.st[j.depth - 1];
      if (j.i >= j.n) { jfail(&j, j.i, "the text ends before this %s is closed with %c", f->close == '}' ? "object" : "array", f->close); goto done; }
      c = j.s[j.i];
      if (c == f->close) {
        free(f->tab);
        f->tab = NULL;
        j.nkeys = f->kstart;
        j.depth--;
        j.i++;
        continue;
      }
      if (c != ',') {
        if (c == '/') jfail(&j, j.i, "comments are not JSON");
        else if (c == ':' && f->close == ']') jfail(&j, j.i, "a colon in an array (keys belong in objects, {...})");
        else jfail(&j, j.i, "expected , or %c after a value", f->close);
        goto done;
      }
      j.i++;
      jws(&j);
      if (j.i < j.n && (j.s[j.i] == ']' || j.s[j.i] == '}')) {
        jfail(&j, j.i, "a comma before %c (a trailing comma is not JSON)", j.s[j.i]);
        goto done;
      }
      if (f->close == ']') break; /* the next value */
    key:
      /* a key, a colon, then its value */
      jws(&j);
      if (j.i >= j.n || j.s[j.i] != '"') {
        if (j.i < j.n && j.s[j.i] == '\'') jfail(&j, j.i, "a key takes double quotes (\"key\"), not single quotes");
        else if (j.i < j.n && j.s[j.i] == '/') jfail(&j, j.i, "comments are not JSON");
        else jfail(&j, j.i, "expected a key in double quotes");
        goto done;
      }
      {
        size_t koff = j.i;
        uint32_t h;
        if (!jstring(&j, &h) || !jkey_add(&j, koff, h)) goto done;
      }
      jws(&j);
      if (j.i >= j.n || j.s[j.i] != ':') { jfail(&j, j.i, "expected : after the key"); goto done; }
      j.i++;
      break;
    }
  }
done:
  for (int d = 0; d < j.depth; d++) free(j.st[d].tab);
  free(j.st);
  free(j.keys);
  if (!ok) {
    *err_at = j.err;
    snprintf(msg, msglen, "%s", j.msg);
  }
  return ok;
}

/* line:col (columns in characters) of an offset */
static void text_pos(const char *buf, size_t off, long *line, long *col) {
  *line = 1;
  *col = 1;
  for (size_t p = 0; p < off; p++) {
    if (buf[p] == '\n') { (*line)++; *col = 1; } else if (((unsigned char)buf[p] & 0xC0) != 0x80) (*col)++;
  }
}

/* ---- CSV ----------------------------------------------------------------- */

static kval json_num(double d) {
  /* whole numbers as integers (money, counts); the range test comes first,
   * the cast of a double beyond int64 being undefined */
  return d > -9e18 && d < 9e18 && d == (double)(int64_t)d ? kv_int((int64_t)d) : kv_num(d);
}

/* Encodes a parsed JSON value; NULL, or what is wrong with it. */
static const char *encode_cjson(const cJSON *j, kbuf *b, int depth) {
  kval v;
  if (cJSON_IsNull(j)) v = kv_null();
  else if (cJSON_IsBool(j)) v = kv_bool(cJSON_IsTrue(j));
  else if (cJSON_IsNumber(j)) v = json_num(j->valuedouble);
  else if (cJSON_IsString(j)) v = kv_str(j->valuestring, strlen(j->valuestring));
  else {
    /* as deep as the Lua write path allows, and refused beyond, not cut */
    if (depth > KV_MAX_DEPTH) return KV_DEPTH_MSG;
    int is_map = cJSON_IsObject(j);
    kbuf body = {0};
    kbuf_uvarint(&body, (uint64_t)cJSON_GetArraySize(j));
    for (const cJSON *c = j->child; c; c = c->next) {
      if (is_map) { size_t kl = strlen(c->string); kbuf_uvarint(&body, kl); kbuf_put(&body, c->string, kl); }
      const char *why = encode_cjson(c, &body, depth + 1);
      if (why) { kbuf_free(&body); return why; }
    }
    v.tag = is_map ? KV_MAP : KV_LIST;
    v.u.s.p = (const char *)body.p;
    v.u.s.len = body.len;
    val_put(b, &v);
    kbuf_free(&body);
    return NULL;
  }
  val_put(b, &v);
  return NULL;
}

typedef struct csv_st {
  imp *m;
  const coll_def *c;
  const char *file;
  int *map;            /* column -> field position, -1 skip, -2 no name in the header */
  int ncols, cap;
  int col;             /* current column */
  long line, row_line;
  int header_done;
  kval *vals;
  kbuf *cells;         /* cell text of the current row */
  kbuf *nested;        /* per field: an encoded list or map */
  char (*conv)[32];    /* per field: a rewritten date */
  int *fcol;           /* per field: its column (1-based), 0 if none */
  int row_pending;
} csv_st;

static void csv_field(void *s, size_t n, void *data) {
  csv_st *cs = data;
  if (!cs->header_done) {
    if (cs->ncols == cs->cap) {
      cs->cap = cs->cap ? cs->cap * 2 : 32;
      cs->map = realloc(cs->map, sizeof(int) * (size_t)cs->cap);
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), (char *)s);
    int f = n ? coll_field_n(cs->c, s, n) : -2;
    if (f == -1) {
      kbuf known = {0};
      for (int i = 0; i < cs->c->nfields; i++) kbuf_printf(&known, "%s%s", i ? ", " : "", cs->c->fields[i].name);
      kbuf_cstr(&known);
      add_error(cs->m, "%s:%ld:%d: unknown field '%s' in %s (fields: %s)", cs->file, cs->row_line, cs->ncols + 1, name, cs->c->name, (char *)known.p);
      kbuf_free(&known);
    }
    for (int i = 0; i < cs->ncols && f >= 0; i++)
      if (cs->map[i] == f) { add_error(cs->m, "%s:%ld:%d: column '%s' appears twice", cs->file, cs->row_line, cs->ncols + 1, name); f = -1; }
    cs->map[cs->ncols++] = f;
    return;
  }
  if (cs->col < cs->ncols) {
    kbuf_reset(&cs->cells[cs->col]);
    kbuf_put(&cs->cells[cs->col], s, n);
  } else if (n) {
    add_error(cs->m, "%s:%ld:%d: more cells than the header has columns (%d)", cs->file, cs->row_line, cs->col + 1, cs->ncols);
  }
  cs->col++;
}

/* A list or map cell: strict JSON (as for .json files), of the field's kind. */
static int csv_json_cell(csv_st *cs, int i, const field_def *fd, kval *out) {
  imp *m = cs->m;
  const char *cell = (const char *)cs->cells[i].p;
  size_t n = cs->cells[i].len, at;
  char msg[300], who[300];
  int idc = cs->fcol[F_ID] - 1; /* the row's id, for messages */
  if (idc >= 0 && idc < cs->col && cs->cells[idc].len)
    snprintf(who, sizeof who, "%s %.*s", cs->c->name, (int)(cs->cells[idc].len > 200 ? 200 : cs->cells[idc].len), (const char *)cs->cells[idc].p);
  else
    snprintf(who, sizeof who, "%s", cs->c->name);
  if (!json_check(cell, n, 1, &at, msg, sizeof msg)) {
    size_t ch = 1;
    for (size_t k = 0; k < at; k++) ch += ((unsigned char)cell[k] & 0xC0) != 0x80;
    add_error(m, "%s:%ld:%d: %s field %s: %s (character %zu of the cell)", cs->file, cs->row_line, i + 1, who, fd->name, msg, ch);
    return 0;
  }
  cJSON *j = cJSON_ParseWithLength(cell, n);
  const char *why = NULL;
  if (!j || !(fd->type == FT_LIST ? cJSON_IsArray(j) : cJSON_IsObject(j))) {
    why = fd->type == FT_LIST ? "expected a JSON list like [\"a\",\"b\"]" : "expected a JSON object like {\"k\":1}";
  } else {
    int f = (int)(fd - cs->c->fields);
    kbuf_reset(&cs->nested[f]);
    why = encode_cjson(j, &cs->nested[f], 0);
    if (!why) val_get(cs->nested[f].p, cs->nested[f].p + cs->nested[f].len, out);
  }
  cJSON_Delete(j);
  if (why) add_error(m, "%s:%ld:%d: %s field %s: %s", cs->file, cs->row_line, i + 1, who, fd->name, why);
  return !why;
}

static void csv_row(int c, void *data) {
  (void)c;
  csv_st *cs = data;
  if (!cs->header_done) {
    cs->header_done = 1;
    cs->cells = calloc((size_t)cs->ncols + 1, sizeof *cs->cells);
    cs->vals = calloc((size_t)cs->c->nfields, sizeof *cs->vals);
    cs->nested = calloc((size_t)cs->c->nfields, sizeof *cs->nested);
    cs->conv = calloc((size_t)cs->c->nfields, sizeof *cs->conv);
    cs->fcol = calloc((size_t)cs->c->nfields, sizeof *cs->fcol);
    for (int i = 0; i < cs->ncols; i++)
      if (cs->map[i] >= 0) cs->fcol[cs->map[i]] = i + 1;
    cs->row_pending = 1;
    return;
  }
  imp *m = cs->m;
  const coll_def *col = cs->c;
  for (int i = 0; i < col->nfields; i++) cs->vals[i] = kv_null();
  char why[600];
  int bad = 0;
  for (int i = 0; i < cs->ncols && i < cs->col; i++) {
    int f = cs->map[i];
    if (f == -2 && cs->cells[i].len) { /* it would be dropped unseen */
      add_error(m, "%s:%ld:%d: a value in column %d, which has no name in the header row", cs->file, cs->row_line, i + 1, i + 1);
      bad = 1;
      continue;
    }
    if (f < 0 || !cs->cells[i].len) continue;
    const field_def *fd = &col->fields[f];
    if (fd->type == FT_LIST || fd->type == FT_MAP) {
      if (!csv_json_cell(cs, i, fd, &cs->vals[f])) bad = 1;
      continue;
    }
    if (!field_from_text(fd, (const char *)cs->cells[i].p, cs->cells[i].len, &cs->vals[f], cs->conv[f], why, sizeof why)) {
      add_error(m, "%s:%ld:%d: %s field %s: value \"%.*s\" is not %s", cs->file, cs->row_line, i + 1, col->name, fd->name,
                (int)(cs->cells[i].len > 80 ? 80 : cs->cells[i].len), (char *)cs->cells[i].p, why);
      bad = 1;
    }
  }
  if (!bad) {
    row_loc loc = {cs->file, cs->row_line, NULL, cs->fcol};
    put_row(m, col, cs->vals, &loc);
  }
  cs->col = 0;
  cs->row_pending = 1;
}

static int read_all(const char *path, char **buf, size_t *len, kam_err *e) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return kam_errf(e, KAM_EDATA, "%s: cannot open: %s", path, strerror(errno));
  kbuf b = {0};
  char tmp[1 << 16];
  size_t k;
  while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) kbuf_put(&b, tmp, k);
  int err = ferror(f);
  if (f != stdin) fclose(f);
  if (err) { kbuf_free(&b); return kam_errf(e, KAM_EDATA, "%s: read error", path); }
  kbuf_cstr(&b);
  *buf = (char *)b.p;
  *len = b.len;
  return 0;
}

static const char *base_name(const char *path, char *out, size_t n) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(out, n, "%s", b);
  char *dot = strchr(out, '.');
  if (dot) *dot = 0;
  return out;
}

static const coll_def *target_coll(imp *m, const char *path) {
  char name[256];
  const char *cn = m->o->into ? m->o->into : base_name(path, name, sizeof name);
  const coll_def *c = schema_coll(m->st->sc, cn);
  if (!c) add_error(m, "%s: no collection '%s' (name the file after one, or use --into COLLECTION)", path, cn);
  return c;
}

static void import_csv(imp *m, const char *path, char *buf, size_t len, int tabs) {
  const coll_def *c = target_coll(m, path);
  if (!c) return;
  csv_st cs = {0};
  cs.m = m;
  cs.c = c;
  cs.file = path;
  struct csv_parser p;
  csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
  size_t off = 0;
  if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) off = 3; /* Excel's UTF-8 BOM */
  /* a header with semicolons and no commas: a European-locale spreadsheet */
  const char *nl = memchr(buf + off, '\n', len - off);
  size_t hl = nl ? (size_t)(nl - (buf + off)) : len - off;
  if (tabs) csv_set_delim(&p, '\t');
  else if (!memchr(buf + off, ',', hl) && memchr(buf + off, ';', hl)) csv_set_delim(&p, ';');
  long line = 1;
  cs.row_pending = 1;
  while (off < len && !m->fatal && m->nerr <= m->max_err) {
    const char *s = buf + off;
    const char *e = memchr(s, '\n', len - off);
    size_t n = e ? (size_t)(e - s) + 1 : len - off;
    int blank = 1;
    for (size_t i = 0; i < n && blank; i++) blank = s[i] == '\r' || s[i] == '\n' || s[i] == ' ';
    if (cs.row_pending && !blank) { cs.row_line = line; cs.row_pending = 0; }
    if (csv_parse(&p, s, n, csv_field, csv_row, &cs) != n) {
      add_error(m, "%s:%ld: malformed CSV: %s (a quote inside a quoted cell is written twice: \"\")", path, line, csv_strerror(csv_error(&p)));
      break;
    }
    off += n;
    line++;
  }
  if (!m->nerr && csv_fini(&p, csv_field, csv_row, &cs))
    add_error(m, "%s:%ld: malformed CSV: %s (an unclosed quote?)", path, cs.row_line, csv_strerror(csv_error(&p)));
  if (!cs.header_done && !m->nerr) add_error(m, "%s: empty file (a header row is expected)", path);
  csv_free(&p);
  if (cs.cells) for (int i = 0; i < cs.ncols; i++) kbuf_free(&cs.cells[i]);
  if (cs.nested) for (int i = 0; i < c->nfields; i++) kbuf_free(&cs.nested[i]);
  free(cs.cells);
  free(cs.nested);
  free(cs.conv);
  free(cs.fcol);
  free(cs.vals);
  free(cs.map);
}

/* ---- YAML ---------------------------------------------------------------- */

/* A plain scalar in a list or map is a number only when written as one (the
 * YAML 1.2 core schema): strtod alone also takes nan, inf and 0x1p3, and a
 * whole number past 64 bits would come back rounded. Returns 1 (a number in
 * *v), 0 (text) or -1 (a number kam cannot keep, *why says so). */
static int yaml_number(const char *s, size_t n, kval *v, const char **why) {
  const char *p = s, *e = s + n;
  static const char *const big = "a whole number beyond 64 bits (quote it to keep it as text)";
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    int base = s[1] == 'x' ? 16 : 8;
    for (p = s + 2; p < e; p++)
      if (base == 16 ? !isxdigit((unsigned char)*p) : (*p < '0' || *p > '7')) return 0;
    errno = 0;
    unsigned long long u = strtoull(s + 2, NULL, base);
    if (errno || u > INT64_MAX) { *why = big; return -1; }
    *v = kv_int((int64_t)u);
    return 1;
  }
  if (p < e && (*p == '-' || *p == '+')) p++;
  if (e - p == 4 && (!memcmp(p, ".inf", 4) || !memcmp(p, ".Inf", 4) || !memcmp(p, ".INF", 4))) {
    *why = "infinite (kam keeps finite numbers)";
    return -1;
  }
  if (n == 4 && (!memcmp(s, ".nan", 4) || !memcmp(s, ".NaN", 4) || !memcmp(s, ".NAN", 4))) {
    *why = "not a number (kam keeps finite numbers)";
    return -1;
  }
  const char *d0 = p;
  while (p < e && *p >= '0' && *p <= '9') p++;
  int nint = p > d0, isfloat = 0;
  if (p < e && *p == '.') {
    const char *f0 = ++p;
    while (p < e && *p >= '0' && *p <= '9') p++;
    if (!nint && p == f0) return 0;
    isfloat = 1;
  } else if (!nint) {
    return 0;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    const char *x = p + 1;
    if (x < e && (*x == '+' || *x == '-')) x++;
    const char *x0 = x;
    while (x < e && *x >= '0' && *x <= '9') x++;
    if (x == x0) return 0;
    p = x;
    isfloat = 1;
  }
  if (p != e) return 0;
  if (!isfloat) {
    errno = 0;
    long long i = strtoll(s, NULL, 10);
    if (errno) { *why = big; return -1; }
    *v = kv_int(i);
    return 1;
  }
  double x = strtod(s, NULL);
  if (!isfinite(x)) { *why = "a number too large to keep (quote it to keep it as text)"; return -1; }
  *v = kv_num(x);
  return 1;
}

/* Encodes a list or map; NULL, or the node that cannot be kept (*why). */
static yaml_node_t *encode_yaml(ydoc *d, yaml_node_t *n, kbuf *b, int depth, const char **why) {
  kval v;
  if (!n) { v = kv_null(); val_put(b, &v); return NULL; }
  if (n->type == YAML_SCALAR_NODE) {
    const char *s = ydoc_scalar(n);
    size_t len = ydoc_scalar_len(n);
    if (ydoc_plain(n)) {
      if (!strcmp(s, "true")) v = kv_bool(1);
      else if (!strcmp(s, "false")) v = kv_bool(0);
      else if (!strcmp(s, "null") || !strcmp(s, "~") || !len) v = kv_null();
      else {
        int r = yaml_number(s, len, &v, why);
        if (r < 0) return n;
        if (!r) v = kv_str(s, len);
      }
    } else v = kv_str(s, len);
    val_put(b, &v);
    return NULL;
  }
  /* as deep as the Lua write path allows, and refused beyond, not cut */
  if (depth > KV_MAX_DEPTH) { *why = KV_DEPTH_MSG; return n; }
  int is_map = n->type == YAML_MAPPING_NODE;
  kbuf body = {0};
  yaml_node_t *bad = NULL;
  if (is_map) {
    kbuf_uvarint(&body, (uint64_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && !bad; p++) {
      yaml_node_t *kn = ydoc_get(d, p->key);
      const char *k = ydoc_scalar(kn);
      if (!k) { *why = "a key must be text, not a list or mapping"; bad = kn ? kn : n; break; }
      kbuf_uvarint(&body, ydoc_scalar_len(kn));
      kbuf_put(&body, k, ydoc_scalar_len(kn));
      bad = encode_yaml(d, ydoc_get(d, p->value), &body, depth + 1, why);
    }
  } else {
    kbuf_uvarint(&body, (uint64_t)(n->data.sequence.items.top - n->data.sequence.items.start));
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top && !bad; it++)
      bad = encode_yaml(d, ydoc_get(d, *it), &body, depth + 1, why);
  }
  if (!bad) {
    v.tag = is_map ? KV_MAP : KV_LIST;
    v.u.s.p = (const char *)body.p;
    v.u.s.len = body.len;
    val_put(b, &v);
  }
  kbuf_free(&body);
  return bad;
}

static void import_yaml_list(imp *m, ydoc *d, const coll_def *c, yaml_node_t *list) {
  if (!list || list->type != YAML_SEQUENCE_NODE) {
    kam_err e;
    ydoc_errf(d, list, &e, KAM_EDATA, "%s: expected a list of records", c->name);
    add_error(m, "%s", e.msg);
    return;
  }
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  kbuf *nested = calloc((size_t)c->nfields, sizeof *nested);
  char (*conv)[32] = calloc((size_t)c->nfields, 32);
  for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top && !m->fatal; it++) {
    yaml_node_t *row = ydoc_get(d, *it);
    char where[700], why[600];
    snprintf(where, sizeof where, "%s:%zu:%zu", d->path, row->start_mark.line + 1, row->start_mark.column + 1);
    if (row->type != YAML_MAPPING_NODE) { add_error(m, "%s: %s: expected a record (field: value, ...)", where, c->name); continue; }
    for (int i = 0; i < c->nfields; i++) vals[i] = kv_null();
    int bad = 0;
    const char *rid = ydoc_scalar(ydoc_map_get(d, row, "id")); /* for messages */
    for (yaml_node_pair_t *p = row->data.mapping.pairs.start; p < row->data.mapping.pairs.top; p++) {
      yaml_node_t *kn = ydoc_get(d, p->key), *vn = ydoc_get(d, p->value);
      const char *k = ydoc_scalar(kn);
      int f = k ? coll_field_n(c, k, ydoc_scalar_len(kn)) : -1;
      char at[700];
      snprintf(at, sizeof at, "%s:%zu:%zu", d->path, kn->start_mark.line + 1, kn->start_mark.column + 1);
      if (f < 0) { add_error(m, "%s: %s: unknown field '%s'", at, c->name, k ? k : "?"); bad = 1; continue; }
      const field_def *fd = &c->fields[f];
      if (fd->type == FT_LIST || fd->type == FT_MAP) {
        if (vn->type != (fd->type == FT_LIST ? YAML_SEQUENCE_NODE : YAML_MAPPING_NODE)) {
          add_error(m, "%s: %s field %s: expected %s", at, c->name, k, fd->type == FT_LIST ? "a list" : "a mapping");
          bad = 1;
          continue;
        }
        kbuf_reset(&nested[f]);
        const char *ywhy = NULL;
        yaml_node_t *yb = encode_yaml(d, vn, &nested[f], 0, &ywhy);
        if (yb) {
          const char *ys = ydoc_scalar(yb);
          add_error(m, "%s:%zu:%zu: %s%s%s field %s: %s%.80s%s%s", d->path, yb->start_mark.line + 1, yb->start_mark.column + 1,
                    c->name, rid ? " " : "", rid ? rid : "", k, ys ? "value \"" : "", ys ? ys : "", ys ? "\" is " : "", ywhy);
          bad = 1;
          continue;
        }
        val_get(nested[f].p, nested[f].p + nested[f].len, &vals[f]);
        continue;
      }
      const char *s = ydoc_scalar(vn);
      if (!s) { add_error(m, "%s: %s field %s: expected a plain value, not a %s", at, c->name, k, vn->type == YAML_SEQUENCE_NODE ? "list" : "mapping"); bad = 1; continue; }
      if (ydoc_plain(vn) && (!strcmp(s, "null") || !strcmp(s, "~") || !*s)) continue;
      if (!field_from_text(fd, s, ydoc_scalar_len(vn), &vals[f], conv[f], why, sizeof why)) {
        snprintf(at, sizeof at, "%s:%zu:%zu", d->path, vn->start_mark.line + 1, vn->start_mark.column + 1);
        add_error(m, "%s: %s field %s: value \"%.80s\" is not %s", at, c->name, k, s, why);
        bad = 1;
      }
    }
    row_loc loc = {NULL, 0, where, NULL};
    if (!bad) put_row(m, c, vals, &loc);
  }
  for (int i = 0; i < c->nfields; i++) kbuf_free(&nested[i]);
  free(nested);
  free(conv);
  free(vals);
}

static void import_yaml(imp *m, const char *path, char *buf, size_t len) {
  ydoc d;
  kam_err e;
  if (ydoc_load_buf(&d, path, buf, len, &e)) { add_error(m, "%s", e.msg); return; }
  yaml_node_t *root = ydoc_root(&d);
  if (!root) { add_error(m, "%s: empty file", path); ydoc_free(&d); return; }
  if (root->type == YAML_SEQUENCE_NODE) {
    const coll_def *c = target_coll(m, path);
    if (c) import_yaml_list(m, &d, c, root);
  } else if (root->type == YAML_MAPPING_NODE) {
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
      yaml_node_t *kn = ydoc_get(&d, p->key);
      const char *k = ydoc_scalar(kn);
      const coll_def *c = k ? schema_coll(m->st->sc, k) : NULL;
      if (!c) {
        ydoc_errf(&d, kn, &e, KAM_EDATA, "no collection '%s' (see config/schema.yaml)", k ? k : "?");
        add_error(m, "%s", e.msg);
        continue;
      }
      import_yaml_list(m, &d, c, ydoc_get(&d, p->value));
    }
  } else {
    add_error(m, "%s: expected collection: [records] at the top", path);
  }
  ydoc_free(&d);
}

/* ---- JSON ---------------------------------------------------------------- */

/* cJSON keeps no positions, so the records' places are found with a small
 * scan of the text: the offsets of the objects at the records' depth, in
 * document order (the order rows are read in). */
typedef struct jpos {
  const char *buf;
  size_t len;
  size_t *rec;    /* start of each record */
  size_t nrec, next;
  size_t at;      /* a position already counted, and its line:col: */
  long line, col; /* records are located in order, so counting goes on from it */
} jpos;

static void jpos_scan(jpos *j, const char *buf, size_t len, int depth_of_records) {
  size_t cap = 0;
  int depth = 0, in_str = 0;
  j->buf = buf;
  j->len = len;
  for (size_t i = 0; i < len; i++) {
    char ch = buf[i];
    if (in_str) {
      if (ch == '\\') i++;
      else if (ch == '"') in_str = 0;
      continue;
    }
    if (ch == '"') in_str = 1;
    else if (ch == '{' || ch == '[') {
      depth++;
      if (ch == '{' && depth == depth_of_records) {
        if (j->nrec == cap) { cap = cap ? cap * 2 : 256; j->rec = realloc(j->rec, sizeof *j->rec * cap); }
        j->rec[j->nrec++] = i;
      }
    } else if (ch == '}' || ch == ']') depth--;
  }
}

static void jpos_linecol(jpos *j, size_t off, long *line, long *col) {
  if (off < j->at || !j->line) { j->at = 0; j->line = 1; j->col = 1; }
  for (size_t p = j->at; p < off; p++) {
    if (j->buf[p] == '\n') { j->line++; j->col = 1; } else if (((unsigned char)j->buf[p] & 0xC0) != 0x80) j->col++;
  }
  j->at = off;
  *line = j->line;
  *col = j->col;
}

/* "file:line:col" of the record, or of one of its keys when key is given */
static void jpos_where(jpos *j, size_t rec, const char *key, const char *path, char *out, size_t n) {
  long line, col;
  if (!j || rec >= j->nrec) { snprintf(out, n, "%s", path); return; }
  size_t off = j->rec[rec];
  if (key) {
    size_t end = rec + 1 < j->nrec ? j->rec[rec + 1] : j->len;
    size_t kl = strlen(key);
    for (size_t i = off; i + kl + 2 <= end; i++)
      if (j->buf[i] == '"' && !memcmp(j->buf + i + 1, key, kl) && j->buf[i + kl + 1] == '"') {
        size_t k = i + kl + 2; /* a key is followed by a colon; the same text as a value is not */
        while (k < end && (j->buf[k] == ' ' || j->buf[k] == '\t' || j->buf[k] == '\n' || j->buf[k] == '\r')) k++;
        if (k < end && j->buf[k] == ':') { off = i; break; }
      }
  }
  jpos_linecol(j, off, &line, &col);
  snprintf(out, n, "%s:%ld:%ld", path, line, col);
}

static void import_json_list(imp *m, const char *path, const coll_def *c, cJSON *arr, jpos *jp) {
  if (!cJSON_IsArray(arr)) { add_error(m, "%s: %s: expected an array of objects", path, c->name); return; }
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  kbuf *nested = calloc((size_t)c->nfields, sizeof *nested);
  char (*conv)[32] = calloc((size_t)c->nfields, 32);
  char numtxt[64];
  int idx = 0;
  for (cJSON *row = arr->child; row && !m->fatal; row = row->next, idx++) {
    char where[600], why[600];
    size_t rec = jp->next++;
    jpos_where(jp, rec, NULL, path, where, sizeof where);
    char at[600];
#define AT(key) (jpos_where(jp, rec, (key), path, at, sizeof at), at)
    if (!cJSON_IsObject(row)) { add_error(m, "%s: expected an object", where); continue; }
    for (int i = 0; i < c->nfields; i++) vals[i] = kv_null();
    int bad = 0;
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(row, "id");
    const char *rid = cJSON_IsString(idj) ? idj->valuestring : NULL; /* for messages */
    for (cJSON *fv = row->child; fv; fv = fv->next) {
      int f = coll_field(c, fv->string);
      if (f < 0) { add_error(m, "%s: %s: unknown field '%s'", AT(fv->string), c->name, fv->string); bad = 1; continue; }
      const field_def *fd = &c->fields[f];
      if (cJSON_IsNull(fv)) continue;
      if (fd->type == FT_LIST || fd->type == FT_MAP) {
        if (fd->type == FT_LIST ? !cJSON_IsArray(fv) : !cJSON_IsObject(fv)) {
          add_error(m, "%s: %s field %s: expected %s", AT(fv->string), c->name, fv->string, fd->type == FT_LIST ? "an array" : "an object");
          bad = 1;
          continue;
        }
        kbuf_reset(&nested[f]);
        const char *jwhy = encode_cjson(fv, &nested[f], 0);
        if (jwhy) {
          add_error(m, "%s: %s%s%s field %s: %s", AT(fv->string), c->name, rid ? " " : "", rid ? rid : "", fv->string, jwhy);
          bad = 1;
          continue;
        }
        val_get(nested[f].p, nested[f].p + nested[f].len, &vals[f]);
      } else if (cJSON_IsString(fv)) {
        if (!field_from_text(fd, fv->valuestring, strlen(fv->valuestring), &vals[f], conv[f], why, sizeof why)) {
          add_error(m, "%s: %s field %s: value \"%.80s\" is not %s", AT(fv->string), c->name, fv->string, fv->valuestring, why);
          bad = 1;
        }
      } else if (cJSON_IsBool(fv)) {
        vals[f] = kv_bool(cJSON_IsTrue(fv));
      } else if (cJSON_IsNumber(fv)) {
        double d = fv->valuedouble;
        if (fd->type == FT_STRING) {
          /* a number where text is expected: the shortest text that reads
           * back as the same number (0.1, not 0.10000000000000001) */
          for (int prec = 15; prec <= 17; prec++) {
            snprintf(numtxt, sizeof numtxt, "%.*g", prec, d);
            if (strtod(numtxt, NULL) == d) break;
          }
          memcpy(conv[f], numtxt, 31);
          conv[f][31] = 0;
          vals[f] = kv_str(conv[f], strlen(conv[f]));
        } else vals[f] = json_num(d);
      } else {
        add_error(m, "%s: %s field %s: expected a plain value", AT(fv->string), c->name, fv->string);
        bad = 1;
      }
    }
    if (!bad) {
      row_loc loc = {NULL, 0, where, NULL};
      put_row(m, c, vals, &loc);
    }
  }
  for (int i = 0; i < c->nfields; i++) kbuf_free(&nested[i]);
  free(nested);
  free(conv);
  free(vals);
}

static void import_json(imp *m, const char *path, char *buf, size_t len) {
  /* a UTF-8 BOM, as Windows tools write it, is not part of the JSON */
  size_t skip = len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0;
  size_t bad_at;
  char msg[300];
  long line, col;
  if (!json_check(buf + skip, len - skip, 0, &bad_at, msg, sizeof msg)) {
    text_pos(buf, skip + bad_at, &line, &col);
    add_error(m, "%s:%ld:%ld: %s", path, line, col, msg);
    return;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(buf + skip, len - skip, &end, 0);
  if (!root) { /* checked text that cJSON still refuses: out of memory */
    const char *at = cJSON_GetErrorPtr();
    text_pos(buf, at && at >= buf && at <= buf + len ? (size_t)(at - buf) : len, &line, &col);
    add_error(m, "%s:%ld:%ld: malformed JSON", path, line, col);
    return;
  }
  jpos jp = {0};
  if (cJSON_IsArray(root)) {
    jpos_scan(&jp, buf, len, 2);
    const coll_def *c = target_coll(m, path);
    if (c) import_json_list(m, path, c, root, &jp);
  } else if (cJSON_IsObject(root)) {
    jpos_scan(&jp, buf, len, 3);
    for (cJSON *k = root->child; k; k = k->next) {
      const coll_def *c = schema_coll(m->st->sc, k->string);
      if (!c) { add_error(m, "%s: no collection '%s' (see config/schema.yaml)", path, k->string); continue; }
      import_json_list(m, path, c, k, &jp);
    }
  } else {
    add_error(m, "%s: expected {\"collection\": [records]} or a list of records", path);
  }
  free(jp.rec);
  cJSON_Delete(root);
}

/* ---- driver ---------------------------------------------------------------- */

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcasecmp(s + a - b, suf);
}

static int flush_indexes(imp *m) {
  schema *sc = m->st->sc;
  for (int ci = 0; ci < sc->ncolls; ci++)
    for (int xi = 0; xi < sc->colls[ci].nindexes; xi++) ixbuf_finish(&m->cs[ci].ix[xi], &m->sorter);
  sorter_wait(&m->sorter);
  trace("index blocks sorted");
  int rc = 0;
  for (int ci = 0; ci < sc->ncolls && !rc; ci++)
    for (int xi = 0; xi < sc->colls[ci].nindexes && !rc; xi++) {
      ixbuf *b = &m->cs[ci].ix[xi];
      if (!b->n) continue;
      rc = ixbuf_write(b, m->txn, &sc->colls[ci].indexes[xi], m->e);
      ixbuf_free(b);
      trace(sc->colls[ci].indexes[xi].name);
    }
  return rc;
}

static void free_state(imp *m) {
  schema *sc = m->st->sc;
  if (m->cs)
    for (int ci = 0; ci < sc->ncolls; ci++) {
      for (int xi = 0; xi < sc->colls[ci].nindexes; xi++) ixbuf_free(&m->cs[ci].ix[xi]);
      free(m->cs[ci].ix);
      kbuf_free(&m->cs[ci].last_id);
    }
  free(m->cs);
  m->cs = NULL;
  for (size_t i = 0; i < m->npend; i++) { free(m->pend[i].value); free(m->pend[i].at); }
  free(m->pend);
  m->pend = NULL;
  m->npend = m->cappend = 0;
  if (m->ids)
    for (int ci = 0; ci < sc->ncolls; ci++) idset_free(&m->ids[ci]);
  free(m->ids);
  m->ids = NULL;
}

static int import_once(imp *m, char *const *files, int nfiles, char **bufs, size_t *lens) {
  kam_store *st = m->st;
  schema *sc = st->sc;
  trace("import begins");
  int rc = store_begin(st, 1, &m->txn, m->e);
  if (rc) return rc;
  m->cs = calloc((size_t)sc->ncolls, sizeof *m->cs);
  m->ids = calloc((size_t)sc->ncolls, sizeof *m->ids);
  for (int ci = 0; ci < sc->ncolls; ci++) {
    m->cs[ci].ix = calloc((size_t)sc->colls[ci].nindexes + 1, sizeof(ixbuf));
    /* append only past the last stored id */
    MDB_cursor *cur;
    MDB_val k, d;
    m->cs[ci].can_append = 1;
    if (!mdb_cursor_open(m->txn, sc->colls[ci].dbi, &cur)) {
      if (!mdb_cursor_get(cur, &k, &d, MDB_LAST)) { kbuf_put(&m->cs[ci].last_id, k.mv_data, k.mv_size); m->cs[ci].touched = 1; }
      mdb_cursor_close(cur);
    }
  }
  for (int i = 0; i < nfiles && !m->fatal && m->nerr <= m->max_err; i++) {
    const char *f = files[i];
    if (ends_with(f, ".csv") || ends_with(f, ".tsv")) import_csv(m, f, bufs[i], lens[i], ends_with(f, ".tsv"));
    else if (ends_with(f, ".yaml") || ends_with(f, ".yml")) import_yaml(m, f, bufs[i], lens[i]);
    else if (ends_with(f, ".json")) import_json(m, f, bufs[i], lens[i]);
    else add_error(m, "%s: unknown file type (expected .csv, .yaml, .yml or .json)", f);
  }
  /* refs to rows that came later in the import */
  for (size_t i = 0; i < m->npend && !m->fatal; i++) {
    pending_ref *p = &m->pend[i];
    const field_def *fd = &sc->colls[p->coll].fields[p->field];
    const coll_def *t = &sc->colls[fd->ref];
    MDB_val r;
    int g = store_get(m->txn, t, p->value, strlen(p->value), &r);
    if (g == MDB_NOTFOUND) add_error(m, "%s: field %s: value \"%s\" is not an id in %s", p->at, fd->name, p->value, t->name);
    else if (g) m->fatal = lmdb_err(m->e, g, t->name);
  }
  for (int ci = 0; ci < sc->ncolls && !m->fatal; ci++)
    if (m->cs[ci].max_seq) m->fatal = store_note_seq(st, m->txn, &sc->colls[ci], m->cs[ci].max_seq, m->e);
  trace("rows written");
  if (!m->fatal && !m->nerr) m->fatal = flush_indexes(m);
  trace("indexes written");
  if (!m->fatal && !m->nerr) { /* one audit entry per collection imported */
    for (int ci = 0; ci < sc->ncolls && !m->fatal; ci++) {
      if (!m->cs[ci].rows) continue;
      char what[128];
      int n = snprintf(what, sizeof what, "%ld rows", m->cs[ci].rows);
      m->fatal = store_audit(st, m->txn, m->o->user, 4, sc->colls[ci].name, what, (size_t)n, NULL, 0, NULL, 0, m->e);
    }
  }
  if (m->fatal || m->nerr || m->o->dry_run) {
    mdb_txn_abort(m->txn);
    return m->fatal;
  }
  rc = store_commit(st, m->txn, m->e);
  trace("committed");
  return rc;
}

int import_files(kam_store *st, char *const *files, int nfiles, const import_opts *o,
                 import_stats *stats, kam_err *e) {
  char **bufs = calloc((size_t)nfiles + 1, sizeof *bufs);
  size_t *lens = calloc((size_t)nfiles + 1, sizeof *lens);
  int rc = 0;
  size_t total = 0;
  for (int i = 0; i < nfiles && !rc; i++) { rc = read_all(files[i], &bufs[i], &lens[i], e); total += lens[i]; }
  /* records and index entries take about five times the CSV: size the map
   * once rather than fill it and replay the whole import */
  if (!rc) rc = store_reserve(st, total * 6 + (64u << 20), e);
  for (int attempt = 0; !rc; attempt++) {
    imp m = {0};
    m.st = st;
    m.o = o;
    m.e = e;
    m.max_err = o->max_errors > 0 ? o->max_errors : 10;
    datetime_now(m.now);
    sorter_start(&m.sorter);
    rc = import_once(&m, files, nfiles, bufs, lens);
    sorter_stop(&m.sorter); /* drains its queue: blocks are freed only after */
    long rows = m.rows;
    int nerr = m.nerr;
    if (nerr && !rc) {
      kbuf_cstr(&m.errs);
      if (nerr > m.max_err)
        kam_errf(e, KAM_EDATA, "%s\nkam: ... and %d more error%s; nothing was imported", (char *)m.errs.p, nerr - m.max_err, nerr - m.max_err == 1 ? "" : "s");
      else
        kam_errf(e, KAM_EDATA, "%s", (char *)m.errs.p);
      rc = KAM_EDATA;
    }
    if (stats && !rc) {
      stats->rows = rows;
      for (int ci = 0; ci < st->sc->ncolls && ci < 256; ci++) stats->per_coll[ci] = m.cs ? m.cs[ci].rows : 0;
    }
    rb_free(&m.rb);
    kbuf_free(&m.rec);
    kbuf_free(&m.kb);
    kbuf_free(&m.vb);
    kbuf_free(&m.errs);
    free_state(&m);
    if (rc == KAM_EFULL && attempt < 16) { /* grow the map and replay the whole import */
      rc = store_grow(st, e);
      continue;
    }
    break;
  }
  for (int i = 0; i < nfiles; i++) free(bufs[i]);
  free(bufs);
  free(lens);
  return rc;
}
