/* verify.c — see verify.h.
 *
 * Speed: every sub-database is read once, in key order, by one cursor. The
 * index entries a record should have are not looked up one by one (a random
 * B-tree search each, 50M of them on a 10M-invoice book). Both sides are
 * folded instead into an order-free sum of seeded 64-bit hashes of (key,
 * value) and a count, per index: the records' side while the collection is
 * read, the index's side while the index is read. Equal sums and counts mean
 * the same set of entries, barring a 64-bit collision. The sums are also kept
 * per bucket (the hash's top bits), so for an index that differs only the
 * entries of the buckets that differ are gathered on both sides, in one more
 * pass each, and compared in memory to name every problem; an index damaged
 * all over is gone over record by record with look-ups instead.
 *
 * The book is opened read-only (store_open_readonly), so verify never syncs
 * the layout or rebuilds an index: what it reports is the file as it is. An
 * index or field the schema declares but the book does not have yet (the next
 * command that opens the book for writing adds it) is a note, not a problem. */
#include "verify.h"
#include "keyenc.h"
#include "decisions.h"
#include "record.h"
#include "store.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- hashing ------------------------------------------------------------- */

__extension__ typedef unsigned __int128 u128;

static inline uint64_t mix(uint64_t a, uint64_t b) {
  u128 r = (u128)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

#define H0 0xa0761d6478bd642full
#define H1 0xe7037ed1a0b428dbull
#define H2 0x8ebc6af09c88c6e3ull

static uint64_t hash_bytes(const void *data, size_t n, uint64_t seed) {
  const uint8_t *p = data;
  uint64_t h = mix(seed ^ H0, (uint64_t)n ^ H1);
  while (n > 16) {
    h = mix(rd64(p) ^ H1, rd64(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  uint8_t t[16] = {0};
  if (n) memcpy(t, p, n);
  return mix(rd64(t) ^ H2 ^ h, rd64(t + 8) ^ H0);
}

static inline uint64_t entry_hash(uint64_t seed, const void *k, size_t kn, const void *d, size_t dn) {
  return hash_bytes(d, dn, hash_bytes(k, kn, seed));
}

/* ---- state ---------------------------------------------------------------- */

typedef struct ixstate {
  int skip;             /* not built for this schema yet: left unchecked */
  char label[200];      /* "[client, issued]" */
  uint64_t want, have;  /* sums of entry hashes: from the records, from the index */
  size_t nwant, nhave;
  uint64_t *wantb, *haveb; /* the same sums per bucket */
} ixstate;

#define NBUCKET_BITS 10
#define NBUCKET (1u << NBUCKET_BITS)
#define BUCKET(h) ((h) >> (64 - NBUCKET_BITS))
/* at most this many entries are gathered in memory to name the problems
 * (KAM_VERIFY_GATHER overrides it: the tests take the look-up path with 0) */
#define GATHER_MAX 4000000

typedef struct cstate {
  int skip;             /* no sub-database yet */
  uint64_t max_idnum;   /* highest number of an id of the collection's form */
  ixstate *ix;
} cstate;

typedef struct runinfo {
  uint64_t id;
  int64_t expect;       /* decisions an eval run stored (evaluated - failed), or -1 */
  size_t seen;
  char policy[64];
} runinfo;

typedef struct vctx {
  kam_store *st;
  schema *sc;
  MDB_txn *txn;
  const verify_opts *o;
  verify_stats *vs;
  kam_err *e;
  uint64_t seed;
  uint32_t fnext;       /* the dictionary's next id (f#) */
  uint8_t *fknown;      /* [fnext]: 1 for an id some field name has */
  int *fpos;            /* fid -> field position, for the collection being read */
  size_t nfpos;
  kval *vals;
  kbuf kb, vb, e1, e2;
  cstate *cs;
  runinfo *runs;
  size_t nruns, capruns;
  uint64_t run_seq, decision_seq;
} vctx;

static void problem(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(vctx *v, const char *fmt, ...) {
  if (++v->vs->problems > (size_t)v->o->max_shown && v->o->max_shown >= 0) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("kam: verify: ", v->o->problems);
  vfprintf(v->o->problems, fmt, ap);
  fputc('\n', v->o->problems);
  va_end(ap);
}

static void note(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(vctx *v, const char *fmt, ...) {
  v->vs->notes++;
  if (!v->o->notes) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("note: ", v->o->notes);
  vfprintf(v->o->notes, fmt, ap);
  fputc('\n', v->o->notes);
  va_end(ap);
}

/* Bytes for a message: printable ASCII and UTF-8 as they are, the rest as
 * \xHH; long values cut. A damaged key may hold anything. */
static const char *esc(kbuf *b, const void *data, size_t n) {
  const uint8_t *p = data;
  kbuf_reset(b);
  size_t show = n > 120 ? 120 : n;
  for (size_t i = 0; i < show; i++) {
    if (p[i] >= 0x20 && p[i] != 0x7f && p[i] != '\\') kbuf_byte(b, p[i]);
    else kbuf_printf(b, "\\x%02x", p[i]);
  }
  if (show < n) kbuf_str(b, "...");
  return kbuf_cstr(b);
}

static int read_fail(vctx *v, int rc, const char *where) {
  lmdb_err(v->e, rc, where);
  return v->e->code = KAM_EINTERNAL;
}

static uint64_t be64(const uint8_t *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | p[i];
  return u;
}

static int has_prefix(const MDB_val *k, const char *pre) {
  size_t n = strlen(pre);
  return k->mv_size >= n && !memcmp(k->mv_data, pre, n);
}

/* ---- records -------------------------------------------------------------- */

/* A list or map value: every element decodes and fills the body exactly. */
static int val_ok(const kval *x, int depth) {
  if (x->tag != KV_LIST && x->tag != KV_MAP) return 1;
  if (depth > 64 || x->u.s.len == 0) return 0;
  coll_iter it;
  citer_init(&it, x);
  const char *key;
  size_t kl;
  kval y;
  while (citer_next(&it, &key, &kl, &y))
    if (!val_ok(&y, depth + 1)) return 0;
  return it.left == 0 && it.p == it.end;
}

/* A record's form, without a schema (audit before/after). */
static int rec_form_ok(const uint8_t *p, size_t n) {
  rec_iter it;
  if (!rec_iter_init(&it, p, n)) return 0;
  uint32_t fid, prev = 0;
  int first = 1;
  kval x;
  while (rec_next(&it, &fid, &x)) {
    if ((!first && fid <= prev) || !val_ok(&x, 0)) return 0;
    prev = fid;
    first = 0;
  }
  return it.left == 0 && it.p == it.end;
}

static int tag_fits(ftype t, uint8_t tag) {
  if (tag == KV_NULL) return 1;
  switch (t) {
  case FT_STRING: case FT_REF: case FT_DATE: case FT_DATETIME: case FT_ENUM: return tag == KV_STR;
  case FT_INT: case FT_MONEY: case FT_NUMBER: return tag == KV_INT || tag == KV_NUM; /* keyenc takes both */
  case FT_BOOL: return tag == KV_TRUE || tag == KV_FALSE;
  case FT_LIST: return tag == KV_LIST;
  case FT_MAP: return tag == KV_MAP;
  }
  return 0;
}

static const char *tag_name(uint8_t tag) {
  static const char *const n[] = {"nil", "false", "true", "an integer", "a number", "text", "a list", "a map"};
  return tag < 8 ? n[tag] : "an unknown tag";
}

static void set_fpos(vctx *v, const coll_def *c) {
  uint32_t max = 0;
  for (int i = 1; i < c->nfields; i++) if (c->fields[i].fid > max) max = c->fields[i].fid;
  free(v->fpos);
  v->nfpos = (size_t)max + 1;
  v->fpos = malloc(v->nfpos * sizeof *v->fpos);
  for (size_t i = 0; i < v->nfpos; i++) v->fpos[i] = -1;
  for (int i = 1; i < c->nfields; i++) if (c->fields[i].fid) v->fpos[c->fields[i].fid] = i;
}

/* Decodes a record into v->vals by field position (v->vals[F_ID] = id) and,
 * when report is set, reports what is wrong with it. Returns 0 when the
 * record's form is broken (its index entries cannot be told then). */
static int decode_record(vctx *v, const coll_def *c, const MDB_val *k, const MDB_val *d, int report) {
  kval *vals = v->vals;
  for (int i = 1; i < c->nfields; i++) vals[i] = kv_null();
  vals[F_ID] = kv_str(k->mv_data, k->mv_size);
  rec_iter it;
  if (!rec_iter_init(&it, d->mv_data, d->mv_size)) {
    if (report) problem(v, "%s %s: the record does not decode (bad header)", c->name, esc(&v->e1, k->mv_data, k->mv_size));
    return 0;
  }
  uint32_t fid, prev = 0;
  int first = 1, order = 1, badval = 0;
  kval x;
  while (rec_next(&it, &fid, &x)) {
    if (!first && fid <= prev) order = 0;
    prev = fid;
    first = 0;
    if (!val_ok(&x, 0)) badval = 1;
    int pos = fid < v->nfpos ? v->fpos[fid] : -1;
    if (pos > 0) {
      vals[pos] = x;
      if (report && !tag_fits(c->fields[pos].type, x.tag))
        problem(v, "%s %s: field %s holds %s, the schema says %s", c->name,
                esc(&v->e1, k->mv_data, k->mv_size), c->fields[pos].name, tag_name(x.tag),
                ftype_names[c->fields[pos].type]);
    } else if (report && (fid >= v->fnext || !v->fknown[fid])) {
      problem(v, "%s %s: field id %u is not in the field dictionary", c->name,
              esc(&v->e1, k->mv_data, k->mv_size), fid);
    }
  }
  int form = !it.left && it.p == it.end && order && !badval;
  if (!report) return form;
  if (it.left || it.p != it.end)
    problem(v, "%s %s: the record does not decode (%s)", c->name, esc(&v->e1, k->mv_data, k->mv_size),
            it.left ? "a field is cut short" : "bytes after the last field");
  if (!order) problem(v, "%s %s: the record's fields are not in field-id order", c->name, esc(&v->e1, k->mv_data, k->mv_size));
  if (badval) problem(v, "%s %s: a list or map in the record does not decode", c->name, esc(&v->e1, k->mv_data, k->mv_size));
  return form;
}

static int id_ok(const MDB_val *k) {
  if (k->mv_size == 0 || k->mv_size > 200) return 0;
  const uint8_t *p = k->mv_data;
  for (size_t i = 0; i < k->mv_size; i++)
    if (p[i] < 0x21 || p[i] == 0x7f) return 0;
  return 1;
}

/* ---- layout: dictionary, sub-databases, index signatures ------------------- */

static int check_layout(vctx *v) {
  MDB_txn *txn = v->txn;
  MDB_val d, k;
  int rc;
  if (meta_get(txn, v->st, "format", &d)) problem(v, "meta: the format mark is missing");
  else if (d.mv_size != 1 || *(const char *)d.mv_data != '1')
    problem(v, "meta: format is \"%s\", expected \"1\"", esc(&v->e1, d.mv_data, d.mv_size));
  v->fnext = 0;
  if (meta_get(txn, v->st, "f#", &d) || d.mv_size != 4) problem(v, "meta: the field dictionary's next id (f#) is missing");
  else memcpy(&v->fnext, d.mv_data, 4);
  v->fknown = calloc((size_t)v->fnext + 1, 1);
  /* every name has its own id below f# */
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(txn, v->st->meta, &cur))) return read_fail(v, rc, "meta");
  k.mv_size = 2;
  k.mv_data = "f:";
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); !rc && has_prefix(&k, "f:");
       rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    const char *name = esc(&v->e1, (const char *)k.mv_data + 2, k.mv_size - 2);
    uint32_t id;
    if (d.mv_size != 4) { problem(v, "meta: field %s: its id is %zu bytes, not 4", name, d.mv_size); continue; }
    memcpy(&id, d.mv_data, 4);
    if (id == 0 || id >= v->fnext) problem(v, "meta: field %s has id %u, outside the dictionary (next id %u)", name, id, v->fnext);
    else if (v->fknown[id]) problem(v, "meta: field %s has id %u, which another field name has too", name, id);
    else v->fknown[id] = 1;
  }
  mdb_cursor_close(cur);
  if (rc && rc != MDB_NOTFOUND) return read_fail(v, rc, "meta");
  char key[300];
  kbuf sig = {0};
  for (int ci = 0; ci < v->sc->ncolls; ci++) {
    coll_def *c = &v->sc->colls[ci];
    cstate *cs = &v->cs[ci];
    for (int fi = 1; fi < c->nfields; fi++) {
      snprintf(key, sizeof key, "f:%s", c->fields[fi].name);
      c->fields[fi].fid = 0; /* no id: no record can hold the field yet */
      if (!meta_get(txn, v->st, key, &d) && d.mv_size == 4) memcpy(&c->fields[fi].fid, d.mv_data, 4);
      else note(v, "%s: field %s is not in the book's field dictionary yet (the next kam command that opens the book adds it)", c->name, c->fields[fi].name);
    }
    snprintf(key, sizeof key, "c:%s", c->name);
    rc = mdb_dbi_open(txn, key, 0, &c->dbi);
    if (rc == MDB_NOTFOUND) {
      note(v, "%s: not in the book yet (the next kam command that opens it adds it)", c->name);
      cs->skip = 1;
    } else if (rc) {
      kbuf_free(&sig);
      return read_fail(v, rc, key);
    }
    for (int xi = 0; xi < c->nindexes; xi++) {
      index_def *ix = &c->indexes[xi];
      ixstate *is = &cs->ix[xi];
      int n = snprintf(is->label, sizeof is->label, "[");
      for (int i = 0; i < ix->nf && n < (int)sizeof is->label; i++)
        n += snprintf(is->label + n, sizeof is->label - (size_t)n, "%s%s", i ? ", " : "", c->fields[ix->f[i]].name);
      if (n < (int)sizeof is->label) snprintf(is->label + n, sizeof is->label - (size_t)n, "]");
      if (cs->skip) { is->skip = 1; continue; }
      snprintf(key, sizeof key, "i:%s", ix->name);
      rc = mdb_dbi_open(txn, key, 0, &ix->dbi);
      if (rc && rc != MDB_NOTFOUND) { kbuf_free(&sig); return read_fail(v, rc, key); }
      kbuf_reset(&sig);
      store_index_signature(c, ix, &sig);
      snprintf(key, sizeof key, "ix:%s", ix->name);
      if (rc || meta_get(txn, v->st, key, &d) || d.mv_size != sig.len || memcmp(d.mv_data, sig.p, sig.len)) {
        note(v, "%s: index %s is not built for this schema yet (the next kam command that opens the book builds it)", c->name, is->label);
        is->skip = 1;
      }
    }
  }
  kbuf_free(&sig);
  /* indexes the schema dropped: removed at the next open for writing */
  if ((rc = mdb_cursor_open(txn, v->st->meta, &cur))) return read_fail(v, rc, "meta");
  k.mv_size = 3;
  k.mv_data = "ix:";
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); !rc && has_prefix(&k, "ix:");
       rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    int known = 0;
    for (int ci = 0; ci < v->sc->ncolls && !known; ci++)
      for (int xi = 0; xi < v->sc->colls[ci].nindexes && !known; xi++) {
        const char *nm = v->sc->colls[ci].indexes[xi].name;
        known = strlen(nm) == k.mv_size - 3 && !memcmp(nm, (const char *)k.mv_data + 3, k.mv_size - 3);
      }
    if (!known) note(v, "index %s is no longer in the schema (the next kam command that opens the book drops it)", esc(&v->e1, (const char *)k.mv_data + 3, k.mv_size - 3));
  }
  mdb_cursor_close(cur);
  if (rc && rc != MDB_NOTFOUND) return read_fail(v, rc, "meta");
  return 0;
}

