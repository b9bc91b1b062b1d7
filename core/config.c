/* config.c — kam.yaml into typed settings; unknown keys are refused with
 * their line so a typo never silently changes behaviour. */
#include "config.h"
#include "report.h"
#include "cron.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/* Only what kam reads: a key for a feature that does not exist yet (roles,
 * schedules, alerts, report, lang ...) would look set and do nothing. */
static const char *const top_keys[] = {"db", "schema", "auth", "timezone", "map_size_mb", "users",
                                       "agency", "limits", "unknown_logins", "access", "schedules", NULL};
static const char *const sched_keys[] = {"cron", "run", "owner", "timezone", "catch_up", "deadline", NULL};
static const char *const agency_keys[] = {"name", NULL}; /* scripts/summary.lua's title */
static const char *const limit_keys[] = {"script_seconds", "memory_mb", "policy_seconds", "policy_memory_mb", NULL};

static int known(const char *const *list, const char *k) {
  for (int i = 0; list[i]; i++) if (!strcmp(list[i], k)) return 1;
  return 0;
}

static int expect_keys(ydoc *d, yaml_node_t *n, const char *const *keys, const char *what, kam_err *e) {
  if (!n || n->type != YAML_MAPPING_NODE) return ydoc_errf(d, n, e, KAM_EDATA, "%s: expected a mapping", what);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key);
    const char *ks = ydoc_scalar(k);
    if (!ks || !known(keys, ks)) {
      char list[400] = "";
      for (int i = 0; keys[i]; i++) { strcat(list, i ? ", " : ""); strcat(list, keys[i]); }
      return ydoc_errf(d, k, e, KAM_EDATA, "%s: unknown key '%s' (expected %s)", what, ks ? ks : "?", list);
    }
  }
  return 0;
}

static int is_file(const char *p) {
  struct stat sb;
  return !stat(p, &sb) && S_ISREG(sb.st_mode);
}

/* ../ as many times as it takes from the current folder to the nearest one
 * holding config/kam.yaml, as git finds .git: the path stays relative, so
 * messages name files as the user sees them from here */
static int find_up(char *path, size_t n) {
  char up[1024] = "";
  for (int depth = 0; depth < 64; depth++) {
    snprintf(path, n, "%sconfig/kam.yaml", up);
    if (is_file(path)) return 1;
    struct stat here, parent;
    char dot[1030];
    snprintf(dot, sizeof dot, "%s.", up);
    if (stat(dot, &here)) return 0;
    snprintf(dot, sizeof dot, "%s..", up);
    if (stat(dot, &parent) || (parent.st_dev == here.st_dev && parent.st_ino == here.st_ino)) return 0; /* at / */
    if (strlen(up) + 4 > sizeof up) return 0;
    strcat(up, "../");
  }
  return 0;
}

/* PREFIX/share/kam/config/kam.yaml when this program is PREFIX/bin/kam: found
 * from the program's own place, so a copy installed under any PREFIX (or
 * DESTDIR) finds its own files, and a build folder finds none */
static int find_installed(char *path, size_t n) {
  char exe[1024];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) return 0;
  exe[len] = 0;
  char *slash = strrchr(exe, '/');
  if (!slash) return 0;
  *slash = 0; /* the program's folder */
  slash = strrchr(exe, '/');
  if (!slash || strcmp(slash + 1, "bin")) return 0;
  *slash = 0; /* PREFIX */
  int w = snprintf(path, n, "%s/share/kam/config/kam.yaml", exe);
  return w > 0 && (size_t)w < n && is_file(path);
}

