/* access.c — the rules of config/access.yaml and their checks (see access.h). */
#include "access.h"
#include "ydoc.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const access_action_names[ACT_N] = {"read", "insert", "update", "delete", "import",
                                                "export", "commit", "approve", "admin"};
static const char *const scope_names[] = {"none", "own", "team", "all"};
static const char *const admin_things[] = {"init", "schema", "users", "config", NULL};

/* actions on collections, and those on something else */
#define COLL_ACTS ((1u << ACT_READ) | (1u << ACT_INSERT) | (1u << ACT_UPDATE) | (1u << ACT_DELETE) | \
                   (1u << ACT_IMPORT) | (1u << ACT_EXPORT))

typedef struct when_t { char *field; char **vals; int nvals; } when_t;

typedef struct rule {
  int forbid, line;
  unsigned acts;
  char **roles; int nroles;  /* groups expanded; "*" is anyone */
  char **on; int non;        /* "*" is anything */
  int scope;                 /* SCOPE_* ; all when not given */
  char **fields; int nfields, except;
  when_t *when; int nwhen;
  char *why;
} rule;

struct kam_access {
  char path[512];
  int missing;
  rule *r; int n;
  char **roles; int nroles;  /* the staff role enum, for the matrix */
  const schema *sc;
};

int access_action(const char *name) {
  for (int i = 0; i < ACT_N; i++)
    if (!strcmp(name, access_action_names[i])) return i;
  return -1;
}

const char *access_path(const kam_access *a) { return a->path; }

/* ---- loading ---------------------------------------------------------------- */

static char *dup(const char *s) { return s ? strdup(s) : NULL; }

static void strv_free(char **v, int n) {
  for (int i = 0; i < n; i++) free(v[i]);
  free(v);
}

static int has(char *const *v, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (!strcmp(v[i], s)) return 1;
  return 0;
}

static void strv_add(char ***v, int *n, const char *s) {
  if (has(*v, *n, s)) return;
  *v = realloc(*v, (size_t)(*n + 1) * sizeof **v);
  (*v)[(*n)++] = strdup(s);
}

/* A list of scalars (or one scalar) as strings. */
static int scalars(ydoc *d, yaml_node_t *n, const char *what, char ***out, int *cnt, kam_err *e) {
  if (n->type == YAML_SCALAR_NODE) { strv_add(out, cnt, ydoc_scalar(n)); return 0; }
  if (n->type != YAML_SEQUENCE_NODE) return ydoc_errf(d, n, e, KAM_EDATA, "%s: expected a list", what);
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    yaml_node_t *x = ydoc_get(d, *it);
    if (!ydoc_scalar(x) || !*ydoc_scalar(x)) return ydoc_errf(d, x, e, KAM_EDATA, "%s: expected names", what);
    strv_add(out, cnt, ydoc_scalar(x));
  }
  return 0;
}

static int check_keys(ydoc *d, yaml_node_t *n, const char *const *ok, const char *what, kam_err *e) {
  if (n->type != YAML_MAPPING_NODE) return ydoc_errf(d, n, e, KAM_EDATA, "%s: expected a mapping", what);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key);
    const char *ks = ydoc_scalar(k);
    int known = 0;
    for (int i = 0; ok[i] && !known; i++) known = ks && !strcmp(ks, ok[i]);
    if (!known) {
      kbuf b = {0};
      for (int i = 0; ok[i]; i++) kbuf_printf(&b, "%s%s", i ? ", " : "", ok[i]);
      int rc = ydoc_errf(d, k, e, KAM_EDATA, "%s: unknown key '%s' (known: %s)", what, ks ? ks : "?", b.p);
      kbuf_free(&b);
      return rc;
    }
  }
  return 0;
}

static const field_def *role_field(const schema *sc) {
  for (int i = 0; i < sc->ncolls; i++)
    if (!strcmp(sc->colls[i].name, "staff")) {
      int f = coll_field(&sc->colls[i], "role");
      return f >= 0 && sc->colls[i].fields[f].type == FT_ENUM ? &sc->colls[i].fields[f] : NULL;
    }
  return NULL;
}

static const coll_def *coll_named(const schema *sc, const char *name) {
  for (int i = 0; i < sc->ncolls; i++)
    if (!strcmp(sc->colls[i].name, name)) return &sc->colls[i];
  return NULL;
}

static int known_role(const kam_access *a, const char *r) {
  return !strcmp(r, "*") || has(a->roles, a->nroles, r) || !a->nroles;
}

