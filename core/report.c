/* kam report and the report step of schedules: the script loaded with its
 * arguments, the book's "as of" time, and the page written whole. */
#include "report.h"

#include "audit.h"
#include "buf.h"
#include "sandbox.h"

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

int report_write(const char *path, const char *text, size_t len, kam_err *e) {
  if (store_make_folder(path, 0755, KAM_EDATA, e)) return e->code;
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

int report_check_lang_format(const char *lang, const char *format, const char *who, kam_err *e) {
  if (strcmp(format, "html") && strcmp(format, "md") && strcmp(format, "csv") && strcmp(format, "json"))
    return kam_errf(e, KAM_EUSAGE, "%s: --format %s: expected html, md, csv or json", who, format);
  if (strcmp(lang, "vi") && strcmp(lang, "en")) return kam_errf(e, KAM_EUSAGE, "%s: --lang %s: expected vi or en", who, lang);
  return 0;
}

/* one word of a step: its end, or NULL when the step has no more */
static const char *word(const char *p, char *out, size_t n) {
  while (*p == ' ' || *p == '\t') p++;
  if (!*p) return NULL;
  size_t k = 0;
  while (*p && *p != ' ' && *p != '\t') {
    if (k + 1 < n) out[k++] = *p;
    p++;
  }
  out[k] = 0;
  return p;
}

int report_step_parse(const char *step, report_args *a, kam_err *e) {
  memset(a, 0, sizeof *a);
  snprintf(a->lang, sizeof a->lang, "vi");
  snprintf(a->format, sizeof a->format, "html");
  char w[512];
  const char *p = word(step, w, sizeof w);
  if (!p || strcmp(w, "report")) return kam_errf(e, KAM_EUSAGE, "a report step starts with `report`");
  if (!(p = word(p, w, sizeof w)) || !report_name_ok(w))
    return kam_errf(e, KAM_EUSAGE, "a report step is `report NAME [ID] [--period P] [--lang vi|en] [--format F] -o FILE`");
  memcpy(a->kind, w, strlen(w) + 1); /* a report's name: at most 40 letters */
  static const char *const opts[] = {"--period", "--lang", "--format", "-o", NULL};
  while ((p = word(p, w, sizeof w))) {
    char *dst[] = {a->period, a->lang, a->format, a->out};
    size_t cap[] = {sizeof a->period, sizeof a->lang, sizeof a->format, sizeof a->out};
    int o = -1;
    for (int i = 0; opts[i]; i++) if (!strcmp(w, opts[i])) o = i;
    if (o < 0) {
      if (w[0] == '-' || a->id[0] || a->period[0] || a->out[0])
        return kam_errf(e, KAM_EUSAGE, "report %s: %s: not an argument of a report step", a->kind, w);
      if (strlen(w) >= sizeof a->id) return kam_errf(e, KAM_EUSAGE, "report %s: %.40s...: too long for an id", a->kind, w);
      memcpy(a->id, w, strlen(w) + 1);
      continue;
    }
    if (!(p = word(p, w, sizeof w))) return kam_errf(e, KAM_EUSAGE, "report %s: %s needs a value", a->kind, opts[o]);
    if (strlen(w) >= cap[o]) return kam_errf(e, KAM_EUSAGE, "report %s: %s %.40s: too long", a->kind, opts[o], w);
    memcpy(dst[o], w, strlen(w) + 1);
  }
  char who[64];
  snprintf(who, sizeof who, "report %s", a->kind);
  if (report_check_lang_format(a->lang, a->format, who, e)) return e->code;
  if (!a->out[0]) return kam_errf(e, KAM_EUSAGE, "report %s: -o FILE: a scheduled report is written to a file", a->kind);
  return 0;
}

int report_push(lua_State *L, const char *root, const report_args *a, const char *as_of, kam_err *e) {
  char path[1100];
  snprintf(path, sizeof path, "%s/scripts/reports/%s.lua", root, a->kind);
  FILE *f = report_name_ok(a->kind) ? fopen(path, "rb") : NULL;
  if (!f) return kam_errf(e, KAM_EUSAGE, "report: no report %s (scripts/reports/%s.lua)", a->kind, a->kind);
  kbuf b = {0};
  int rerr = kbuf_read(&b, f, 0);
  fclose(f);
  if (rerr) { kbuf_free(&b); return kam_errf(e, KAM_EDATA, "scripts/reports/%s.lua: read error", a->kind); }
  lua_createtable(L, 0, 6);
  lua_pushstring(L, a->kind); lua_setfield(L, -2, "kind");
  if (a->id[0]) { lua_pushstring(L, a->id); lua_setfield(L, -2, "id"); }
  if (a->period[0]) { lua_pushstring(L, a->period); lua_setfield(L, -2, "period"); }
  lua_pushstring(L, a->lang); lua_setfield(L, -2, "lang");
  lua_pushstring(L, a->format); lua_setfield(L, -2, "format");
  lua_pushstring(L, as_of); lua_setfield(L, -2, "as_of");
  lua_setglobal(L, "report");
  char chunk[120];
  snprintf(chunk, sizeof chunk, "@scripts/reports/%s.lua", a->kind);
  int st = sandbox_load(L, (const char *)b.p, b.len, chunk);
  kbuf_free(&b);
  if (st != LUA_OK) {
    size_t n;
    const char *m = sandbox_error_message(L, &n);
    kam_errf(e, KAM_EDATA, "%.*s", (int)n, m);
    lua_pop(L, 1);
    return KAM_EDATA;
  }
  return 0;
}
