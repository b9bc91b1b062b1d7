/* audit.c — the audit trail read back: newest first, filtered, each entry's
 * before and after records compared field by field. out_audit.c prints it. */
#include "audit.h"
#include "kdate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct change_buf {
  audit_change *ch;
  char (*num)[16];     /* "#fid" names, one slot per change so the pointers stay put */
  int n, cap;
} change_buf;

static uint64_t be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

/* A field id's name: the entry's collection first, then any collection
 * (ids are per name, book-wide), then the dictionary in meta, which still
 * holds fields the schema has since dropped. */
static int field_name(kam_store *st, MDB_txn *txn, const coll_def *c, uint32_t fid,
                      const char **name, size_t *len, kam_err *e) {
  const schema *sc = st->sc;
  for (int pass = 0; pass < 2; pass++)
    for (int ci = 0; ci < sc->ncolls; ci++) {
      const coll_def *cd = &sc->colls[ci];
      if (pass == 0 ? cd != c : cd == c) continue;
      for (int i = 1; i < cd->nfields; i++)
        if (cd->fields[i].fid == fid) { *name = cd->fields[i].name; *len = cd->fields[i].namelen; return 1; }
    }
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, st->meta, &cur);
  if (rc) return lmdb_err(e, rc, "meta"), -1;
  MDB_val k = {2, (void *)"f:"}, d;
  int found = 0;
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
    if (k.mv_size < 2 || memcmp(k.mv_data, "f:", 2)) break;
    if (d.mv_size == 4 && !memcmp(d.mv_data, &fid, 4)) {
      *name = (const char *)k.mv_data + 2;
      *len = k.mv_size - 2;
      found = 1;
      break;
    }
  }
  mdb_cursor_close(cur);
  if (!found && rc && rc != MDB_NOTFOUND) return lmdb_err(e, rc, "meta"), -1;
  return found;
}

static int add_change(kam_store *st, MDB_txn *txn, const coll_def *c, change_buf *cb, uint32_t fid,
                      const kval *old, const kval *new_, kam_err *e) {
  /* a stored nil is the same as no value */
  int ho = old && old->tag != KV_NULL, hn = new_ && new_->tag != KV_NULL;
  if (!ho && !hn) return 0;
  const char *name;
  size_t len;
  int r = field_name(st, txn, c, fid, &name, &len, e);
  if (r < 0) return e->code;
  /* the entry's time says when; created_at / updated_at only repeat it */
  if (r && ((len == 10 && !memcmp(name, "created_at", 10)) || (len == 10 && !memcmp(name, "updated_at", 10))))
    return 0;
  if (cb->n == cb->cap) {
    int cap = cb->cap ? 2 * cb->cap : 16;
    audit_change *ch = realloc(cb->ch, (size_t)cap * sizeof *ch);
    if (ch) cb->ch = ch;
    char (*num)[16] = realloc(cb->num, (size_t)cap * sizeof *num);
    if (num) cb->num = num;
    if (!ch || !num) return kam_errf(e, KAM_EINTERNAL, "audit: out of memory");
    cb->cap = cap;
  }
  audit_change *a = &cb->ch[cb->n];
  if (!r) {
    len = (size_t)snprintf(cb->num[cb->n], sizeof cb->num[cb->n], "#%u", (unsigned)fid);
    name = cb->num[cb->n];
  }
  a->name = name;
  a->namelen = len;
  a->has_old = ho;
  a->has_new = hn;
  a->old = ho ? *old : kv_null();
  a->new_ = hn ? *new_ : kv_null();
  cb->n++;
  return 0;
}

/* Both records are sorted by field id (record.h), so one merge walk finds
 * the fields only one side has and those whose values differ. */
static int diff(kam_store *st, MDB_txn *txn, const coll_def *c, const kval *before, const kval *after,
                change_buf *cb, kam_err *e) {
  rec_iter ia, ib;
  uint32_t fa = 0, fb = 0;
  kval va, vb;
  int ha = 0, hb = 0, rc = 0;
  if (before && !rec_iter_init(&ia, (const uint8_t *)before->u.s.p, before->u.s.len)) return -1;
  if (after && !rec_iter_init(&ib, (const uint8_t *)after->u.s.p, after->u.s.len)) return -1;
  if (before) ha = rec_next(&ia, &fa, &va);
  if (after) hb = rec_next(&ib, &fb, &vb);
  while (!rc && (ha || hb)) {
    if (ha && (!hb || fa < fb)) {
      rc = add_change(st, txn, c, cb, fa, &va, NULL, e);
      ha = rec_next(&ia, &fa, &va);
    } else if (hb && (!ha || fb < fa)) {
      rc = add_change(st, txn, c, cb, fb, NULL, &vb, e);
      hb = rec_next(&ib, &fb, &vb);
    } else {
      if (!kval_same(&va, &vb)) rc = add_change(st, txn, c, cb, fa, &va, &vb, e);
      ha = rec_next(&ia, &fa, &va);
      hb = rec_next(&ib, &fb, &vb);
    }
  }
  if (rc) return rc;
  if ((before && ia.left) || (after && ib.left)) return -1; /* stopped before its last field */
  return 0;
}