int config_find(char *path, size_t n, const char *given, kam_err *e) {
  const char *env = getenv("KAM_CONFIG");
  if (given || (env && *env)) {
    snprintf(path, n, "%s", given ? given : env);
    if (is_file(path)) return 0;
    return kam_errf(e, KAM_EUSAGE, "%s%s: no such file", given ? "--config " : "KAM_CONFIG=", path);
  }
  if (find_up(path, n) || find_installed(path, n)) return 0;
  return kam_errf(e, KAM_EUSAGE, "config/kam.yaml: not found in this folder or above it, and kam is not installed "
                                 "with one (give --config FILE or set KAM_CONFIG)");
}

/* seconds as plain decimal digits (2, 0.25): no sign, exponent, hex, inf
 * or nan, which strtod would take */
static int parse_seconds(const char *s, double *out) {
  const char *p = s;
  int digits = 0, dot = 0;
  for (; *p; p++) {
    if (*p >= '0' && *p <= '9') digits++;
    else if (*p == '.' && !dot && digits) dot = 1;
    else return -1;
  }
  if (!digits || p[-1] == '.') return -1;
  *out = strtod(s, NULL);
  return *out > 1000000 ? -1 : 0;
}

/* A path written in kam.yaml as kam opens it: `~/` is the user's home, and
 * a relative path is taken from the project folder, wherever kam runs. */