/* Checks a field name against every collection the rule is on. */
static int check_field(ydoc *d, yaml_node_t *n, const kam_access *a, const rule *r, const char *f, kam_err *e) {
  if (has(r->on, r->non, "*"))
    return ydoc_errf(d, n, e, KAM_EDATA, "field %s: a rule with field limits names its collections (not *)", f);
  for (int i = 0; i < r->non; i++) {
    const coll_def *c = coll_named(a->sc, r->on[i]);
    if (c && coll_field(c, f) < 0) return ydoc_errf(d, n, e, KAM_EDATA, "field %s: %s has no such field", f, c->name);
  }
  return 0;
}

static int load_rule(ydoc *d, yaml_node_t *n, kam_access *a, yaml_node_t *groups, rule *r, kam_err *e) {
  static const char *const keys[] = {"grant", "forbid", "to", "on", "scope", "fields", "except", "when", "why", NULL};
  int rc = check_keys(d, n, keys, "rule", e);
  if (rc) return rc;
  r->line = (int)n->start_mark.line + 1;
  yaml_node_t *g = ydoc_map_get(d, n, "grant"), *f = ydoc_map_get(d, n, "forbid");
  if (!!g == !!f) return ydoc_errf(d, n, e, KAM_EDATA, "rule: give either grant: or forbid: with the actions");
  r->forbid = !!f;
  char **acts = NULL;
  int nacts = 0;
  if ((rc = scalars(d, g ? g : f, r->forbid ? "forbid" : "grant", &acts, &nacts, e))) goto out;
  for (int i = 0; i < nacts; i++) {
    if (!strcmp(acts[i], "*")) { r->acts = (1u << ACT_N) - 1; continue; }
    int k = access_action(acts[i]);
    if (k < 0) {
      rc = ydoc_errf(d, g ? g : f, e, KAM_EDATA, "unknown action '%s' (read, insert, update, delete, import, export, commit, approve, admin)", acts[i]);
      goto out;
    }
    r->acts |= 1u << k;
  }
  yaml_node_t *to = ydoc_map_get(d, n, "to"), *on = ydoc_map_get(d, n, "on");
  if (!to) { rc = ydoc_errf(d, n, e, KAM_EDATA, "rule: to: names the roles (or groups) it is for"); goto out; }
  char **who = NULL;
  int nwho = 0;
  if ((rc = scalars(d, to, "to", &who, &nwho, e))) goto out;
  for (int i = 0; i < nwho && !rc; i++) {
    yaml_node_t *grp = groups ? ydoc_map_get(d, groups, who[i]) : NULL;
    if (grp) {
      char **mem = NULL;
      int nm = 0;
      rc = scalars(d, grp, "groups", &mem, &nm, e);
      for (int j = 0; j < nm; j++) strv_add(&r->roles, &r->nroles, mem[j]);
      strv_free(mem, nm);
    } else if (!known_role(a, who[i])) {
      rc = ydoc_errf(d, to, e, KAM_EDATA, "unknown role or group '%s' (roles are staff.role's values)", who[i]);
    } else {
      strv_add(&r->roles, &r->nroles, who[i]);
    }
  }
  strv_free(who, nwho);
  if (rc) goto out;
  if (!on) {
    if (r->acts & ~(1u << ACT_ADMIN) & ((1u << ACT_N) - 1)) { rc = ydoc_errf(d, n, e, KAM_EDATA, "rule: on: names what it is on (collections, * for all)"); goto out; }
    strv_add(&r->on, &r->non, "*");
  } else if ((rc = scalars(d, on, "on", &r->on, &r->non, e))) {
    goto out;
  }
  /* what `on` names depends on the actions: one kind of thing per rule */
  /* "*" on named collections: everything one does to a collection */
  if (has(acts, nacts, "*") && !has(r->on, r->non, "*")) r->acts = COLL_ACTS;
  int coll_acts = !!(r->acts & COLL_ACTS), other = !!(r->acts & ~COLL_ACTS);
  if (coll_acts && other && !has(r->on, r->non, "*")) {
    rc = ydoc_errf(d, n, e, KAM_EDATA, "rule: commit, approve and admin are on other things than collections: give them a rule of their own");
    goto out;
  }
  const field_def *kinds = NULL;
  if (r->acts == (1u << ACT_APPROVE)) {
    const coll_def *rq = coll_named(a->sc, "requests");
    int fk = rq ? coll_field(rq, "kind") : -1;
    if (fk >= 0 && rq->fields[fk].type == FT_ENUM) kinds = &rq->fields[fk];
  }
  for (int i = 0; i < r->non; i++) {
    const char *x = r->on[i];
    if (!strcmp(x, "*")) continue;
    int ok = 1;
    if (coll_acts) ok = coll_named(a->sc, x) != NULL;
    else if (r->acts == (1u << ACT_ADMIN)) { ok = 0; for (int j = 0; admin_things[j]; j++) ok |= !strcmp(x, admin_things[j]); }
    else if (kinds) { ok = 0; for (int j = 0; j < kinds->nvalues; j++) ok |= !strcmp(x, kinds->values[j]); }
    if (!ok) {
      rc = ydoc_errf(d, on, e, KAM_EDATA, "on: %s '%s'", coll_acts ? "no such collection" : r->acts == (1u << ACT_ADMIN)
                       ? "admin is on init, schema, users or config, not" : "no such request kind", x);
      goto out;
    }
  }
  r->scope = SCOPE_ALL;
  yaml_node_t *sn = ydoc_map_get(d, n, "scope");
  if (sn) {
    const char *s = ydoc_scalar(sn);
    r->scope = !s ? -1 : !strcmp(s, "all") ? SCOPE_ALL : !strcmp(s, "team") ? SCOPE_TEAM : !strcmp(s, "own") ? SCOPE_OWN : -1;
    if (r->scope < 0) { rc = ydoc_errf(d, sn, e, KAM_EDATA, "scope: expected all, team or own"); goto out; }
    if (!coll_acts) { rc = ydoc_errf(d, sn, e, KAM_EDATA, "scope: only rules on collections have a row scope"); goto out; }
  }
  yaml_node_t *fl = ydoc_map_get(d, n, "fields"), *ex = ydoc_map_get(d, n, "except");
  if (fl && ex) { rc = ydoc_errf(d, ex, e, KAM_EDATA, "rule: fields: or except:, not both"); goto out; }
  if (fl || ex) {
    r->except = !!ex;
    if ((rc = scalars(d, fl ? fl : ex, fl ? "fields" : "except", &r->fields, &r->nfields, e))) goto out;
    for (int i = 0; i < r->nfields; i++)
      if ((rc = check_field(d, fl ? fl : ex, a, r, r->fields[i], e))) goto out;
  }
  yaml_node_t *wn = ydoc_map_get(d, n, "when");
  if (wn) {
    if (wn->type != YAML_MAPPING_NODE) { rc = ydoc_errf(d, wn, e, KAM_EDATA, "when: expected field: [values]"); goto out; }
    for (yaml_node_pair_t *p = wn->data.mapping.pairs.start; p < wn->data.mapping.pairs.top; p++) {
      yaml_node_t *k = ydoc_get(d, p->key);
      r->when = realloc(r->when, (size_t)(r->nwhen + 1) * sizeof *r->when);
      when_t *w = &r->when[r->nwhen++];
      memset(w, 0, sizeof *w);
      w->field = dup(ydoc_scalar(k));
      if (!w->field) { rc = ydoc_errf(d, k, e, KAM_EDATA, "when: expected field names"); goto out; }
      if ((rc = check_field(d, k, a, r, w->field, e)) || (rc = scalars(d, ydoc_get(d, p->value), "when", &w->vals, &w->nvals, e))) goto out;
    }
  }
  yaml_node_t *wy = ydoc_map_get(d, n, "why");
  r->why = dup(wy ? ydoc_scalar(wy) : NULL);
  if (r->forbid && (!r->why || !*r->why)) { rc = ydoc_errf(d, n, e, KAM_EDATA, "forbid: why: says why (it is what a refusal tells the user)"); goto out; }
out:
  strv_free(acts, nacts);
  return rc;
}

