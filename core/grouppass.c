/* grouppass.c — a query's rows grouped and aggregated in C (grouppass.h):
 * in one cursor pass over an index the group key leads, or in a hash as the
 * query's own plan reads them. */
#include "grouppass.h"
#include "keyenc.h"
#include "store.h"
#include "workers.h"
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Where a field's value sits in an entry of ix: key part i (>= 0), the id
 * after the parts (-1), a carried value (-2), or nowhere (-3). */
static int source_of(const index_def *ix, int field) {
  for (int i = 0; i < ix->nf; i++) if (ix->f[i] == field) return i;
  if (field == F_ID) return -1;
  for (int i = 0; i < ix->nc; i++) if (ix->carry[i] == field) return -2;
  return -3;
}

const index_def *grouppass_index(const query *q, int gfield, int sub, const gp_agg *a, int nagg) {
  const coll_def *c = q->c;
  if (gfield < 0 || sub == gfield || nagg < 1 || nagg > GP_MAX_AGGS) return NULL;
  for (int xi = 0; xi < c->nindexes; xi++) {
    const index_def *ix = &c->indexes[xi];
    if (ix->f[0] != gfield) continue;
    int ok = sub < 0 || source_of(ix, sub) != -3;
    for (int i = 0; ok && i < q->ncond; i++) ok = q->cond[i].field != gfield && source_of(ix, q->cond[i].field) != -3;
    for (int i = 0; ok && i < nagg; i++) ok = a[i].kind == GP_COUNT || source_of(ix, a[i].field) != -3;
    if (ok) return ix;
  }
  return NULL;
}

typedef struct pass {
  const query *q;
  const index_def *ix;
  const coll_def *c;
  MDB_val key, val;
  kval comp[IDX_MAXF];
  size_t comp_end[IDX_MAXF]; /* bytes of the key up to the end of part i */
  kval id;
  char idbuf[KEY_ID_MAX];
  char compbuf[IDX_MAXF][KEY_ID_MAX]; /* refs unpacked */
} pass;

/* Decodes the key's first n parts, and the id after them when n is all;
 * part 0 is the group's, g0 bytes, decoded once for the group. */
static int decode(pass *p, int n, const kval *gkey, size_t g0) {
  const uint8_t *s = p->key.mv_data, *k = s + g0, *end = s + p->key.mv_size;
  if (n > 0) p->comp[0] = *gkey, p->comp_end[0] = g0;
  for (int i = 1; i < n; i++) {
    size_t used = key_get(k, end, &p->c->fields[p->ix->f[i]], &p->comp[i], p->compbuf[i]);
    if (!used) return 0;
    k += used;
    p->comp_end[i] = (size_t)(k - s);
  }
  if (n == p->ix->nf) {
    size_t idn = key_get_id(k, end, p->c->prefix, p->idbuf);
    if (!idn) return 0;
    p->id = kv_str(p->idbuf, idn);
  }
  return 1;
}

static int is_cut(const kval *v) { return v->tag == KV_STR && v->u.s.len >= KEY_STR_MAX; }

/* The value of field (source src) in the current entry; 0 when a key part
 * holds a text cut short, which only the record could complete. */
static int value_of(pass *p, int field, int src, kval *out) {
  if (src >= 0) { *out = p->comp[src]; return !is_cut(out); }
  if (src == -1) { *out = p->id; return 1; }
  if (!rec_find_inline(p->val.mv_data, p->val.mv_size, p->c->fields[field].fid, out)) *out = kv_null();
  return 1;
}

static void acc_add(gp_acc *x, gp_kind kind, const kval *v, kbuf *store) {
  if (kind == GP_COUNT) { x->n++; return; }
  if (v->tag == KV_NULL) return;
  if (kind == GP_SUM) {
    if (v->tag == KV_INT) {
      if (x->is_int && !__builtin_add_overflow(x->isum, v->u.i, &x->isum)) { x->n++; return; }
      if (x->is_int) { x->nsum = (double)x->isum; x->is_int = 0; }
      x->nsum += (double)v->u.i;
    } else if (v->tag == KV_NUM) {
      if (x->is_int) { x->nsum = (double)x->isum; x->is_int = 0; }
      x->nsum += v->u.n;
    } else return;
    x->n++;
    return;
  }
  int c = x->have ? kval_cmp(v, &x->best) : 0;
  if (!x->have || (c != 2 && (kind == GP_MAX ? c > 0 : c < 0))) { /* 2: not comparable, as min()/max() */
    x->have = 1;
    x->best = *v;
    if (v->tag == KV_STR) { /* the entry's memory moves on */
      kbuf_reset(store);
      kbuf_put(store, v->u.s.p, v->u.s.len);
      x->best.u.s.p = (const char *)store->p;
    }
  }
}

