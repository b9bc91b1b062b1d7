/* record_decode.c — fuzz target: the bytes of a stored record as every
 * reader meets them: iteration and field look-up (record.c), nested lists
 * and maps, comparison and display of values, a value as JSON (export) and
 * as Lua (entity fields), an entity's fields decoded and checked against the
 * schema (store_decode, field_check), the index entries built from them as
 * an index rebuild does, and those entries decoded back (keyenc.c). The
 * collection is config/schema.yaml's, with field ids 1, 2, 3 ... in schema
 * order. Input: one byte that picks the collection, then the record bytes. */
#include "fuzz_common.h"
#include "keyenc.h"
#include "lua_db.h"
#include "output.h"
#include <lauxlib.h>
#include <lualib.h>

static lua_State *L;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  schema *sc = fz_schema();
  for (int i = 0; i < sc->ncolls; i++)
    for (int k = 0; k < sc->colls[i].nfields; k++) sc->colls[i].fields[k].fid = (uint32_t)k;
  L = luaL_newstate();
  return 0;
}

/* Every value inside v, depth first, compared with the one before. */
static void walk(const kval *v, const kval *prev, kbuf *out, int depth) {
  kval_cmp(v, prev);
  kval_cmp(prev, v);
  kval_show(out, v);
  if ((v->tag != KV_LIST && v->tag != KV_MAP) || depth > 40) return;
  coll_iter it;
  const char *k;
  size_t kl;
  kval x, last = kv_null();
  citer_init(&it, v);
  while (citer_next(&it, &k, &kl, &x)) {
    if (k) kbuf_put(out, k, kl);
    walk(&x, &last, out, depth + 1);
    last = x;
  }
}

static void value(const kval *v, const kval *prev, kbuf *out) {
  const char *bad = kval_check(v);
  if (bad) kbuf_str(out, bad);
  walk(v, prev, out, 0);
  json_kval(out, v);
  kam_push_kval(L, v);
  lua_settop(L, 0);
}

/* The index entries of an entity, then each key and value read back. */
static void index_entries(const coll_def *c, const kval *vals, kbuf *out) {
  kbuf kb = {0}, vb = {0};
  for (int xi = 0; xi < c->nindexes; xi++) {
    const index_def *ix = &c->indexes[xi];
    kbuf_reset(&kb);
    kbuf_reset(&vb);
    index_key(&kb, c, ix, vals);
    index_val(&vb, c, ix, vals);
    const uint8_t *p = kb.p, *end = kb.p + kb.len;
    for (int i = 0; i < ix->nf; i++) {
      kval x;
      char scratch[KEY_ID_MAX];
      size_t k = key_get(p, end, &c->fields[ix->f[i]], &x, scratch);
      if (!k) break;
      kval_show(out, &x);
      p += k;
    }
    for (int i = 0; i < ix->nc; i++) {
      kval x;
      if (rec_find(vb.p, vb.len, c->fields[ix->carry[i]].fid, &x)) json_kval(out, &x);
    }
  }
  kbuf_free(&kb);
  kbuf_free(&vb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  fz_begin();
  schema *sc = fz_schema();
  const coll_def *c = &sc->colls[data[0] % sc->ncolls];
  const uint8_t *rec = data + 1;
  size_t n = size - 1;
  kbuf out = {0};

  /* every field in stored order */
  rec_iter it;
  uint32_t fid;
  kval v, prev = kv_null();
  if (rec_iter_init(&it, rec, n))
    while (rec_next(&it, &fid, &v)) {
      value(&v, &prev, &out);
      rec_find(rec, n, fid, &v);
      prev = v;
    }
  /* one field at a time, as e.field does */
  for (int i = 0; i < c->nfields + 2; i++)
    if (rec_find(rec, n, (uint32_t)i, &v)) value(&v, &prev, &out);

  /* the entity: its fields by position, checked, then its index entries */
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  store_decode(c, rec, n, vals);
  vals[F_ID] = kv_str("X-000001", 8);
  char why[600];
  for (int i = 1; i < c->nfields; i++) {
    json_kval(&out, &vals[i]);
    kval x = vals[i];
    field_check(&c->fields[i], &x, why, sizeof why);
  }
  index_entries(c, vals, &out);
  free(vals);

  /* the same bytes as an index key, one component of each type */
  const uint8_t *p = rec, *end = rec + n;
  static const field_def parts[] = {{.type = FT_STRING}, {.type = FT_INT}, {.type = FT_MONEY}, {.type = FT_NUMBER},
                                    {.type = FT_BOOL}, {.type = FT_DATE}, {.type = FT_ENUM}, {.type = FT_REF, .ref_prefix = "CL-"},
                                    {.type = FT_REF}};
  char scratch[KEY_ID_MAX];
  for (size_t t = 0; t < 2 * sizeof parts / sizeof parts[0] && p < end; t++) {
    size_t k = key_get(p, end, &parts[t % (sizeof parts / sizeof parts[0])], &v, scratch);
    if (!k) break;
    kval_show(&out, &v);
    p += k;
  }
  kbuf_free(&out);
  fz_end();
  return 0;
}
