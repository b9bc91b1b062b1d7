/* schema_load.c — fuzz target: config/schema.yaml as every command loads it
 * (collections, fields, types, enums, refs, defaults, indexes and carried
 * fields), each field's text conversion and value check, and a new book
 * opened with it (sub-databases per collection and index, the field
 * dictionary, index signatures) with one entity written per collection, as
 * db.COLL:insert{} would (generated id, defaults, index entries, audit).
 * Beyond the sanitizers it checks that the book keeps collections, indexes
 * and fields apart: two fields of a collection never share an id, and after
 * the inserts each collection holds its own entity and each index one entry
 * per entity. Input: the text of schema.yaml. */
#include "fuzz_common.h"
#include <math.h>

static char schema_path[700], book_path[700], lock_path[720];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  fz_path(schema_path, sizeof schema_path, "schema.yaml");
  fz_path(book_path, sizeof book_path, "book.db");
  snprintf(lock_path, sizeof lock_path, "%s-lock", book_path);
  return 0;
}

static const char *const texts[] = {"", "0", "-1", "42", "1.234.567", "1,5", "12abc", "2.5", "12%", "1e400",
                                    "true", "không", "2026-11-26", "26/11/2026", "2026-02-30",
                                    "2026-11-26T08:30:00+07:00", "[1, 2]", "{\"k\": 1}", "x", NULL};

static void exercise_field(const field_def *f) {
  char why[600], conv[32];
  kval v;
  kbuf b = {0};
  for (int i = 0; texts[i]; i++)
    if (field_from_text(f, texts[i], strlen(texts[i]), &v, conv, why, sizeof why)) {
      kval_show(&b, &v);
      field_check(f, &v, why, sizeof why);
    }
  for (int i = 0; i < f->nvalues; i++)
    if (field_from_text(f, f->values[i], strlen(f->values[i]), &v, conv, why, sizeof why)) field_check(f, &v, why, sizeof why);
  kval vs[] = {kv_null(), kv_int(INT64_MIN), kv_num(NAN), kv_num(1e300), kv_bool(1), kv_str("a\0b", 3)};
  for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
    v = vs[i];
    field_check(f, &v, why, sizeof why);
  }
  if (f->has_def) {
    v = f->def;
    kval_show(&b, &v);
    field_check(f, &v, why, sizeof why);
  }
  kbuf_free(&b);
}

static void fail(const char *what, const char *name, long got, long want) {
  fprintf(stderr, "==fuzz: %s %s: %ld where %ld was expected\n", what, name, got, want);
  abort();
}

/* A value of field k, different for each k where the type allows, so that
 * two indexes kept in one database would show as twice the entries. */
static kval value_of(const field_def *f, int k, char buf[40]) {
  switch (f->type) {
  case FT_STRING: snprintf(buf, 40, "v%d", k); return kv_str(buf, strlen(buf));
  case FT_INT: case FT_MONEY: return kv_int(k);
  case FT_NUMBER: return kv_num(k + 0.5);
  case FT_BOOL: return kv_bool(k & 1);
  case FT_DATE: snprintf(buf, 40, "2026-%02d-%02d", 1 + k / 28 % 12, 1 + k % 28); return kv_str(buf, 10);
  case FT_DATETIME:
    snprintf(buf, 40, "2026-%02d-%02dT00:00:00+07:00", 1 + k / 28 % 12, 1 + k % 28);
    return kv_str(buf, strlen(buf));
  case FT_ENUM: return f->nvalues ? kv_str(f->values[k % f->nvalues], strlen(f->values[k % f->nvalues])) : kv_null();
  default: return f->has_def ? f->def : kv_null();
  }
}

/* One entity per collection where the schema allows it (a required ref does
 * not), then the counts. */
static void insert_one_each(kam_store *st, schema *sc) {
  for (int i = 0; i < sc->ncolls; i++) {
    const coll_def *c = &sc->colls[i];
    for (int a = 1; a < c->nfields; a++)
      for (int b = a + 1; b < c->nfields; b++)
        if (c->fields[a].fid == c->fields[b].fid) {
          fprintf(stderr, "==fuzz: %s: fields %s and %s have one field id (%u)\n", c->name, c->fields[a].name,
                  c->fields[b].name, (unsigned)c->fields[a].fid);
          abort();
        }
  }
  MDB_txn *txn;
  kam_err e;
  if (store_begin(st, 1, &txn, &e)) return;
  int rc = 0;
  char *done = calloc((size_t)sc->ncolls + 1, 1);
  for (int i = 0; i < sc->ncolls && !rc; i++) {
    const coll_def *c = &sc->colls[i];
    kval *vals = calloc((size_t)c->nfields, sizeof *vals);
    char id[256], (*bufs)[40] = calloc((size_t)c->nfields, 40);
    for (int k = 3; k < c->nfields; k++) vals[k] = value_of(&c->fields[k], k, bufs[k]);
    rc = store_next_id(st, txn, c, id, sizeof id, &e);
    if (!rc) {
      vals[F_ID] = kv_str(id, strlen(id));
      write_opts o = {&fz_actor, 1, 1, 0, NULL};
      rc = store_write(st, txn, c, vals, NULL, 0, OP_INSERT, &o, &e);
      done[i] = rc == 0;
      if (rc == KAM_EDATA) rc = 0; /* a required ref, say */
    }
    free(vals);
    free(bufs);
  }
  if (rc) mdb_txn_abort(txn);
  else if (!store_commit(st, txn, &e) && !store_begin(st, 0, &txn, &e)) {
    for (int i = 0; i < sc->ncolls; i++) {
      const coll_def *c = &sc->colls[i];
      size_t cnt = 0;
      if (store_count(txn, c, &cnt, &e)) fail("count of", c->name, -1, done[i]);
      long n = (long)cnt;
      if (n != done[i]) fail("entities in collection", c->name, n, done[i]);
      for (int x = 0; x < c->nindexes; x++) {
        MDB_stat ms;
        if (!mdb_stat(txn, c->indexes[x].dbi, &ms) && (long)ms.ms_entries != done[i])
          fail("entries in index", c->indexes[x].name, (long)ms.ms_entries, done[i]);
      }
    }
    mdb_txn_abort(txn);
  }
  free(done);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_begin();
  fz_write(schema_path, data, size);
  schema *sc;
  kam_err e;
  if (schema_load(&sc, schema_path, &e) == 0) {
    for (int i = 0; i < sc->ncolls; i++) {
      const coll_def *c = &sc->colls[i];
      schema_coll(sc, c->name);
      for (int k = 0; k < c->nfields; k++) {
        coll_field(c, c->fields[k].name);
        exercise_field(&c->fields[k]);
      }
    }
    unlink(book_path);
    unlink(lock_path);
    kam_store *st;
    if (store_open(&st, book_path, sc, STORE_CREATE, (size_t)1 << 20, &e) == 0) {
      insert_one_each(st, sc);
      store_close(st);
    }
    schema_free(sc);
  }
  fz_end();
  return 0;
}
