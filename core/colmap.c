/* colmap.c — column maps: a foreign CSV into the CSV kam import reads. See
 * colmap.h; the shipped maps are the YAML files of config/import/. */
#include "colmap.h"
#include "kdate.h"
#include "ydoc.h"
#include <csv.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { CF_TEXT, CF_MONEY, CF_INT, CF_NUMBER, CF_DMY, CF_MDY, CF_YMD, CF_N };
static const char *const fmt_names[CF_N] = {"text", "money", "int", "number", "date_dmy", "date_mdy", "date_ymd"};

typedef struct mcol {
  char *header;
  int field;           /* position in the collection, -1: skip */
  int fmt;
} mcol;

typedef struct mext {
  int field;
  char *from, *pattern;
  regex_t re;
  int compiled, optional;
} mext;

typedef struct mset {
  int field;
  char *value;
} mset;

typedef struct mskip {
  char *column, *pattern;
  regex_t re;
  int compiled;
} mskip;

struct colmap {
  char path[1024], name[256];
  const coll_def *into;
  int header_row;      /* the line of the header: reports put a title above it */
  char delim;          /* 0: found from the header line */
  mcol *cols;
  int ncols;
  mext *ext;
  int next;
  mset *set;
  int nset;
  mskip *skip;
  int nskip;
};

static char *xstrndup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) abort();
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}
static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz);
  if (!p) abort();
  return p;
}

/* one more error: its text (without "kam: ") while there are no more than max */
static void add_err(kbuf *errs, int *nerr, int max, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_err(kbuf *errs, int *nerr, int max, const char *fmt, ...) {
  (*nerr)++;
  if (*nerr > max) return;
  if (errs->len) kbuf_str(errs, "\nkam: ");
  va_list ap;
  va_start(ap, fmt);
  char msg[1200];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  kbuf_str(errs, msg);
}

static int read_whole(const char *path, kbuf *b, kam_err *e) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return kam_errf(e, KAM_EDATA, "%s: cannot open: %s", path, strerror(errno));
  int bad = kbuf_read(b, f, 0);
  if (f != stdin) fclose(f);
  if (bad) return kam_errf(e, KAM_EDATA, "%s: read error", path);
  kbuf_cstr(b);
  return 0;
}

/* ---- values: money, numbers and dates as exports write them ----------------- */