/* memcmp order of the key bytes from part 1 on against an encoded bound:
 * the parts are self-delimiting, so the bound's own bytes decide. */
static int cmp_rest(const uint8_t *k, size_t n, const kbuf *b) {
  int r = memcmp(k, b->p, n < b->len ? n : b->len);
  return r ? r : (n < b->len ? -1 : 0);
}

/* The rows of one second-key value within the current group. */
typedef struct sub {
  kval key;
  kbuf keybuf;
  int64_t rows;
  gp_acc acc[GP_MAX_AGGS];
  kbuf store[GP_MAX_AGGS];
} sub;

/* Equality of short byte strings (group keys, statuses) without a call
 * into libc per entry: eight bytes at a time, and the tail as the last
 * eight (or four) bytes again, overlapping, not a byte at a time. */
static inline uint64_t load8(const uint8_t *p) { uint64_t u; memcpy(&u, p, 8); return u; }
static inline uint32_t load4(const uint8_t *p) { uint32_t u; memcpy(&u, p, 4); return u; }
static inline int bytes_eq(const void *a, const void *b, size_t n) {
  const uint8_t *x = a, *y = b;
  if (n >= 8) {
    for (size_t i = 0; i + 8 <= n; i += 8) if (load8(x + i) != load8(y + i)) return 0;
    return load8(x + n - 8) == load8(y + n - 8);
  }
  if (n >= 4) return load4(x) == load4(y) && load4(x + n - 4) == load4(y + n - 4);
  if (n) return x[0] == y[0] && x[n / 2] == y[n / 2] && x[n - 1] == y[n - 1];
  return 1;
}

static int same_key(const kval *a, const kval *b) {
  if (a->tag != b->tag) return 0;
  if (a->tag == KV_STR) return a->u.s.len == b->u.s.len && bytes_eq(a->u.s.p, b->u.s.p, a->u.s.len);
  if (a->tag == KV_INT) return a->u.i == b->u.i;
  if (a->tag == KV_NUM) return a->u.n == b->u.n;
  return 1; /* NULL, FALSE, TRUE */
}

static size_t keep_text(kbuf *arena, const char *p, size_t n) {
  size_t off = arena->len;
  kbuf_put(arena, p, n);
  return off;
}

/* A text kept in the arena holds its offset until read (the arena moves). */
static kval kept(kbuf *arena, kval v) {
  if (v.tag == KV_STR) v.u.s.p = (const char *)(uintptr_t)keep_text(arena, v.u.s.p, v.u.s.len);
  return v;
}
static kval unkept(const kbuf *arena, kval v) {
  if (v.tag == KV_STR) v.u.s.p = (const char *)arena->p + (uintptr_t)v.u.s.p;
  return v;
}

/* A new entry at the end of r for key and sub (copied into its arena). */
static int result_add(gp_result *r, const kval *key, const kval *sub, int nagg) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 256;
    kval *k = realloc(r->key, cap * sizeof *k);
    if (!k) return 0;
    r->key = k;
    kval *u = realloc(r->sub, cap * sizeof *u);
    if (!u) return 0;
    r->sub = u;
    int64_t *w = realloc(r->rows, cap * sizeof *w);
    if (!w) return 0;
    r->rows = w;
    gp_acc *g = realloc(r->acc, cap * (size_t)nagg * sizeof *g);
    if (!g) return 0;
    r->acc = g;
    r->cap = cap;
  }
  r->key[r->n] = kept(&r->arena, *key);
  r->sub[r->n] = kept(&r->arena, *sub);
  r->rows[r->n] = 0;
  for (int j = 0; j < nagg; j++) {
    gp_acc *x = &r->acc[r->n * (size_t)nagg + (size_t)j];
    memset(x, 0, sizeof *x);
    x->is_int = 1;
  }
  r->n++;
  return 1;
}

/* Adds the group's subgroups with rows to r. */
static int flush(gp_result *r, size_t max, const kval *gkey, sub *subs, int nsub, int nagg) {
  for (int s = 0; s < nsub; s++) {
    sub *x = &subs[s];
    if (!x->rows) continue;
    if (r->n >= max || !result_add(r, gkey, &x->key, nagg)) return GP_TOO_MANY;
    size_t i = r->n - 1;
    r->rows[i] = x->rows;
    for (int j = 0; j < nagg; j++) {
      gp_acc g = x->acc[j];
      if (g.have) g.best = kept(&r->arena, g.best);
      r->acc[i * (size_t)nagg + (size_t)j] = g;
    }
  }
  return 0;
}

