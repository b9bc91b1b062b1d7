/* kam report: the book's "as of" time and the page written whole. */
#include "report.h"

#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int report_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 40) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return 0;
  }
  /* modules the reports share, not reports */
  return strcmp(name, "labels") && strcmp(name, "common");
}

typedef struct newest { char *out; size_t n; } newest;
enum { TOOK = 100 }; /* not a KAM_E* code: audit_each passes it back */

static int take_when(void *ud, const audit_entry *a, kam_err *e) {
  (void)e;
  newest *w = ud;
  if (a->when.tag == KV_STR) snprintf(w->out, w->n, "%.*s", (int)a->when.u.s.len, a->when.u.s.p);
  return TOOK; /* the first is the newest: stop */
}

int report_as_of(kam_store *st, char *out, size_t n, kam_err *e) {
  out[0] = 0;
  MDB_txn *txn;
  if (store_begin(st, 0, &txn, e)) return e->code;
  audit_filter f = {0};
  f.limit = 1;
  newest w = {out, n};
  int rc = audit_each(st, txn, &f, take_when, &w, e);
  store_abort(txn);
  return rc == TOOK ? 0 : rc;
}

/* mkdir -p of the folder holding path */
static int make_parent(const char *path, kam_err *e) {
  char dir[1024];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return kam_errf(e, KAM_EDATA, "%s: path too long", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return 0;
  *slash = 0;
  for (char *p = dir + 1; *p; p++)
    if (*p == '/') { *p = 0; mkdir(dir, 0755); *p = '/'; }
  if (mkdir(dir, 0755) && errno != EEXIST) return kam_errf(e, KAM_EDATA, "%s: cannot create folder: %s", dir, strerror(errno));
  return 0;
}

int report_write(const char *path, const char *text, size_t len, kam_err *e) {
  if (make_parent(path, e)) return e->code;
  char tmp[1100];
  if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return kam_errf(e, KAM_EDATA, "%s: path too long", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return kam_errf(e, KAM_EDATA, "%s: cannot write: %s", path, strerror(errno));
  int bad = fwrite(text, 1, len, f) != len;
  bad |= fflush(f) != 0;
  bad |= fsync(fileno(f)) != 0;
  int err = errno;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path)) {
    if (!bad) err = errno;
    unlink(tmp);
    return kam_errf(e, KAM_EDATA, "%s: cannot write: %s", path, strerror(err));
  }
  return 0;
}