static int is_space_at(const char *s, size_t n, size_t i, size_t *w) {
  if (s[i] == ' ' || s[i] == '\t') { *w = 1; return 1; }
  /* no-break and narrow no-break spaces: thousands separators of some locales */
  if (i + 1 < n && (unsigned char)s[i] == 0xC2 && (unsigned char)s[i + 1] == 0xA0) { *w = 2; return 1; }
  if (i + 2 < n && (unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80 && (unsigned char)s[i + 2] == 0xAF) { *w = 3; return 1; }
  return 0;
}

static void trim(const char **s, size_t *n) {
  size_t w;
  while (*n && is_space_at(*s, *n, 0, &w) && w <= *n) { *s += w; *n -= w; }
  for (;;) {
    if (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r')) { (*n)--; continue; }
    if (*n >= 2 && !memcmp(*s + *n - 2, "\xc2\xa0", 2)) { *n -= 2; continue; }
    break;
  }
}

static int strip_suffix(const char **s, size_t *n, const char *suf) {
  size_t l = strlen(suf);
  if (*n >= l && !memcmp(*s + *n - l, suf, l)) { *n -= l; trim(s, n); return 1; }
  return 0;
}
static int strip_prefix(const char **s, size_t *n, const char *pre) {
  size_t l = strlen(pre);
  if (*n >= l && !memcmp(*s, pre, l)) { *s += l; *n -= l; trim(s, n); return 1; }
  return 0;
}

/* A decimal as an export writes it: thousands grouped by '.', ',' or a
 * space, the decimal mark the other of '.' and ',' (when both appear, the
 * last one; when one appears once, it is a decimal mark unless exactly three
 * digits follow it). Money may carry ₫, đ, VND before or after, a sign or
 * parentheses. 0, or what it is not. */
typedef struct amount { int neg; int64_t whole; char frac[24]; int nfrac, pct; } amount;
static const char *parse_amount(const char *s, size_t n, int money, int number, amount *a) {
  static const char *const cur[] = {"\xe2\x82\xab", "VN\xc4\x90", "VND", "vnd", "\xc4\x91\xe1\xbb\x93ng", "\xc4\x91", NULL};
  memset(a, 0, sizeof *a);
  trim(&s, &n);
  if (n >= 2 && s[0] == '(' && s[n - 1] == ')') { a->neg = 1; s++; n -= 2; trim(&s, &n); }
  if (money)
    for (int i = 0; cur[i]; i++)
      if (strip_suffix(&s, &n, cur[i]) || strip_prefix(&s, &n, cur[i])) break;
  if (number && n && s[n - 1] == '%') { a->pct = 1; n--; trim(&s, &n); }
  if (n && (s[0] == '-' || s[0] == '+')) { a->neg ^= s[0] == '-'; s++; n--; }
  if (!n) return "empty";
  /* the marks, in order: '.', ',' or ' ' (a space of any kind) */
  char marks[64];
  size_t pos[64];
  int nm = 0, ndots = 0, ncommas = 0;
  for (size_t i = 0, w; i < n; i += w) {
    w = 1;
    if (s[i] >= '0' && s[i] <= '9') continue;
    char m;
    if (s[i] == '.' || s[i] == ',') m = s[i];
    else if (is_space_at(s, n, i, &w)) m = ' ';
    else return "a number";
    if (nm == 64) return "a number";
    marks[nm] = m;
    pos[nm++] = i;
    ndots += m == '.';
    ncommas += m == ',';
  }
  char dec = 0;
  if (ndots && ncommas) {
    dec = marks[nm - 1];
    if (dec == ' ' || (dec == '.' ? ndots : ncommas) != 1) return "a number";
  } else if (ndots + ncommas == 1) {
    /* one mark: grouping when three digits follow it and no space groups
     * the number already ("1.234"), else the decimal mark ("1234,50",
     * "1 234,5") */
    char c = ndots ? '.' : ',';
    size_t at = 0;
    for (int k = 0; k < nm; k++) if (marks[k] == c) at = pos[k];
    if (n - at - 1 != 3 || nm > 1) dec = c;
  }
  size_t end_int = n;
  if (dec) for (int k = 0; k < nm; k++) if (marks[k] == dec) end_int = pos[k];
  /* the whole part: groups of three after the first, when grouped at all */
  int64_t v = 0;
  int digits = 0, group = -1;
  for (size_t i = 0, w; i < end_int; i += w) {
    w = 1;
    if (s[i] >= '0' && s[i] <= '9') {
      if (v > (INT64_MAX - 9) / 10) return "a number (too large)";
      v = v * 10 + (s[i] - '0');
      digits++;
      if (group >= 0) group++;
      continue;
    }
    is_space_at(s, n, i, &w);
    if (!digits || (group >= 0 && group != 3) || (group < 0 && digits > 3)) return "a number";
    group = 0;
  }
  if (!digits || (group >= 0 && group != 3)) return "a number";
  a->whole = v;
  if (dec) {
    for (size_t i = end_int + 1; i < n; i++) {
      if (s[i] < '0' || s[i] > '9') return "a number";
      if (a->nfrac < (int)sizeof a->frac - 1) a->frac[a->nfrac++] = s[i];
    }
    if (!a->nfrac) return "a number";
  }
  return NULL;
}

static int frac_zero(const amount *a) {
  for (int i = 0; i < a->nfrac; i++) if (a->frac[i] != '0') return 0;
  return 1;
}

/* D/M/YYYY, M/D/YYYY or YYYY-MM-DD (any of / - . between), a time after it
 * ignored. Writes YYYY-MM-DD; else what was expected, or why it is no date. */
static const char *parse_date(int fmt, const char *s, size_t n, char out[11], char *why, size_t wl) {
  trim(&s, &n);
  /* a time after the date: "26/11/2026 00:00:00", "2026-11-26T00:00:00+07:00" */
  for (size_t i = 6; i < n; i++)
    if ((s[i] == ' ' || s[i] == 'T') && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9' && memchr(s + i, ':', n - i)) { n = i; break; }
  int part[3] = {0}, len[3] = {0}, k = 0;
  char sep = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      if (len[k] == 4) goto bad;
      part[k] = part[k] * 10 + (c - '0');
      len[k]++;
    } else if ((c == '/' || c == '-' || c == '.') && k < 2 && len[k] && (!sep || c == sep)) {
      sep = c;
      k++;
    } else {
      goto bad;
    }
  }
  if (k != 2 || !len[2]) goto bad;
  int y, m, d;
  if (len[0] == 4) { y = part[0]; m = part[1]; d = part[2]; }
  else if (fmt == CF_YMD || len[2] != 4) goto bad;
  else if (fmt == CF_MDY) { m = part[0]; d = part[1]; y = part[2]; }
  else { d = part[0]; m = part[1]; y = part[2]; }
  if (len[0] == 4 ? len[1] > 2 || len[2] > 2 : len[0] > 2 || len[1] > 2) goto bad;
  if (y < 1000 || m < 1 || m > 12) goto bad;
  if (d < 1 || d > days_in_month(y, m)) {
    snprintf(why, wl, "a real date (%04d-%02d has %d days)", y, m, days_in_month(y, m));
    return why;
  }
  date_format(out, y, m, d);
  return NULL;
bad:
  snprintf(why, wl, "%s", fmt == CF_MDY ? "a date month/day/year (11/26/2026) or 2026-11-26"
                          : fmt == CF_YMD ? "a date 2026-11-26 (or 2026/11/26)"
                                          : "a date day/month/year (26/11/2026) or 2026-11-26");
  return why;
}

/* One foreign cell in the map's format, appended to out as kam import reads
 * it; NULL or what it should have been. */
static const char *convert_cell(int fmt, const char *s, size_t n, kbuf *out, char *why, size_t wl) {
  trim(&s, &n);
  if (!n) return NULL;
  amount a;
  const char *bad;
  switch (fmt) {
  case CF_MONEY:
  case CF_INT:
    if ((bad = parse_amount(s, n, fmt == CF_MONEY, 0, &a))) {
      snprintf(why, wl, "%s", fmt == CF_MONEY ? "an amount in đồng (1.234.567, 1,234,567.00 or 1234567)" : "a whole number (12.345 or 12345)");
      return why;
    }
    if (!frac_zero(&a)) {
      snprintf(why, wl, "%s", fmt == CF_MONEY ? "whole đồng (it has a fraction of a đồng)" : "a whole number");
      return why;
    }
    kbuf_printf(out, "%s%lld", a.neg && a.whole ? "-" : "", (long long)a.whole);
    return NULL;
  case CF_NUMBER: {
    if ((bad = parse_amount(s, n, 0, 1, &a))) { snprintf(why, wl, "a number (1.234,5 or 1,234.5 or 12%%)"); return why; }
    char t[64];
    snprintf(t, sizeof t, "%s%lld.%s", a.neg ? "-" : "", (long long)a.whole, a.nfrac ? a.frac : "0");
    double v = strtod(t, NULL);
    if (a.pct) v /= 100;
    kbuf_printf(out, "%.15g", v);
    return NULL;
  }
  case CF_DMY: case CF_MDY: case CF_YMD: {
    char d[11];
    if (parse_date(fmt, s, n, d, why, wl)) return why;
    kbuf_put(out, d, 10);
    return NULL;
  }
  default:
    kbuf_put(out, s, n);
    return NULL;
  }
}

/* ---- loading a map -------------------------------------------------------- */

void colmap_free(colmap *m) {
  if (!m) return;
  for (int i = 0; i < m->ncols; i++) free(m->cols[i].header);
  for (int i = 0; i < m->next; i++) {
    free(m->ext[i].from);
    free(m->ext[i].pattern);
    if (m->ext[i].compiled) regfree(&m->ext[i].re);
  }
  for (int i = 0; i < m->nset; i++) free(m->set[i].value);
  for (int i = 0; i < m->nskip; i++) {
    free(m->skip[i].column);
    free(m->skip[i].pattern);
    if (m->skip[i].compiled) regfree(&m->skip[i].re);
  }
  free(m->cols);
  free(m->ext);
  free(m->set);
  free(m->skip);
  free(m);
}

const coll_def *colmap_into(const colmap *m) { return m->into; }
const char *colmap_path(const colmap *m) { return m->path; }
const char *colmap_name(const colmap *m) { return m->name; }

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* "a, b, c": the maps of config/import/ */
static void list_maps(const char *dir, kbuf *out) {
  DIR *d = opendir(dir);
  char *names[64];
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)) && n < 64)
    if (de->d_name[0] != '.' && ends_with(de->d_name, ".yaml")) names[n++] = xstrndup(de->d_name, strlen(de->d_name) - 5);
  if (d) closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) {
    kbuf_printf(out, "%s%s", i ? ", " : "", names[i]);
    free(names[i]);
  }
}

static int field_named(ydoc *d, yaml_node_t *n, const coll_def *c, int *f, kam_err *e) {
  const char *s = ydoc_scalar(n);
  *f = s ? coll_field(c, s) : -1;
  if (*f >= 0 && *f >= 3) return 0;
  kbuf known = {0};
  for (int i = 3; i < c->nfields; i++) kbuf_printf(&known, "%s%s", i > 3 ? ", " : "", c->fields[i].name);
  int rc = ydoc_errf(d, n, e, KAM_EDATA, "%s%s%s is not a field of %s (%s)", s ? "'" : "", s ? s : "this",
                     s ? "'" : "", c->name, (const char *)kbuf_cstr(&known));
  kbuf_free(&known);
  return rc;
}

static int format_fits(int fmt, ftype t) {
  switch (fmt) {
  case CF_MONEY: case CF_INT: return t == FT_MONEY || t == FT_INT || t == FT_NUMBER;
  case CF_NUMBER: return t == FT_NUMBER;
  case CF_DMY: case CF_MDY: case CF_YMD: return t == FT_DATE || t == FT_DATETIME || t == FT_STRING;
  default: return 1;
  }
}

static int default_format(ftype t) {
  return t == FT_MONEY ? CF_MONEY : t == FT_INT ? CF_INT : t == FT_NUMBER ? CF_NUMBER : t == FT_DATE ? CF_DMY : CF_TEXT;
}

static int check_keys(ydoc *d, yaml_node_t *map, const char *const *ok, const char *what, kam_err *e) {
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key);
    const char *s = ydoc_scalar(k);
    int found = 0;
    for (int i = 0; s && ok[i]; i++) found |= !strcmp(s, ok[i]);
    if (found) continue;
    kbuf l = {0};
    for (int i = 0; ok[i]; i++) kbuf_printf(&l, "%s%s", i ? ", " : "", ok[i]);
    int rc = ydoc_errf(d, k, e, KAM_EDATA, "unknown key '%s' in %s (keys: %s)", s ? s : "?", what, (const char *)kbuf_cstr(&l));
    kbuf_free(&l);
    return rc;
  }
  return 0;
}

