/* import.c — kam import's driver: reads the files, picks a reader for each,
 * checks and writes their rows in one write transaction, then the refs to
 * rows that came later, the sequences, the indexes, the audit; reports the
 * errors; commits (or aborts: an error, --dry-run); replays the whole import
 * when the map is full. See import.h; the readers are import_csv.c,
 * import_yaml.c and import_json.c (import_reader.h between them). */
#include "import.h"
#include "bulk.h"
#include "idset.h"
#include "import_reader.h"
#include "kdate.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

/* ---- rows into the book ------------------------------------------------------ */

/* What the import knows of one collection. */
typedef struct coll_state {
  bulk_index *ix;    /* one per index */
  kbuf last_id;      /* append while ids ascend past everything stored */
  uint64_t max_seq;  /* highest id number seen, for the collection's sequence */
  int can_append;
  long rows;
  int touched;
  int access_asked, each_row; /* import_access: asked once; rows one by one */
  int guarded;       /* import_guard: 0 not asked, 1 its rows are guarded, -1 not */
} coll_state;

/* A ref not found when its row was written: checked again at the end. */
typedef struct pending_ref {
  int coll, field;
  char *value;       /* the id it names (malloc'd) */
  char *at;          /* "where: collection id", for the message (malloc'd) */
} pending_ref;

void add_error(imp *m, const char *fmt, ...) {
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

void prefetch_ref(imp *m, const field_def *f, const char *id, size_t n) {
  if (f->type == FT_REF && m->ids[f->ref].loaded) idset_prefetch(&m->ids[f->ref], id, n);
}

void put_row(imp *m, const coll_def *c, kval *vals, const row_loc *loc) {
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
  const import_access *ac = m->o->access;
  if (ac && !cs->access_asked) {
    cs->access_asked = 1;
    if (ac->coll(ac->ud, c, &cs->each_row, &e)) { m->fatal = e.code; *m->e = e; return; }
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
      idset *set = &m->ids[f->ref];
      if (!set->loaded) idset_load(set, m->txn, m->st->sc->colls[f->ref].dbi); /* every id already in the book */
      if (idset_has(set, v->u.s.p, v->u.s.len)) continue;
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
  if (cs->each_row && ac->row(ac->ud, m->txn, c, vals, &e)) {
    kam_errf(m->e, e.code, "%s: %s", where, e.msg);
    m->fatal = e.code;
    return;
  }
  /* the write guards of rules/ see the row as the insert it is */
  const import_guard *gd = m->o->guard;
  int gres = -2;
  if (gd && !cs->guarded) {
    int yes = 0;
    if (gd->watches(gd->ud, c, &yes, &e)) { kam_errf(m->e, e.code, "%s: %s", where, e.msg); m->fatal = e.code; return; }
    cs->guarded = yes ? 1 : -1;
    if (yes && !m->gbufs) {
      for (int ci2 = 0; ci2 < m->st->sc->ncolls; ci2++)
        if (m->st->sc->colls[ci2].nfields > m->ngbufs) m->ngbufs = m->st->sc->colls[ci2].nfields;
      m->gbufs = calloc((size_t)m->ngbufs + 1, sizeof(kbuf));
    }
  }
  if (cs->guarded > 0) {
    int changed = 0;
    if (gd->before(gd->ud, m->txn, c, vals, m->gbufs, &gres, &changed, &e)) {
      if (e.code == KAM_EDATA) add_error(m, "%s: %s", where, e.msg);
      else { kam_errf(m->e, e.code, "%s: %s", where, e.msg); m->fatal = e.code; }
      return;
    }
    if (changed && c->nindexes && store_check_keys(m->st, c, vals, &e)) {
      add_error(m, "%s: %s", where, e.msg);
      return;
    }
  }
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
    bulk_index_add(&cs->ix[xi], m->sorter, m->kb.p, m->kb.len, m->vb.p, m->vb.len);
  }
  cs->rows++;
  m->rows++;
  if (gres != -2 && gd->after(gd->ud, m->txn, c, k.mv_data, k.mv_size, gres, &e)) {
    if (e.code == KAM_EDATA) add_error(m, "%s: %s", where, e.msg);
    else { kam_errf(m->e, e.code, "%s: %s", where, e.msg); m->fatal = e.code; }
  }
#undef where
#undef where_f
}

/* ---- for the readers ------------------------------------------------------ */

static const char *base_name(const char *path, char *out, size_t n) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(out, n, "%s", b);
  char *dot = strchr(out, '.');
  if (dot) *dot = 0;
  return out;
}