/* ---- collections and indexes ----------------------------------------------- */

static int scan_collection(vctx *v, int ci) {
  coll_def *c = &v->sc->colls[ci];
  cstate *cs = &v->cs[ci];
  set_fpos(v, c);
  MDB_cursor *cur;
  int rc = mdb_cursor_open(v->txn, c->dbi, &cur);
  if (rc) return read_fail(v, rc, c->name);
  MDB_val k, d;
  size_t n = 0;
  int op = MDB_FIRST;
  while (!(rc = mdb_cursor_get(cur, &k, &d, op))) {
    op = MDB_NEXT;
    n++;
    if (!id_ok(&k)) problem(v, "%s %s: not a valid id (1 to 200 bytes, no spaces or control characters)", c->name, esc(&v->e1, k.mv_data, k.mv_size));
    uint64_t num;
    if (id_number(c, k.mv_data, k.mv_size, &num) && num > cs->max_idnum) cs->max_idnum = num;
    decode_record(v, c, &k, &d, 1);
    for (int xi = 0; xi < c->nindexes; xi++) {
      ixstate *is = &cs->ix[xi];
      if (is->skip) continue;
      kbuf_reset(&v->kb);
      kbuf_reset(&v->vb);
      index_key(&v->kb, c, &c->indexes[xi], v->vals);
      index_val(&v->vb, c, &c->indexes[xi], v->vals);
      uint64_t h = entry_hash(v->seed, v->kb.p, v->kb.len, v->vb.p, v->vb.len);
      is->want += h;
      is->wantb[BUCKET(h)] += h;
      is->nwant++;
    }
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return read_fail(v, rc, c->name);
  MDB_stat s;
  if ((rc = mdb_stat(v->txn, c->dbi, &s))) return read_fail(v, rc, c->name);
  if (s.ms_entries != n) problem(v, "%s: the stored count is %zu, but a scan finds %zu records", c->name, s.ms_entries, n);
  v->vs->colls++;
  v->vs->records += n;
  return 0;
}

/* The index entry a record should have, into v->kb (key) and v->vb
 * (carried values); 0 for a record that does not decode (reported once by
 * the record pass, not again per index). */
static int expected_entry(vctx *v, const coll_def *c, const index_def *ix, const MDB_val *k, const MDB_val *d) {
  if (!decode_record(v, c, k, d, 0)) return 0;
  kbuf_reset(&v->kb);
  kbuf_reset(&v->vb);
  index_key(&v->kb, c, ix, v->vals);
  index_val(&v->vb, c, ix, v->vals);
  return 1;
}

/* Record by record and entry by entry, with a look-up each, both ways: for an
 * index whose sums differ in most buckets. */
/* The id an index entry's key ends with, unpacked into out: its length, or
 * 0 when the key does not decode. */
static size_t key_entry_id(const coll_def *c, const index_def *ix, const uint8_t *p, size_t n,
                           char out[KEY_ID_MAX]) {
  const uint8_t *end = p + n;
  for (int i = 0; i < ix->nf; i++) {
    kval x;
    char scratch[KEY_ID_MAX];
    size_t used = key_get(p, end, &c->fields[ix->f[i]], &x, scratch);
    if (!used) return 0;
    p += used;
  }
  return p < end ? key_get_id(p, end, c->prefix, out) : 0;
}

static int detail_lookup(vctx *v, int ci, int xi) {
  coll_def *c = &v->sc->colls[ci];
  index_def *ix = &c->indexes[xi];
  const char *label = v->cs[ci].ix[xi].label;
  size_t before = v->vs->problems, broken = 0;
  MDB_cursor *cur;
  MDB_val k, d, e;
  int rc = mdb_cursor_open(v->txn, c->dbi, &cur);
  if (rc) return read_fail(v, rc, c->name);
  /* every record has its entry, carrying the record's values */
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    if (!expected_entry(v, c, ix, &k, &d)) { broken++; continue; }
    MDB_val ik = {v->kb.len, v->kb.p};
    int g = mdb_get(v->txn, ix->dbi, &ik, &e);
    if (g == MDB_NOTFOUND) problem(v, "%s %s: index %s has no entry", c->name, esc(&v->e1, k.mv_data, k.mv_size), label);
    else if (g) { mdb_cursor_close(cur); return read_fail(v, g, ix->name); }
    else if (e.mv_size != v->vb.len || (e.mv_size && memcmp(e.mv_data, v->vb.p, e.mv_size)))
      problem(v, "%s %s: index %s: the entry carries other values than the record", c->name, esc(&v->e1, k.mv_data, k.mv_size), label);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return read_fail(v, rc, c->name);
  /* every entry belongs to a record whose fields give its key */
  if ((rc = mdb_cursor_open(v->txn, ix->dbi, &cur))) return read_fail(v, rc, ix->name);
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    char idbuf[KEY_ID_MAX];
    size_t idn = key_entry_id(c, ix, k.mv_data, k.mv_size, idbuf);
    if (!idn) {
      problem(v, "%s: index %s: an entry's key does not decode (%s)", c->name, label, esc(&v->e1, k.mv_data, k.mv_size));
      continue;
    }
    MDB_val id = {idn, idbuf}, rec;
    int g = store_get(v->txn, c, id.mv_data, id.mv_size, &rec);
    if (g == MDB_NOTFOUND) {
      problem(v, "%s: index %s has an entry for %s, which is not a record", c->name, label, esc(&v->e1, id.mv_data, id.mv_size));
      continue;
    }
    if (g) { mdb_cursor_close(cur); return read_fail(v, g, c->name); }
    if (!decode_record(v, c, &id, &rec, 0)) continue;
    kbuf_reset(&v->kb);
    index_key(&v->kb, c, ix, v->vals);
    if (v->kb.len != k.mv_size || memcmp(v->kb.p, k.mv_data, k.mv_size))
      problem(v, "%s %s: index %s has a stray entry (%s) that the record's fields do not give", c->name,
              esc(&v->e1, id.mv_data, id.mv_size), label, esc(&v->e2, k.mv_data, k.mv_size));
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return read_fail(v, rc, ix->name);
  if (v->vs->problems == before && !broken)
    problem(v, "%s: index %s differs from its records (by checksum), but no entry could be named", c->name, label);
  return 0;
}

/* Entries gathered from one side, in the buckets that differ. */
typedef struct gentry { const uint8_t *k, *v; uint32_t kn, vn, idn; } gentry;
typedef struct glist {
  kbuf arena;          /* key, then value, of each entry */
  struct { size_t off; uint32_t kn, vn, idn; } *e;
  size_t n, cap;
  gentry *g;           /* pointers into the arena, once it stops growing */
} glist;

static void gl_add(glist *l, const void *k, size_t kn, const void *d, size_t dn, size_t idn) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 256;
    l->e = realloc(l->e, l->cap * sizeof *l->e);
  }
  l->e[l->n].off = l->arena.len;
  l->e[l->n].kn = (uint32_t)kn;
  l->e[l->n].vn = (uint32_t)dn;
  l->e[l->n].idn = (uint32_t)idn;
  l->n++;
  kbuf_put(&l->arena, k, kn);
  kbuf_put(&l->arena, d, dn);
}