static int compile(ydoc *d, yaml_node_t *n, regex_t *re, int *compiled, char **pattern, kam_err *e) {
  const char *s = ydoc_scalar(n);
  if (!s || !*s) return ydoc_errf(d, n, e, KAM_EDATA, "expected a pattern (a POSIX extended regex, e.g. \"(PRJ-[0-9]+)\")");
  /* glibc compiles stacked repetitions in memory that grows with their
   * product (34 '+' in a row: gigabytes): a map's pattern is kept small */
  int reps = 0, big = 0;
  for (const char *p = s; *p; p++) {
    reps += *p == '+' || *p == '*' || *p == '?' || *p == '{';
    if (*p == '{' || (*p == ',' && p > s && p[-1] >= '0' && p[-1] <= '9')) big |= atoi(p + 1) > 64;
  }
  if (strlen(s) > 256 || reps > 16 || big)
    return ydoc_errf(d, n, e, KAM_EDATA, "pattern \"%.40s\": at most 256 characters, 16 repetitions (+ * ? {n}) and {n} up to 64", s);
  int rc = regcomp(re, s, REG_EXTENDED);
  if (rc) {
    char msg[200];
    regerror(rc, re, msg, sizeof msg);
    return ydoc_errf(d, n, e, KAM_EDATA, "pattern \"%s\": %s", s, msg);
  }
  *compiled = 1;
  *pattern = xstrndup(s, strlen(s));
  return 0;
}

/* Which source gives each field ('c' a column, 'x' extract, 's' set), so
 * that no field has two kinds of them; columns may share one (aliases). */
static const char *source_name(char k) { return k == 'c' ? "a column" : k == 'x' ? "extract" : "set"; }
static int give(ydoc *d, yaml_node_t *n, const coll_def *c, char *given, int f, char kind, kam_err *e) {
  if (given[f] && given[f] != kind)
    return ydoc_errf(d, n, e, KAM_EDATA, "%s.%s is given by %s already, and by %s here", c->name, c->fields[f].name,
                     source_name(given[f]), source_name(kind));
  given[f] = kind;
  return 0;
}

static int load_doc(colmap *m, ydoc *d, schema *sc, kam_err *e) {
  static const char *const top[] = {"into", "header_row", "delimiter", "columns", "extract", "set", "skip_rows", NULL};
  yaml_node_t *root = ydoc_root(d);
  if (!root || root->type != YAML_MAPPING_NODE)
    return ydoc_errf(d, root, e, KAM_EDATA, "a map is a mapping: into, columns (and extract, set, header_row, skip_rows)");
  if (check_keys(d, root, top, "a map", e)) return e->code;
  yaml_node_t *n = ydoc_map_get(d, root, "into");
  const char *into = n ? ydoc_scalar(n) : NULL;
  if (!into) return ydoc_errf(d, n ? n : root, e, KAM_EDATA, "into: the collection the rows fill (e.g. into: spend)");
  if (!(m->into = schema_coll(sc, into))) return ydoc_errf(d, n, e, KAM_EDATA, "into: no collection '%s'", into);
  const coll_def *c = m->into;
  char *given = xcalloc((size_t)c->nfields, 1);
  int rc = 0;
  m->header_row = 1;
  if ((n = ydoc_map_get(d, root, "header_row"))) {
    const char *s = ydoc_scalar(n);
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *end || v < 1 || v > 1000) { rc = ydoc_errf(d, n, e, KAM_EDATA, "header_row: the line of the header, 1 to 1000"); goto out; }
    m->header_row = (int)v;
  }
  if ((n = ydoc_map_get(d, root, "delimiter"))) {
    const char *s = ydoc_scalar(n);
    if (s && (!strcmp(s, "tab") || !strcmp(s, "\t"))) m->delim = '\t';
    else if (s && strlen(s) == 1 && strchr(",;|", s[0])) m->delim = s[0];
    else { rc = ydoc_errf(d, n, e, KAM_EDATA, "delimiter: one of \",\", \";\", \"|\" or tab"); goto out; }
  }
  yaml_node_t *cols = ydoc_map_get(d, root, "columns");
  if (!cols || cols->type != YAML_MAPPING_NODE) {
    rc = ydoc_errf(d, cols ? cols : root, e, KAM_EDATA, "columns: each header of the file, and the field it fills ({field: amount, format: money}) or skip");
    goto out;
  }
  size_t nc = (size_t)(cols->data.mapping.pairs.top - cols->data.mapping.pairs.start);
  m->cols = xcalloc(nc, sizeof *m->cols);
  for (yaml_node_pair_t *p = cols->data.mapping.pairs.start; p < cols->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key), *v = ydoc_get(d, p->value);
    const char *h = ydoc_scalar(k);
    if (!h || !*h) { rc = ydoc_errf(d, k, e, KAM_EDATA, "a header is text, as the file's first row has it"); goto out; }
    mcol *mc = &m->cols[m->ncols++];
    mc->header = xstrndup(h, strlen(h));
    mc->field = -1;
    const char *vs = ydoc_scalar(v);
    if (vs && !strcmp(vs, "skip")) continue;
    yaml_node_t *fn = v, *fmtn = NULL;
    if (v && v->type == YAML_MAPPING_NODE) {
      static const char *const ok[] = {"field", "format", NULL};
      if ((rc = check_keys(d, v, ok, "a column", e))) goto out;
      fn = ydoc_map_get(d, v, "field");
      fmtn = ydoc_map_get(d, v, "format");
      if (!fn) { rc = ydoc_errf(d, v, e, KAM_EDATA, "column '%s': field: the field it fills (or write skip)", h); goto out; }
    } else if (!vs) {
      rc = ydoc_errf(d, v, e, KAM_EDATA, "column '%s': a field name, {field: F, format: FORMAT} or skip", h);
      goto out;
    }
    if ((rc = field_named(d, fn, c, &mc->field, e)) || (rc = give(d, fn, c, given, mc->field, 'c', e))) goto out;
    const field_def *fd = &c->fields[mc->field];
    mc->fmt = default_format(fd->type);
    if (fmtn) {
      const char *fs = ydoc_scalar(fmtn);
      int f = -1;
      for (int i = 0; fs && i < CF_N; i++) if (!strcmp(fs, fmt_names[i])) f = i;
      if (f < 0) {
        rc = ydoc_errf(d, fmtn, e, KAM_EDATA, "format '%s': one of text, money, int, number, date_dmy, date_mdy, date_ymd", fs ? fs : "?");
        goto out;
      }
      if (!format_fits(f, fd->type)) {
        rc = ydoc_errf(d, fmtn, e, KAM_EDATA, "format %s does not fit %s.%s, a %s", fs, c->name, fd->name, ftype_names[fd->type]);
        goto out;
      }
      mc->fmt = f;
    }
    if (fd->type == FT_LIST || fd->type == FT_MAP) {
      rc = ydoc_errf(d, fn, e, KAM_EDATA, "%s.%s is a %s: a map fills text, numbers, money and dates", c->name, fd->name, ftype_names[fd->type]);
      goto out;
    }
  }
  if ((n = ydoc_map_get(d, root, "extract"))) {
    if (n->type != YAML_MAPPING_NODE) {
      rc = ydoc_errf(d, n, e, KAM_EDATA, "extract: field: {from: HEADER, pattern: REGEX}");
      goto out;
    }
    m->ext = xcalloc((size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start), sizeof *m->ext);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
      yaml_node_t *k = ydoc_get(d, p->key), *v = ydoc_get(d, p->value);
      mext *x = &m->ext[m->next++];
      if ((rc = field_named(d, k, c, &x->field, e)) || (rc = give(d, k, c, given, x->field, 'x', e))) goto out;
      static const char *const ok[] = {"from", "pattern", "optional", NULL};
      if (!v || v->type != YAML_MAPPING_NODE) { rc = ydoc_errf(d, v, e, KAM_EDATA, "extract: {from: HEADER, pattern: REGEX}"); goto out; }
      if ((rc = check_keys(d, v, ok, "an extract", e))) goto out;
      yaml_node_t *from = ydoc_map_get(d, v, "from"), *pat = ydoc_map_get(d, v, "pattern"), *opt = ydoc_map_get(d, v, "optional");
      const char *fs = from ? ydoc_scalar(from) : NULL;
      if (!fs || !*fs) { rc = ydoc_errf(d, from ? from : v, e, KAM_EDATA, "extract: from: the header of the cell it reads"); goto out; }
      x->from = xstrndup(fs, strlen(fs));
      if (!pat) { rc = ydoc_errf(d, v, e, KAM_EDATA, "extract: pattern: a POSIX extended regex; its first group (or the match) is the value"); goto out; }
      if ((rc = compile(d, pat, &x->re, &x->compiled, &x->pattern, e))) goto out;
      if (opt) {
        const char *os = ydoc_scalar(opt);
        if (!os || (strcmp(os, "true") && strcmp(os, "false"))) { rc = ydoc_errf(d, opt, e, KAM_EDATA, "optional: true or false"); goto out; }
        x->optional = !strcmp(os, "true");
      }
    }
  }
  if ((n = ydoc_map_get(d, root, "set"))) {
    if (n->type != YAML_MAPPING_NODE) { rc = ydoc_errf(d, n, e, KAM_EDATA, "set: {field: value, ...}"); goto out; }
    m->set = xcalloc((size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start), sizeof *m->set);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
      yaml_node_t *k = ydoc_get(d, p->key), *v = ydoc_get(d, p->value);
      mset *st = &m->set[m->nset++];
      if ((rc = field_named(d, k, c, &st->field, e)) || (rc = give(d, k, c, given, st->field, 's', e))) goto out;
      const char *vs = ydoc_scalar(v);
      const field_def *fd = &c->fields[st->field];
      kval kv;
      char conv[32], why[300];
      if (!vs || !field_from_text(fd, vs, strlen(vs), &kv, conv, why, sizeof why)) {
        rc = ydoc_errf(d, v, e, KAM_EDATA, "set %s: %s%s%s is not %s", fd->name, vs ? "\"" : "", vs ? vs : "this", vs ? "\"" : "",
                       vs ? why : "a single value");
        goto out;
      }
      if (strchr(vs, '\n')) { /* it would make each converted row a line longer than the foreign one */
        rc = ydoc_errf(d, v, e, KAM_EDATA, "set %s: a value on one line (a converted row keeps the lines of the file's row)", fd->name);
        goto out;
      }
      st->value = xstrndup(vs, strlen(vs));
    }
  }
  if ((n = ydoc_map_get(d, root, "skip_rows"))) {
    /* a list of {column, pattern}, or one */
    int single = n->type == YAML_MAPPING_NODE;
    if (!single && n->type != YAML_SEQUENCE_NODE) { rc = ydoc_errf(d, n, e, KAM_EDATA, "skip_rows: [{column: HEADER, pattern: REGEX}]"); goto out; }
    size_t k = single ? 1 : (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    m->skip = xcalloc(k, sizeof *m->skip);
    for (size_t i = 0; i < k; i++) {
      yaml_node_t *r = single ? n : ydoc_get(d, n->data.sequence.items.start[i]);
      static const char *const ok[] = {"column", "pattern", NULL};
      if (!r || r->type != YAML_MAPPING_NODE) { rc = ydoc_errf(d, r, e, KAM_EDATA, "skip_rows: {column: HEADER, pattern: REGEX}"); goto out; }
      if ((rc = check_keys(d, r, ok, "skip_rows", e))) goto out;
      mskip *sk = &m->skip[m->nskip++];
      yaml_node_t *cn = ydoc_map_get(d, r, "column"), *pn = ydoc_map_get(d, r, "pattern");
      const char *cs = cn ? ydoc_scalar(cn) : NULL;
      if (!cs || !*cs) { rc = ydoc_errf(d, cn ? cn : r, e, KAM_EDATA, "skip_rows: column: the header whose cell is matched"); goto out; }
      sk->column = xstrndup(cs, strlen(cs));
      if (!pn) { rc = ydoc_errf(d, r, e, KAM_EDATA, "skip_rows: pattern: a POSIX extended regex"); goto out; }
      if ((rc = compile(d, pn, &sk->re, &sk->compiled, &sk->pattern, e))) goto out;
    }
  }
out:
  free(given);
  return rc;
}

