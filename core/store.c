/* store.c — the book in LMDB.
 *
 * Key space (one LMDB environment, one file plus its -lock file, mode 0600):
 *   c:<collection>   id -> record (record.h)
 *   i:<index name>   components ++ id -> carried fields as a record (keyenc.h)
 *   meta             "format" -> "1"
 *                    "f:<field name>" -> u32 field id (the field dictionary)
 *                    "f#" -> u32 next field id
 *                    "seq:<collection>" -> u64 last generated number
 *                    "ix:<index name>" -> signature of a built index
 *   audit            u64 big endian sequence -> record (AU_* fields)
 *   decisions, runs  kept for the policy engine and the scheduler
 *
 * An index whose signature is missing or differs from the schema is rebuilt
 * at open; one no longer in the schema is dropped. Records never need a
 * migration (see record.h). */
#include "store.h"
#include "kdate.h"
#include "keyenc.h"
#include "record.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names of sub-databases and meta keys ("c:<collection>", "seq:<collection>",
 * "f:<field>") are built whole: cut to a buffer, two long names would share
 * one database or one sequence. Names longer than this are refused at open. */
#define NAME_MAX_BYTES 400
#define NAMEBUF (NAME_MAX_BYTES + 16)

int lmdb_err(kam_err *e, int rc, const char *where) {
  if (rc == MDB_MAP_FULL) return kam_errf(e, KAM_EFULL, "%s: the book's map is full", where);
  return kam_errf(e, KAM_EINTERNAL, "%s: %s", where, mdb_strerror(rc));
}

int meta_get(MDB_txn *txn, kam_store *st, const char *key, MDB_val *out) {
  MDB_val k = {strlen(key), (void *)key};
  return mdb_get(txn, st->meta, &k, out);
}

int meta_put(MDB_txn *txn, kam_store *st, const char *key, const void *v, size_t n, kam_err *e) {
  MDB_val k = {strlen(key), (void *)key}, d = {n, (void *)v};
  int rc = mdb_put(txn, st->meta, &k, &d, 0);
  return rc ? lmdb_err(e, rc, "meta") : 0;
}

static void index_signature(const coll_def *c, const index_def *ix, kbuf *b) {
  for (int i = 0; i < ix->nf; i++)
    kbuf_printf(b, "%s%s:%s%s", i ? "," : "", c->fields[ix->f[i]].name, ftype_names[c->fields[ix->f[i]].type],
                c->fields[ix->f[i]].type == FT_DATE ? "/day" : ""); /* a date part as a day number: rebuilt from text */
  kbuf_printf(b, "|id:%s|", c->prefix); /* the id packed after its prefix (keyenc.h): rebuilt from raw ids */
  kbuf_str(b, "parts:2|"); /* parts without a tag byte, refs packed (keyenc.h): rebuilt from the tagged form */
  kbuf_str(b, "vals:2|"); /* carried values a record without its count (record.h) */
  for (int i = 0; i < ix->nc; i++) kbuf_printf(b, "%s%s", i ? "," : "", c->fields[ix->carry[i]].name);
}

void index_key(kbuf *b, const coll_def *c, const index_def *ix, const kval *vals) {
  for (int i = 0; i < ix->nf; i++) key_put(b, &c->fields[ix->f[i]], &vals[ix->f[i]]);
  key_put_id(b, c->prefix, vals[F_ID].u.s.p, vals[F_ID].u.s.len);
}

void index_val(kbuf *b, const coll_def *c, const index_def *ix, const kval *vals) {
  if (!ix->nc) return;
  rec_builder rb = {0};
  rec_field fs[IDX_MAXC];
  rb.f = fs;
  rb.cap = IDX_MAXC;
  for (int i = 0; i < ix->nc; i++) rb_add(&rb, c->fields[ix->carry[i]].fid, vals[ix->carry[i]]);
  rb_finish(&rb, b);
}

void store_decode(const coll_def *c, const uint8_t *rec, size_t n, kval *vals) {
  for (int i = 1; i < c->nfields; i++) vals[i] = kv_null();
  rec_iter it;
  uint32_t fid;
  kval v;
  if (!rec_iter_init(&it, rec, n)) return;
  int pos = 1;
  while (rec_next(&it, &fid, &v)) {
    /* fields are mostly in fid order; search from the last hit */
    for (int k = 0; k < c->nfields - 1; k++) {
      int i = 1 + (pos - 1 + k) % (c->nfields - 1);
      if (c->fields[i].fid == fid) { vals[i] = v; pos = i; break; }
    }
  }
}

static int rebuild_index(kam_store *st, MDB_txn *txn, const coll_def *c, const index_def *ix,
                         kam_err *e) {
  int rc = mdb_drop(txn, ix->dbi, 0);
  if (rc) return lmdb_err(e, rc, ix->name);
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(txn, c->dbi, &cur))) return lmdb_err(e, rc, c->name);
  MDB_val k, d;
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  kbuf kb = {0}, vb = {0};
  int op = MDB_FIRST;
  while (!(rc = mdb_cursor_get(cur, &k, &d, op))) {
    op = MDB_NEXT;
    store_decode(c, d.mv_data, d.mv_size, vals);
    vals[F_ID] = kv_str(k.mv_data, k.mv_size);
    kbuf_reset(&kb);
    kbuf_reset(&vb);
    index_key(&kb, c, ix, vals);
    index_val(&vb, c, ix, vals);
    if (kb.len > (size_t)mdb_env_get_maxkeysize(st->env)) { /* a schema change met long values */
      kam_err ke = {0};
      store_check_keys(st, c, vals, &ke);
      mdb_cursor_close(cur);
      free(vals);
      kbuf_free(&kb);
      kbuf_free(&vb);
      return kam_errf(e, KAM_EDATA, "index %s cannot be built: %s", ix->name, ke.msg);
    }
    MDB_val ik = {kb.len, kb.p}, iv = {vb.len, vb.p};
    if ((rc = mdb_put(txn, ix->dbi, &ik, &iv, 0))) break;
  }
  mdb_cursor_close(cur);
  free(vals);
  kbuf_free(&kb);
  kbuf_free(&vb);
  if (rc != MDB_NOTFOUND) return lmdb_err(e, rc, ix->name);
  kbuf sig = {0};
  index_signature(c, ix, &sig);
  char key[NAMEBUF];
  snprintf(key, sizeof key, "ix:%s", ix->name);
  rc = meta_put(txn, st, key, sig.p, sig.len, e);
  kbuf_free(&sig);
  return rc;
}