static int gentry_cmp(const void *a, const void *b) {
  const gentry *x = a, *y = b;
  size_t n = x->kn < y->kn ? x->kn : y->kn;
  int c = memcmp(x->k, y->k, n);
  return c ? c : (x->kn > y->kn) - (x->kn < y->kn);
}

static void gl_sort(glist *l) {
  l->g = malloc((l->n ? l->n : 1) * sizeof *l->g);
  for (size_t i = 0; i < l->n; i++) {
    l->g[i].k = l->arena.p + l->e[i].off;
    l->g[i].kn = l->e[i].kn;
    l->g[i].v = l->g[i].k + l->e[i].kn;
    l->g[i].vn = l->e[i].vn;
    l->g[i].idn = l->e[i].idn;
  }
  if (l->n) qsort(l->g, l->n, sizeof *l->g, gentry_cmp);
}

static void gl_free(glist *l) {
  kbuf_free(&l->arena);
  free(l->e);
  free(l->g);
}

/* The id a record's expected entry ends with (its last idn bytes), as text. */
static const char *entry_id(vctx *v, const coll_def *c, const gentry *g) {
  char buf[KEY_ID_MAX];
  size_t n = key_get_id(g->k + g->kn - g->idn, g->k + g->kn, c->prefix, buf);
  return n ? esc(&v->e1, buf, n) : esc(&v->e1, g->k, g->kn);
}