int colmap_load(colmap **out, const char *root, const char *name, schema *sc, kam_err *e) {
  *out = NULL;
  char full[2048], dir[1100];
  colmap *m = xcalloc(1, sizeof *m);
  snprintf(dir, sizeof dir, "%s/config/import", root);
  if (strchr(name, '/') || ends_with(name, ".yaml") || ends_with(name, ".yml")) {
    /* a map of one's own, by its path */
    snprintf(full, sizeof full, "%s", name);
    snprintf(m->path, sizeof m->path, "%s", name);
    const char *b = strrchr(name, '/');
    snprintf(m->name, sizeof m->name, "%s", b ? b + 1 : name);
    char *dot = strrchr(m->name, '.');
    if (dot) *dot = 0;
  } else {
    for (const char *p = name; *p; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.')) {
        free(m);
        return kam_errf(e, KAM_EUSAGE, "--map %s: a map's name is letters, digits, _ and - (config/import/NAME.yaml)", name);
      }
    snprintf(full, sizeof full, "%s/%s.yaml", dir, name);
    snprintf(m->path, sizeof m->path, "config/import/%s.yaml", name);
    snprintf(m->name, sizeof m->name, "%s", name);
  }
  struct stat stt;
  if (stat(full, &stt) || !S_ISREG(stt.st_mode)) {
    kbuf l = {0};
    list_maps(dir, &l);
    kam_errf(e, KAM_EUSAGE, "--map %s: no %s (%s%s)", name, m->path, l.len ? "maps: " : "there are no maps in config/import/",
             l.len ? (const char *)kbuf_cstr(&l) : "");
    kbuf_free(&l);
    free(m);
    return KAM_EUSAGE;
  }
  kbuf text = {0};
  int rc = read_whole(full, &text, e);
  ydoc d;
  memset(&d, 0, sizeof d);
  if (!rc) rc = ydoc_load_buf(&d, m->path, (const char *)text.p, text.len, e);
  if (!rc) rc = load_doc(m, &d, sc, e);
  ydoc_free(&d);
  kbuf_free(&text);
  if (rc) {
    colmap_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* ---- CSV, line by line ---------------------------------------------------------- */

/* Cells of the current row and where it began; row() is called at each row's
 * end with the cells it has. */
typedef struct walk {
  kbuf *cells;
  int ncells, cap, col;
  int cr;              /* a "\r" alone ends a line too (a foreign file) */
  long row_line;
  int row_pending, stop;
  void (*row)(struct walk *w);
  void *ud;
} walk;

static void w_field(void *s, size_t n, void *data) {
  walk *w = data;
  if (w->col == w->cap) {
    int nc = w->cap ? w->cap * 2 : 32;
    w->cells = realloc(w->cells, sizeof *w->cells * (size_t)nc);
    if (!w->cells) abort();
    memset(w->cells + w->cap, 0, sizeof *w->cells * (size_t)(nc - w->cap));
    w->cap = nc;
  }
  kbuf_reset(&w->cells[w->col]);
  kbuf_put(&w->cells[w->col], s, n);
  kbuf_cstr(&w->cells[w->col]);
  w->col++;
}

static void w_row(int c, void *data) {
  (void)c;
  walk *w = data;
  w->ncells = w->col;
  if (!w->stop) w->row(w);
  w->col = 0;
  w->row_pending = 1;
}

static void walk_free(walk *w) {
  for (int i = 0; i < w->cap; i++) kbuf_free(&w->cells[i]);
  free(w->cells);
}

/* The delimiter a header line uses: given, else ',' unless the line has
 * none and has ';' or tabs (a European spreadsheet, Excel's UTF-16 text) */
static char find_delim(char given, const char *line, size_t n) {
  if (given) return given;
  if (memchr(line, ',', n)) return ',';
  if (memchr(line, '\t', n)) return '\t';
  if (memchr(line, ';', n)) return ';';
  return ',';
}

/* The line at s (n bytes) with its end: "\n", "\r\n", or with cr a "\r"
 * alone, where libcsv ends a row too (a Mac export, a stray CR in a foreign
 * file; a converted file ends its rows with "\n", as kam import counts
 * them); *k: without it. */
static size_t line_at(const char *s, size_t n, int cr, size_t *k) {
  size_t i = 0;
  while (i < n && s[i] != '\n' && (!cr || s[i] != '\r')) i++;
  *k = i;
  if (i + 1 < n && s[i] == '\r' && s[i + 1] == '\n') return i + 2;
  return i < n ? i + 1 : n;
}

/* Feeds buf to libcsv from line `first` on (lines before it are passed
 * over), keeping the line each row starts at. */
static void walk_text(walk *w, const char *file, const char *buf, size_t len, long first, char delim, kbuf *errs, int *nerr,
                      int max_err) {
  struct csv_parser p;
  csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
  csv_set_delim(&p, (unsigned char)delim);
  size_t off = 0;
  long line = 1;
  w->row_pending = 1;
  while (off < len && !w->stop && *nerr <= max_err) {
    const char *s = buf + off;
    size_t k, n = line_at(s, len - off, w->cr, &k);
    if (line >= first) {
      int blank = 1;
      for (size_t i = 0; i < n && blank; i++) blank = s[i] == '\r' || s[i] == '\n' || s[i] == ' ';
      if (w->row_pending && !blank) { w->row_line = line; w->row_pending = 0; }
      if (csv_parse(&p, s, n, w_field, w_row, w) != n) {
        add_err(errs, nerr, max_err, "%s:%ld: malformed CSV: %s (a quote inside a quoted cell is written twice: \"\")", file, line,
                csv_strerror(csv_error(&p)));
        break;
      }
    }
    off += n;
    /* a "\r" alone ends a line where it ends a row (or where the line is
     * passed over), not inside a quoted cell, as in the converted file */
    if (!(n == k + 1 && s[k] == '\r' && line >= first && !w->row_pending)) line++;
  }
  if (!*nerr && !w->stop && csv_fini(&p, w_field, w_row, w))
    add_err(errs, nerr, max_err, "%s:%ld: malformed CSV: %s (an unclosed quote?)", file, w->row_line, csv_strerror(csv_error(&p)));
  csv_free(&p);
}

/* Text of a foreign file as UTF-8, without a byte-order mark: UTF-16 (what
 * Excel's "Unicode text" and some ad platforms write) is converted. */
static const char *as_utf8(const char *buf, size_t len, size_t *outlen, kbuf *tmp) {
  if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) { *outlen = len - 3; return buf + 3; }
  int be = len >= 2 && (unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF;
  int le = len >= 2 && (unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE;
  if (!be && !le) { *outlen = len; return buf; }
  const unsigned char *u = (const unsigned char *)buf;
  for (size_t i = 2; i + 1 < len; i += 2) {
    uint32_t c = be ? (uint32_t)(u[i] << 8 | u[i + 1]) : (uint32_t)(u[i + 1] << 8 | u[i]);
    if (c >= 0xD800 && c < 0xDC00 && i + 3 < len) {
      uint32_t c2 = be ? (uint32_t)(u[i + 2] << 8 | u[i + 3]) : (uint32_t)(u[i + 3] << 8 | u[i + 2]);
      if (c2 >= 0xDC00 && c2 < 0xE000) { c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00); i += 2; }
      else c = 0xFFFD;
    } else if (c >= 0xD800 && c < 0xE000) {
      c = 0xFFFD;
    }
    if (c < 0x80) kbuf_byte(tmp, (uint8_t)c);
    else if (c < 0x800) { kbuf_byte(tmp, (uint8_t)(0xC0 | c >> 6)); kbuf_byte(tmp, (uint8_t)(0x80 | (c & 0x3F))); }
    else if (c < 0x10000) {
      kbuf_byte(tmp, (uint8_t)(0xE0 | c >> 12)); kbuf_byte(tmp, (uint8_t)(0x80 | ((c >> 6) & 0x3F)));
      kbuf_byte(tmp, (uint8_t)(0x80 | (c & 0x3F)));
    } else {
      kbuf_byte(tmp, (uint8_t)(0xF0 | c >> 18)); kbuf_byte(tmp, (uint8_t)(0x80 | ((c >> 12) & 0x3F)));
      kbuf_byte(tmp, (uint8_t)(0x80 | ((c >> 6) & 0x3F))); kbuf_byte(tmp, (uint8_t)(0x80 | (c & 0x3F)));
    }
  }
  *outlen = tmp->len;
  return tmp->len ? (const char *)tmp->p : "";
}

/* the line (from line on) where a non-blank line starts, for the delimiter */
static void header_line(const char *buf, size_t len, long first, int cr, const char **s, size_t *n) {
  size_t off = 0;
  long line = 1;
  *s = buf + len;
  *n = 0;
  while (off < len) {
    const char *p = buf + off;
    size_t k, step = line_at(p, len - off, cr, &k);
    int blank = 1;
    for (size_t i = 0; i < k && blank; i++) blank = p[i] == '\r' || p[i] == ' ';
    if (line >= first && !blank) { *s = p; *n = k; return; }
    off += step;
    line++;
  }
}

/* ---- converting a file ---------------------------------------------------------- */

/* what one foreign column is */
enum { AC_UNKNOWN = -3, AC_NONAME = -2, AC_SKIP = -1 }; /* else: the map's column index */

typedef struct conv {
  const colmap *m;
  const char *file;
  kbuf *errs;
  int *nerr, max_err;
  int header_done;
  int nin;             /* foreign columns */
  int *act;            /* per foreign column: AC_* or the map's column */
  int *ext_col;        /* per extract: its foreign column, -1 none */
  int *skip_col;       /* per skip_rows rule: its foreign column, -1 none */
  int nout;
  int *out_in;         /* per output column: foreign column (0-based), or -1 - extract, or -1000 - set */
  colmap_out *out;
  long out_line;       /* the line the output is at */
  kbuf val;
} conv;

static void out_cell(kbuf *o, const char *s, size_t n, long *line) {
  int q = 0;
  for (size_t i = 0; i < n && !q; i++) q = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  if (!q) { kbuf_put(o, s, n); return; }
  kbuf_byte(o, '"');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') kbuf_byte(o, '"');
    if (s[i] == '\n') (*line)++;
    kbuf_byte(o, (uint8_t)s[i]);
  }
  kbuf_byte(o, '"');
}

/* blank lines until the output stands at line */
static void pad_to(conv *cv, long line) {
  while (cv->out_line < line) { kbuf_byte(&cv->out->csv, '\n'); cv->out_line++; }
}

static int header_is(const char *want, const char *h, size_t hn) { return strlen(want) == hn && !memcmp(want, h, hn); }

/* Does the map know any header of this row? */
static int header_known(const colmap *m, const walk *w) {
  for (int i = 0; i < w->ncells; i++) {
    const char *h = (const char *)w->cells[i].p;
    size_t hn = w->cells[i].len;
    trim(&h, &hn);
    for (int k = 0; k < m->ncols; k++) if (header_is(m->cols[k].header, h, hn)) return 1;
    for (int k = 0; k < m->next; k++) if (header_is(m->ext[k].from, h, hn)) return 1;
  }
  return 0;
}

static void conv_header(conv *cv, walk *w) {
  const colmap *m = cv->m;
  cv->nin = w->ncells;
  cv->act = xcalloc((size_t)w->ncells, sizeof *cv->act);
  cv->ext_col = xcalloc((size_t)m->next, sizeof *cv->ext_col);
  cv->skip_col = xcalloc((size_t)m->nskip, sizeof *cv->skip_col);
  for (int i = 0; i < m->nskip; i++) cv->skip_col[i] = -1;
  for (int i = 0; i < m->next; i++) cv->ext_col[i] = -1;
  int *seen_field = xcalloc((size_t)m->into->nfields, sizeof *seen_field); /* foreign column + 1 */
  int known = header_known(m, w), before = *cv->nerr;
  if (!known) { /* another kind of file, or the header is elsewhere: one message, not one per cell */
    kbuf l = {0};
    for (int i = 0; i < w->ncells && i < 3; i++) kbuf_printf(&l, "%s'%.60s'", i ? ", " : "", (const char *)w->cells[i].p);
    add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld: none of the headers of this row (%s%s) is in %s: a file of another kind, or "
            "its header is not on line %d (header_row)", cv->file, w->row_line, (const char *)kbuf_cstr(&l), w->ncells > 3 ? " ..." : "",
            m->path, m->header_row);
    kbuf_free(&l);
  }
  for (int i = 0; i < w->ncells; i++) {
    cv->act[i] = AC_SKIP;
    if (!known) continue;
    const char *h = (const char *)w->cells[i].p;
    size_t hn = w->cells[i].len;
    trim(&h, &hn);
    int a = hn ? AC_UNKNOWN : AC_NONAME;
    for (int k = 0; k < m->ncols && a == AC_UNKNOWN; k++)
      if (header_is(m->cols[k].header, h, hn)) a = m->cols[k].field < 0 ? AC_SKIP : k;
    int used = 0;
    for (int k = 0; k < m->next; k++)
      if (header_is(m->ext[k].from, h, hn) && cv->ext_col[k] < 0) { cv->ext_col[k] = i; used = 1; }
    for (int k = 0; k < m->nskip; k++)
      if (header_is(m->skip[k].column, h, hn) && cv->skip_col[k] < 0) { cv->skip_col[k] = i; used = 1; }
    if (a == AC_UNKNOWN && used) a = AC_SKIP;
    if (a == AC_UNKNOWN)
      add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld:%d: column '%.*s' is not in %s (add it, or `skip`)", cv->file, w->row_line, i + 1,
              (int)hn, h, m->path);
    for (int j = 0; j < i && hn; j++) {
      const char *g = (const char *)w->cells[j].p;
      size_t gn = w->cells[j].len;
      trim(&g, &gn);
      if (gn == hn && !memcmp(g, h, hn)) {
        add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld:%d: column '%.*s' appears twice (columns %d and %d)", cv->file, w->row_line,
                i + 1, (int)hn, h, j + 1, i + 1);
        a = AC_SKIP;
        break;
      }
    }
    if (a >= 0) {
      int f = m->cols[a].field;
      if (seen_field[f]) {
        add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld:%d: columns '%s' and '%s' both give %s (keep one)", cv->file, w->row_line, i + 1,
                m->cols[cv->act[seen_field[f] - 1]].header, m->cols[a].header, m->into->fields[f].name);
        a = AC_SKIP;
      } else {
        seen_field[f] = i + 1;
      }
    }
    cv->act[i] = a;
  }
  for (int k = 0; k < m->next && known; k++)
    if (cv->ext_col[k] < 0)
      add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld: no column '%s' (%s takes %s.%s out of it)", cv->file, w->row_line, m->ext[k].from,
              m->path, m->into->name, m->into->fields[m->ext[k].field].name);
  /* a required field whose columns are all missing: said once, here, rather than on every row */
  for (int k = 0; k < m->ncols && known; k++) {
    int f = m->cols[k].field;
    if (f < 0 || seen_field[f] || !m->into->fields[f].required || m->into->fields[f].has_def) continue;
    int other = 0;
    for (int j = 0; j < k; j++) other |= m->cols[j].field == f;
    if (!other)
      add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld: no column '%s' (%s.%s is required; %s takes it from there)", cv->file, w->row_line,
              m->cols[k].header, m->into->name, m->into->fields[f].name, m->path);
  }
  free(seen_field);
  if (*cv->nerr > before) w->stop = 1; /* the rows of a header that is wrong would only add noise */
  /* the output's header: direct columns, then extracts, then constants */
  colmap_out *o = cv->out;
  o->src = xcalloc((size_t)(w->ncells + m->next + m->nset), sizeof *o->src);
  cv->out_in = xcalloc((size_t)(w->ncells + m->next + m->nset), sizeof *cv->out_in);
  pad_to(cv, w->row_line);
  long dummy = 0;
  for (int i = 0; i < w->ncells; i++) {
    if (cv->act[i] < 0) continue;
    const char *fname = m->into->fields[m->cols[cv->act[i]].field].name;
    if (cv->nout) kbuf_byte(&o->csv, ',');
    out_cell(&o->csv, fname, strlen(fname), &dummy);
    o->src[cv->nout] = i + 1;
    cv->out_in[cv->nout++] = i;
  }
  for (int k = 0; k < m->next; k++) {
    const char *fname = m->into->fields[m->ext[k].field].name;
    if (cv->nout) kbuf_byte(&o->csv, ',');
    out_cell(&o->csv, fname, strlen(fname), &dummy);
    o->src[cv->nout] = cv->ext_col[k] + 1;
    cv->out_in[cv->nout++] = -1 - k;
  }
  for (int k = 0; k < m->nset; k++) {
    const char *fname = m->into->fields[m->set[k].field].name;
    if (cv->nout) kbuf_byte(&o->csv, ',');
    out_cell(&o->csv, fname, strlen(fname), &dummy);
    o->src[cv->nout] = 0;
    cv->out_in[cv->nout++] = -1000 - k;
  }
  o->ncols = cv->nout;
  kbuf_byte(&o->csv, '\n');
  cv->out_line++;
}