static void rule_free(rule *r) {
  strv_free(r->roles, r->nroles);
  strv_free(r->on, r->non);
  strv_free(r->fields, r->nfields);
  for (int i = 0; i < r->nwhen; i++) { free(r->when[i].field); strv_free(r->when[i].vals, r->when[i].nvals); }
  free(r->when);
  free(r->why);
}

void access_free(kam_access *a) {
  if (!a) return;
  for (int i = 0; i < a->n; i++) rule_free(&a->r[i]);
  free(a->r);
  strv_free(a->roles, a->nroles);
  free(a);
}

int access_load(kam_access **out, const char *path, const char *shown, const schema *sc, kam_err *e) {
  kam_access *a = calloc(1, sizeof *a);
  if (!a) return kam_errf(e, KAM_EINTERNAL, "out of memory");
  a->sc = sc;
  snprintf(a->path, sizeof a->path, "%s", shown ? shown : path);
  const field_def *rf = role_field(sc);
  for (int i = 0; rf && i < rf->nvalues; i++) strv_add(&a->roles, &a->nroles, rf->values[i]);
  struct stat sb;
  if (stat(path, &sb)) {
    a->missing = 1;
    *out = a;
    return 0;
  }
  ydoc d;
  int rc = ydoc_load_file(&d, path, e);
  if (rc) { access_free(a); return rc; }
  snprintf(d.path, sizeof d.path, "%s", a->path); /* errors name the file as the user knows it */
  yaml_node_t *root = ydoc_root(&d);
  static const char *const top[] = {"groups", "rules", NULL};
  if (!root) goto done;
  if ((rc = check_keys(&d, root, top, "access", e))) goto fail;
  yaml_node_t *groups = ydoc_map_get(&d, root, "groups"), *rules = ydoc_map_get(&d, root, "rules");
  if (groups) {
    if (groups->type != YAML_MAPPING_NODE) { rc = ydoc_errf(&d, groups, e, KAM_EDATA, "groups: expected name: [roles]"); goto fail; }
    for (yaml_node_pair_t *p = groups->data.mapping.pairs.start; p < groups->data.mapping.pairs.top; p++) {
      char **mem = NULL;
      int nm = 0;
      yaml_node_t *v = ydoc_get(&d, p->value);
      rc = scalars(&d, v, "groups", &mem, &nm, e);
      for (int j = 0; j < nm && !rc; j++)
        if (!known_role(a, mem[j])) rc = ydoc_errf(&d, v, e, KAM_EDATA, "groups: unknown role '%s' (roles are staff.role's values)", mem[j]);
      strv_free(mem, nm);
      if (rc) goto fail;
    }
  }
  if (rules) {
    if (rules->type != YAML_SEQUENCE_NODE) { rc = ydoc_errf(&d, rules, e, KAM_EDATA, "rules: expected a list"); goto fail; }
    int cnt = (int)(rules->data.sequence.items.top - rules->data.sequence.items.start);
    a->r = calloc((size_t)cnt + 1, sizeof *a->r);
    for (int i = 0; i < cnt; i++) {
      rule *r = &a->r[a->n++];
      if ((rc = load_rule(&d, ydoc_get(&d, rules->data.sequence.items.start[i]), a, groups, r, e))) goto fail;
    }
  }
done:
  ydoc_free(&d);
  *out = a;
  return 0;
fail:
  ydoc_free(&d);
  access_free(a);
  return rc;
}