/* An entry no record gives: which kind of wrong it is. */
static int stray_entry(vctx *v, coll_def *c, index_def *ix, const char *label, const gentry *g, size_t *broken) {
  char idbuf[KEY_ID_MAX];
  size_t idn = key_entry_id(c, ix, g->k, g->kn, idbuf);
  if (!idn) {
    problem(v, "%s: index %s: an entry's key does not decode (%s)", c->name, label, esc(&v->e1, g->k, g->kn));
    return 0;
  }
  MDB_val id = {idn, idbuf}, rec;
  int rc = store_get(v->txn, c, id.mv_data, id.mv_size, &rec);
  if (rc == MDB_NOTFOUND) {
    problem(v, "%s: index %s has an entry for %s, which is not a record", c->name, label, esc(&v->e1, id.mv_data, id.mv_size));
    return 0;
  }
  if (rc) return read_fail(v, rc, c->name);
  if (!decode_record(v, c, &id, &rec, 0)) { (*broken)++; return 0; } /* reported with the record */
  problem(v, "%s %s: index %s has a stray entry (%s) that the record's fields do not give", c->name,
          esc(&v->e1, id.mv_data, id.mv_size), label, esc(&v->e2, g->k, g->kn));
  return 0;
}

/* The entries of the buckets whose sums differ, from both sides, compared. */
static int detail_buckets(vctx *v, int ci, int xi, const uint8_t *bad) {
  coll_def *c = &v->sc->colls[ci];
  index_def *ix = &c->indexes[xi];
  const char *label = v->cs[ci].ix[xi].label;
  size_t before = v->vs->problems, broken = 0;
  glist want = {0}, have = {0};
  MDB_cursor *cur;
  MDB_val k, d;
  int rc = mdb_cursor_open(v->txn, c->dbi, &cur);
  if (rc) return read_fail(v, rc, c->name);
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    if (!expected_entry(v, c, ix, &k, &d)) { broken++; continue; }
    uint64_t h = entry_hash(v->seed, v->kb.p, v->kb.len, v->vb.p, v->vb.len);
    if (bad[BUCKET(h)]) gl_add(&want, v->kb.p, v->kb.len, v->vb.p, v->vb.len, key_id_size(c->prefix, k.mv_data, k.mv_size));
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) { gl_free(&want); return read_fail(v, rc, c->name); }
  if ((rc = mdb_cursor_open(v->txn, ix->dbi, &cur))) { gl_free(&want); return read_fail(v, rc, ix->name); }
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    uint64_t h = entry_hash(v->seed, k.mv_data, k.mv_size, d.mv_data, d.mv_size);
    if (bad[BUCKET(h)]) gl_add(&have, k.mv_data, k.mv_size, d.mv_data, d.mv_size, 0);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) { gl_free(&want); gl_free(&have); return read_fail(v, rc, ix->name); }
  gl_sort(&want);
  gl_sort(&have);
  size_t i = 0, j = 0;
  rc = 0;
  while ((i < want.n || j < have.n) && !rc) {
    int cmp = i == want.n ? 1 : j == have.n ? -1 : gentry_cmp(&want.g[i], &have.g[j]);
    if (cmp < 0) { /* the record's entry is missing */
      const gentry *g = &want.g[i++];
      problem(v, "%s %s: index %s has no entry", c->name, entry_id(v, c, g), label);
    } else if (cmp > 0) {
      rc = stray_entry(v, c, ix, label, &have.g[j++], &broken);
    } else {
      const gentry *g = &want.g[i++], *e = &have.g[j++];
      if (g->vn != e->vn || (g->vn && memcmp(g->v, e->v, g->vn)))
        problem(v, "%s %s: index %s: the entry carries other values than the record", c->name,
                entry_id(v, c, g), label);
    }
  }
  gl_free(&want);
  gl_free(&have);
  if (!rc && v->vs->problems == before && !broken)
    problem(v, "%s: index %s differs from its records (by checksum), but no entry could be named", c->name, label);
  return rc;
}