const coll_def *target_coll(imp *m, const char *path) {
  char name[256];
  const char *cn = m->o->into ? m->o->into : base_name(path, name, sizeof name);
  const coll_def *c = schema_coll(m->st->sc, cn);
  if (!c) add_error(m, "%s: no collection '%s' (name the file after one, or use --into COLLECTION)", path, cn);
  return c;
}

size_t bom_len(const char *buf, size_t len) { return len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0; }

void row_bufs_init(row_bufs *r, const coll_def *c) {
  r->n = c->nfields;
  r->vals = calloc((size_t)r->n, sizeof *r->vals);
  r->nested = calloc((size_t)r->n, sizeof *r->nested);
  r->conv = calloc((size_t)r->n, sizeof *r->conv);
}

void row_bufs_free(row_bufs *r) {
  if (r->nested) for (int i = 0; i < r->n; i++) kbuf_free(&r->nested[i]);
  free(r->nested);
  free(r->conv);
  free(r->vals);
  memset(r, 0, sizeof *r);
}

kbuf *row_nested(row_bufs *r, int f) {
  kbuf_reset(&r->nested[f]);
  return &r->nested[f];
}

void row_nested_set(row_bufs *r, int f) { val_get(r->nested[f].p, r->nested[f].p + r->nested[f].len, &r->vals[f]); }

void put_nested(kbuf *b, int is_map, const kbuf *body) {
  kval v;
  v.tag = is_map ? KV_MAP : KV_LIST;
  v.u.s.p = (const char *)body->p;
  v.u.s.len = body->len;
  val_put(b, &v);
}

/* ---- the driver ------------------------------------------------------------ */

static int read_all(const char *path, char **buf, size_t *len, kam_err *e) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return kam_errf(e, KAM_EDATA, "%s: cannot open: %s", path, strerror(errno));
  kbuf b = {0};
  int err = kbuf_read(&b, f, 0);
  if (f != stdin) fclose(f);
  if (err) { kbuf_free(&b); return kam_errf(e, KAM_EDATA, "%s: read error", path); }
  kbuf_cstr(&b);
  *buf = (char *)b.p;
  *len = b.len;
  return 0;
}

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcasecmp(s + a - b, suf);
}

static int flush_indexes(imp *m) {
  schema *sc = m->st->sc;
  for (int ci = 0; ci < sc->ncolls; ci++)
    for (int xi = 0; xi < sc->colls[ci].nindexes; xi++) bulk_index_finish(&m->cs[ci].ix[xi], m->sorter);
  int rc = 0;
  for (int ci = 0; ci < sc->ncolls && !rc; ci++)
    for (int xi = 0; xi < sc->colls[ci].nindexes && !rc; xi++) {
      bulk_index *b = &m->cs[ci].ix[xi];
      if (!b->n) continue;
      bulk_index_wait(b, m->sorter); /* the sorter goes on with the next ones */
      rc = bulk_index_write(b, m->txn, &sc->colls[ci].indexes[xi], m->e);
      bulk_index_free(b);
      trace(sc->colls[ci].indexes[xi].name);
    }
  return rc;
}

static void free_state(imp *m) {
  schema *sc = m->st->sc;
  if (m->cs)
    for (int ci = 0; ci < sc->ncolls; ci++) {
      for (int xi = 0; xi < sc->colls[ci].nindexes; xi++) bulk_index_free(&m->cs[ci].ix[xi]);
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
  if (m->o->guard) m->o->guard->begin(m->o->guard->ud);
  m->cs = calloc((size_t)sc->ncolls, sizeof *m->cs);
  m->ids = calloc((size_t)sc->ncolls, sizeof *m->ids);
  for (int ci = 0; ci < sc->ncolls; ci++) {
    m->cs[ci].ix = calloc((size_t)sc->colls[ci].nindexes + 1, sizeof(bulk_index));
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
      m->fatal = store_audit(st, m->txn, m->o->actor, 4, sc->colls[ci].name, what, (size_t)n, NULL, 0, NULL, 0, m->e);
    }
  }
  if (m->fatal || m->nerr || m->o->dry_run) {
    store_abort(m->txn);
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
    bulk_sorter so;
    bulk_sorter_start(&so);
    m.sorter = &so;
    rc = import_once(&m, files, nfiles, bufs, lens);
    bulk_sorter_stop(&so); /* drains its queue: blocks are freed only after */
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
    if (m.gbufs)
      for (int i = 0; i < m.ngbufs; i++) kbuf_free(&m.gbufs[i]);
    free(m.gbufs);
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