/* Opens every sub-database and checks the dictionary and index signatures.
 * With write == 0 it only reports (1 = something to do). */
static int sync_layout(kam_store *st, MDB_txn *txn, int write, kam_err *e) {
  unsigned fl = write ? MDB_CREATE : 0;
  int rc;
  const char *fixed[] = {"meta", "audit", "decisions", "runs", "sched"};
  MDB_dbi *fixed_dbi[] = {&st->meta, &st->audit, &st->decisions, &st->runs, &st->sched};
  for (int i = 0; i < 5; i++)
    if ((rc = mdb_dbi_open(txn, fixed[i], fl, fixed_dbi[i])))
      return rc == MDB_NOTFOUND && !write ? 1 : lmdb_err(e, rc, fixed[i]);
  MDB_val v;
  uint32_t next = 1;
  if (!meta_get(txn, st, "f#", &v) && v.mv_size == 4) memcpy(&next, v.mv_data, 4);
  else if (!write) return 1;
  int changed = 0;
  char key[NAMEBUF];
  for (int ci = 0; ci < st->sc->ncolls; ci++) {
    const coll_def *c = &st->sc->colls[ci];
    if (strlen(c->name) > NAME_MAX_BYTES)
      return kam_errf(e, KAM_EDATA, "schema: collection %.60s...: the name is longer than %d bytes", c->name, NAME_MAX_BYTES);
    for (int fi = 0; fi < c->nfields; fi++)
      if (strlen(c->fields[fi].name) > NAME_MAX_BYTES)
        return kam_errf(e, KAM_EDATA, "schema: %s field %.60s...: the name is longer than %d bytes", c->name, c->fields[fi].name, NAME_MAX_BYTES);
  }
  kbuf sig = {0};
  for (int ci = 0; ci < st->sc->ncolls; ci++) {
    coll_def *c = &st->sc->colls[ci];
    snprintf(key, sizeof key, "c:%s", c->name);
    if ((rc = mdb_dbi_open(txn, key, fl, &c->dbi))) { kbuf_free(&sig); return rc == MDB_NOTFOUND && !write ? 1 : lmdb_err(e, rc, key); }
    for (int fi = 1; fi < c->nfields; fi++) {
      snprintf(key, sizeof key, "f:%s", c->fields[fi].name);
      if (!meta_get(txn, st, key, &v) && v.mv_size == 4) { memcpy(&c->fields[fi].fid, v.mv_data, 4); continue; }
      if (!write) { kbuf_free(&sig); return 1; }
      c->fields[fi].fid = next++;
      changed = 1;
      if ((rc = meta_put(txn, st, key, &c->fields[fi].fid, 4, e))) { kbuf_free(&sig); return rc; }
    }
  }
  if (changed && (rc = meta_put(txn, st, "f#", &next, 4, e))) { kbuf_free(&sig); return rc; }
  /* fields with the same name share a dictionary id across collections */
  for (int ci = 0; ci < st->sc->ncolls; ci++) {
    coll_def *c = &st->sc->colls[ci];
    for (int xi = 0; xi < c->nindexes; xi++) {
      index_def *ix = &c->indexes[xi];
      snprintf(key, sizeof key, "i:%s", ix->name);
      if ((rc = mdb_dbi_open(txn, key, fl, &ix->dbi))) { kbuf_free(&sig); return rc == MDB_NOTFOUND && !write ? 1 : lmdb_err(e, rc, key); }
      kbuf_reset(&sig);
      index_signature(c, ix, &sig);
      snprintf(key, sizeof key, "ix:%s", ix->name);
      if (!meta_get(txn, st, key, &v) && v.mv_size == sig.len && !memcmp(v.mv_data, sig.p, sig.len)) continue;
      if (!write) { kbuf_free(&sig); return 1; }
      if ((rc = rebuild_index(st, txn, c, ix, e))) { kbuf_free(&sig); return rc; }
    }
  }
  kbuf_free(&sig);
  /* indexes the schema no longer declares: drop, so a later re-declaration rebuilds */
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(txn, st->meta, &cur))) return lmdb_err(e, rc, "meta");
  MDB_val k = {3, "ix:"};
  int op = MDB_SET_RANGE, stale = 0;
  while (!(rc = mdb_cursor_get(cur, &k, &v, op))) {
    op = MDB_NEXT;
    if (k.mv_size < 3 || memcmp(k.mv_data, "ix:", 3)) break;
    snprintf(key, sizeof key, "%.*s", (int)k.mv_size - 3, (char *)k.mv_data + 3);
    int known = 0;
    for (int ci = 0; ci < st->sc->ncolls && !known; ci++)
      for (int xi = 0; xi < st->sc->colls[ci].nindexes; xi++)
        if (!strcmp(st->sc->colls[ci].indexes[xi].name, key)) known = 1;
    if (known) continue;
    if (!write) { stale = 1; break; }
    char dbname[NAMEBUF + 4];
    MDB_dbi dbi;
    snprintf(dbname, sizeof dbname, "i:%s", key);
    if (!mdb_dbi_open(txn, dbname, 0, &dbi)) mdb_drop(txn, dbi, 1);
    if ((rc = mdb_cursor_del(cur, 0))) break;
  }
  mdb_cursor_close(cur);
  if (stale) return 1;
  if (rc && rc != MDB_NOTFOUND) return lmdb_err(e, rc, "meta");
  if (write && meta_get(txn, st, "format", &v)) return meta_put(txn, st, "format", "1", 1, e);
  return 0;
}