/* Names what differs in an index whose sums disagree: from the buckets that
 * differ when they hold few entries, else by look-ups. */
static int index_detail(vctx *v, int ci, int xi) {
  ixstate *is = &v->cs[ci].ix[xi];
  uint8_t bad[NBUCKET];
  size_t nbad = 0;
  for (unsigned b = 0; b < NBUCKET; b++) nbad += bad[b] = is->wantb[b] != is->haveb[b];
  double gather = (double)(is->nwant + is->nhave) * (double)nbad / NBUCKET, max = GATHER_MAX;
  const char *env = getenv("KAM_VERIFY_GATHER");
  if (env && *env) max = atof(env);
  if (nbad && gather <= max) return detail_buckets(v, ci, xi, bad);
  return detail_lookup(v, ci, xi);
}

static int scan_index(vctx *v, int ci, int xi) {
  coll_def *c = &v->sc->colls[ci];
  index_def *ix = &c->indexes[xi];
  ixstate *is = &v->cs[ci].ix[xi];
  MDB_cursor *cur;
  int rc = mdb_cursor_open(v->txn, ix->dbi, &cur);
  if (rc) return read_fail(v, rc, ix->name);
  MDB_val k, d;
  int op = MDB_FIRST;
  while (!(rc = mdb_cursor_get(cur, &k, &d, op))) {
    op = MDB_NEXT;
    uint64_t h = entry_hash(v->seed, k.mv_data, k.mv_size, d.mv_data, d.mv_size);
    is->have += h;
    is->haveb[BUCKET(h)] += h;
    is->nhave++;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return read_fail(v, rc, ix->name);
  MDB_stat s;
  if ((rc = mdb_stat(v->txn, ix->dbi, &s))) return read_fail(v, rc, ix->name);
  if (s.ms_entries != is->nhave)
    problem(v, "%s: index %s: the stored count is %zu, but a scan finds %zu entries", c->name, is->label, s.ms_entries, is->nhave);
  v->vs->indexes++;
  v->vs->index_entries += is->nhave;
  if (is->have != is->want || is->nhave != is->nwant) return index_detail(v, ci, xi);
  return 0;
}

/* ---- meta: sequences and policy sources ------------------------------------- */

static uint64_t meta_u64(vctx *v, const char *key, int *present) {
  MDB_val d;
  uint64_t n = 0;
  *present = 0;
  if (meta_get(v->txn, v->st, key, &d)) return 0;
  *present = 1;
  if (d.mv_size != 8) { problem(v, "meta: %s is %zu bytes, not 8", key, d.mv_size); return 0; }
  memcpy(&n, d.mv_data, 8);
  return n;
}

static int check_meta(vctx *v) {
  char key[300];
  int present;
  for (int ci = 0; ci < v->sc->ncolls; ci++) {
    coll_def *c = &v->sc->colls[ci];
    if (v->cs[ci].skip) continue;
    snprintf(key, sizeof key, "seq:%s", c->name);
    uint64_t seq = meta_u64(v, key, &present);
    if (v->cs[ci].max_idnum > seq)
      problem(v, "%s: the id sequence is at %llu, behind the highest id number in use (%llu)", c->name,
              (unsigned long long)seq, (unsigned long long)v->cs[ci].max_idnum);
  }
  v->run_seq = meta_u64(v, "run_seq", &present);
  v->decision_seq = meta_u64(v, "decision_seq", &present);
  /* the policy text each policy's current hash names is kept */
  MDB_cursor *cur;
  MDB_val k, d, s;
  int rc = mdb_cursor_open(v->txn, v->st->meta, &cur);
  if (rc) return read_fail(v, rc, "meta");
  k.mv_size = 4;
  k.mv_data = "cur:";
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); !rc && has_prefix(&k, "cur:");
       rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    snprintf(key, sizeof key, "src:%.*s:%.*s", (int)k.mv_size - 4, (const char *)k.mv_data + 4, (int)d.mv_size, (const char *)d.mv_data);
    if (meta_get(v->txn, v->st, key, &s))
      problem(v, "meta: policy %s: the text of its committed version (%s) is missing",
              esc(&v->e1, (const char *)k.mv_data + 4, k.mv_size - 4), esc(&v->e2, d.mv_data, d.mv_size));
  }
  mdb_cursor_close(cur);
  if (rc && rc != MDB_NOTFOUND) return read_fail(v, rc, "meta");
  return 0;
}

