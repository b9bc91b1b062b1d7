/* identity.c — the acting user from the login and the staff records (see
 * identity.h). */
#include "identity.h"
#include "query.h"
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int identity_login(char *out, size_t n, kam_err *e) {
  struct passwd pw, *res = NULL;
  long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
  size_t bufsz = sz > 0 ? (size_t)sz : 16384;
  char *buf = malloc(bufsz);
  if (!buf) return kam_errf(e, KAM_EINTERNAL, "out of memory");
  int rc = getpwuid_r(getuid(), &pw, buf, bufsz, &res);
  if (rc || !res || !res->pw_name || !*res->pw_name) {
    free(buf);
    return kam_errf(e, KAM_EPERM, "uid %u has no login (no passwd entry): kam cannot tell who you are",
                    (unsigned)getuid());
  }
  snprintf(out, n, "%s", res->pw_name);
  free(buf);
  return 0;
}

static void copy_text(char *dst, size_t n, const kval *v) {
  if (v->tag == KV_STR) snprintf(dst, n, "%.*s", (int)v->u.s.len, v->u.s.p);
  else dst[0] = 0;
}

static void fill(kam_principal *p, const coll_def *c, const kval *vals) {
  int fn = coll_field(c, "name"), fr = coll_field(c, "role"), ft = coll_field(c, "team"),
      fo = coll_field(c, "os_user");
  copy_text(p->staff, sizeof p->staff, &vals[F_ID]);
  if (fn >= 0) copy_text(p->name, sizeof p->name, &vals[fn]);
  if (fr >= 0) copy_text(p->role, sizeof p->role, &vals[fr]);
  if (ft >= 0) copy_text(p->team, sizeof p->team, &vals[ft]);
  if (fo >= 0) copy_text(p->login, sizeof p->login, &vals[fo]);
  if (!p->login[0]) snprintf(p->login, sizeof p->login, "%s", p->staff);
  if (!p->name[0]) snprintf(p->name, sizeof p->name, "%s", p->staff);
}

/* The staff collection as identity reads it: one with a role field. */
static const coll_def *staff_coll(kam_store *st) {
  const coll_def *c = schema_coll(st->sc, "staff");
  return c && coll_field(c, "role") >= 0 ? c : NULL;
}

int identity_staff(kam_store *st, MDB_txn *txn, const char *who, kam_principal *p, kam_err *e) {
  const coll_def *c = staff_coll(st);
  if (!c) return 0;
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  if (!vals) return kam_errf(e, KAM_EINTERNAL, "out of memory");
  MDB_val rec;
  int rc = store_get(txn, c, who, strlen(who), &rec), found = 0;
  if (!rc) {
    store_decode(c, rec.mv_data, rec.mv_size, vals);
    vals[F_ID] = kv_str(who, strlen(who));
    fill(p, c, vals);
    found = 1;
  } else if (rc == MDB_NOTFOUND) {
    /* by login, through the index on os_user when the schema has one (every
     * command starts here: a pass decoding each staff record cost more than
     * opening the book did at a few thousand staff); the first in id order */
    rc = 0;
    int fo = coll_field(c, "os_user");
    if (fo >= 0) {
      query q;
      query_init(&q, c);
      kval v = kv_str(who, strlen(who));
      qiter it;
      int r = query_add(&q, fo, Q_EQ, &v, 1, e) ? -1 : 0;
      if (!r && qiter_open(&it, txn, &q, F_ID, e)) { qiter_close(&it); r = -1; }
      else if (!r) {
        kval id;
        MDB_val one;
        while ((r = qiter_next(&it, e)) == 1) {
          if ((r = qiter_field(&it, F_ID, &id, e)) < 0 || (r = qiter_record(&it, &one, e)) < 0) break;
          /* the lowest id: an index on os_user alone gives ties in id order */
          store_decode(c, one.mv_data, one.mv_size, vals);
          vals[F_ID] = id;
          fill(p, c, vals);
          found = 1;
          break;
        }
        qiter_close(&it);
      }
      query_release(&q);
      if (r < 0) {
        free(vals);
        return -(e->code ? e->code : kam_errf(e, KAM_EINTERNAL, "staff: reading os_user"));
      }
    }
  }
  free(vals);
  if (rc && rc != MDB_NOTFOUND) return -lmdb_err(e, rc, "staff"); /* <0: not a find */
  return found;
}