static void acc_reset(sub *x, int nagg) {
  x->rows = 0;
  for (int j = 0; j < nagg; j++) { memset(&x->acc[j], 0, sizeof x->acc[j]); x->acc[j].is_int = 1; }
}

/* A stretch of the index: the groups from the one whose part 0 is `from`
 * (NULL: the first) up to, not including, the one whose part 0 is `to`
 * (NULL: to the end). Both are whole group parts, so no group is cut. */
typedef struct span { const kbuf *from, *to; } span;

/* Whether the key's group part is at or after `to` (memcmp order). */
static int at_or_past(const uint8_t *k, size_t kn, const kbuf *to) {
  int c = memcmp(k, to->p, kn < to->len ? kn : to->len);
  return c > 0 || (c == 0 && kn >= to->len);
}

static int collect(MDB_txn *txn, const query *q, const index_def *ix, int gfield, int subf, const gp_agg *a,
                   int nagg, size_t max_groups, int (*stop)(void), span sp, gp_result *r, kam_err *e) {
  memset(r, 0, sizeof *r);
  r->nagg = nagg;
  if (nagg < 1 || nagg > GP_MAX_AGGS || ix->f[0] != gfield || q->ncond > 64)
    return -kam_errf(e, KAM_EINTERNAL, "grouppass: no plan for this query");
  if (q->never) return 0;
  pass p = {.q = q, .ix = ix, .c = q->c};
  int csrc[64], asrc[GP_MAX_AGGS], ssrc = subf >= 0 ? source_of(ix, subf) : -3;
  for (int i = 0; i < q->ncond; i++) csrc[i] = source_of(ix, q->cond[i].field);
  for (int i = 0; i < nagg; i++) asrc[i] = a[i].kind == GP_COUNT ? -3 : source_of(ix, a[i].field);
  /* bounds on the second key part, encoded: an entry below the lower one
   * or above the upper one is passed over on its bytes, undecoded; a
   * group's first entry below it seeks past the rest */
  const kval *lo = NULL, *hi = NULL;
  static const field_def no_part = {.type = FT_STRING};
  const field_def *f1 = ix->nf > 1 ? &p.c->fields[ix->f[1]] : &no_part;
  for (int i = 0; ix->nf > 1 && i < q->ncond; i++) {
    const qcond *cc = &q->cond[i];
    if (cc->field != ix->f[1]) continue;
    const kval *l = NULL, *h = NULL;
    if (cc->op == Q_GE || cc->op == Q_GT) l = &cc->v[0];
    else if (cc->op == Q_LE || cc->op == Q_LT) h = &cc->v[0];
    else if (cc->op == Q_BETWEEN || (cc->op == Q_EQ && cc->nv == 1)) { l = &cc->v[0]; h = &cc->v[cc->op == Q_EQ ? 0 : 1]; }
    if (l && key_exact(f1, l) && l->tag != KV_NULL && (!lo || kval_cmp(l, lo) == 1)) lo = l;
    if (h && key_exact(f1, h) && h->tag != KV_NULL && (!hi || kval_cmp(h, hi) == -1)) hi = h;
  }

  /* a closed bound the byte checks apply is the condition itself: not checked again */
  unsigned char implied[64] = {0};
  int any_implied = 0;
  for (int i = 0; ix->nf > 1 && i < q->ncond; i++) {
    const qcond *cc = &q->cond[i];
    if (cc->field != ix->f[1]) continue;
    implied[i] = (cc->op == Q_GE && &cc->v[0] == lo) || (cc->op == Q_LE && &cc->v[0] == hi) ||
                 (cc->op == Q_BETWEEN && &cc->v[0] == lo && &cc->v[1] == hi);
    any_implied |= implied[i];
  }
  int ndec = 0; /* key parts to decode: up to the last one read (all of them for the id) */
  for (int i = 0; i <= q->ncond + nagg; i++) {
    if (i < q->ncond && implied[i]) continue;
    int src = i < q->ncond ? csrc[i] : i < q->ncond + nagg ? asrc[i - q->ncond] : ssrc;
    if (src == -1) ndec = ix->nf;
    else if (src >= 0 && src + 1 > ndec) ndec = src + 1;
  }

  sub *subs = calloc(GP_MAX_SUBS, sizeof *subs);
  MDB_cursor *cur = NULL;
  kbuf lo_enc = {0}, hi_enc = {0}, group = {0}, seek = {0}, gtext = {0}; /* group: its key part as encoded */
  int out = 0, rc, nsub = 0, in_group = 0, past_lo = 0; /* past_lo: the group's entries are above lo from here */
  if (!subs) { out = -kam_errf(e, KAM_EINTERNAL, "grouppass: out of memory"); goto done; }
  if (lo) key_put(&lo_enc, f1, lo);
  if (hi) key_put(&hi_enc, f1, hi);
  if ((rc = mdb_cursor_open(txn, ix->dbi, &cur))) { cur = NULL; out = -lmdb_err(e, rc, ix->name); goto done; }
  kval gkey = kv_null();
  const field_def *f0 = &p.c->fields[gfield];
  char gscratch[KEY_ID_MAX];
  unsigned long steps = 0;
  enum { SEEK = -1 };
  int op = MDB_FIRST;
  if (sp.from) {
    kbuf_put(&seek, sp.from->p, sp.from->len);
    op = SEEK;
  }
  for (;;) {
    if (op == SEEK) {
      p.key.mv_data = seek.p;
      p.key.mv_size = seek.len;
      rc = mdb_cursor_get(cur, &p.key, &p.val, MDB_SET_RANGE);
    } else rc = mdb_cursor_get(cur, &p.key, &p.val, (MDB_cursor_op)op);
    op = MDB_NEXT;
    if (rc == MDB_NOTFOUND) break;
    if (rc) { out = -lmdb_err(e, rc, ix->name); goto done; }
    if (stop && (++steps & 4095) == 0 && (out = stop())) goto done;
    const uint8_t *k = p.key.mv_data;
    size_t kn = p.key.mv_size;
    /* the group's part 0 is self-delimiting: the same leading bytes are the same group */
    if (!in_group || kn < group.len || !bytes_eq(k, group.p, group.len)) {
      if (sp.to && at_or_past(k, kn, sp.to)) break; /* the next stretch's first group */
      kval v0;
      size_t g0 = key_get(k, k + kn, f0, &v0, gscratch);
      if (!g0) { out = -kam_errf(e, KAM_EINTERNAL, "%s: malformed index entry", ix->name); goto done; }
      if (in_group && (out = flush(r, max_groups, &gkey, subs, nsub, nagg))) goto done;
      if (is_cut(&v0)) { out = GP_CUT; goto done; }
      kbuf_reset(&group);
      kbuf_put(&group, k, g0);
      gkey = v0;
      if (gkey.tag == KV_STR && f0->type != FT_DATE) { /* the entry's memory moves on (a date's text lives on by itself) */
        kbuf_reset(&gtext);
        kbuf_put(&gtext, v0.u.s.p, v0.u.s.len);
        kbuf_byte(&gtext, 0); /* never an empty buffer's NULL */
        gkey.u.s.p = (const char *)gtext.p;
      }
      in_group = 1;
      nsub = 0;
      past_lo = 0;
      if (lo && cmp_rest(k + g0, kn - g0, &lo_enc) < 0) { /* on to [group, lo] */
        kbuf_reset(&seek);
        kbuf_put(&seek, group.p, g0);
        kbuf_put(&seek, lo_enc.p, lo_enc.len);
        op = SEEK;
        continue;
      }
    }
    size_t g0 = group.len;
    /* a group's entries come in the order of their remaining bytes: once
     * one is at or above lo, the rest of the group is too */
    if (lo && !past_lo) {
      if (cmp_rest(k + g0, kn - g0, &lo_enc) < 0) continue;
      past_lo = 1;
    }
    if (hi && cmp_rest(k + g0, kn - g0, &hi_enc) > 0) {
      /* past the upper bound (a text cut in the key compares as its whole: the
       * bound is shorter than the cut), on to the next group */
      kbuf_reset(&seek);
      kbuf_put(&seek, group.p, g0);
      kbuf_byte(&seek, 0xff);
      op = SEEK;
      continue;
    }
    /* no value meets a bound: an empty part 1 fails the implied conditions */
    if (any_implied && key_part_null(f1, k + g0, k + kn)) continue;
    if (!decode(&p, ndec, &gkey, g0)) { out = -kam_errf(e, KAM_EINTERNAL, "%s: malformed index entry", ix->name); goto done; }
    int pass_all = 1;
    for (int i = 0; pass_all && i < q->ncond; i++) {
      if (implied[i]) continue;
      kval v;
      if (!value_of(&p, q->cond[i].field, csrc[i], &v)) { out = GP_CUT; goto done; }
      pass_all = qcond_match(&q->cond[i], &v);
    }
    if (!pass_all) continue;
    sub *x = NULL;
    kval sv = kv_null();
    if (subf >= 0 && !value_of(&p, subf, ssrc, &sv)) { out = GP_CUT; goto done; }
    for (int s = 0; s < nsub && !x; s++) if (same_key(&subs[s].key, &sv)) x = &subs[s];
    if (!x) {
      if (nsub == GP_MAX_SUBS) { out = GP_TOO_MANY; goto done; }
      x = &subs[nsub++];
      acc_reset(x, nagg);
      x->key = sv;
      if (sv.tag == KV_STR) { /* the entry's memory moves on */
        kbuf_reset(&x->keybuf);
        kbuf_put(&x->keybuf, sv.u.s.p, sv.u.s.len);
        x->key.u.s.p = (const char *)x->keybuf.p;
      }
    }
    x->rows++;
    for (int i = 0; i < nagg; i++) {
      kval v = kv_null();
      if (a[i].kind != GP_COUNT && !value_of(&p, a[i].field, asrc[i], &v)) { out = GP_CUT; goto done; }
      acc_add(&x->acc[i], a[i].kind, &v, &x->store[i]);
    }
  }
  if (in_group) out = flush(r, max_groups, &gkey, subs, nsub, nagg);
done:
  if (cur) mdb_cursor_close(cur);
  kbuf_free(&group);
  kbuf_free(&gtext);
  kbuf_free(&seek);
  kbuf_free(&lo_enc);
  kbuf_free(&hi_enc);
  for (int s = 0; subs && s < GP_MAX_SUBS; s++) {
    kbuf_free(&subs[s].keybuf);
    for (int j = 0; j < GP_MAX_AGGS; j++) kbuf_free(&subs[s].store[j]);
  }
  free(subs);
  if (out) gp_result_free(r);
  return out;
}

