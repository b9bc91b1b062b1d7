/* approved.c — what only an approved request lets through (see approved.h). */
#include "approved.h"
#include <stdio.h>
#include <string.h>

static double number(const kval *v) {
  return v->tag == KV_INT ? (double)v->u.i : v->tag == KV_NUM ? v->u.n : 0;
}

int approved_check(const coll_def *c, int op, const kval *newv, const kval *oldv, kam_err *e) {
  if (op == OP_DELETE || !newv || strcmp(c->name, "quotes")) return 0;
  int fs = coll_field(c, "status"), fd = coll_field(c, "discount"), fa = coll_field(c, "discount_approved");
  if (fs < 0 || fd < 0 || fa < 0 || !kval_is_text(&newv[fs], "accepted")) return 0;
  if (oldv && kval_is_text(&oldv[fs], "accepted") && number(&oldv[fd]) >= number(&newv[fd])) return 0; /* as it was */
  double d = number(&newv[fd]), ok = number(&newv[fa]);
  if (d <= ok + 1e-9) return 0;
  char ds[32], oks[32]; /* 18,0% as kam.fmt.pct writes it */
  snprintf(ds, sizeof ds, "%.1f%%", d * 100);
  snprintf(oks, sizeof oks, "%.1f%%", ok * 100);
  for (char *p = ds; *p; p++) if (*p == '.') *p = ',';
  for (char *p = oks; *p; p++) if (*p == '.') *p = ',';
  return kam_errf(e, KAM_EPERM,
                  "permission denied: quote %.*s may not be accepted with a %s discount: its approved requests "
                  "allow %s (kam request discount --subject %.*s)",
                  (int)newv[F_ID].u.s.len, newv[F_ID].u.s.p, ds, oks, (int)newv[F_ID].u.s.len, newv[F_ID].u.s.p);
}