/* ---- where a row belongs ------------------------------------------------------ */

/* The owner (staff id) and team (teams id) a row belongs to, for the own
 * and team scopes: a client's own; else, through the row's refs, its
 * client's (invoice -> client, spend -> project -> client); else its staff
 * member's (a request's requester); else its team. */
typedef struct place { char owner[64], team[64]; int known; } place;

static void text_to(char *dst, size_t n, const kval *v) {
  if (v && v->tag == KV_STR) snprintf(dst, n, "%.*s", (int)v->u.s.len, v->u.s.p);
  else dst[0] = 0;
}

static int field_text(const coll_def *c, const kval *vals, const char *f, char *dst, size_t n) {
  int i = coll_field(c, f);
  text_to(dst, n, i >= 0 ? &vals[i] : NULL);
  return dst[0] != 0;
}

static int place_row(kam_store *st, MDB_txn *txn, const coll_def *c, const kval *vals, int depth, place *p);

/* Places the row a ref points to. 1 placed, 0 not. */
static int place_ref(kam_store *st, MDB_txn *txn, const coll_def *to, const kval *ref, int depth, place *p) {
  if (ref->tag != KV_STR || depth > 3) return 0;
  MDB_val rec;
  if (store_get(txn, to, ref->u.s.p, ref->u.s.len, &rec)) return 0;
  kval *v = calloc((size_t)to->nfields, sizeof *v);
  if (!v) return 0;
  store_decode(to, rec.mv_data, rec.mv_size, v);
  v[F_ID] = *ref;
  int ok = place_row(st, txn, to, v, depth + 1, p);
  free(v);
  return ok;
}