int grouppass_collect(MDB_txn *txn, const query *q, const index_def *ix, int gfield, int subf, const gp_agg *a,
                      int nagg, size_t max_groups, int (*stop)(void), gp_result *r, kam_err *e) {
  return collect(txn, q, ix, gfield, subf, a, nagg, max_groups, stop, (span){NULL, NULL}, r, e);
}

/* ---- a long pass shared among threads ----------------------------------- */

static int parts_max; /* 0: not set yet (the processors online) */

void grouppass_set_parts(int n) { parts_max = n < 1 ? 1 : n > GP_MAX_PARTS ? GP_MAX_PARTS : n; }

/* KAM_THREADS: a user's limit, for a machine shared with other work */
int grouppass_parts_from_env(kam_err *e) {
  const char *env = getenv("KAM_THREADS");
  if (!env || !*env) return 0; /* set to nothing: as if not set */
  char *end;
  long n = strtol(env, &end, 10);
  if (*end || n < 1)
    return kam_errf(e, KAM_EUSAGE, "KAM_THREADS: expected a whole number of threads, 1 or more (got \"%s\")", env);
  grouppass_set_parts(n > GP_MAX_PARTS ? GP_MAX_PARTS : (int)n);
  return 0;
}

static int parts_wanted(void) {
  if (!parts_max) {
    int n = workers_cores();
    grouppass_set_parts(n > GP_MAX_PARTS ? GP_MAX_PARTS : n);
  }
  return parts_max;
}

