/* schedule.c — the scheduler's run records (see schedule.h). */
#include "schedule.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static void key_of(kbuf *k, const char *name, size_t nlen, int64_t due) {
  kbuf_reset(k);
  kbuf_put(k, name, nlen);
  kbuf_byte(k, 0);
  uint64_t u = (uint64_t)due;
  for (int i = 7; i >= 0; i--) kbuf_byte(k, (uint8_t)(u >> (8 * i)));
}

static int decode(const MDB_val *k, const MDB_val *d, sched_run *r) {
  memset(r, 0, sizeof *r);
  r->schedule = r->status = r->who = r->hash = r->summary = r->error = r->host = r->trigger = kv_null();
  const uint8_t *kp = k->mv_data;
  size_t nl = strnlen((const char *)kp, k->mv_size);
  if (nl + 9 != k->mv_size) return 0;
  r->schedule = kv_str((const char *)kp, nl);
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | kp[nl + 1 + i];
  r->due = (int64_t)u;
  rec_iter it;
  uint32_t fid;
  kval v;
  if (!rec_iter_init(&it, d->mv_data, d->mv_size)) return 0;
  while (rec_next(&it, &fid, &v)) {
    int is_int = v.tag == KV_INT;
    switch (fid) {
    case SR_STATUS: r->status = v; break;
    case SR_START: if (is_int) r->start = v.u.i; break;
    case SR_END: if (is_int) r->end = v.u.i; break;
    case SR_WHO: r->who = v; break;
    case SR_HASH: r->hash = v; break;
    case SR_SUMMARY: r->summary = v; break;
    case SR_ERROR: r->error = v; break;
    case SR_PID: if (is_int) r->pid = v.u.i; break;
    case SR_PSTART: if (is_int) r->pstart = v.u.i; break;
    case SR_HOST: r->host = v; break;
    case SR_TRIGGER: r->trigger = v; break;
    default: break;
    }
  }
  return r->status.tag == KV_STR;
}

static int no_table(kam_store *st) { return st->sched == 0; }

int sched_get(MDB_txn *txn, kam_store *st, const char *name, int64_t due, sched_run *r, kam_err *e) {
  if (no_table(st)) return 0;
  kbuf k = {0};
  key_of(&k, name, strlen(name), due);
  MDB_val kv = {k.len, k.p}, d;
  int rc = mdb_get(txn, st->sched, &kv, &d);
  int found = !rc && decode(&kv, &d, r);
  kbuf_free(&k);
  if (rc && rc != MDB_NOTFOUND) { lmdb_err(e, rc, "sched"); return -1; }
  return found;
}

int sched_last(MDB_txn *txn, kam_store *st, const char *name, sched_run *r, kam_err *e) {
  if (no_table(st)) return 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, st->sched, &cur);
  if (rc) { lmdb_err(e, rc, "sched"); return -1; }
  kbuf k = {0};
  key_of(&k, name, strlen(name), -1); /* past every due of the schedule */
  MDB_val kv = {k.len, k.p}, d;
  size_t nl = strlen(name);
  rc = mdb_cursor_get(cur, &kv, &d, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) rc = mdb_cursor_get(cur, &kv, &d, MDB_LAST);
  else if (!rc) rc = mdb_cursor_get(cur, &kv, &d, MDB_PREV);
  int found = 0;
  if (!rc && kv.mv_size == nl + 9 && !memcmp(kv.mv_data, name, nl) && !((char *)kv.mv_data)[nl])
    found = decode(&kv, &d, r);
  mdb_cursor_close(cur);
  kbuf_free(&k);
  if (rc && rc != MDB_NOTFOUND) { lmdb_err(e, rc, "sched"); return -1; }
  return found;
}