static int place_row(kam_store *st, MDB_txn *txn, const coll_def *c, const kval *vals, int depth, place *p) {
  if (!strcmp(c->name, "clients")) {
    field_text(c, vals, "owner", p->owner, sizeof p->owner);
    field_text(c, vals, "team", p->team, sizeof p->team);
    return p->known = 1;
  }
  if (!strcmp(c->name, "staff")) {
    text_to(p->owner, sizeof p->owner, &vals[F_ID]);
    field_text(c, vals, "team", p->team, sizeof p->team);
    return p->known = 1;
  }
  if (!strcmp(c->name, "teams")) {
    p->owner[0] = 0;
    text_to(p->team, sizeof p->team, &vals[F_ID]);
    return p->known = 1;
  }
  /* refs in this order: to clients, to other rows, to staff, to teams */
  for (int pass = 0; pass < 4; pass++)
    for (int i = 3; i < c->nfields; i++) {
      const field_def *f = &c->fields[i];
      if (f->type != FT_REF || vals[i].tag != KV_STR || !f->ref_name) continue;
      int is_client = !strcmp(f->ref_name, "clients"), is_staff = !strcmp(f->ref_name, "staff"),
          is_team = !strcmp(f->ref_name, "teams");
      int want = pass == 0 ? is_client : pass == 1 ? !is_client && !is_staff && !is_team : pass == 2 ? is_staff : is_team;
      if (!want) continue;
      const coll_def *to = coll_named(st->sc, f->ref_name);
      if (to && place_ref(st, txn, to, &vals[i], depth, p)) return 1;
    }
  return 0;
}

static int in_scope(const kam_principal *who, int scope, const place *p) {
  if (scope == SCOPE_ALL) return 1;
  if (!p->known) return 0;
  if (scope == SCOPE_OWN) return who->staff[0] && !strcmp(p->owner, who->staff);
  return who->team[0] && !strcmp(p->team, who->team);
}

/* ---- deciding ------------------------------------------------------------------ */

static int rule_for(const rule *r, const kam_principal *p, int act, const char *on) {
  if (!(r->acts & (1u << act))) return 0;
  if (!has(r->roles, r->nroles, "*") && !has(r->roles, r->nroles, p->role)) return 0;
  return has(r->on, r->non, "*") || has(r->on, r->non, on);
}

static int is_admin(const kam_principal *p) { return p->bootstrap || !strcmp(p->role, "admin"); }