int store_make_folder(const char *path, unsigned mode, int code, kam_err *e) {
  char dir[1024];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return kam_errf(e, code, "%s: path too long", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = 0;
  for (char *p = dir + 1; *p; p++)
    if (*p == '/') { *p = 0; mkdir(dir, (mode_t)mode); *p = '/'; }
  if (mkdir(dir, (mode_t)mode) && errno != EEXIST) return kam_errf(e, code, "%s: cannot create folder: %s", dir, strerror(errno));
  return 0;
}

int store_open(kam_store **out, const char *path, schema *sc, int flags, size_t mapsize, kam_err *e) {
  *out = NULL;
  struct stat sb;
  int exists = stat(path, &sb) == 0;
  if (!exists && (flags & STORE_MUST_EXIST))
    return kam_errf(e, KAM_EDATA, "%s: no book here (create one with: kam init)", path);
  if (exists && S_ISDIR(sb.st_mode))
    return kam_errf(e, KAM_EDATA, "%s: is a directory, not a book", path);
  /* create the parent folder, like var/, readable by its owner only */
  if (!exists && store_make_folder(path, 0700, KAM_EINTERNAL, e)) return e->code;
  kam_store *st = calloc(1, sizeof *st);
  st->sc = sc;
  snprintf(st->path, sizeof st->path, "%s", path);
  int nix = 0;
  for (int i = 0; i < sc->ncolls; i++) nix += sc->colls[i].nindexes;
  int rc;
  if ((rc = mdb_env_create(&st->env))) goto lfail;
  mdb_env_set_maxdbs(st->env, (MDB_dbi)(16 + sc->ncolls + nix * 2 + 64));
  mdb_env_set_maxreaders(st->env, 512);
  if (mapsize < (1u << 20)) mapsize = 1u << 20;
  if (exists && (size_t)sb.st_size * 2 > mapsize) mapsize = (size_t)sb.st_size * 2;
  mapsize = (mapsize + 0xFFFFF) & ~(size_t)0xFFFFF;
  mdb_env_set_mapsize(st->env, mapsize);
  mode_t old = umask(077);
  rc = mdb_env_open(st->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
  umask(old);
  if (rc) goto lfail;
  int dead;
  mdb_reader_check(st->env, &dead); /* clear readers left by killed processes */
  MDB_envinfo info;
  mdb_env_info(st->env, &info);
  st->mapsize = info.me_mapsize;
  MDB_txn *txn;
  if ((rc = store_begin(st, 0, &txn, e))) goto fail;
  rc = sync_layout(st, txn, 0, e);
  /* committing (even a read txn) keeps the opened handles for the env */
  if (rc == 0) rc = store_commit(st, txn, e);
  else mdb_txn_abort(txn);
  if (rc == 1) {
    for (;;) {
      if ((rc = store_begin(st, 1, &txn, e))) goto fail;
      rc = sync_layout(st, txn, 1, e);
      if (!rc) rc = store_commit(st, txn, e);
      else mdb_txn_abort(txn);
      if (rc == KAM_EFULL) { if ((rc = store_grow(st, e))) goto fail; continue; }
      break;
    }
  }
  if (rc) goto fail;
  *out = st;
  return 0;
lfail:
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
    rc = kam_errf(e, KAM_EDATA, "%s: not a kam book (%s)", path, mdb_strerror(rc));
  else
    rc = kam_errf(e, rc == EACCES ? KAM_EPERM : KAM_EINTERNAL, "%s: %s", path, mdb_strerror(rc));
fail:
  if (st->env) mdb_env_close(st->env);
  free(st);
  return rc;
}

void store_close(kam_store *st) {
  if (!st) return;
  mdb_env_close(st->env);
  free(st);
}

int store_remove(const char *path) {
  char lock[1100];
  snprintf(lock, sizeof lock, "%s-lock", path);
  int rc = unlink(path);
  int saved = errno;
  unlink(lock);
  errno = saved;
  return rc;
}

int store_begin(kam_store *st, int write, MDB_txn **txn, kam_err *e) {
  for (int tries = 0; tries < 3; tries++) {
    int rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED) { /* another process grew the map */
      mdb_env_set_mapsize(st->env, 0);
      MDB_envinfo info;
      mdb_env_info(st->env, &info);
      st->mapsize = info.me_mapsize;
      continue;
    }
    if (rc == MDB_READERS_FULL) {
      int dead;
      mdb_reader_check(st->env, &dead);
      continue;
    }
    return rc ? lmdb_err(e, rc, write ? "begin write" : "begin read") : 0;
  }
  return kam_errf(e, KAM_EINTERNAL, "%s: cannot begin a transaction", st->path);
}

int store_begin_same(MDB_txn *txn, MDB_txn **out) {
  *out = NULL;
  if (mdb_txn_begin(mdb_txn_env(txn), NULL, MDB_RDONLY, out)) return *out = NULL, -1;
  if (mdb_txn_id(*out) != mdb_txn_id(txn)) {
    mdb_txn_abort(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

int store_begin_child(kam_store *st, MDB_txn *parent, MDB_txn **txn, kam_err *e) {
  int rc = mdb_txn_begin(st->env, parent, 0, txn);
  return rc ? lmdb_err(e, rc, "a nested kam.tx") : 0;
}

int store_commit(kam_store *st, MDB_txn *txn, kam_err *e) {
  (void)st;
  int rc = mdb_txn_commit(txn);
  return rc ? lmdb_err(e, rc, "commit") : 0;
}

/* Sets the map size (only while this process holds no transaction). */
static int set_map(kam_store *st, size_t want, kam_err *e) {
  int rc = mdb_env_set_mapsize(st->env, want);
  if (rc) return lmdb_err(e, rc, "growing the map");
  MDB_envinfo info;
  mdb_env_info(st->env, &info);
  st->mapsize = info.me_mapsize;
  return 0;
}

int store_grow(kam_store *st, kam_err *e) { return set_map(st, st->mapsize * 2, e); }

int store_reserve(kam_store *st, size_t bytes, kam_err *e) {
  struct stat sb;
  size_t used = stat(st->path, &sb) ? 0 : (size_t)sb.st_size;
  size_t want = used + bytes;
  if (want <= st->mapsize) return 0;
  return set_map(st, (want + 0xFFFFF) & ~(size_t)0xFFFFF, e);
}

static int id_possible(size_t idlen) { return idlen > 0 && idlen <= 400; } /* no other id can exist */

int store_get(MDB_txn *txn, const coll_def *c, const char *id, size_t idlen, MDB_val *rec) {
  if (!id_possible(idlen)) return MDB_NOTFOUND;
  MDB_val k = {idlen, (void *)id};
  return mdb_get(txn, c->dbi, &k, rec);
}

int store_get_at(MDB_cursor *cur, const char *id, size_t idlen, MDB_val *rec, int *near) {
  if (!id_possible(idlen)) return MDB_NOTFOUND;
  MDB_val k;
  if (*near && mdb_cursor_get(cur, &k, rec, MDB_NEXT) == 0 && k.mv_size == idlen && !memcmp(k.mv_data, id, idlen))
    return 0;
  k = (MDB_val){idlen, (void *)id};
  int rc = mdb_cursor_get(cur, &k, rec, MDB_SET_KEY);
  *near = rc == 0;
  return rc;
}

int store_entries(MDB_txn *txn, MDB_dbi dbi, const char *what, size_t *n, kam_err *e) {
  MDB_stat s;
  int rc = mdb_stat(txn, dbi, &s);
  if (rc) { *n = 0; return lmdb_err(e, rc, what); }
  *n = s.ms_entries;
  return 0;
}

int store_count(MDB_txn *txn, const coll_def *c, size_t *n, kam_err *e) {
  return store_entries(txn, c->dbi, c->name, n, e);
}

void store_abort(MDB_txn *txn) {
  if (txn) mdb_txn_abort(txn);
}

int field_errf(kam_err *e, const coll_def *c, const kval *vals, const field_def *f,
               const kval *v, const char *why) {
  kbuf b = {0};
  if (v) kval_show(&b, v);
  kbuf_cstr(&b);
  int idn = vals && vals[F_ID].tag == KV_STR ? (int)vals[F_ID].u.s.len : 0;
  int rc = kam_errf(e, KAM_EDATA, "%s%s%.*s: field %s: %s%s%s", c->name, idn ? " " : "", idn,
                    idn ? vals[F_ID].u.s.p : "", f->name, v ? "value " : "", v ? (char *)b.p : "",
                    why);
  kbuf_free(&b);
  return rc;
}

static int validate(MDB_txn *txn, kam_store *st, const coll_def *c, kval *vals, int op,
                    const write_opts *o, kam_err *e) {
  char why[600], msg[700];
  for (int i = 1; i < c->nfields; i++) {
    const field_def *f = &c->fields[i];
    kval *v = &vals[i];
    if (v->tag == KV_NULL) {
      if (op == OP_INSERT && f->has_def) *v = f->def;
      else if (f->required) return field_errf(e, c, vals, f, NULL, "is required");
      continue;
    }
    if (!field_check(f, v, why, sizeof why)) {
      snprintf(msg, sizeof msg, " is not %s", why);
      return field_errf(e, c, vals, f, v, msg);
    }
    if (f->type == FT_REF && o->check_refs) {
      MDB_val r;
      const coll_def *t = &st->sc->colls[f->ref];
      int rc = store_get(txn, t, v->u.s.p, v->u.s.len, &r);
      if (rc == MDB_NOTFOUND) {
        snprintf(msg, sizeof msg, " is not an id in %s", t->name);
        return field_errf(e, c, vals, f, v, msg);
      }
      if (rc) return lmdb_err(e, rc, t->name);
    }
  }
  return 0;
}

static int check_id(const coll_def *c, const kval *id, kam_err *e) {
  if (id->tag != KV_STR || id->u.s.len == 0 || id->u.s.len > 200)
    return kam_errf(e, KAM_EDATA, "%s: id must be text of 1 to 200 bytes", c->name);
  for (size_t i = 0; i < id->u.s.len; i++) {
    unsigned char ch = (unsigned char)id->u.s.p[i];
    if (ch < 0x21 || ch == 0x7f)
      return kam_errf(e, KAM_EDATA, "%s: id \"%.*s\" must not contain spaces or control characters",
                      c->name, (int)id->u.s.len, id->u.s.p);
  }
  return 0;
}

int store_check_id(const schema *sc, const coll_def *c, const char *id, size_t n, kam_err *e) {
  kval v = kv_str(id, n);
  int rc = check_id(c, &v, e);
  if (rc) return rc;
  /* an id made for another collection (INV-000001 among clients) is a row
   * in the wrong file or column, and cl-000001 is not found as CL-000001. The
   * longest prefix that matches without regard to case decides, so a prefix
   * that extends another one still names its own collection. */
  const coll_def *best = NULL;
  size_t bl = 0;
  for (int i = 0; i < sc->ncolls; i++) {
    const coll_def *o = &sc->colls[i];
    /* first letters apart without regard to case: not this prefix (the check runs for every imported row) */
    if (((unsigned char)o->prefix[0] | 0x20) != ((unsigned char)(n ? id[0] : 0) | 0x20)) continue;
    size_t pl = strlen(o->prefix);
    if (pl && n >= pl && !strncasecmp(id, o->prefix, pl) && (pl > bl || (pl == bl && o == c))) { best = o; bl = pl; }
  }
  if (!best) return 0;
  if (best != c)
    return kam_errf(e, KAM_EDATA, "%s %.*s: field id: the prefix %s (%s) is another collection's; ids of %s start with %s",
                    c->name, (int)n, id, best->prefix, best->name, c->name, c->prefix);
  if (memcmp(id, c->prefix, bl))
    return kam_errf(e, KAM_EDATA, "%s %.*s: field id: ids of %s start with %s, in that case", c->name, (int)n, id,
                    c->name, c->prefix);
  return 0;
}

/* Names the text fields of an index (the values that can make its key long). */
static void index_fields(kbuf *b, const coll_def *c, const index_def *ix) {
  int n = 0;
  for (int i = 0; i < ix->nf; i++) n += ftype_is_text(c->fields[ix->f[i]].type);
  kbuf_str(b, n > 1 ? "fields " : "field ");
  n = 0;
  for (int i = 0; i < ix->nf; i++)
    if (ftype_is_text(c->fields[ix->f[i]].type))
      kbuf_printf(b, "%s%s", n++ ? ", " : "", c->fields[ix->f[i]].name);
  if (!n) kbuf_str(b, "id");
}

/* idn: the packed id's size (key_id_size), the same for every index. */
static size_t index_key_size(const coll_def *c, const index_def *ix, const kval *vals, size_t idn) {
  size_t n = idn;
  for (int i = 0; i < ix->nf; i++) n += key_size(&c->fields[ix->f[i]], &vals[ix->f[i]]);
  return n;
}

int store_check_keys(kam_store *st, const coll_def *c, const kval *vals, kam_err *e) {
  size_t max = (size_t)mdb_env_get_maxkeysize(st->env);
  size_t idn = vals[F_ID].tag == KV_STR ? key_id_size(c->prefix, vals[F_ID].u.s.p, vals[F_ID].u.s.len) : 0;
  for (int xi = 0; xi < c->nindexes; xi++) {
    const index_def *ix = &c->indexes[xi];
    size_t n = index_key_size(c, ix, vals, idn);
    if (n <= max) continue;
    kbuf f = {0};
    index_fields(&f, c, ix);
    kbuf_cstr(&f);
    int idn = vals[F_ID].tag == KV_STR ? (int)vals[F_ID].u.s.len : 0;
    int rc = kam_errf(e, KAM_EDATA, "%s %.*s: %s: too long for the index %s (%zu bytes with the id; at most %zu)",
                      c->name, idn, idn ? vals[F_ID].u.s.p : "", (char *)f.p, ix->name, n, max);
    kbuf_free(&f);
    return rc;
  }
  return 0;
}

int store_check_record(kam_store *st, const coll_def *c, const kval *vals, kam_err *e) {
  for (int i = 0; i < c->nfields; i++) {
    const char *why = kval_check(&vals[i]);
    if (why) return field_errf(e, c, vals, &c->fields[i], NULL, why);
  }
  return store_check_keys(st, c, vals, e);
}

/* The index entries of one write, built before anything is written. */
typedef struct ixkeys {
  kbuf b;            /* keys and values, one after another */
  size_t *off;       /* per index: new key, new value, old key (3 offsets + end) */
} ixkeys;

static void ixkeys_build(ixkeys *k, const coll_def *c, const kval *vals, const kval *oldv) {
  k->off = malloc(sizeof *k->off * (size_t)(c->nindexes * 4 + 1));
  for (int xi = 0; xi < c->nindexes; xi++) {
    const index_def *ix = &c->indexes[xi];
    size_t *o = &k->off[xi * 4];
    o[0] = k->b.len;
    index_key(&k->b, c, ix, vals);
    o[1] = k->b.len;
    index_val(&k->b, c, ix, vals);
    o[2] = k->b.len;
    if (oldv) index_key(&k->b, c, ix, oldv);
    o[3] = k->b.len;
  }
}

/* store_write, or with check_only every check it makes and nothing written. */
static int write_entity(kam_store *st, MDB_txn *txn, const coll_def *c, kval *vals, const uint8_t *old,
                        size_t oldlen, int op, const write_opts *o, int check_only, kam_err *e) {
  int rc;
  if (op == OP_INSERT && vals[F_ID].tag == KV_STR)
    rc = store_check_id(st->sc, c, vals[F_ID].u.s.p, vals[F_ID].u.s.len, e);
  else
    rc = check_id(c, &vals[F_ID], e);
  if (rc) return rc;
  char now[40];
  datetime_now(now);
  if (op == OP_INSERT) {
    if (vals[F_CREATED].tag == KV_NULL) vals[F_CREATED] = kv_str(now, strlen(now));
    if (vals[F_UPDATED].tag == KV_NULL) vals[F_UPDATED] = vals[F_CREATED];
  } else {
    vals[F_UPDATED] = kv_str(now, strlen(now));
  }
  if ((rc = validate(txn, st, c, vals, op, o, e))) return rc;
  /* every check and every key before the first put: a record that cannot be
   * written whole (a value too long for an index, text that is not UTF-8)
   * writes nothing, even when a script catches the error and goes on */
  if ((rc = store_check_record(st, c, vals, e))) return rc;
  kval *oldv = NULL;
  if (old) {
    oldv = calloc((size_t)c->nfields, sizeof *oldv);
    store_decode(c, old, oldlen, oldv);
    oldv[F_ID] = vals[F_ID];
  }
  if ((o->guard && (rc = o->guard->fn(o->guard->ud, txn, c, op, vals, oldv, e))) || check_only) {
    free(oldv);
    return rc;
  }
  rec_builder rb = {0};
  kbuf rec = {0};
  ixkeys ik = {{0}, NULL};
  for (int i = 1; i < c->nfields; i++) rb_add(&rb, c->fields[i].fid, vals[i]);
  if (old) { /* keep fields the schema no longer names: dropping a field loses nothing */
    rec_iter it;
    uint32_t fid;
    kval v;
    if (rec_iter_init(&it, old, oldlen))
      while (rec_next(&it, &fid, &v)) {
        int known = 0;
        for (int i = 1; i < c->nfields && !known; i++) known = c->fields[i].fid == fid;
        if (!known) rb_add(&rb, fid, v);
      }
  }
  rb_finish(&rb, &rec);
  ixkeys_build(&ik, c, vals, oldv);
  size_t max = (size_t)mdb_env_get_maxkeysize(st->env);
  MDB_val k = {vals[F_ID].u.s.len, (void *)vals[F_ID].u.s.p}, d = {rec.len, rec.p};
  unsigned fl = op == OP_INSERT ? MDB_NOOVERWRITE | (o->append ? MDB_APPEND : 0) : 0;
  rc = mdb_put(txn, c->dbi, &k, &d, fl);
  if (rc == MDB_KEYEXIST) {
    rc = kam_errf(e, KAM_EDATA, "%s %.*s: duplicate id (already in the book)", c->name,
                  (int)k.mv_size, (char *)k.mv_data);
    goto out;
  }
  if (rc) { rc = lmdb_err(e, rc, c->name); goto out; }
  for (int xi = 0; xi < c->nindexes; xi++) {
    const index_def *ix = &c->indexes[xi];
    const size_t *of = &ik.off[xi * 4];
    uint8_t *b = ik.b.p;
    MDB_val nk = {of[1] - of[0], b + of[0]}, nv = {of[2] - of[1], b + of[1]};
    MDB_val ok = {of[3] - of[2], b + of[2]};
    /* an old key over the limit was never written; an unchanged one is overwritten */
    if (oldv && ok.mv_size <= max && (ok.mv_size != nk.mv_size || memcmp(ok.mv_data, nk.mv_data, nk.mv_size))) {
      rc = mdb_del(txn, ix->dbi, &ok, NULL);
      if (rc && rc != MDB_NOTFOUND) { rc = lmdb_err(e, rc, ix->name); goto out; }
    }
    if ((rc = mdb_put(txn, ix->dbi, &nk, &nv, 0))) { rc = lmdb_err(e, rc, ix->name); goto out; }
  }
  if (o->audit)
    rc = store_audit(st, txn, o->actor, op, c->name, k.mv_data, k.mv_size, old, oldlen, rec.p, rec.len, e);
  else
    rc = 0;
out:
  free(oldv);
  rb_free(&rb);
  kbuf_free(&rec);
  kbuf_free(&ik.b);
  free(ik.off);
  return rc;
}

int store_write(kam_store *st, MDB_txn *txn, const coll_def *c, kval *vals, const uint8_t *old,
                size_t oldlen, int op, const write_opts *o, kam_err *e) {
  return write_entity(st, txn, c, vals, old, oldlen, op, o, 0, e);
}

static uint64_t seq_get(MDB_txn *txn, kam_store *st, const char *key);

int store_insert(kam_store *st, MDB_txn *txn, const coll_def *c, kval *vals, const write_opts *o,
                 char *idbuf, size_t idcap, kam_err *e) {
  int rc;
  if (vals[F_ID].tag != KV_NULL) {
    rc = store_write(st, txn, c, vals, NULL, 0, OP_INSERT, o, e);
    /* the sequence keeps ahead of an explicit id of the collection's form */
    if (!rc) rc = store_note_id(st, txn, c, vals[F_ID].u.s.p, vals[F_ID].u.s.len, e);
    return rc;
  }
  /* checked with the id it will most likely get before a number is taken:
   * a refused record uses none up, and numbering keeps no gaps */
  char key[NAMEBUF];
  snprintf(key, sizeof key, "seq:%s", c->name);
  snprintf(idbuf, idcap, "%s%06llu", c->prefix, (unsigned long long)seq_get(txn, st, key) + 1);
  kval created = vals[F_CREATED], updated = vals[F_UPDATED];
  vals[F_ID] = kv_str(idbuf, strlen(idbuf));
  rc = write_entity(st, txn, c, vals, NULL, 0, OP_INSERT, o, 1, e);
  vals[F_CREATED] = created; /* they pointed into the check's own clock */
  vals[F_UPDATED] = updated;
  if (!rc) rc = store_next_id(st, txn, c, idbuf, idcap, e);
  if (rc) { vals[F_ID] = kv_null(); return rc; }
  vals[F_ID] = kv_str(idbuf, strlen(idbuf));
  return store_write(st, txn, c, vals, NULL, 0, OP_INSERT, o, e);
}

int store_check_write(kam_store *st, MDB_txn *txn, const coll_def *c, kval *vals, const uint8_t *old,
                      size_t oldlen, int op, const write_opts *o, kam_err *e) {
  kval created = vals[F_CREATED], updated = vals[F_UPDATED], id = vals[F_ID];
  char idbuf[NAMEBUF + 32];
  if (op == OP_INSERT && id.tag == KV_NULL) { /* checked with the id it will most likely get */
    char key[NAMEBUF];
    snprintf(key, sizeof key, "seq:%s", c->name);
    snprintf(idbuf, sizeof idbuf, "%s%06llu", c->prefix, (unsigned long long)seq_get(txn, st, key) + 1);
    vals[F_ID] = kv_str(idbuf, strlen(idbuf));
  }
  int rc = write_entity(st, txn, c, vals, old, oldlen, op, o, 1, e);
  vals[F_CREATED] = created; /* they pointed into the check's own clock */
  vals[F_UPDATED] = updated;
  vals[F_ID] = id;
  return rc;
}

int store_delete(kam_store *st, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen,
                 const write_opts *o, kam_err *e) {
  MDB_val d;
  int rc = store_get(txn, c, id, idlen, &d);
  if (rc == MDB_NOTFOUND) return kam_errf(e, KAM_EDATA, "%s %.*s: no such id", c->name, (int)idlen, id);
  if (rc) return lmdb_err(e, rc, c->name);
  uint8_t *old = malloc(d.mv_size ? d.mv_size : 1);
  memcpy(old, d.mv_data, d.mv_size);
  size_t oldlen = d.mv_size;
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  store_decode(c, old, oldlen, vals);
  vals[F_ID] = kv_str(id, idlen);
  if (o->guard && (rc = o->guard->fn(o->guard->ud, txn, c, OP_DELETE, NULL, vals, e))) {
    free(vals);
    free(old);
    return rc;
  }
  size_t max = (size_t)mdb_env_get_maxkeysize(st->env);
  kbuf kb = {0};
  for (int xi = 0; xi < c->nindexes && !rc; xi++) {
    kbuf_reset(&kb);
    index_key(&kb, c, &c->indexes[xi], vals);
    if (kb.len > max) continue; /* never written */
    MDB_val ik = {kb.len, kb.p};
    rc = mdb_del(txn, c->indexes[xi].dbi, &ik, NULL);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc) rc = lmdb_err(e, rc, c->indexes[xi].name);
  }
  if (!rc) {
    MDB_val k = {idlen, (void *)id};
    rc = mdb_del(txn, c->dbi, &k, NULL);
    if (rc) rc = lmdb_err(e, rc, c->name);
  }
  if (!rc && o->audit)
    rc = store_audit(st, txn, o->actor, OP_DELETE, c->name, id, idlen, old, oldlen, NULL, 0, e);
  kbuf_free(&kb);
  free(vals);
  free(old);
  return rc;
}

static uint64_t seq_get(MDB_txn *txn, kam_store *st, const char *key) {
  MDB_val v;
  uint64_t n = 0;
  if (!meta_get(txn, st, key, &v) && v.mv_size == 8) memcpy(&n, v.mv_data, 8);
  return n;
}

int store_next_id(kam_store *st, MDB_txn *txn, const coll_def *c, char *out, size_t outlen, kam_err *e) {
  char key[NAMEBUF];
  snprintf(key, sizeof key, "seq:%s", c->name);
  MDB_val d;
  for (;;) {
    uint64_t n = seq_get(txn, st, key) + 1;
    int rc = meta_put(txn, st, key, &n, 8, e);
    if (rc) return rc;
    snprintf(out, outlen, "%s%06llu", c->prefix, (unsigned long long)n);
    /* an imported id may already hold this number */
    if (store_get(txn, c, out, strlen(out), &d) == MDB_NOTFOUND) return 0;
  }
}

int id_number(const coll_def *c, const char *id, size_t n, uint64_t *out) {
  size_t pl = strlen(c->prefix);
  if (n <= pl || n - pl > 18 || memcmp(id, c->prefix, pl)) return 0;
  uint64_t v = 0;
  for (size_t i = pl; i < n; i++) {
    if (id[i] < '0' || id[i] > '9') return 0;
    v = v * 10 + (uint64_t)(id[i] - '0');
  }
  *out = v;
  return 1;
}

int store_note_seq(kam_store *st, MDB_txn *txn, const coll_def *c, uint64_t v, kam_err *e) {
  char key[NAMEBUF];
  snprintf(key, sizeof key, "seq:%s", c->name);
  if (v <= seq_get(txn, st, key)) return 0;
  return meta_put(txn, st, key, &v, 8, e);
}

int store_note_id(kam_store *st, MDB_txn *txn, const coll_def *c, const char *id, size_t n, kam_err *e) {
  uint64_t v;
  if (!id_number(c, id, n, &v)) return 0;
  return store_note_seq(st, txn, c, v, e);
}

static void au_text(rec_builder *rb, uint32_t fid, const char *s) {
  if (s && *s) rb_add(rb, fid, kv_str(s, strlen(s)));
}

int store_audit(kam_store *st, MDB_txn *txn, const kam_actor *a, int op, const char *coll,
                const char *id, size_t idlen, const uint8_t *before, size_t blen,
                const uint8_t *after, size_t alen, kam_err *e) {
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, st->audit, &cur);
  if (rc) return lmdb_err(e, rc, "audit");
  MDB_val k, d;
  uint64_t seq = 1;
  if (!mdb_cursor_get(cur, &k, &d, MDB_LAST) && k.mv_size == 8) {
    const uint8_t *p = k.mv_data;
    seq = 0;
    for (int i = 0; i < 8; i++) seq = (seq << 8) | p[i];
    seq++;
  }
  uint8_t kbytes[8];
  for (int i = 0; i < 8; i++) kbytes[i] = (uint8_t)(seq >> (56 - 8 * i));
  char now[40];
  datetime_now(now);
  static const char *ops[] = {"", "insert", "update", "delete", "import"};
  rec_builder rb = {0};
  kbuf rec = {0};
  const char *who = a && a->who ? a->who : "unknown";
  rb_add(&rb, AU_WHO, kv_str(who, strlen(who)));
  rb_add(&rb, AU_WHEN, kv_str(now, strlen(now)));
  rb_add(&rb, AU_OP, kv_str(ops[op > 4 ? 0 : op], strlen(ops[op > 4 ? 0 : op])));
  rb_add(&rb, AU_COLL, kv_str(coll, strlen(coll)));
  rb_add(&rb, AU_ID, kv_str(id, idlen));
  if (before) rb_add(&rb, AU_BEFORE, kv_str((const char *)before, blen));
  if (after) rb_add(&rb, AU_AFTER, kv_str((const char *)after, alen));
  if (a) {
    au_text(&rb, AU_ROLE, a->role);
    au_text(&rb, AU_BY, a->by);
    au_text(&rb, AU_CHANNEL, a->channel);
    au_text(&rb, AU_SOURCE, a->source);
    au_text(&rb, AU_HASH, a->hash);
  }
  rb_finish(&rb, &rec);
  k.mv_size = 8;
  k.mv_data = kbytes;
  d.mv_size = rec.len;
  d.mv_data = rec.p;
  rc = mdb_cursor_put(cur, &k, &d, MDB_APPEND);
  mdb_cursor_close(cur);
  rb_free(&rb);
  kbuf_free(&rec);
  return rc ? lmdb_err(e, rc, "audit") : 0;
}

/* ---- read-only access, for kam verify ------------------------------------ */

void store_index_signature(const coll_def *c, const index_def *ix, kbuf *b) { index_signature(c, ix, b); }

int store_open_readonly(kam_store **out, const char *path, schema *sc, kam_err *e) {
  *out = NULL;
  struct stat sb;
  if (stat(path, &sb))
    return kam_errf(e, errno == EACCES ? KAM_EPERM : KAM_EDATA, "%s: no book here (%s)", path, strerror(errno));
  if (S_ISDIR(sb.st_mode)) return kam_errf(e, KAM_EDATA, "%s: is a directory, not a book", path);
  kam_store *st = calloc(1, sizeof *st);
  st->sc = sc;
  snprintf(st->path, sizeof st->path, "%s", path);
  int nix = 0;
  for (int i = 0; i < sc->ncolls; i++) nix += sc->colls[i].nindexes;
  MDB_txn *txn = NULL;
  int code, rc = mdb_env_create(&st->env);
  if (!rc) {
    mdb_env_set_maxdbs(st->env, (MDB_dbi)(16 + sc->ncolls + nix * 2 + 64));
    mdb_env_set_maxreaders(st->env, 512);
    /* no layout sync and no rebuilds: the file is seen as it is */
    rc = mdb_env_open(st->env, path, MDB_NOSUBDIR | MDB_NOTLS | MDB_RDONLY, 0600);
  }
  if (rc) {
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
      code = kam_errf(e, KAM_EDATA, "%s: not a kam book (%s)", path, mdb_strerror(rc));
    else
      code = kam_errf(e, rc == EACCES ? KAM_EPERM : KAM_EINTERNAL, "%s: %s", path, mdb_strerror(rc));
    goto fail;
  }
  int dead;
  mdb_reader_check(st->env, &dead);
  MDB_envinfo info;
  mdb_env_info(st->env, &info);
  st->mapsize = info.me_mapsize;
  if ((code = store_begin(st, 0, &txn, e))) goto fail;
  const char *fixed[] = {"meta", "audit", "decisions", "runs"};
  MDB_dbi *fixed_dbi[] = {&st->meta, &st->audit, &st->decisions, &st->runs};
  for (int i = 0; i < 4; i++)
    if ((rc = mdb_dbi_open(txn, fixed[i], 0, fixed_dbi[i]))) {
      if (rc == MDB_NOTFOUND) code = kam_errf(e, KAM_EDATA, "%s: not a kam book (no %s)", path, fixed[i]);
      else code = lmdb_err(e, rc, fixed[i]);
      mdb_txn_abort(txn);
      goto fail;
    }
  /* the scheduler's table came later: an older book read as is has none */
  if ((rc = mdb_dbi_open(txn, "sched", 0, &st->sched)) && rc != MDB_NOTFOUND) {
    code = lmdb_err(e, rc, "sched");
    mdb_txn_abort(txn);
    goto fail;
  }
  if (rc) st->sched = 0;
  /* committing (even a read txn) keeps the opened handles for the env */
  if ((code = store_commit(st, txn, e))) goto fail;
  *out = st;
  return 0;
fail:
  if (st->env) mdb_env_close(st->env);
  free(st);
  return code;
}