static int book_has_staff(kam_store *st, MDB_txn *txn, int *has, kam_err *e) {
  const coll_def *c = staff_coll(st);
  size_t n = 0;
  if (c && store_count(txn, c, &n, e)) return e->code;
  *has = n > 0;
  return 0;
}

int identity_resolve(kam_store *st, MDB_txn *txn, const kam_config *cfg, const char *as, kam_principal *p,
                     kam_err *e) {
  memset(p, 0, sizeof *p);
  p->trust = cfg->auth_trust;
  int rc = identity_login(p->os_login, sizeof p->os_login, e), has = 0;
  if (rc) return rc;
  if ((rc = book_has_staff(st, txn, &has, e))) return rc;
  if (!has) {
    if (as) return kam_errf(e, KAM_EUSAGE, "--as %s: the book has no staff records yet", as);
    /* a new book: whoever may open its file sets it up */
    snprintf(p->login, sizeof p->login, "%s", p->os_login);
    snprintf(p->name, sizeof p->name, "%s", p->os_login);
    snprintf(p->role, sizeof p->role, "admin");
    p->bootstrap = 1;
    return 0;
  }
  int found = identity_staff(st, txn, p->os_login, p, e);
  if (found < 0) return e->code;
  if (as) {
    kam_principal self = *p;
    int admin = found ? !strcmp(p->role, "admin") : getuid() == 0;
    if (!cfg->auth_trust && !admin)
      return kam_errf(e, KAM_EPERM, "--as %s: only an admin may act as someone else (auth: os in %s); you are %s",
                      as, cfg->path, found ? p->login : p->os_login);
    memset(p, 0, sizeof *p);
    p->trust = cfg->auth_trust;
    snprintf(p->os_login, sizeof p->os_login, "%s", self.os_login);
    int f = identity_staff(st, txn, as, p, e);
    if (f < 0) return e->code;
    if (!f) return kam_errf(e, KAM_EUSAGE, "--as %s: no staff record has that id or os_user", as);
    if (!found || strcmp(self.staff, p->staff)) { /* the audit keeps who really acted */
      snprintf(p->by, sizeof p->by, "%s", found ? self.staff : self.os_login);
      snprintf(p->by_login, sizeof p->by_login, "%s", found ? self.login : self.os_login);
    }
    return 0;
  }
  if (found) return 0;
  if (getuid() == 0) { /* what the OS lets root do, kam cannot forbid */
    snprintf(p->login, sizeof p->login, "%s", p->os_login);
    snprintf(p->name, sizeof p->name, "%s", p->os_login);
    snprintf(p->role, sizeof p->role, "admin");
    p->bootstrap = p->superuser = 1;
    return 0;
  }
  if (cfg->unknown_read) {
    snprintf(p->login, sizeof p->login, "%s", p->os_login);
    snprintf(p->name, sizeof p->name, "%s", p->os_login);
    snprintf(p->role, sizeof p->role, "guest");
    p->guest = 1;
    return 0;
  }
  return kam_errf(e, KAM_EPERM,
                  "login %s: no staff record has os_user %s; an admin adds it (kam eval "
                  "'kam.tx(function() db.staff:update(\"ST-...\", {os_user = \"%s\"}) end)') "
                  "or sets unknown_logins: read in %s",
                  p->os_login, p->os_login, p->os_login, cfg->path);
}

const char *identity_label(const kam_principal *p, char *buf, size_t n) {
  if (p->system[0]) snprintf(buf, n, "%s (%s)", p->system, p->role);
  else if (p->superuser) snprintf(buf, n, "%s (superuser)", p->login);
  else if (p->bootstrap) snprintf(buf, n, "%s (new book)", p->login);
  else if (p->by[0]) snprintf(buf, n, "%s as %s (%s)", p->by_login, p->login, p->role);
  else snprintf(buf, n, "%s (%s)", p->login, p->role);
  return buf;
}

const char *identity_who(const kam_principal *p) {
  static char buf[128];
  if (p->system[0]) return p->system;
  if (p->staff[0]) return p->staff;
  snprintf(buf, sizeof buf, "%s%s", p->guest ? "guest:" : "", p->login);
  return buf;
}
