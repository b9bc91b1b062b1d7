/* decisions.c — the policy engine's decisions, runs and texts in the book; see decisions.h. */
#include "decisions.h"
#include "record.h"
#include <stdio.h>
#include <string.h>

/* ---- counters ------------------------------------------------------------- */

/* a counter never written reads 0; one of another size too (kam verify
 * reports it) */
static int seq_get(MDB_txn *txn, kam_store *st, const char *key, uint64_t *n, kam_err *e) {
  MDB_val v;
  *n = 0;
  int rc = meta_get(txn, st, key, &v);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return lmdb_err(e, rc, "meta");
  if (v.mv_size == 8) memcpy(n, v.mv_data, 8);
  return 0;
}

static void put_be64(uint8_t *p, uint64_t n) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(n >> (56 - 8 * i));
}

/* ---- decisions ------------------------------------------------------------ */

static void decision_prefix(kbuf *k, const char *id, size_t idlen, const char *policy) {
  kbuf_put(k, id, idlen);
  kbuf_byte(k, 0);
  if (policy) { kbuf_str(k, policy); kbuf_byte(k, 0); }
}

int decision_seq(MDB_txn *txn, kam_store *st, uint64_t *seq, kam_err *e) {
  return seq_get(txn, st, "decision_seq", seq, e);
}

int decision_set_seq(MDB_txn *txn, kam_store *st, uint64_t seq, kam_err *e) {
  return meta_put(txn, st, "decision_seq", &seq, 8, e);
}

int decision_put(MDB_txn *txn, kam_store *st, uint64_t seq, const decision *d, kam_err *e) {
  kbuf k = {0}, rec = {0};
  decision_prefix(&k, d->id, d->idlen, d->policy);
  uint8_t be[8];
  put_be64(be, seq);
  kbuf_put(&k, be, 8);
  rec_builder rb = {0};
  kval reasons;
  reasons.tag = KV_LIST;
  reasons.u.s.p = d->reasons;
  reasons.u.s.len = d->reasonslen;
  rb_add(&rb, DC_POLICY, kv_str(d->policy, strlen(d->policy)));
  rb_add(&rb, DC_HASH, kv_str(d->hash, strlen(d->hash)));
  rb_add(&rb, DC_COLL, kv_str(d->coll, strlen(d->coll)));
  rb_add(&rb, DC_ID, kv_str(d->id, d->idlen));
  rb_add(&rb, DC_RESULT, kv_str(d->result, d->resultlen));
  rb_add(&rb, DC_REASONS, reasons);
  rb_add(&rb, DC_TIME, kv_str(d->time, strlen(d->time)));
  rb_add(&rb, DC_USER, kv_str(d->user, strlen(d->user)));
  rb_add(&rb, DC_RUN, kv_int(d->run));
  rb_finish(&rb, &rec);
  rb_free(&rb);
  MDB_val key = {k.len, k.p}, val = {rec.len, rec.p};
  int rc = mdb_put(txn, st->decisions, &key, &val, 0);
  kbuf_free(&k);
  kbuf_free(&rec);
  return rc ? lmdb_err(e, rc, "decisions") : 0;
}

int decision_cursor(MDB_txn *txn, kam_store *st, MDB_cursor **cur, kam_err *e) {
  int rc = mdb_cursor_open(txn, st->decisions, cur);
  return rc ? lmdb_err(e, rc, "decisions") : 0;
}

void decision_cursor_close(MDB_cursor *cur) {
  if (cur) mdb_cursor_close(cur);
}

/* The newest is the last key of the prefix: the one before prefix + the
 * highest seq, or the table's last when nothing comes after. */
int decision_last(MDB_cursor *cur, const char *id, size_t idlen, const char *policy, MDB_val *rec,
                  kam_err *e) {
  kbuf k = {0};
  decision_prefix(&k, id, idlen, policy);
  size_t plen = k.len;
  for (int i = 0; i < 8; i++) kbuf_byte(&k, 0xFF);
  MDB_val key = {k.len, k.p}, v;
  int rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) rc = mdb_cursor_get(cur, &key, &v, MDB_LAST);
  else if (!rc) rc = mdb_cursor_get(cur, &key, &v, MDB_PREV);
  int found = !rc && key.mv_size >= plen && !memcmp(key.mv_data, k.p, plen);
  kbuf_free(&k);
  rec->mv_size = found ? v.mv_size : 0;
  rec->mv_data = found ? v.mv_data : NULL;
  return rc && rc != MDB_NOTFOUND ? lmdb_err(e, rc, "decisions") : 0;
}