int sched_each(MDB_txn *txn, kam_store *st, const char *name, int64_t since, sched_fn fn, void *ud, kam_err *e) {
  if (no_table(st)) return 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, st->sched, &cur);
  if (rc) return lmdb_err(e, rc, "sched");
  kbuf k = {0};
  MDB_val kv, d;
  size_t nl = name ? strlen(name) : 0;
  if (name) {
    key_of(&k, name, nl, since);
    kv.mv_size = k.len;
    kv.mv_data = k.p;
    rc = mdb_cursor_get(cur, &kv, &d, MDB_SET_RANGE);
  } else {
    rc = mdb_cursor_get(cur, &kv, &d, MDB_FIRST);
  }
  int out = 0;
  for (; !rc; rc = mdb_cursor_get(cur, &kv, &d, MDB_NEXT)) {
    if (name && (kv.mv_size != nl + 9 || memcmp(kv.mv_data, name, nl) || ((char *)kv.mv_data)[nl])) break;
    sched_run r;
    if (!decode(&kv, &d, &r)) continue; /* kam verify names it */
    if (r.due < since) continue;
    if ((out = fn(ud, &r, e))) break;
  }
  mdb_cursor_close(cur);
  kbuf_free(&k);
  if (rc && rc != MDB_NOTFOUND) return lmdb_err(e, rc, "sched");
  return out;
}

static void add_text(rec_builder *rb, uint32_t fid, const kval *v) {
  if (v->tag == KV_STR) rb_add(rb, fid, *v);
}

int sched_put(MDB_txn *txn, kam_store *st, const sched_run *r, int claim, int *taken, kam_err *e) {
  if (no_table(st)) return kam_errf(e, KAM_EINTERNAL, "sched: the book has no scheduler table");
  rec_builder rb = {0};
  kbuf rec = {0}, k = {0};
  add_text(&rb, SR_STATUS, &r->status);
  if (r->start) rb_add(&rb, SR_START, kv_int(r->start));
  if (r->end) rb_add(&rb, SR_END, kv_int(r->end));
  add_text(&rb, SR_WHO, &r->who);
  add_text(&rb, SR_HASH, &r->hash);
  add_text(&rb, SR_SUMMARY, &r->summary);
  add_text(&rb, SR_ERROR, &r->error);
  if (r->pid) rb_add(&rb, SR_PID, kv_int(r->pid));
  if (r->pstart) rb_add(&rb, SR_PSTART, kv_int(r->pstart));
  add_text(&rb, SR_HOST, &r->host);
  add_text(&rb, SR_TRIGGER, &r->trigger);
  rb_finish(&rb, &rec);
  key_of(&k, r->schedule.u.s.p, r->schedule.u.s.len, r->due);
  MDB_val kv = {k.len, k.p}, d = {rec.len, rec.p};
  int rc = mdb_put(txn, st->sched, &kv, &d, claim ? MDB_NOOVERWRITE : 0);
  if (taken) *taken = rc != MDB_KEYEXIST;
  if (rc == MDB_KEYEXIST) rc = 0;
  rb_free(&rb);
  kbuf_free(&rec);
  kbuf_free(&k);
  return rc ? lmdb_err(e, rc, "sched") : 0;
}

int sched_seen(MDB_txn *txn, kam_store *st, const char *name, int64_t now, int64_t *since, kam_err *e) {
  char key[160];
  snprintf(key, sizeof key, "sched_seen:%s", name);
  MDB_val v;
  if (!meta_get(txn, st, key, &v) && v.mv_size == 8) {
    memcpy(since, v.mv_data, 8);
    return 0;
  }
  *since = now;
  return meta_put(txn, st, key, &now, 8, e);
}

/* field 22 of /proc/PID/stat, counted after the command's closing
 * parenthesis (a command's name may hold spaces): -1 if no such process */
static int64_t start_of(int64_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long long start = 0;
  if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) == 1)
    return (int64_t)start;
  return -1;
}

int64_t sched_proc_start(void) {
  int64_t s = start_of((int64_t)getpid());
  return s < 0 ? 0 : s;
}

int sched_alive(int64_t pid, int64_t pstart) {
  if (pid <= 0) return 0;
  if (kill((pid_t)pid, 0) && errno == ESRCH) return 0;
  /* a pid is reused: the same pid with another start time is another process */
  int64_t s = start_of(pid);
  return s < 0 ? 0 : !pstart || s == pstart;
}