static void conv_row(walk *w) {
  conv *cv = w->ud;
  const colmap *m = cv->m;
  if (*cv->nerr > cv->max_err) { w->stop = 1; return; }
  if (!cv->header_done) {
    cv->header_done = 1;
    conv_header(cv, w);
    return;
  }
  int empty = 1;
  for (int i = 0; i < w->ncells && empty; i++) {
    const char *s = (const char *)w->cells[i].p;
    size_t n = w->cells[i].len;
    trim(&s, &n);
    empty = !n;
  }
  if (empty) return;
  for (int k = 0; k < m->nskip; k++) { /* a total or a subtotal, not a row */
    int c = cv->skip_col[k];
    if (c >= 0 && c < w->ncells && !regexec(&m->skip[k].re, (const char *)w->cells[c].p, 0, NULL, 0)) return;
  }
  for (int i = cv->nin; i < w->ncells; i++)
    if (w->cells[i].len) {
      add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld:%d: more cells than the header has columns (%d)", cv->file, w->row_line, i + 1, cv->nin);
      return;
    }
  for (int i = 0; i < w->ncells && i < cv->nin; i++)
    if (cv->act[i] == AC_NONAME && w->cells[i].len) {
      add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld:%d: a value in column %d, which has no name in the header row", cv->file, w->row_line,
              i + 1, i + 1);
      return;
    }
  /* the converted row first, written only when all of it converts */
  kbuf row = {0};
  int bad = 0;
  long extra = 0;
  char why[300];
  for (int o = 0; o < cv->nout; o++) {
    int in = cv->out_in[o];
    if (o) kbuf_byte(&row, ',');
    kbuf_reset(&cv->val);
    if (in >= 0) {
      const mcol *mc = &m->cols[cv->act[in]];
      const char *s = in < w->ncells ? (const char *)w->cells[in].p : "";
      size_t n = in < w->ncells ? w->cells[in].len : 0;
      if (convert_cell(mc->fmt, s, n, &cv->val, why, sizeof why)) {
        trim(&s, &n);
        add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld:%d: '%s' (%s.%s): \"%.*s\" is not %s", cv->file, w->row_line, in + 1, mc->header,
                m->into->name, m->into->fields[mc->field].name, (int)(n > 80 ? 80 : n), s, why);
        bad = 1;
        continue;
      }
    } else if (in > -1000) {
      const mext *x = &m->ext[-1 - in];
      int c = cv->ext_col[-1 - in];
      const char *s = c >= 0 && c < w->ncells ? (const char *)w->cells[c].p : "";
      regmatch_t g[2];
      if (!regexec(&x->re, s, 2, g, 0)) {
        int k = x->re.re_nsub >= 1 && g[1].rm_so >= 0 ? 1 : 0;
        const char *v = s + g[k].rm_so;
        size_t vn = (size_t)(g[k].rm_eo - g[k].rm_so);
        trim(&v, &vn);
        kbuf_put(&cv->val, v, vn);
      } else if (!x->optional) {
        add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld:%d: '%s': \"%.80s\" has no match for %s (%s.%s)", cv->file, w->row_line, c + 1,
                x->from, s, x->pattern, m->into->name, m->into->fields[x->field].name);
        bad = 1;
        continue;
      }
    } else {
      kbuf_str(&cv->val, m->set[-1000 - in].value);
    }
    out_cell(&row, (const char *)cv->val.p, cv->val.len, &extra);
  }
  /* a cell's line breaks written twice (a column and an extract of it, or two
   * extracts) would make the converted row longer than the foreign one, and
   * every line after it misnumbered */
  long lines = 0;
  for (int i = 0; i < w->ncells && !bad; i++)
    for (size_t k = 0; k < w->cells[i].len; k++) lines += w->cells[i].p[k] == '\n';
  if (!bad && extra > lines) {
    add_err(cv->errs, cv->nerr, cv->max_err, "%s:%ld: a cell with a line break is converted twice (a column and an extract of it, or two "
            "extracts): the converted row would be longer than this one, and the lines after it misnumbered (a pattern can leave "
            "line breaks out: [^\\n])", cv->file, w->row_line);
    bad = 1;
  }
  if (!bad) {
    pad_to(cv, w->row_line);
    kbuf_put(&cv->out->csv, row.p, row.len);
    kbuf_byte(&cv->out->csv, '\n');
    cv->out_line += 1 + extra;
  }
  kbuf_free(&row);
}