static int deny(kam_err *e, const kam_access *a, const kam_principal *p, int act, const char *on, const char *id,
                const char *fmt, ...) {
  char who[256], why[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  (void)a;
  return kam_errf(e, KAM_EPERM, "permission denied: %s may not %s %s%s%s: %s", identity_label(p, who, sizeof who),
                  access_action_names[act], on, id ? " " : "", id ? id : "", why);
}

static int nothing_grants(kam_err *e, const kam_access *a, const kam_principal *p, int act, const char *on, const char *id) {
  if (p->guest)
    return deny(e, a, p, act, on, id, "an unknown login only reads (unknown_logins: read)");
  if (a->missing)
    return deny(e, a, p, act, on, id, "no access rules (%s does not exist; only an admin may act)", a->path);
  return deny(e, a, p, act, on, id, "no rule grants %s %s on %s (%s)", p->role, access_action_names[act], on, a->path);
}

/* The fields a write changes, as positions: an insert's given fields, an
 * update's differing ones; never id, created_at, updated_at. */
static int changed(const coll_def *c, const kval *newv, const kval *oldv, int *out) {
  int n = 0;
  if (!newv) return 0;
  for (int i = 3; i < c->nfields; i++) {
    int has_new = newv[i].tag != KV_NULL, has_old = oldv && oldv[i].tag != KV_NULL;
    if (!oldv ? has_new : (has_new != has_old || (has_new && !kval_same(&newv[i], &oldv[i]))))
      out[n++] = i;
  }
  return n;
}

static int when_holds(const rule *r, const coll_def *c, const kval *v, char *bad, size_t n) {
  for (int i = 0; i < r->nwhen; i++) {
    int f = coll_field(c, r->when[i].field);
    char t[128];
    text_to(t, sizeof t, f >= 0 ? &v[f] : NULL);
    if (!has(r->when[i].vals, r->when[i].nvals, t)) {
      kbuf b = {0};
      for (int j = 0; j < r->when[i].nvals; j++) kbuf_printf(&b, "%s%s", j ? " or " : "", r->when[i].vals[j]);
      snprintf(bad, n, "only where %s is %s (it is %s)", r->when[i].field, b.p, t[0] ? t : "empty");
      kbuf_free(&b);
      return 0;
    }
  }
  return 1;
}

/* A changed field a grant's limits leave out: its position, else -1. */
static int field_outside(const rule *r, const coll_def *c, const int *chg, int nchg) {
  if (!r->nfields) return -1;
  for (int i = 0; i < nchg; i++) {
    int listed = has(r->fields, r->nfields, c->fields[chg[i]].name);
    if (r->except ? listed : !listed) return chg[i];
  }
  return -1;
}

typedef struct wctx {
  kam_store *st; MDB_txn *txn; const coll_def *c;
  const kval *newv, *oldv;
  place pn, po; int placed_n, placed_o;
  int chg[512]; int nchg;
} wctx;

static const place *placed(wctx *w, int old) {
  if (old) {
    if (!w->placed_o) { w->placed_o = 1; place_row(w->st, w->txn, w->c, w->oldv, 0, &w->po); }
    return &w->po;
  }
  if (!w->placed_n) { w->placed_n = 1; place_row(w->st, w->txn, w->c, w->newv, 0, &w->pn); }
  return &w->pn;
}

/* Why a grant does not cover the write, into why; 1 when it does. */
static int grant_covers(const rule *r, const kam_access *a, const kam_principal *p, wctx *w, char *why, size_t n) {
  for (int old = 0; old < 2; old++) {
    const kval *v = old ? w->oldv : w->newv;
    if (!v) continue;
    if (r->scope != SCOPE_ALL && !in_scope(p, r->scope, placed(w, old))) {
      const place *pl = placed(w, old);
      char id[128];
      text_to(id, sizeof id, &v[F_ID]);
      const char *as = w->oldv && w->newv && old == 0 ? " as written" : "";
      if (r->scope == SCOPE_OWN)
        snprintf(why, n, "granted only for their own accounts; %s%s is %s's (%s:%d)", id, as,
                 pl->known && pl->owner[0] ? pl->owner : "no one", a->path, r->line);
      else
        snprintf(why, n, "granted only within their team; %s%s is %s's (%s:%d)", id, as,
                 pl->known && pl->team[0] ? pl->team : "no team", a->path, r->line);
      return 0;
    }
    char bad[300];
    if (!when_holds(r, w->c, v, bad, sizeof bad)) {
      snprintf(why, n, "granted %.300s (%.300s:%d)", bad, a->path, r->line);
      return 0;
    }
  }
  int f = field_outside(r, w->c, w->chg, w->nchg);
  if (f >= 0) {
    snprintf(why, n, "field %s is not theirs to write (%s:%d)", w->c->fields[f].name, a->path, r->line);
    return 0;
  }
  return 1;
}

static int forbid_applies(const rule *r, const kam_principal *p, wctx *w) {
  int any = 0;
  for (int old = 0; old < 2; old++) {
    const kval *v = old ? w->oldv : w->newv;
    char bad[300];
    if (v && (r->scope == SCOPE_ALL || in_scope(p, r->scope, placed(w, old))) && when_holds(r, w->c, v, bad, sizeof bad)) any = 1;
  }
  if (!any) return 0;
  if (!r->nfields) return 1;
  for (int i = 0; i < w->nchg; i++) {
    int listed = has(r->fields, r->nfields, w->c->fields[w->chg[i]].name);
    if (r->except ? !listed : listed) return 1;
  }
  return 0;
}

int access_write(const kam_access *a, const kam_principal *p, kam_store *st, MDB_txn *txn, const coll_def *c,
                 int op, const kval *newv, const kval *oldv, kam_err *e) {
  if (p->bootstrap) return 0;
  int act = op == OP_INSERT ? ACT_INSERT : op == OP_UPDATE ? ACT_UPDATE : ACT_DELETE;
  char id[128];
  text_to(id, sizeof id, newv ? &newv[F_ID] : &oldv[F_ID]);
  if (p->guest) return nothing_grants(e, a, p, act, c->name, id);
  wctx w;
  memset(&w, 0, sizeof w);
  w.st = st, w.txn = txn, w.c = c, w.newv = newv, w.oldv = oldv;
  w.nchg = c->nfields - 3 <= 512 ? changed(c, newv, oldv, w.chg) : 0;
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (r->forbid && rule_for(r, p, act, c->name) && forbid_applies(r, p, &w))
      return deny(e, a, p, act, c->name, id, "%s (%s:%d)", r->why, a->path, r->line);
  }
  char why[700] = "";
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (r->forbid || !rule_for(r, p, act, c->name)) continue;
    char w1[700];
    if (grant_covers(r, a, p, &w, w1, sizeof w1)) return 0;
    if (!why[0]) snprintf(why, sizeof why, "%s", w1);
  }
  if (a->missing && is_admin(p)) return 0;
  if (why[0]) return deny(e, a, p, act, c->name, id, "%s", why);
  return nothing_grants(e, a, p, act, c->name, id);
}

/* A forbid with no condition on rows or fields: it refuses the action whole. */
static int forbid_whole(const rule *r) { return r->forbid && r->scope == SCOPE_ALL && !r->nwhen && !r->nfields; }