int audit_check_filter(const schema *sc, const audit_filter *f, kam_err *e) {
  int y, m, d;
  if (f->coll && !schema_coll((schema *)sc, f->coll))
    return kam_errf(e, KAM_EUSAGE, "--coll %s: no such collection (see kam stats)", f->coll);
  if (f->since && !date_parse(f->since, strlen(f->since), &y, &m, &d))
    return kam_errf(e, KAM_EUSAGE, "--since %s: expected a date YYYY-MM-DD", f->since);
  return 0;
}

/* An optional text field: absent is KV_NULL; present, it must be text. */
static int opt_text(const uint8_t *r, size_t n, uint32_t fid, kval *v) {
  if (!rec_find(r, n, fid, v)) { *v = kv_null(); return 1; }
  return v->tag == KV_STR;
}

int audit_each(kam_store *st, MDB_txn *txn, const audit_filter *f, audit_fn fn, void *ud, kam_err *e) {
  if (f->none) return 0;
  MDB_cursor *cur;
  MDB_val k, d;
  int rc = mdb_cursor_open(txn, st->audit, &cur);
  if (rc) return lmdb_err(e, rc, "audit");
  change_buf cb = {0};
  size_t shown = 0;
  int out = 0;
  for (rc = mdb_cursor_get(cur, &k, &d, MDB_LAST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
    uint64_t seq = k.mv_size == 8 ? be64(k.mv_data) : 0;
    audit_entry a = {0};
    a.seq = seq;
    const uint8_t *r = d.mv_data;
    int ok = rec_find(r, d.mv_size, AU_WHO, &a.who) && rec_find(r, d.mv_size, AU_WHEN, &a.when) &&
             rec_find(r, d.mv_size, AU_OP, &a.op) && rec_find(r, d.mv_size, AU_COLL, &a.coll) &&
             rec_find(r, d.mv_size, AU_ID, &a.id);
    ok = ok && a.who.tag == KV_STR && a.when.tag == KV_STR && a.op.tag == KV_STR && a.coll.tag == KV_STR &&
         a.id.tag == KV_STR;
    /* optional: entries written before these fields have none */
    ok = ok && opt_text(r, d.mv_size, AU_ROLE, &a.role) && opt_text(r, d.mv_size, AU_BY, &a.by) &&
         opt_text(r, d.mv_size, AU_CHANNEL, &a.channel) && opt_text(r, d.mv_size, AU_SOURCE, &a.source) &&
         opt_text(r, d.mv_size, AU_HASH, &a.hash);
    if (!ok) { out = kam_errf(e, KAM_EDATA, "audit: entry %llu does not decode (kam verify)", (unsigned long long)seq); break; }
    if (f->id && !kval_is_text(&a.id, f->id)) continue;
    if (f->user && !kval_is_text(&a.who, f->user) && !kval_is_text(&a.by, f->user)) continue;
    if (f->coll && !kval_is_text(&a.coll, f->coll)) continue;
    /* times are written in the book's zone as YYYY-MM-DDT..., so the date is its first 10 bytes */
    if (f->since && (a.when.u.s.len < 10 || memcmp(a.when.u.s.p, f->since, 10) < 0)) continue;
    kval before, after;
    int hb = rec_find(r, d.mv_size, AU_BEFORE, &before), ha = rec_find(r, d.mv_size, AU_AFTER, &after);
    if ((hb && before.tag != KV_STR) || (ha && after.tag != KV_STR)) {
      out = kam_errf(e, KAM_EDATA, "audit: entry %llu: a record does not decode (kam verify)", (unsigned long long)seq);
      break;
    }
    /* update: what differs; insert: all new; delete: all old; import: nothing stored */
    cb.n = 0;
    char cname[256];
    snprintf(cname, sizeof cname, "%.*s", (int)(a.coll.u.s.len < 255 ? a.coll.u.s.len : 255), a.coll.u.s.p);
    const coll_def *c = schema_coll(st->sc, cname);
    int dr = diff(st, txn, c, hb ? &before : NULL, ha ? &after : NULL, &cb, e);
    if (dr < 0) {
      out = kam_errf(e, KAM_EDATA, "audit: entry %llu: a record does not decode (kam verify)", (unsigned long long)seq);
      break;
    }
    if (dr) { out = dr; break; }
    a.changes = cb.ch;
    a.nchanges = cb.n;
    if ((out = fn(ud, &a, e))) break;
    if (f->limit && ++shown >= f->limit) break;
  }
  mdb_cursor_close(cur);
  free(cb.ch);
  free(cb.num);
  if (!out && rc && rc != MDB_NOTFOUND) return lmdb_err(e, rc, "audit");
  return out;
}

void audit_value_text(kbuf *b, const kval *v, int present) {
  if (!present) { kbuf_str(b, "-"); return; }
  if (v->tag == KV_STR) { kbuf_put(b, v->u.s.p, v->u.s.len); return; }
  kval_show(b, v);
}

/* ---- printing --------------------------------------------------------------- */

/* Text as it is when it is UTF-8, else with U+FFFD for each bad byte (the
 * command line is kept cut at a byte count, maybe mid-character). */