void colmap_out_free(colmap_out *o) {
  kbuf_free(&o->csv);
  free(o->src);
  memset(o, 0, sizeof *o);
}

int colmap_convert(const colmap *m, const char *file, const char *buf, size_t len, colmap_out *out, kbuf *errs, int *nerr,
                   int max_err) {
  memset(out, 0, sizeof *out);
  kbuf u16 = {0};
  size_t n;
  const char *text = as_utf8(buf, len, &n, &u16);
  const char *hl;
  size_t hn;
  header_line(text, n, m->header_row, 1, &hl, &hn);
  conv cv = {.m = m, .file = file, .errs = errs, .nerr = nerr, .max_err = max_err, .out = out, .out_line = 1};
  walk w = {.row = conv_row, .ud = &cv, .cr = 1};
  int before = *nerr;
  walk_text(&w, file, text, n, m->header_row, find_delim(m->delim, hl, hn), errs, nerr, max_err);
  if (!cv.header_done && *nerr == before)
    add_err(errs, nerr, max_err, "%s: no header row at line %d (the map %s expects one%s)", file, m->header_row,
            m->path, m->header_row > 1 ? " after the report's title lines" : "");
  walk_free(&w);
  free(cv.act);
  free(cv.ext_col);
  free(cv.skip_col);
  free(cv.out_in);
  kbuf_free(&cv.val);
  kbuf_free(&u16);
  if (*nerr > before) {
    colmap_out_free(out);
    return KAM_EDATA;
  }
  return 0;
}