int access_may(const kam_access *a, const kam_principal *p, int action, const char *on, kam_err *e) {
  if (p->bootstrap) return 0;
  if (p->guest && action == ACT_READ) return 0;
  if (p->guest) return nothing_grants(e, a, p, action, on, NULL);
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (forbid_whole(r) && rule_for(r, p, action, on))
      return deny(e, a, p, action, on, NULL, "%s (%s:%d)", r->why, a->path, r->line);
  }
  for (int i = 0; i < a->n; i++)
    if (!a->r[i].forbid && rule_for(&a->r[i], p, action, on)) return 0;
  if (a->missing && is_admin(p)) return 0;
  return nothing_grants(e, a, p, action, on, NULL);
}

int access_whole(const kam_access *a, const kam_principal *p, int action, const coll_def *c) {
  if (p->bootstrap || (a->missing && is_admin(p))) return 1;
  if (p->guest) return 0;
  int whole = 0;
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (!rule_for(r, p, action, c->name)) continue;
    if (r->forbid) return 0;
    if (r->scope == SCOPE_ALL && !r->nfields && !r->nwhen) whole = 1;
  }
  return whole;
}

int access_read_scope(const kam_access *a, const kam_principal *p, const coll_def *c) {
  if (p->bootstrap || p->guest || (a->missing && is_admin(p))) return SCOPE_ALL;
  for (int i = 0; i < a->n; i++)
    if (forbid_whole(&a->r[i]) && rule_for(&a->r[i], p, ACT_READ, c->name)) return SCOPE_NONE;
  int best = SCOPE_NONE;
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (!r->forbid && rule_for(r, p, ACT_READ, c->name) && r->scope > best) best = r->scope;
  }
  return best;
}

int access_row_readable(const kam_access *a, const kam_principal *p, kam_store *st, MDB_txn *txn,
                        const coll_def *c, const kval *vals) {
  int s = access_read_scope(a, p, c);
  if (s == SCOPE_ALL || s == SCOPE_NONE) return s == SCOPE_ALL;
  place pl;
  memset(&pl, 0, sizeof pl);
  place_row(st, txn, c, vals, 0, &pl);
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (!r->forbid && rule_for(r, p, ACT_READ, c->name) && in_scope(p, r->scope, &pl)) return 1;
  }
  return 0;
}

/* ---- explaining ------------------------------------------------------------------ */

static void rule_text(kbuf *b, const kam_access *a, const rule *r) {
  kbuf_printf(b, "%s:%d  %s ", a->path, r->line, r->forbid ? "forbid" : "grant");
  int k = 0;
  for (int i = 0; i < ACT_N; i++)
    if (r->acts & (1u << i)) kbuf_printf(b, "%s%s", k++ ? "," : "", access_action_names[i]);
  kbuf_printf(b, " on ");
  for (int i = 0; i < r->non; i++) kbuf_printf(b, "%s%s", i ? "," : "", r->on[i]);
  if (r->scope != SCOPE_ALL) kbuf_printf(b, ", scope %s", scope_names[r->scope]);
  if (r->nfields) {
    kbuf_printf(b, ", %s ", r->except ? "except" : "fields");
    for (int i = 0; i < r->nfields; i++) kbuf_printf(b, "%s%s", i ? "," : "", r->fields[i]);
  }
  for (int i = 0; i < r->nwhen; i++) {
    kbuf_printf(b, ", when %s is ", r->when[i].field);
    for (int j = 0; j < r->when[i].nvals; j++) kbuf_printf(b, "%s%s", j ? "/" : "", r->when[i].vals[j]);
  }
  if (r->why) kbuf_printf(b, " (%s)", r->why);
}