/* the other threads' stop: set when the first stretch ended early (Ctrl-C,
 * a budget, an error), as there is no point finishing the rest */
static atomic_int parts_cancel;
static int part_stop(void) { return atomic_load_explicit(&parts_cancel, memory_order_relaxed) ? -1 : 0; }

typedef struct part {
  MDB_txn *txn;
  const query *q;
  const index_def *ix;
  const gp_agg *a;
  int gfield, subf, nagg, out, started;
  size_t max;
  span sp;
  gp_result r;
  kam_err e;
  pthread_t th;
} part;

static void *run_part(void *arg) {
  part *pt = arg;
  pt->out = collect(pt->txn, pt->q, pt->ix, pt->gfield, pt->subf, pt->a, pt->nagg, pt->max, part_stop, pt->sp,
                    &pt->r, &pt->e);
  return NULL;
}

/* a key's first eight bytes as a number (big-endian, a shorter key padded with zeros) */
static uint64_t key_head(const MDB_val *k) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8; i++) u = u << 8 | (i < k->mv_size ? ((const uint8_t *)k->mv_data)[i] : 0);
  return u;
}

/* The number a run of decimal digits spells, or -1 (not all digits, or too long). */
static int64_t digits_value(const char *s, size_t n) {
  if (!n || n > 18) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Up to n - 1 group parts cutting ix into n stretches of about as many
 * groups each, in order, each after the one before; returns how many. The
 * points are spaced evenly between the first and last groups: by number
 * when their keys are texts that differ only in a run of digits at the end
 * (ids, CL-000001 to CL-100000: they are handed out in order), else by the
 * keys' first eight bytes (a day, an amount). */
static int cut_points(MDB_txn *txn, const index_def *ix, const field_def *f0, int n, kbuf *cuts) {
  MDB_cursor *cur;
  MDB_val k, v;
  if (mdb_cursor_open(txn, ix->dbi, &cur)) return 0;
  int m = 0;
  char s0[KEY_ID_MAX], s1[KEY_ID_MAX], scratch[KEY_ID_MAX];
  kval a, b, x;
  kbuf first = {0}, at = {0};
  size_t g;
  if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) ||
      !(g = key_get(k.mv_data, (const uint8_t *)k.mv_data + k.mv_size, f0, &a, s0)) || is_cut(&a))
    goto done;
  kbuf_put(&first, k.mv_data, g);
  uint64_t lo = key_head(&k);
  if (mdb_cursor_get(cur, &k, &v, MDB_LAST) ||
      !(g = key_get(k.mv_data, (const uint8_t *)k.mv_data + k.mv_size, f0, &b, s1)) || is_cut(&b))
    goto done;
  uint64_t hi = key_head(&k);
  /* ids: the same text up to a run of digits at the end */
  size_t p = 0, len = a.tag == KV_STR ? a.u.s.len : 0;
  int64_t da = -1, db = -1;
  if (f0->type != FT_DATE && a.tag == KV_STR && b.tag == KV_STR && b.u.s.len == len && len < KEY_ID_MAX) {
    while (p < len && a.u.s.p[p] == b.u.s.p[p]) p++;
    while (p > 0 && a.u.s.p[p - 1] >= '0' && a.u.s.p[p - 1] <= '9') p--; /* the whole run */
    da = digits_value(a.u.s.p + p, len - p);
    db = digits_value(b.u.s.p + p, len - p);
  }
  for (int i = 1; i < n; i++) {
    kbuf_reset(&at);
    if (da >= 0 && db > da) {
      char t[KEY_ID_MAX + 24];
      int64_t w = db - da, num = da + w / n * i + w % n * i / n;
      memcpy(t, a.u.s.p, p);
      snprintf(t + p, sizeof t - p, "%0*lld", (int)(len - p), (long long)num);
      x = kv_str(t, len);
      key_put(&at, f0, &x);
    } else if (hi > lo) {
      uint64_t w = hi - lo, pos = lo + w / (uint64_t)n * (uint64_t)i + w % (uint64_t)n * (uint64_t)i / (uint64_t)n;
      for (int j = 0; j < 8; j++) kbuf_byte(&at, (uint8_t)(pos >> (56 - 8 * j)));
    } else break;
    k.mv_data = at.p;
    k.mv_size = at.len;
    if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) break;
    g = key_get(k.mv_data, (const uint8_t *)k.mv_data + k.mv_size, f0, &x, scratch);
    if (!g || is_cut(&x)) break;
    const kbuf *prev = m ? &cuts[m - 1] : &first;
    if (!at_or_past(k.mv_data, g, prev) || (g == prev->len && !memcmp(k.mv_data, prev->p, g))) continue;
    kbuf_put(&cuts[m++], k.mv_data, g);
  }