/* ---- staged for kam import ---------------------------------------------------- */

void colmap_unstage(colmap_staged *s) {
  for (int i = 0; i < s->n; i++) {
    if (s->paths && s->paths[i]) { unlink(s->paths[i]); free(s->paths[i]); }
    if (s->outs) colmap_out_free(&s->outs[i]);
  }
  if (s->dir[0]) rmdir(s->dir);
  free(s->paths);
  free(s->outs);
  memset(s, 0, sizeof *s);
}

int colmap_stage(const colmap *m, char *const *files, int nfiles, colmap_staged *s, kbuf *errs, int *nerr, kam_err *e) {
  memset(s, 0, sizeof *s);
  s->orig = files;
  s->paths = xcalloc((size_t)nfiles, sizeof *s->paths);
  s->outs = xcalloc((size_t)nfiles, sizeof *s->outs);
  const char *tmp = getenv("TMPDIR");
  snprintf(s->dir, sizeof s->dir, "%s/kam-map.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(s->dir)) {
    int rc = kam_errf(e, KAM_EINTERNAL, "import --map: cannot make a temporary folder in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
    s->dir[0] = 0;
    return rc;
  }
  for (int i = 0; i < nfiles; i++) {
    kbuf text = {0};
    s->n = i + 1;
    if (read_whole(files[i], &text, e)) { kbuf_free(&text); return e->code; }
    int rc = colmap_convert(m, files[i], (const char *)text.p, text.len, &s->outs[i], errs, nerr, 10);
    kbuf_free(&text);
    if (rc) continue; /* the next file's errors too, up to ten */
    char p[600];
    snprintf(p, sizeof p, "%s/%d.csv", s->dir, i + 1);
    s->paths[i] = xstrndup(p, strlen(p));
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(s->outs[i].csv.p, 1, s->outs[i].csv.len, f) != s->outs[i].csv.len || fclose(f)) {
      if (f) fclose(f);
      return kam_errf(e, KAM_EINTERNAL, "import --map: cannot write %s: %s", p, strerror(errno));
    }
  }
  return *nerr ? KAM_EDATA : 0; /* the errors are in errs */
}