int access_explain(const kam_access *a, const kam_principal *p, kam_store *st, MDB_txn *txn, int action,
                   const char *on, const char *id, kbuf *out, kam_err *e) {
  char who[256];
  identity_label(p, who, sizeof who);
  const coll_def *c = coll_named(a->sc, on);
  int allowed, rc = 0;
  kam_err why = {0};
  kval *vals = NULL;
  if (id && !c) return kam_errf(e, KAM_EUSAGE, "access explain: %s is not a collection, so it has no rows", on);
  if (id && (action == ACT_UPDATE || action == ACT_DELETE || action == ACT_READ || action == ACT_INSERT)) {
    MDB_val rec;
    rc = store_get(txn, c, id, strlen(id), &rec);
    if (rc == MDB_NOTFOUND) return kam_errf(e, KAM_EUSAGE, "access explain: %s has no %s", on, id);
    if (rc) return lmdb_err(e, rc, on);
    vals = calloc((size_t)c->nfields, sizeof *vals);
    store_decode(c, rec.mv_data, rec.mv_size, vals);
    vals[F_ID] = kv_str(id, strlen(id));
    if (action == ACT_READ) allowed = access_row_readable(a, p, st, txn, c, vals);
    else if (action == ACT_INSERT) allowed = !access_write(a, p, st, txn, c, OP_INSERT, vals, NULL, &why);
    else allowed = !access_write(a, p, st, txn, c, action == ACT_UPDATE ? OP_UPDATE : OP_DELETE,
                                 action == ACT_UPDATE ? vals : NULL, vals, &why);
    if (allowed && action == ACT_READ && access_read_scope(a, p, c) == SCOPE_NONE) allowed = 0;
  } else {
    allowed = !access_may(a, p, action, on, &why);
  }
  kbuf_printf(out, "%s may%s %s %s%s%s: %s\n", who, allowed ? "" : " not", access_action_names[action], on,
              id ? " " : "", id ? id : "", allowed ? "allowed" : "denied");
  if (!allowed && why.msg[0]) {
    const char *m = strstr(why.msg, ": ");
    m = m ? strstr(m + 2, ": ") : NULL;
    kbuf_printf(out, "  because %s\n", m ? m + 2 : why.msg);
  }
  if (vals) {
    place pl;
  memset(&pl, 0, sizeof pl);
    place_row(st, txn, c, vals, 0, &pl);
    kbuf_printf(out, "  %s %s belongs to owner %s, team %s\n", on, id, pl.known && pl.owner[0] ? pl.owner : "-",
                pl.known && pl.team[0] ? pl.team : "-");
  }
  if (p->superuser) kbuf_printf(out, "  root without a staff record: the OS lets it rewrite the book, kam does not refuse it\n");
  else if (p->bootstrap) kbuf_printf(out, "  the book has no staff yet: its first user may do anything\n");
  else if (p->guest) kbuf_printf(out, "  an unknown login reads and writes nothing (unknown_logins: read)\n");
  else if (a->missing) kbuf_printf(out, "  %s does not exist: only an admin may act\n", a->path);
  int shown = 0;
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (!rule_for(r, p, action, on)) continue;
    if (!shown++) kbuf_printf(out, "  rules for %s %s on %s:\n", p->role, access_action_names[action], on);
    kbuf_printf(out, "    ");
    rule_text(out, a, r);
    kbuf_printf(out, "\n");
  }
  if (!shown && !p->bootstrap && !p->guest) kbuf_printf(out, "  no rule names %s %s on %s (default: denied)\n", p->role, access_action_names[action], on);
  free(vals);
  return allowed;
}

const char *access_cell(const kam_access *a, const char *role, int action, const char *on, char *buf, size_t n) {
  int best = SCOPE_NONE, limited = 0;
  for (int i = 0; i < a->n; i++) {
    const rule *r = &a->r[i];
    if (!(r->acts & (1u << action)) || !(has(r->roles, r->nroles, "*") || has(r->roles, r->nroles, role)) ||
        !(has(r->on, r->non, "*") || has(r->on, r->non, on)))
      continue;
    if (forbid_whole(r)) { snprintf(buf, n, "forbid"); return buf; }
    if (r->forbid) { limited = 1; continue; }
    if (r->scope > best) best = r->scope;
    if (r->nfields || r->nwhen) limited = 1;
  }
  if (a->missing && !strcmp(role, "admin")) best = SCOPE_ALL;
  snprintf(buf, n, "%s%s", best == SCOPE_NONE ? "-" : scope_names[best], best != SCOPE_NONE && limited ? "*" : "");
  return buf;
}

int access_roles(const kam_access *a, const char ***roles) {
  *roles = (const char **)a->roles;
  return a->nroles;
}

int access_lint(const kam_access *a, kbuf *out) {
  int n = 0;
  for (int i = 0; i < a->n; i++) {
    const rule *g = &a->r[i];
    if (g->forbid) continue;
    /* shadowed: every role, action and thing of the grant is forbidden whole */
    int all = 1;
    for (int ri = 0; ri < g->nroles && all; ri++)
      for (int act = 0; act < ACT_N && all; act++) {
        if (!(g->acts & (1u << act))) continue;
        for (int oi = 0; oi < g->non && all; oi++) {
          int hit = 0;
          for (int j = 0; j < a->n && !hit; j++) {
            const rule *f = &a->r[j];
            hit = forbid_whole(f) && (f->acts & (1u << act)) &&
                  (has(f->roles, f->nroles, "*") || has(f->roles, f->nroles, g->roles[ri])) &&
                  (has(f->on, f->non, "*") || has(f->on, f->non, g->on[oi]));
          }
          all = hit;
        }
      }
    if (all) {
      kbuf_printf(out, "%s:%d: this grant never applies: a forbid covers all of it\n", a->path, g->line);
      n++;
    }
  }
  return n;
}