done:
  kbuf_free(&first);
  kbuf_free(&at);
  mdb_cursor_close(cur);
  return m;
}

/* x's groups after r's (x's keys all come after r's) */
static int result_append(gp_result *r, const gp_result *x, size_t max) {
  for (size_t i = 0; i < x->n; i++) {
    kval k = gp_result_key(x, i), u = gp_result_sub(x, i);
    if (r->n >= max || !result_add(r, &k, &u, r->nagg)) return GP_TOO_MANY;
    size_t at = r->n - 1;
    r->rows[at] = x->rows[i];
    for (int j = 0; j < r->nagg; j++) {
      gp_acc g = gp_result_acc(x, i, j);
      if (g.have) g.best = kept(&r->arena, g.best);
      r->acc[at * (size_t)r->nagg + (size_t)j] = g;
    }
  }
  return 0;
}

int grouppass_parts(MDB_txn *txn, int read_only, const index_def *ix) {
  int n = read_only ? parts_wanted() : 1;
  MDB_stat st;
  if (n < 2 || mdb_stat(txn, ix->dbi, &st)) return 1;
  size_t most = st.ms_entries / GP_PART_MIN;
  return most < 1 ? 1 : (size_t)n > most ? (int)most : n;
}

int grouppass_collect_parts(MDB_txn *txn, int read_only, const query *q, const index_def *ix, int gfield, int subf,
                            const gp_agg *a, int nagg, size_t max_groups, int (*stop)(void), gp_result *r,
                            kam_err *e) {
  int n = q->never ? 1 : grouppass_parts(txn, read_only, ix);
  kbuf cuts[GP_MAX_PARTS - 1];
  memset(cuts, 0, sizeof cuts);
  int m = n > 1 ? cut_points(txn, ix, &q->c->fields[gfield], n, cuts) : 0;
  part parts[GP_MAX_PARTS];
  memset(parts, 0, sizeof parts);
  /* each other stretch in a read transaction of its own on the same version
   * of the book (a transaction is one thread's), or the pass is not shared */
  for (int i = 1; i <= m; i++) {
    if (store_begin_same(txn, &parts[i].txn)) {
      for (int j = 1; j < i; j++) store_abort(parts[j].txn), parts[j].txn = NULL;
      m = 0;
      break;
    }
  }
  if (!m) {
    for (int i = 0; i < GP_MAX_PARTS - 1; i++) kbuf_free(&cuts[i]);
    return grouppass_collect(txn, q, ix, gfield, subf, a, nagg, max_groups, stop, r, e);
  }
  atomic_store(&parts_cancel, 0);
  /* signals are this thread's business: the others take none */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (int i = 1; i <= m; i++) {
    part *pt = &parts[i];
    pt->q = q, pt->ix = ix, pt->a = a, pt->gfield = gfield, pt->subf = subf, pt->nagg = nagg, pt->max = max_groups;
    pt->sp = (span){&cuts[i - 1], i < m ? &cuts[i] : NULL};
    pt->started = !pthread_create(&pt->th, NULL, run_part, pt);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  int out = collect(txn, q, ix, gfield, subf, a, nagg, max_groups, stop, (span){NULL, &cuts[0]}, r, e);
  if (out) atomic_store(&parts_cancel, 1);
  for (int i = 1; i <= m; i++) {
    part *pt = &parts[i];
    if (pt->started) pthread_join(pt->th, NULL);
    else if (!out) run_part(pt); /* no thread to be had: here, after the first */
    else pt->out = -1;
    if (!out && pt->out) {
      out = pt->out;
      if (out < 0) *e = pt->e;
    }
  }
  for (int i = 1; i <= m; i++) {
    if (!out) out = result_append(r, &parts[i].r, max_groups);
    gp_result_free(&parts[i].r);
    store_abort(parts[i].txn);
  }
  for (int i = 0; i < GP_MAX_PARTS - 1; i++) kbuf_free(&cuts[i]);
  if (out) gp_result_free(r);
  return out;
}

/* ---- groups of the rows of any plan, in a hash ------------------------- */

typedef struct ghash { size_t cap; uint64_t *h; uint32_t *at; } ghash; /* at: entry + 1, 0 empty */

static uint64_t fnv_val(uint64_t h, const kval *v) {
  h ^= v->tag;
  h *= 1099511628211ull;
  const uint8_t *p = NULL;
  size_t n = 0;
  if (v->tag == KV_STR) p = (const uint8_t *)v->u.s.p, n = v->u.s.len;
  else if (v->tag == KV_INT || v->tag == KV_NUM) p = (const uint8_t *)&v->u, n = 8;
  for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ull; }
  return h;
}