void colmap_relocate(const colmap_staged *s, const char *msg, kbuf *out) {
  const char *p = msg;
  while (*p) {
    int hit = -1;
    size_t hl = 0;
    for (int i = 0; i < s->n && hit < 0; i++)
      if (s->paths[i] && !strncmp(p, s->paths[i], (hl = strlen(s->paths[i])))) hit = i;
    if (hit < 0) { kbuf_byte(out, (uint8_t)*p++); continue; }
    p += hl;
    kbuf_str(out, s->orig[hit]);
    long line, col;
    int k = 0;
    if (sscanf(p, ":%ld%n", &line, &k) == 1 && k > 1) {
      p += k;
      kbuf_printf(out, ":%ld", line);
      int k2 = 0;
      if (sscanf(p, ":%ld%n", &col, &k2) == 1 && k2 > 1 && p[k2] == ':') {
        p += k2;
        const colmap_out *o = &s->outs[hit];
        int src = col >= 1 && col <= o->ncols ? o->src[col - 1] : 0;
        if (src) kbuf_printf(out, ":%d", src); /* a constant of `set` has no column */
      }
    }
  }
}

/* ---- a CSV into values ------------------------------------------------------------ */

void ctable_free(ctable *t) {
  free(t->field);
  free(t->src);
  free(t->line);
  free(t->cells);
  kbuf_free(&t->store);
  memset(t, 0, sizeof *t);
}

typedef struct rd {
  ctable *t;
  const char *file;
  const int *src;      /* the map's columns; NULL: the file's own */
  int nsrc;
  kbuf *errs;
  int *nerr, max_err;
  int header_done;
  long cap;
} rd;

static int src_col(const rd *r, int i) {
  if (!r->src) return i + 1;
  return i < r->nsrc ? r->src[i] : 0;
}

static void rd_loc(kbuf *b, const rd *r, long line, int i) {
  int c = src_col(r, i);
  if (c) kbuf_printf(b, "%s:%ld:%d", r->file, line, c);
  else kbuf_printf(b, "%s:%ld", r->file, line);
}

static void rd_row(walk *w) {
  rd *r = w->ud;
  ctable *t = r->t;
  const coll_def *c = t->c;
  kbuf loc = {0};
  if (*r->nerr > r->max_err) { w->stop = 1; return; }
  if (!r->header_done) {
    r->header_done = 1;
    t->ncols = w->ncells;
    t->field = xcalloc((size_t)w->ncells, sizeof *t->field);
    t->src = xcalloc((size_t)w->ncells, sizeof *t->src);
    for (int i = 0; i < w->ncells; i++) {
      const char *h = (const char *)w->cells[i].p;
      size_t hn = w->cells[i].len;
      trim(&h, &hn);
      t->src[i] = src_col(r, i);
      int f = hn ? coll_field_n(c, h, hn) : -2;
      kbuf_reset(&loc);
      rd_loc(&loc, r, w->row_line, i);
      if (f == -1) {
        kbuf known = {0};
        for (int k = 3; k < c->nfields; k++) kbuf_printf(&known, "%s%s", k > 3 ? ", " : "", c->fields[k].name);
        add_err(r->errs, r->nerr, r->max_err, "%s: unknown field '%.*s' in %s (fields: %s)", (const char *)kbuf_cstr(&loc), (int)hn, h,
                c->name, (const char *)kbuf_cstr(&known));
        kbuf_free(&known);
      }
      for (int k = 0; k < i && f >= 0; k++)
        if (t->field[k] == f) {
          add_err(r->errs, r->nerr, r->max_err, "%s: column '%.*s' appears twice", (const char *)kbuf_cstr(&loc), (int)hn, h);
          f = -1;
        }
      t->field[i] = f;
    }
    kbuf_free(&loc);
    return;
  }
  int empty = 1;
  for (int i = 0; i < w->ncells && empty; i++) empty = !w->cells[i].len;
  if (empty) { kbuf_free(&loc); return; }
  if (t->nrows == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 64;
    t->line = realloc(t->line, sizeof *t->line * (size_t)r->cap);
    t->cells = realloc(t->cells, sizeof *t->cells * (size_t)r->cap * (size_t)(t->ncols ? t->ncols : 1));
    if (!t->line || !t->cells) abort();
  }
  ccell *row = &t->cells[t->nrows * t->ncols];
  t->line[t->nrows] = w->row_line;
  for (int i = 0; i < t->ncols; i++) {
    ccell *cc = &row[i];
    memset(cc, 0, sizeof *cc);
    cc->tag = KV_NULL;
    if (i >= w->ncells || !w->cells[i].len) continue;
    const char *s = (const char *)w->cells[i].p;
    size_t n = w->cells[i].len;
    kbuf_reset(&loc);
    rd_loc(&loc, r, w->row_line, i);
    if (t->field[i] < 0) {
      if (t->field[i] == -2) add_err(r->errs, r->nerr, r->max_err, "%s: a value in a column with no name in the header row", (const char *)kbuf_cstr(&loc));
      continue;
    }
    const field_def *fd = &c->fields[t->field[i]];
    kval v;
    char rewritten[32], why[300];
    if (fd->type == FT_LIST || fd->type == FT_MAP) v = kv_str(s, n); /* as text: nothing here reads them */
    else if (!field_from_text(fd, s, n, &v, rewritten, why, sizeof why)) {
      add_err(r->errs, r->nerr, r->max_err, "%s: %s field %s: value \"%.*s\" is not %s", (const char *)kbuf_cstr(&loc), c->name, fd->name,
              (int)(n > 80 ? 80 : n), s, why);
      continue;
    }
    cc->tag = v.tag;
    if (v.tag == KV_INT) cc->i = v.u.i;
    else if (v.tag == KV_NUM) cc->n = v.u.n;
    else if (v.tag == KV_STR) {
      cc->off = t->store.len;
      cc->len = v.u.s.len;
      kbuf_put(&t->store, v.u.s.p, v.u.s.len);
    }
  }
  for (int i = t->ncols; i < w->ncells; i++)
    if (w->cells[i].len) {
      add_err(r->errs, r->nerr, r->max_err, "%s:%ld: more cells than the header has columns (%d)", r->file, w->row_line, t->ncols);
      break;
    }
  t->nrows++;
  kbuf_free(&loc);
}

int colmap_read(ctable *t, const char *file, const colmap *m, const coll_def *c, kbuf *errs, int *nerr, int max_err, kam_err *e) {
  memset(t, 0, sizeof *t);
  if (m && c && m->into != c)
    return kam_errf(e, KAM_EDATA, "%s fills %s, not %s", m->path, m->into->name, c->name);
  t->c = m ? m->into : c;
  kbuf text = {0};
  if (read_whole(file, &text, e)) { kbuf_free(&text); return e->code; }
  colmap_out o = {0};
  const char *buf = (const char *)text.p;
  size_t len = text.len;
  int rc = 0;
  if (m) {
    rc = colmap_convert(m, file, buf, len, &o, errs, nerr, max_err);
    buf = (const char *)o.csv.p;
    len = o.csv.len;
  } else if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
    buf += 3;
    len -= 3;
  }
  if (!rc) {
    rd r = {.t = t, .file = file, .src = m ? o.src : NULL, .nsrc = o.ncols, .errs = errs, .nerr = nerr, .max_err = max_err};
    walk w = {.row = rd_row, .ud = &r};
    const char *hl;
    size_t hn;
    header_line(buf ? buf : "", len, 1, 0, &hl, &hn);
    walk_text(&w, file, buf ? buf : "", len, 1, m ? ',' : find_delim(0, hl, hn), errs, nerr, max_err);
    walk_free(&w);
    if (!r.header_done && !*nerr) add_err(errs, nerr, max_err, "%s: empty file (a header row is expected)", file);
    if (*nerr) rc = KAM_EDATA;
  }
  colmap_out_free(&o);
  kbuf_free(&text);
  if (rc) ctable_free(t);
  return rc;
}