/* ---- runs, decisions, audit -------------------------------------------------- */

static int find_str(const uint8_t *p, size_t n, uint32_t fid, kval *out) {
  return rec_find(p, n, fid, out) && out->tag == KV_STR;
}

static int scan_runs(vctx *v) {
  MDB_cursor *cur;
  MDB_val k, d;
  int rc = mdb_cursor_open(v->txn, v->st->runs, &cur);
  if (rc) return read_fail(v, rc, "runs");
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    v->vs->runs++;
    if (k.mv_size != 8) { problem(v, "runs: a key of %zu bytes, not 8", k.mv_size); continue; }
    uint64_t id = be64(k.mv_data);
    if (id > v->run_seq) problem(v, "runs: run %llu is past the run sequence (%llu)", (unsigned long long)id, (unsigned long long)v->run_seq);
    kval pol, mode, n, failed;
    int ok = rec_form_ok(d.mv_data, d.mv_size);
    for (uint32_t f = 1; f <= 5 && ok; f++) { kval x; ok = find_str(d.mv_data, d.mv_size, f, &x); }
    ok = ok && rec_find(d.mv_data, d.mv_size, 6, &n) && n.tag == KV_INT && rec_find(d.mv_data, d.mv_size, 8, &failed) &&
         failed.tag == KV_INT;
    if (!ok) { problem(v, "runs: run %llu: the record does not decode or lacks a field", (unsigned long long)id); continue; }
    find_str(d.mv_data, d.mv_size, 1, &pol);
    find_str(d.mv_data, d.mv_size, 3, &mode);
    if (v->nruns == v->capruns) {
      v->capruns = v->capruns ? v->capruns * 2 : 64;
      v->runs = realloc(v->runs, v->capruns * sizeof *v->runs);
    }
    runinfo *r = &v->runs[v->nruns++];
    r->id = id;
    r->seen = 0;
    /* an eval run stores one decision per subject that did not fail */
    r->expect = mode.u.s.len == 4 && !memcmp(mode.u.s.p, "eval", 4) ? n.u.i - failed.u.i : -1;
    snprintf(r->policy, sizeof r->policy, "%.*s", (int)pol.u.s.len, pol.u.s.p);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return read_fail(v, rc, "runs");
  return 0;
}