static int ghash_grow(ghash *g) {
  size_t cap = g->cap ? g->cap * 2 : 1024;
  uint64_t *h = calloc(cap, sizeof *h);
  uint32_t *at = calloc(cap, sizeof *at);
  if (!h || !at) { free(h); free(at); return 0; }
  for (size_t i = 0; i < g->cap; i++) {
    if (!g->at[i]) continue;
    size_t j = g->h[i] & (cap - 1);
    while (at[j]) j = (j + 1) & (cap - 1);
    h[j] = g->h[i];
    at[j] = g->at[i];
  }
  free(g->h);
  free(g->at);
  g->h = h;
  g->at = at;
  g->cap = cap;
  return 1;
}

/* acc_add for an aggregate kept in r: a min or max text goes to the arena */
static void acc_add_kept(gp_result *r, gp_acc *x, gp_kind kind, const kval *v) {
  if (kind == GP_COUNT || kind == GP_SUM || v->tag == KV_NULL) { acc_add(x, kind, v, NULL); return; }
  kval best = x->have ? unkept(&r->arena, x->best) : kv_null();
  int c = x->have ? kval_cmp(v, &best) : 0;
  if (!x->have || (c != 2 && (kind == GP_MAX ? c > 0 : c < 0))) {
    if (x->have && best.tag == KV_STR && v->tag == KV_STR && v->u.s.len <= best.u.s.len) {
      /* over the old text, which nothing else holds: a max of dates in date
       * order would otherwise keep every one of them */
      memcpy((char *)best.u.s.p, v->u.s.p, v->u.s.len);
      x->best.u.s.len = v->u.s.len;
      return;
    }
    x->have = 1;
    x->best = kept(&r->arena, *v);
  }
}