static char *project_path(const kam_config *c, const char *p) {
  const char *base = c->root;
  if (p[0] == '~' && p[1] == '/') {
    base = getenv("HOME");
    if (!base || !*base) {
      struct passwd *pw = getpwuid(getuid());
      base = pw && pw->pw_dir ? pw->pw_dir : "/";
    }
    p += 2;
  } else if (p[0] == '/' || !strcmp(base, ".")) return strdup(p);
  size_t n = strlen(base) + strlen(p) + 2;
  char *r = malloc(n);
  if (r) snprintf(r, n, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", p);
  return r;
}

/* The zone's UTC offset now, in seconds (kam's dates use one offset per run). */
static int zone_offset_now(const char *tz) {
  char t[64];
  cron_local(tz, (int64_t)time(NULL), t, sizeof t);
  size_t n = strlen(t);
  int hh = 0, mm = 0;
  if (n < 6 || sscanf(t + n - 6, "%*c%2d:%2d", &hh, &mm) != 2) return 7 * 3600;
  return (t[n - 6] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
}

/* "90s", "30m", "2h", "1d" or plain seconds: 0 and *out, else -1. */
static int parse_duration(const char *s, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || v < 0 || v > 366L * 86400) return -1;
  long mul = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : -1;
  if (mul < 0) return -1;
  *out = v * mul;
  return 0;
}

static int load_schedule(ydoc *d, const char *name, yaml_node_t *n, kam_schedule *s, kam_err *e) {
  int rc = expect_keys(d, n, sched_keys, "schedules", e);
  if (rc) return rc;
  s->name = strdup(name);
  s->line = (int)n->start_mark.line + 1;
  yaml_node_t *x = ydoc_map_get(d, n, "cron");
  if (!x || !ydoc_scalar(x)) return ydoc_errf(d, n, e, KAM_EDATA, "schedules.%s: cron: expected an expression like \"30 1 * * *\"", name);
  kam_cron cr;
  kam_err ce;
  if (cron_parse(&cr, ydoc_scalar(x), &ce)) return ydoc_errf(d, x, e, KAM_EDATA, "schedules.%s: cron: %s", name, ce.msg);
  s->cron = strdup(ydoc_scalar(x));
  x = ydoc_map_get(d, n, "run");
  if (!x) return ydoc_errf(d, n, e, KAM_EDATA, "schedules.%s: run: expected a script or `policy NAME --commit`, or a list of them", name);
  int cnt = x->type == YAML_SEQUENCE_NODE ? (int)(x->data.sequence.items.top - x->data.sequence.items.start) : 1;
  s->steps = calloc((size_t)cnt + 1, sizeof *s->steps);
  for (int i = 0; i < cnt; i++) {
    yaml_node_t *st = x->type == YAML_SEQUENCE_NODE ? ydoc_get(d, x->data.sequence.items.start[i]) : x;
    const char *t = ydoc_scalar(st);
    if (!t || !*t) return ydoc_errf(d, st, e, KAM_EDATA, "schedules.%s: run: expected a script or `policy NAME --commit`", name);
    char pol[128];
    if (!strncmp(t, "policy ", 7)) {
      int k = 0, k2 = 0;
      char since[64];
      int commit = sscanf(t, "policy %127s --commit%n", pol, &k) == 1 && !t[k] && strcmp(pol, "changes");
      int changes = sscanf(t, "policy changes %127s%n", pol, &k) == 1 &&
                    (!t[k] || (sscanf(t + k, " --since %63s%n", since, &k2) == 1 && !t[k + k2]));
      if (!commit && !changes)
        return ydoc_errf(d, st, e, KAM_EDATA, "schedules.%s: run: \"%s\": a policy step is `policy NAME --commit` "
                         "or `policy changes NAME [--since 7d]`", name, t);
    } else if (!strncmp(t, "report ", 7)) {
      report_args ra;
      kam_err re;
      if (report_step_parse(t, &ra, &re))
        return ydoc_errf(d, st, e, KAM_EDATA, "schedules.%s: run: \"%s\": %s", name, t, re.msg);
    } else if (strncmp(t, "scripts/", 8) || !strstr(t, ".lua")) {
      /* whether the file is there is kam check's and the run's to say:
       * every command reads kam.yaml, and most never run a job */
      return ydoc_errf(d, st, e, KAM_EDATA, "schedules.%s: run: \"%s\": a step is scripts/NAME.lua [ARGS], "
                       "`policy NAME --commit`, `policy changes NAME [--since 7d]` or `report NAME ... -o FILE`", name, t);
    }
    s->steps[s->nsteps++] = strdup(t);
  }
  x = ydoc_map_get(d, n, "owner");
  if (!x || !ydoc_scalar(x) || !*ydoc_scalar(x))
    return ydoc_errf(d, n, e, KAM_EDATA, "schedules.%s: owner: a staff id (the job acts with its rights)", name);
  s->owner = strdup(ydoc_scalar(x));
  if ((x = ydoc_map_get(d, n, "timezone"))) {
    if (!ydoc_scalar(x) || cron_zone_check(ydoc_scalar(x), &ce))
      return ydoc_errf(d, x, e, KAM_EDATA, "schedules.%s: %s", name, ydoc_scalar(x) ? ce.msg : "timezone: expected a zone name");
    s->tz = strdup(ydoc_scalar(x));
  }
  if ((x = ydoc_map_get(d, n, "catch_up"))) {
    const char *t = ydoc_scalar(x);
    int k = 0;
    if (t && !strcmp(t, "latest")) s->catch_up = SCHED_LATEST;
    else if (t && !strcmp(t, "none")) s->catch_up = SCHED_NONE;
    else if (t && sscanf(t, "all %d%n", &s->catch_n, &k) == 1 && !t[k] && s->catch_n > 0 && s->catch_n <= 1000) s->catch_up = SCHED_ALL;
    else return ydoc_errf(d, x, e, KAM_EDATA, "schedules.%s: catch_up: expected latest, none or all N (N from 1 to 1000)", name);
  }
  if ((x = ydoc_map_get(d, n, "deadline"))) {
    if (!ydoc_scalar(x) || parse_duration(ydoc_scalar(x), &s->deadline))
      return ydoc_errf(d, x, e, KAM_EDATA, "schedules.%s: deadline: expected a duration like 30m, 2h or 1d", name);
  }
  return 0;
}

static int load_schedules(kam_config *c, ydoc *d, yaml_node_t *n, kam_err *e) {
  if (n->type != YAML_MAPPING_NODE) return ydoc_errf(d, n, e, KAM_EDATA, "schedules: expected NAME: {cron, run, owner}");
  int cnt = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  c->sched = calloc((size_t)cnt + 1, sizeof *c->sched);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key);
    const char *name = ydoc_scalar(k);
    if (!name || !*name || strlen(name) > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
      return ydoc_errf(d, k, e, KAM_EDATA, "schedules: a name is letters a-z, digits, _ and - (at most 64)");
    int rc = load_schedule(d, name, ydoc_get(d, p->value), &c->sched[c->nsched++], e);
    if (rc) return rc;
  }
  return 0;
}