static runinfo *find_run(vctx *v, uint64_t id) {
  size_t lo = 0, hi = v->nruns; /* runs are read in key order */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (v->runs[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < v->nruns && v->runs[lo].id == id ? &v->runs[lo] : NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int scan_decisions(vctx *v) {
  MDB_cursor *cur;
  MDB_val k, d, s;
  int rc = mdb_cursor_open(v->txn, v->st->decisions, &cur);
  if (rc) return read_fail(v, rc, "decisions");
  uint64_t *seqs = NULL;
  size_t nseq = 0, capseq = 0;
  kbuf src_ok = {0}; /* the last policy text found: runs share one */
  char key[600];
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    v->vs->decisions++;
    /* id \0 policy \0 seq(8) */
    const uint8_t *p = k.mv_data, *end = p + k.mv_size;
    const uint8_t *z1 = memchr(p, 0, k.mv_size), *z2 = z1 ? memchr(z1 + 1, 0, (size_t)(end - z1 - 1)) : NULL;
    if (!z2 || end - z2 - 1 != 8) { problem(v, "decisions: a key that does not decode (%s)", esc(&v->e1, k.mv_data, k.mv_size)); continue; }
    const char *id = (const char *)p, *pol = (const char *)z1 + 1;
    size_t idlen = (size_t)(z1 - p), pollen = (size_t)(z2 - z1 - 1);
    uint64_t seq = be64(z2 + 1);
    if (nseq == capseq) {
      capseq = capseq ? capseq * 2 : 1024;
      seqs = realloc(seqs, capseq * sizeof *seqs);
    }
    seqs[nseq++] = seq;
    const char *who = esc(&v->e1, id, idlen);
    if (seq > v->decision_seq)
      problem(v, "decisions: %s (policy %.*s): number %llu is past the decision sequence (%llu)", who, (int)pollen, pol,
              (unsigned long long)seq, (unsigned long long)v->decision_seq);
    kval x, hash, run;
    int ok = rec_form_ok(d.mv_data, d.mv_size);
    for (uint32_t f = DC_POLICY; f <= DC_USER && ok; f++)
      ok = rec_find(d.mv_data, d.mv_size, f, &x) && x.tag == (f == DC_REASONS ? KV_LIST : KV_STR);
    ok = ok && rec_find(d.mv_data, d.mv_size, DC_RUN, &run) && run.tag == KV_INT;
    if (!ok) { problem(v, "decisions: %s (policy %.*s): the record does not decode or lacks a field", who, (int)pollen, pol); continue; }
    kval kid, kpol;
    find_str(d.mv_data, d.mv_size, DC_ID, &kid);
    find_str(d.mv_data, d.mv_size, DC_POLICY, &kpol);
    find_str(d.mv_data, d.mv_size, DC_HASH, &hash);
    if (kid.u.s.len != idlen || memcmp(kid.u.s.p, id, idlen) || kpol.u.s.len != pollen || memcmp(kpol.u.s.p, pol, pollen))
      problem(v, "decisions: %s (policy %.*s): the record names another subject or policy", who, (int)pollen, pol);
    runinfo *r = find_run(v, (uint64_t)run.u.i);
    if (!r) problem(v, "decisions: %s (policy %.*s): its run %lld is not in runs", who, (int)pollen, pol, (long long)run.u.i);
    else r->seen++;
    snprintf(key, sizeof key, "src:%.*s:%.*s", (int)pollen, pol, (int)hash.u.s.len, hash.u.s.p);
    size_t kl = strlen(key);
    if (!(src_ok.len == kl && !memcmp(src_ok.p, key, kl))) {
      if (meta_get(v->txn, v->st, key, &s))
        problem(v, "decisions: %s (policy %.*s): the policy text it was made with (%s) is missing", who, (int)pollen, pol,
                esc(&v->e2, hash.u.s.p, hash.u.s.len));
      else { kbuf_reset(&src_ok); kbuf_put(&src_ok, key, kl); }
    }
  }
  mdb_cursor_close(cur);
  kbuf_free(&src_ok);
  if (rc != MDB_NOTFOUND) { free(seqs); return read_fail(v, rc, "decisions"); }
  if (nseq) qsort(seqs, nseq, sizeof *seqs, cmp_u64);
  for (size_t i = 1; i < nseq; i++)
    if (seqs[i] == seqs[i - 1]) problem(v, "decisions: number %llu is used twice", (unsigned long long)seqs[i]);
  free(seqs);
  /* a run's decisions are written in one transaction: all of them or none */
  for (size_t i = 0; i < v->nruns; i++) {
    runinfo *r = &v->runs[i];
    if (r->expect >= 0 && (size_t)r->expect != r->seen)
      problem(v, "runs: run %llu of policy %s decided %lld subjects, but %zu of its decisions are stored",
              (unsigned long long)r->id, r->policy, (long long)r->expect, r->seen);
  }
  return 0;
}

static int scan_audit(vctx *v) {
  MDB_cursor *cur;
  MDB_val k, d;
  int rc = mdb_cursor_open(v->txn, v->st->audit, &cur);
  if (rc) return read_fail(v, rc, "audit");
  uint64_t prev = 0;
  int first = 1;
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    v->vs->audit++;
    if (k.mv_size != 8) { problem(v, "audit: a key of %zu bytes, not 8", k.mv_size); continue; }
    uint64_t seq = be64(k.mv_data);
    /* entries are only appended: numbers run without gaps (the oldest may go) */
    if (!first && seq != prev + 1)
      problem(v, "audit: entries %llu to %llu are missing", (unsigned long long)prev + 1, (unsigned long long)seq - 1);
    first = 0;
    prev = seq;
    kval x, op;
    int ok = rec_form_ok(d.mv_data, d.mv_size);
    for (uint32_t f = AU_WHO; f <= AU_ID && ok; f++) ok = find_str(d.mv_data, d.mv_size, f, &x);
    if (!ok) { problem(v, "audit: entry %llu does not decode or lacks a field", (unsigned long long)seq); continue; }
    find_str(d.mv_data, d.mv_size, AU_OP, &op);
    static const char *const ops[] = {"insert", "update", "delete", "import"};
    int known = 0;
    for (int i = 0; i < 4; i++) known |= op.u.s.len == strlen(ops[i]) && !memcmp(op.u.s.p, ops[i], op.u.s.len);
    if (!known) problem(v, "audit: entry %llu: unknown operation \"%s\"", (unsigned long long)seq, esc(&v->e1, op.u.s.p, op.u.s.len));
    for (uint32_t f = AU_BEFORE; f <= AU_AFTER; f++)
      if (rec_find(d.mv_data, d.mv_size, f, &x) &&
          (x.tag != KV_STR || !rec_form_ok((const uint8_t *)x.u.s.p, x.u.s.len)))
        problem(v, "audit: entry %llu: the record %s does not decode", (unsigned long long)seq, f == AU_BEFORE ? "before" : "after");
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return read_fail(v, rc, "audit");
  return 0;
}

/* ---- the whole book ------------------------------------------------------------ */

int verify_book(const char *path, schema *sc, const verify_opts *o, verify_stats *vs, kam_err *e) {
  memset(vs, 0, sizeof *vs);
  e->code = 0;
  kam_store *st;
  int rc = store_open_readonly(&st, path, sc, e);
  if (rc) return rc;
  vctx v;
  memset(&v, 0, sizeof v);
  v.st = st;
  v.sc = sc;
  v.o = o;
  v.vs = vs;
  v.e = e;
  /* seeded per run, so no fixed set of damage can cancel out in the sums */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  v.seed = mix((uint64_t)ts.tv_nsec ^ H1, (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32) ^ H2);
  int maxf = 1;
  for (int ci = 0; ci < sc->ncolls; ci++) if (sc->colls[ci].nfields > maxf) maxf = sc->colls[ci].nfields;
  v.vals = calloc((size_t)maxf, sizeof *v.vals);
  v.cs = calloc((size_t)sc->ncolls + 1, sizeof *v.cs);
  for (int ci = 0; ci < sc->ncolls; ci++) v.cs[ci].ix = calloc((size_t)sc->colls[ci].nindexes + 1, sizeof(ixstate));
  if (!(rc = store_begin(st, 0, &v.txn, e))) {
    rc = check_layout(&v);
    for (int ci = 0; ci < sc->ncolls; ci++)
      for (int xi = 0; xi < sc->colls[ci].nindexes; xi++) {
        v.cs[ci].ix[xi].wantb = calloc(NBUCKET, sizeof(uint64_t));
        v.cs[ci].ix[xi].haveb = calloc(NBUCKET, sizeof(uint64_t));
      }
    for (int ci = 0; ci < sc->ncolls && !rc; ci++) {
      if (v.cs[ci].skip) continue;
      rc = scan_collection(&v, ci);
      for (int xi = 0; xi < sc->colls[ci].nindexes && !rc; xi++)
        if (!v.cs[ci].ix[xi].skip) rc = scan_index(&v, ci, xi);
    }
    if (!rc) rc = check_meta(&v);
    if (!rc) rc = scan_runs(&v);
    if (!rc) rc = scan_decisions(&v);
    if (!rc) rc = scan_audit(&v);
    store_abort(v.txn);
  }
  for (int ci = 0; ci < sc->ncolls; ci++) {
    for (int xi = 0; xi < sc->colls[ci].nindexes; xi++) {
      free(v.cs[ci].ix[xi].wantb);
      free(v.cs[ci].ix[xi].haveb);
    }
    free(v.cs[ci].ix);
  }
  free(v.cs);
  free(v.vals);
  free(v.fpos);
  free(v.fknown);
  free(v.runs);
  kbuf_free(&v.kb);
  kbuf_free(&v.vb);
  kbuf_free(&v.e1);
  kbuf_free(&v.e2);
  store_close(st);
  return rc;
}