int grouppass_collect_rows(MDB_txn *txn, const query *q, int gfield, int subf, const gp_agg *a, int nagg,
                           size_t max_groups, int (*stop)(void), gp_result *r, kam_err *e) {
  memset(r, 0, sizeof *r);
  r->nagg = nagg;
  if (nagg < 1 || nagg > GP_MAX_AGGS) return -kam_errf(e, KAM_EINTERNAL, "grouppass: bad aggregates");
  qiter it;
  int want = a[0].kind != GP_COUNT ? a[0].field : gfield, out = 0, rc;
  ghash g = {0};
  if ((rc = qiter_open(&it, txn, q, want, e))) { out = -(rc > 0 ? rc : KAM_EINTERNAL); goto done; }
  unsigned long steps = 0;
  while ((rc = qiter_next(&it, e)) == 1) {
    if (stop && (++steps & 4095) == 0 && (out = stop())) goto done;
    kval key, sub = kv_null();
    if ((rc = qiter_field(&it, gfield, &key, e)) < 0 || (subf >= 0 && (rc = qiter_field(&it, subf, &sub, e)) < 0)) {
      out = rc;
      goto done;
    }
    uint64_t h = fnv_val(fnv_val(1469598103934665603ull, &key), &sub);
    if ((r->n + 1) * 2 > g.cap && !ghash_grow(&g)) { out = GP_TOO_MANY; goto done; }
    size_t j = h & (g.cap - 1);
    size_t at = 0;
    for (; g.at[j]; j = (j + 1) & (g.cap - 1)) {
      size_t i = g.at[j] - 1;
      if (g.h[j] != h) continue;
      kval k0 = gp_result_key(r, i), s0 = gp_result_sub(r, i);
      if (same_key(&k0, &key) && same_key(&s0, &sub)) { at = i + 1; break; }
    }
    if (!at) {
      if (r->n >= max_groups || r->n >= UINT32_MAX - 1) { out = GP_TOO_MANY; goto done; }
      if (!result_add(r, &key, &sub, nagg)) { out = GP_TOO_MANY; goto done; }
      g.h[j] = h;
      g.at[j] = (uint32_t)r->n;
      at = r->n;
    }
    size_t i = at - 1;
    r->rows[i]++;
    for (int k = 0; k < nagg; k++) {
      kval v = kv_null();
      if (a[k].kind != GP_COUNT && (rc = qiter_field(&it, a[k].field, &v, e)) < 0) { out = rc; goto done; }
      acc_add_kept(r, &r->acc[i * (size_t)nagg + (size_t)k], a[k].kind, &v);
    }
  }
  if (rc < 0) out = rc;
done:
  qiter_close(&it);
  free(g.h);
  free(g.at);
  if (out) gp_result_free(r);
  return out;
}

kval gp_result_key(const gp_result *r, size_t i) { return unkept(&r->arena, r->key[i]); }
kval gp_result_sub(const gp_result *r, size_t i) { return unkept(&r->arena, r->sub[i]); }

gp_acc gp_result_acc(const gp_result *r, size_t i, int j) {
  gp_acc x = r->acc[i * (size_t)r->nagg + (size_t)j];
  if (x.have) x.best = unkept(&r->arena, x.best);
  return x;
}

void gp_result_free(gp_result *r) {
  free(r->key);
  free(r->sub);
  free(r->rows);
  free(r->acc);
  kbuf_free(&r->arena);
  int nagg = r->nagg;
  memset(r, 0, sizeof *r);
  r->nagg = nagg;
}