int decision_history(MDB_txn *txn, kam_store *st, const char *id, size_t idlen, const char *policy,
                     void (*fn)(const MDB_val *rec, void *ud), void *ud, kam_err *e) {
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, st->decisions, &cur);
  if (rc) return lmdb_err(e, rc, "decisions");
  kbuf k = {0};
  decision_prefix(&k, id, idlen, policy);
  MDB_val key = {k.len, k.p}, v;
  for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE); !rc; rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT)) {
    if (key.mv_size < k.len || memcmp(key.mv_data, k.p, k.len)) break;
    fn(&v, ud);
  }
  mdb_cursor_close(cur);
  kbuf_free(&k);
  return rc && rc != MDB_NOTFOUND ? lmdb_err(e, rc, "decisions") : 0;
}

/* ---- runs ----------------------------------------------------------------- */

int run_put(MDB_txn *txn, kam_store *st, const run_info *r, uint64_t *run, kam_err *e) {
  uint64_t n;
  if (seq_get(txn, st, "run_seq", &n, e)) return e->code;
  n++;
  if (meta_put(txn, st, "run_seq", &n, 8, e)) return e->code;
  uint8_t kb[8];
  put_be64(kb, n);
  rec_builder rb = {0};
  kbuf rec = {0};
  rb_add(&rb, RUN_POLICY, kv_str(r->policy, strlen(r->policy)));
  rb_add(&rb, RUN_HASH, kv_str(r->hash, strlen(r->hash)));
  rb_add(&rb, RUN_MODE, kv_str(r->mode, strlen(r->mode)));
  rb_add(&rb, RUN_TIME, kv_str(r->time, strlen(r->time)));
  rb_add(&rb, RUN_USER, kv_str(r->user, strlen(r->user)));
  rb_add(&rb, RUN_EVALUATED, kv_int(r->evaluated));
  rb_add(&rb, RUN_CHANGED, kv_int(r->changed));
  rb_add(&rb, RUN_FAILED, kv_int(r->failed));
  rb_finish(&rb, &rec);
  rb_free(&rb);
  MDB_val key = {8, kb}, val = {rec.len, rec.p};
  int rc = mdb_put(txn, st->runs, &key, &val, 0);
  kbuf_free(&rec);
  if (rc) return lmdb_err(e, rc, "runs");
  *run = n;
  return 0;
}

/* ---- policy texts --------------------------------------------------------- */

/* Keys are cut to fit 400 bytes, well inside LMDB's 511; a policy of rules/
 * is named after its file, so its keys are never cut. */
#define TEXT_KEY 400

int policy_text_put(MDB_txn *txn, kam_store *st, const char *policy, const char *hash,
                    const char *text, size_t n, kam_err *e) {
  char key[TEXT_KEY];
  snprintf(key, sizeof key, "src:%s:%s", policy, hash);
  if (meta_put(txn, st, key, text, n, e)) return e->code;
  snprintf(key, sizeof key, "cur:%s", policy);
  return meta_put(txn, st, key, hash, strlen(hash), e);
}

static int meta_find(MDB_txn *txn, kam_store *st, const char *key, MDB_val *v, kam_err *e) {
  int rc = meta_get(txn, st, key, v);
  if (rc == MDB_NOTFOUND) { v->mv_size = 0; v->mv_data = NULL; return 0; }
  return rc ? lmdb_err(e, rc, "meta") : 0;
}

int policy_text_current(MDB_txn *txn, kam_store *st, const char *policy, MDB_val *hash, kam_err *e) {
  char key[TEXT_KEY];
  snprintf(key, sizeof key, "cur:%s", policy);
  return meta_find(txn, st, key, hash, e);
}

int policy_text_get(MDB_txn *txn, kam_store *st, const char *policy, const char *hash, MDB_val *text,
                    kam_err *e) {
  char key[TEXT_KEY];
  snprintf(key, sizeof key, "src:%s:%s", policy, hash);
  return meta_find(txn, st, key, text, e);
}