int config_load(kam_config **out, const char *path, kam_err *e) {
  *out = NULL;
  kam_config *c = calloc(1, sizeof *c);
  snprintf(c->path, sizeof c->path, "%s", path);
  /* the project root is the folder above config/ (or the config's folder) */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0; else strcpy(dir, ".");
  const char *base = strrchr(dir, '/');
  base = base ? base + 1 : dir;
  if (!strcmp(base, "config")) {
    char *s2 = strrchr(dir, '/');
    if (s2) *s2 = 0; else strcpy(dir, ".");
  }
  snprintf(c->root, sizeof c->root, "%s", dir);
  c->utc_offset = 7 * 3600;
  c->map_size = (size_t)1 << 30;
  c->script_seconds = 600;
  c->policy_seconds = 1;
  c->memory_bytes = (size_t)2048 << 20;
  c->policy_memory_bytes = (size_t)256 << 20;
  int rc = ydoc_load_file(&c->doc, path, e);
  if (rc) { free(c); return rc; }
  ydoc *d = &c->doc;
  yaml_node_t *root = ydoc_root(d);
  if (root && (rc = expect_keys(d, root, top_keys, "kam.yaml", e))) goto fail;
  yaml_node_t *n;
  if ((n = ydoc_map_get(d, root, "db"))) {
    if (!ydoc_scalar(n) || !*ydoc_scalar(n)) { rc = ydoc_errf(d, n, e, KAM_EDATA, "db: expected a path"); goto fail; }
    c->db = project_path(c, ydoc_scalar(n));
  }
  if ((n = ydoc_map_get(d, root, "schema"))) {
    if (!ydoc_scalar(n) || !*ydoc_scalar(n)) { rc = ydoc_errf(d, n, e, KAM_EDATA, "schema: expected a path"); goto fail; }
    c->schema = project_path(c, ydoc_scalar(n));
  }
  if ((n = ydoc_map_get(d, root, "auth"))) {
    const char *s = ydoc_scalar(n);
    if (!s || (strcmp(s, "trust") && strcmp(s, "os"))) { rc = ydoc_errf(d, n, e, KAM_EDATA, "auth: expected trust or os"); goto fail; }
    c->auth_trust = !strcmp(s, "trust");
  }
  if ((n = ydoc_map_get(d, root, "timezone"))) {
    const char *s = ydoc_scalar(n);
    int hh, mm = 0;
    char sign;
    if (s && (s[0] == '+' || s[0] == '-')) { /* a fixed offset, as before zones had names here */
      if (sscanf(s, "%c%d:%d", &sign, &hh, &mm) < 2 || hh < 0 || hh > 14 || mm < 0 || mm > 59 || strlen(s) > 6) {
        rc = ydoc_errf(d, n, e, KAM_EDATA, "timezone: expected an IANA zone like Asia/Ho_Chi_Minh, or an offset like +07:00");
        goto fail;
      }
      c->utc_offset = (sign == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    } else {
      kam_err ze;
      if (!s || cron_zone_check(s, &ze)) { rc = ydoc_errf(d, n, e, KAM_EDATA, "%s", s ? ze.msg : "timezone: expected a zone"); goto fail; }
      c->tz = strdup(s);
    }
  } else {
    kam_err ze; /* the book's zone is Vietnam's, by its name where the system has the tz database */
    if (!cron_zone_check("Asia/Ho_Chi_Minh", &ze)) c->tz = strdup("Asia/Ho_Chi_Minh");
  }
  if (c->tz) c->utc_offset = zone_offset_now(c->tz);
  if ((n = ydoc_map_get(d, root, "schedules")) && (rc = load_schedules(c, d, n, e))) goto fail;
  if ((n = ydoc_map_get(d, root, "map_size_mb"))) {
    const char *s = ydoc_scalar(n);
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *end || v < 1 || v > (1L << 22)) { rc = ydoc_errf(d, n, e, KAM_EDATA, "map_size_mb: expected a whole number of MiB"); goto fail; }
    c->map_size = (size_t)v << 20;
  }
  if ((n = ydoc_map_get(d, root, "limits"))) {
    if ((rc = expect_keys(d, n, limit_keys, "limits", e))) goto fail;
    const char *names[] = {"script_seconds", "memory_mb", "policy_seconds", "policy_memory_mb"};
    for (int i = 0; i < 4; i++) {
      yaml_node_t *v = ydoc_map_get(d, n, names[i]);
      if (!v) continue;
      const char *s = ydoc_scalar(v);
      if (i == 0 || i == 2) {
        double secs;
        if (!s || parse_seconds(s, &secs)) {
          rc = ydoc_errf(d, v, e, KAM_EDATA, "limits.%s: expected seconds, like 2 or 0.25 (0: no limit)", names[i]);
          goto fail;
        }
        *(i == 0 ? &c->script_seconds : &c->policy_seconds) = secs;
        continue;
      }
      char *end;
      long x = s ? strtol(s, &end, 10) : -1;
      if (!s || *end || x < 0 || x > 1000000) { rc = ydoc_errf(d, v, e, KAM_EDATA, "limits.%s: expected a whole number", names[i]); goto fail; }
      if (i == 1) c->memory_bytes = (size_t)x << 20;
      else c->policy_memory_bytes = (size_t)x << 20;
    }
  }
  if ((n = ydoc_map_get(d, root, "users"))) {
    /* one list of people: a second one here would drift from the staff */
    rc = ydoc_errf(d, n, e, KAM_EDATA, "users: people are staff records now (staff.os_user is the login); "
                   "remove this list and give each staff record its os_user");
    goto fail;
  }
  if ((n = ydoc_map_get(d, root, "unknown_logins"))) {
    const char *s = ydoc_scalar(n);
    if (!s || (strcmp(s, "refuse") && strcmp(s, "read"))) { rc = ydoc_errf(d, n, e, KAM_EDATA, "unknown_logins: expected refuse or read"); goto fail; }
    c->unknown_read = !strcmp(s, "read");
  }
  if ((n = ydoc_map_get(d, root, "access"))) {
    if (!ydoc_scalar(n) || !*ydoc_scalar(n)) { rc = ydoc_errf(d, n, e, KAM_EDATA, "access: expected a path"); goto fail; }
    c->access = project_path(c, ydoc_scalar(n));
  }
  if ((n = ydoc_map_get(d, root, "agency")) && (rc = expect_keys(d, n, agency_keys, "agency", e))) goto fail;
  if (!c->db) c->db = project_path(c, "var/kam.db");
  if (!c->schema) c->schema = project_path(c, "config/schema.yaml");
  if (!c->access) c->access = project_path(c, "config/access.yaml");
  *out = c;
  return 0;
fail:
  config_free(c);
  return rc;
}

void config_free(kam_config *c) {
  if (!c) return;
  for (int i = 0; i < c->nsched; i++) {
    kam_schedule *s = &c->sched[i];
    free(s->name); free(s->cron); free(s->owner); free(s->tz);
    for (int k = 0; k < s->nsteps; k++) free(s->steps[k]);
    free(s->steps);
  }
  free(c->sched);
  free(c->tz);
  free(c->db);
  free(c->schema);
  free(c->access);
  ydoc_free(&c->doc);
  free(c);
}
