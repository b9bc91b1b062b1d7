/* cron.c — cron expressions (cron.h): the parser, the search for the next
 * time, and the zones it runs in.
 *
 * Zones are read from the TZif files of /usr/share/zoneinfo, not through the
 * C library's TZ variable: setenv + tzset changes the whole process, reloads
 * the file at each switch, and mktime resolves a time in a spring-forward
 * gap by its own rules. A TZif file gives the transitions themselves (and a
 * POSIX TZ rule for the years after the last one), which is what the search
 * wants: stretches of time with one UTC offset. In each stretch the wall
 * clock runs evenly, so the next matching local minute is found by calendar
 * arithmetic on the wall clock, stepping over whole months, days and hours. */
#include "cron.h"
#include "kdate.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define ZONEINFO "/usr/share/zoneinfo/"
#define HORIZON ((int64_t)1827 * 86400) /* 5 years, two of them leap */
/* `after` in years 1..9000: the calendar arithmetic stays far from overflow */
#define T_MIN ((int64_t)-62135596800)
#define T_MAX ((int64_t)221845392000)

/* ---- parsing ------------------------------------------------------------ */

static const char *const MONTHS[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const DAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const DAY_NAMES[] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

typedef struct field_spec {
  const char *name;
  int lo, hi;
  const char *const *names; /* 3-letter names of the values from `base` on */
  int nnames, base;
  const char *hint;         /* what a value looks like, for messages */
} field_spec;

static const field_spec FIELDS[5] = {
    {"minute", 0, 59, NULL, 0, 0, "0-59"},
    {"hour", 0, 23, NULL, 0, 0, "0-23"},
    {"day-of-month", 1, 31, NULL, 0, 0, "1-31"},
    {"month", 1, 12, MONTHS, 12, 1, "1-12 or jan-dec"},
    {"day-of-week", 0, 7, DAYS, 7, 0, "0-7 or sun-sat; 0 and 7 are Sunday"},
};

static int perr(kam_err *e, const kam_cron *c, const field_spec *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(kam_err *e, const kam_cron *c, const field_spec *f, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (f) return kam_errf(e, KAM_EDATA, "cron \"%s\": %s field: %s", c->text, f->name, what);
  return kam_errf(e, KAM_EDATA, "cron \"%s\": %s", c->text, what);
}

/* A number or a name at *p (a run of letters and digits, as cron reads it). */
static int parse_value(const kam_cron *c, const field_spec *f, const char **p, const char *end,
                       const char *item, int ilen, int *v, kam_err *e) {
  const char *s = *p;
  while (*p < end && isalnum((unsigned char)**p)) (*p)++;
  int n = (int)(*p - s), digits = 1;
  for (int i = 0; i < n; i++) digits &= isdigit((unsigned char)s[i]) != 0;
  if (n == 0) {
    if (*p < end) return perr(e, c, f, "%.*s: unexpected '%c' (values are %s)", ilen, item, **p, f->hint);
    return perr(e, c, f, "%.*s: a value is missing (%s)", ilen, item, f->hint);
  }
  if (digits) {
    int x = 0;
    for (int i = 0; i < n && x <= 99999; i++) x = x * 10 + (s[i] - '0');
    if (x < f->lo || x > f->hi) return perr(e, c, f, "%.*s: out of range %d-%d", n, s, f->lo, f->hi);
    *v = x;
    return 0;
  }
  for (int i = 0; n == 3 && i < f->nnames; i++)
    if (!strncasecmp(s, f->names[i], 3)) { *v = f->base + i; return 0; }
  return perr(e, c, f, "%.*s: not a value (%s)", n, s, f->hint);
}

/* One field: a list of `*`, a, a-b, each of the two last but a with /step. */
static int parse_field(const kam_cron *c, const field_spec *f, const char *s, size_t len, uint64_t *bits,
                       kam_err *e) {
  const char *p = s, *end = s + len;
  *bits = 0;
  for (;;) {
    const char *item = p;
    int ilen = 0;
    while (item + ilen < end && item[ilen] != ',') ilen++;
    if (ilen == 0) return perr(e, c, f, "%.*s: an empty item in the list", (int)len, s);
    int a, b, step = 1, ranged = 1;
    if (*p == '*') {
      a = f->lo, b = f->hi;
      p++;
    } else {
      if (parse_value(c, f, &p, end, item, ilen, &a, e)) return KAM_EDATA;
      b = a;
      ranged = 0;
      if (p < end && *p == '-') {
        p++;
        if (parse_value(c, f, &p, end, item, ilen, &b, e)) return KAM_EDATA;
        if (a > b)
          return perr(e, c, f, "%.*s: the range runs backwards (%d > %d)%s", ilen, item, a, b,
                      f->names == DAYS && b == 0 ? "; Sunday at the end of a range is 7" : "");
        ranged = 1;
      }
    }
    if (p < end && *p == '/') {
      /* cron takes a step only after a range or `*`: "5/15" is an error there */
      if (!ranged) return perr(e, c, f, "%.*s: a step needs a range or * (%d-%d/N)", ilen, item, a, f->hi);
      p++;
      const char *d = p;
      step = 0;
      for (; p < end && isdigit((unsigned char)*p); p++)
        if (step <= 99999) step = step * 10 + (*p - '0');
      int count = f->hi - f->lo + 1;
      if (p == d) return perr(e, c, f, "%.*s: a step is a number after /", ilen, item);
      if (step == 0) return perr(e, c, f, "%.*s: step 0 (a step is 1 or more)", ilen, item);
      if (step > count) return perr(e, c, f, "%.*s: the step is more than the field's %d values", ilen, item, count);
    }
    if (p < end && *p != ',') return perr(e, c, f, "%.*s: unexpected '%c'", ilen, item, *p);
    for (int i = a; i <= b; i += step) *bits |= (uint64_t)1 << i;
    if (p == end) return 0;
    p++; /* the comma */
    if (p == end) return perr(e, c, f, "%.*s: an empty item in the list", (int)len, s);
  }
}

static const struct { const char *name, *expr; } MACROS[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"}};

/* Appends to b (size n) at *k, cutting at the end. */
static void cat(char *b, size_t n, size_t *k, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void cat(char *b, size_t n, size_t *k, const char *fmt, ...) {
  if (*k >= n) return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(b + *k, n - *k, fmt, ap);
  va_end(ap);
  if (w > 0) *k += (size_t)w;
}

/* A restricted day-of-month with `*` day-of-week: some allowed month must
 * have an allowed day (February counts 29). */
static int check_fires(const kam_cron *c, kam_err *e) {
  static const int most[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (c->dom_star || !c->dow_star) return 0;
  for (int m = 1; m <= 12; m++)
    if ((c->month >> m & 1) && (c->dom & (((uint32_t)2 << most[m - 1]) - 2))) return 0;
  char months[96] = "", days[160] = "";
  size_t km = 0, kd = 0;
  int nm = __builtin_popcount(c->month), nd = __builtin_popcount(c->dom), i = 0;
  for (int m = 1; m <= 12; m++)
    if (c->month >> m & 1) i++, cat(months, sizeof months, &km, "%s%s", i == 1 ? "" : i == nm ? " and " : ", ", MONTHS[m - 1]);
  i = 0;
  for (int d = 1; d <= 31; d++)
    if (c->dom >> d & 1) i++, cat(days, sizeof days, &kd, "%s%d", i == 1 ? "" : i == nd ? " or " : ", ", d);
  return perr(e, c, NULL, "never fires: %s %s no day %s", months, nm == 1 ? "has" : "have", days);
}

int cron_parse(kam_cron *c, const char *expr, kam_err *e) {
  memset(c, 0, sizeof *c);
  if (!expr) expr = "";
  while (isspace((unsigned char)*expr)) expr++;
  size_t len = strlen(expr);
  while (len && isspace((unsigned char)expr[len - 1])) len--;
  if (len >= sizeof c->text)
    return kam_errf(e, KAM_EDATA, "cron \"%.40s...\": longer than %zu characters", expr, sizeof c->text - 1);
  memcpy(c->text, expr, len);
  c->text[len] = 0;
  const char *text = c->text;
  if (text[0] == '@') {
    if (!strcmp(text, "@reboot")) return perr(e, c, NULL, "@reboot is not supported: kam has no boot to run at");
    text = NULL;
    for (size_t i = 0; i < sizeof MACROS / sizeof MACROS[0]; i++)
      if (!strcmp(c->text, MACROS[i].name)) text = MACROS[i].expr;
    if (!text)
      return perr(e, c, NULL, "unknown macro (one of @yearly @annually @monthly @weekly @daily @midnight @hourly, "
                              "alone on the line)");
  }
  const char *f[6];
  size_t fl[6];
  int n = 0;
  for (const char *p = text; *p;) {
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) break;
    const char *s = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (n < 6) f[n] = s, fl[n] = (size_t)(p - s);
    n++;
  }
  if (n != 5)
    return perr(e, c, NULL, "%d field%s, expected 5 (minute hour day-of-month month day-of-week) or a macro "
                            "like @daily", n, n == 1 ? "" : "s");
  uint64_t bits[5];
  for (int i = 0; i < 5; i++)
    if (parse_field(c, &FIELDS[i], f[i], fl[i], &bits[i], e)) return KAM_EDATA;
  c->minute = bits[0];
  c->hour = (uint32_t)bits[1];
  c->dom = (uint32_t)bits[2];
  c->month = (uint16_t)bits[3];
  c->dow = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday too */
  /* as Vixie cron: a field that begins with '*' counts as `*` for the
   * either-day rule, "*" and "*\/2" alike */
  c->dom_star = f[2][0] == '*';
  c->dow_star = f[4][0] == '*';
  return check_fires(c, e);
}

/* "1st, 15th or 20th-25th": runs of three or more as a range */
static void list_days(char *out, size_t n, uint32_t set, int lo, int hi, int names) {
  int runs[32][2], nr = 0;
  if (n) out[0] = 0;
  for (int d = lo; d <= hi; d++) {
    if (!(set >> d & 1)) continue;
    if (nr && runs[nr - 1][1] == d - 1) runs[nr - 1][1] = d;
    else runs[nr][0] = runs[nr][1] = d, nr++;
  }
  size_t k = 0;
  int items = 0, total = 0;
  for (int r = 0; r < nr; r++) total += runs[r][1] - runs[r][0] >= 2 ? 1 : runs[r][1] - runs[r][0] + 1;
  for (int r = 0; r < nr; r++) {
    int a = runs[r][0], b = runs[r][1];
    for (int d = a; d <= b; d++) {
      int range = b - a >= 2;
      char one[40];
      if (names) {
        if (range) snprintf(one, sizeof one, "%s-%s", DAY_NAMES[a], DAY_NAMES[b]);
        else snprintf(one, sizeof one, "%s", DAY_NAMES[d]);
      } else {
        const char *suf[] = {"th", "st", "nd", "rd"};
#define SUF(x) suf[((x) % 10 < 4 && ((x) < 11 || (x) > 13)) ? (x) % 10 : 0]
        if (range) snprintf(one, sizeof one, "%d%s-%d%s", a, SUF(a), b, SUF(b));
        else snprintf(one, sizeof one, "%d%s", d, SUF(d));
#undef SUF
      }
      items++;
      cat(out, n, &k, "%s%s", items == 1 ? "" : items == total ? " or " : ", ", one);
      if (range) break;
    }
  }
}

int cron_either_day(const kam_cron *c, char *msg, size_t n) {
  if (n) msg[0] = 0;
  if (c->dom_star || c->dow_star) return 0;
  char doms[256], dows[128];
  list_days(doms, sizeof doms, c->dom, 1, 31, 0);
  list_days(dows, sizeof dows, c->dow, 0, 6, 1);
  if (n) snprintf(msg, n, "%s or every %s — did you mean %s the %s?", doms, dows, dows, doms);
  return 1;
}

/* ---- zones -------------------------------------------------------------- */

typedef struct tz_rule {
  char kind;     /* 'M': month, week, day; 'J': 1-365 without Feb 29; 'N': 0-365 */
  int m, w, d;   /* for 'J' and 'N', the day in d */
  int32_t time;  /* seconds after local midnight, in the offset before the change */
} tz_rule;

typedef struct tz_zone {
  char name[200];
  int n;           /* transitions: at[i] starts offset off[i] */
  int64_t *at;
  int32_t *off;
  int32_t off0;    /* before the first transition */
  int rules;       /* after the last transition: daylight saving by start/end */
  int32_t std, dst;
  tz_rule start, end;
} tz_zone;

static tz_zone utc_zone = {"UTC", 0, NULL, NULL, 0, 0, 0, 0, {0}, {0}};

static int64_t fdiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
static int weekday(int64_t day) { return (int)(((day + 4) % 7 + 7) % 7); } /* 1970-01-01: Thursday */

/* POSIX TZ strings (the footer of a TZif file), e.g. "CET-1CEST,M3.5.0,M10.5.0/3" */
static int tzs_name(const char **p) {
  if (**p == '<') {
    const char *q = strchr(*p, '>');
    if (!q) return 0;
    *p = q + 1;
    return 1;
  }
  int n = 0;
  while (isalpha((unsigned char)**p)) (*p)++, n++;
  return n >= 3;
}

static int tzs_num(const char **p, int max, int *v) {
  int x = 0, n = 0;
  while (isdigit((unsigned char)**p) && n < 3) x = x * 10 + (*(*p)++ - '0'), n++;
  if (!n || x > max) return 0;
  *v = x;
  return 1;
}

static int tzs_hms(const char **p, int maxh, int32_t *out) {
  int sign = 1, h, m = 0, s = 0;
  if (**p == '+' || **p == '-') sign = *(*p)++ == '-' ? -1 : 1;
  if (!tzs_num(p, maxh, &h)) return 0;
  if (**p == ':' && ((*p)++, !tzs_num(p, 59, &m))) return 0;
  if (**p == ':' && ((*p)++, !tzs_num(p, 59, &s))) return 0;
  *out = sign * (h * 3600 + m * 60 + s);
  return 1;
}

static int tzs_rule(const char **p, tz_rule *r) {
  memset(r, 0, sizeof *r);
  if (**p == 'M') {
    (*p)++;
    r->kind = 'M';
    if (!tzs_num(p, 12, &r->m) || r->m < 1 || *(*p)++ != '.' || !tzs_num(p, 5, &r->w) || r->w < 1 ||
        *(*p)++ != '.' || !tzs_num(p, 6, &r->d))
      return 0;
  } else if (**p == 'J') {
    (*p)++;
    r->kind = 'J';
    if (!tzs_num(p, 365, &r->d) || r->d < 1) return 0;
  } else {
    r->kind = 'N';
    if (!tzs_num(p, 365, &r->d)) return 0;
  }
  r->time = 7200;
  if (**p == '/') {
    (*p)++;
    if (!tzs_hms(p, 167, &r->time)) return 0;
  }
  return 1;
}

static int tz_footer(tz_zone *z, const char *s) {
  const char *p = s;
  int32_t o;
  if (!tzs_name(&p) || !tzs_hms(&p, 24, &o)) return 0;
  z->std = z->dst = -o; /* POSIX counts west of Greenwich */
  if (!*p) return 1;
  if (!tzs_name(&p)) return 0;
  z->dst = z->std + 3600;
  if (*p && *p != ',') {
    if (!tzs_hms(&p, 24, &o)) return 0;
    z->dst = -o;
  }
  if (*p == ',') {
    p++;
    if (!tzs_rule(&p, &z->start) || *p++ != ',' || !tzs_rule(&p, &z->end) || *p) return 0;
  } else if (!*p) { /* no rule given: the US one, as glibc does */
    const char *us = "M3.2.0,M11.1.0", *q = us;
    tzs_rule(&q, &z->start);
    q++;
    tzs_rule(&q, &z->end);
  } else {
    return 0;
  }
  z->rules = z->std != z->dst;
  return 1;
}

/* The instant a rule changes the offset in year y, given the offset before. */
static int64_t rule_at(const tz_rule *r, int y, int32_t before) {
  int64_t day;
  if (r->kind == 'M') {
    int64_t first = days_from_civil(y, r->m, 1);
    day = first + (r->d - weekday(first) + 7) % 7 + 7 * (r->w - 1);
    while (day - first >= days_in_month(y, r->m)) day -= 7; /* week 5: the last */
  } else if (r->kind == 'J') {
    day = days_from_civil(y, 1, 1) + r->d - 1 + (r->d >= 60 && days_in_month(y, 2) == 29);
  } else {
    day = days_from_civil(y, 1, 1) + r->d;
  }
  return day * 86400 + r->time - before;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A TZif file (RFC 8536): the 64-bit data of version 2 and later, else the
 * 32-bit data. 0 ok, 1 not TZif, 2 with leap seconds (right/...: its times
 * are not Unix times). */
static int tzif_parse(tz_zone *z, const unsigned char *b, size_t len) {
  if (len < 44 || memcmp(b, "TZif", 4)) return 1;
  const unsigned char *p = b, *end = b + len;
  size_t tsize = 4;
  for (int pass = 0;; pass++) {
    if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4)) return 1;
    uint32_t isut = be32(p + 20), isstd = be32(p + 24), leap = be32(p + 28), timecnt = be32(p + 32),
             typecnt = be32(p + 36), charcnt = be32(p + 40);
    if (timecnt > 100000 || typecnt > 256 || typecnt == 0 || charcnt > 65536 || leap > 100000 || isut > 256 ||
        isstd > 256)
      return 1;
    size_t need = timecnt * tsize + timecnt + typecnt * 6 + charcnt + leap * (tsize + 4) + isstd + isut;
    p += 44;
    if ((size_t)(end - p) < need) return 1;
    if (pass == 0 && b[4] >= '2') { /* skip the 32-bit data */
      p += need;
      tsize = 8;
      continue;
    }
    if (leap) return 2;
    const unsigned char *times = p, *idx = p + timecnt * tsize, *types = idx + timecnt;
    int32_t toff[256];
    for (uint32_t i = 0; i < typecnt; i++) {
      toff[i] = (int32_t)be32(types + 6 * i);
      if (toff[i] < -89999 || toff[i] > 93599) return 1;
    }
    z->n = (int)timecnt;
    z->at = malloc((timecnt ? timecnt : 1) * sizeof *z->at);
    z->off = malloc((timecnt ? timecnt : 1) * sizeof *z->off);
    if (!z->at || !z->off) return 1;
    for (uint32_t i = 0; i < timecnt; i++) {
      const unsigned char *q = times + i * tsize;
      z->at[i] = tsize == 8 ? (int64_t)((uint64_t)be32(q) << 32 | be32(q + 4)) : (int64_t)(int32_t)be32(q);
      if (idx[i] >= typecnt || (i && z->at[i] <= z->at[i - 1])) return 1;
      z->off[i] = toff[idx[i]];
    }
    z->off0 = toff[0];
    z->std = z->dst = timecnt ? z->off[timecnt - 1] : z->off0;
    p += need;
    /* the footer "\nTZ\n"; a zone without one keeps its last offset */
    if (tsize == 8 && p < end && *p == '\n') {
      const unsigned char *q = memchr(p + 1, '\n', (size_t)(end - p - 1));
      char tzs[128];
      if (q && (size_t)(q - p - 1) < sizeof tzs && q > p + 1) {
        memcpy(tzs, p + 1, (size_t)(q - p - 1));
        tzs[q - p - 1] = 0;
        tz_zone t = *z;
        if (tz_footer(&t, tzs)) *z = t;
      }
    }
    return 0;
  }
}

static void zone_free(tz_zone *z) {
  if (!z) return;
  free(z->at);
  free(z->off);
  free(z);
}

static int no_zone(kam_err *e, const char *tz) {
  return kam_errf(e, KAM_EDATA, "timezone %s: no such zone (IANA names like Asia/Ho_Chi_Minh)", tz);
}

/* The zone named tz, from a small cache: cron_next is called in loops. */
static int zone_get(const char *tz, const tz_zone **out, kam_err *e) {
  static tz_zone *cache[16];
  static int next;
  if (!tz || !strcmp(tz, "UTC")) { *out = &utc_zone; return 0; }
  for (int i = 0; i < 16; i++)
    if (cache[i] && !strcmp(cache[i]->name, tz)) { *out = cache[i]; return 0; }
  size_t n = strlen(tz);
  if (!n || n >= sizeof utc_zone.name || tz[0] == '/' || strstr(tz, "..")) return no_zone(e, tz);
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)tz[i]) && !strchr("/_+-.", tz[i])) return no_zone(e, tz);
  char path[sizeof ZONEINFO + sizeof utc_zone.name];
  snprintf(path, sizeof path, ZONEINFO "%s", tz);
  struct stat sb;
  if (stat(path, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > (1 << 20)) return no_zone(e, tz);
  FILE *fp = fopen(path, "rb");
  if (!fp) return no_zone(e, tz);
  unsigned char *buf = malloc((size_t)sb.st_size + 1);
  size_t len = buf ? fread(buf, 1, (size_t)sb.st_size, fp) : 0;
  fclose(fp);
  tz_zone *z = calloc(1, sizeof *z);
  int rc = buf && z ? tzif_parse(z, buf, len) : 1;
  free(buf);
  if (rc) {
    zone_free(z);
    if (rc == 2)
      return kam_errf(e, KAM_EDATA, "timezone %s: a zone with leap seconds; use the name without right/", tz);
    return no_zone(e, tz);
  }
  snprintf(z->name, sizeof z->name, "%s", tz);
  zone_free(cache[next]);
  cache[next] = z;
  next = (next + 1) % 16;
  *out = z;
  return 0;
}

/* The stretch [*s, *e) around t with one offset *off (INT64_MIN / INT64_MAX
 * when unbounded), and the offset *prev just before it. */
static void zone_span(const tz_zone *z, int64_t t, int64_t *s, int64_t *e, int32_t *off, int32_t *prev) {
  int lo = 0, hi = z->n; /* the first transition after t */
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (z->at[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  int i = lo - 1; /* the last transition at or before t, -1 if none */
  *s = i >= 0 ? z->at[i] : INT64_MIN;
  *off = i >= 0 ? z->off[i] : z->off0;
  *prev = i >= 1 ? z->off[i - 1] : z->off0;
  *e = lo < z->n ? z->at[lo] : INT64_MAX;
  if (lo < z->n || !z->rules) return;
  /* after the last transition: the rule's changes in the years around t */
  int y, m, d;
  civil_from_days(fdiv(t, 86400), &y, &m, &d);
  int64_t ts[6];
  int32_t to[6];
  int k = 0;
  for (int yy = y - 1; yy <= y + 1; yy++) {
    ts[k] = rule_at(&z->start, yy, z->std), to[k++] = z->dst;
    ts[k] = rule_at(&z->end, yy, z->dst), to[k++] = z->std;
  }
  for (int a = 1; a < k; a++) /* southern zones end before they start */
    for (int b = a; b > 0 && ts[b] < ts[b - 1]; b--) {
      int64_t x = ts[b]; ts[b] = ts[b - 1]; ts[b - 1] = x;
      int32_t o = to[b]; to[b] = to[b - 1]; to[b - 1] = o;
    }
  if (i < 0) *off = *prev = to[0] == z->dst ? z->std : z->dst;
  for (int j = 0; j < k; j++) {
    if ((i >= 0 && ts[j] <= z->at[i]) || to[j] == *off) continue;
    if (ts[j] > t) { *e = ts[j]; break; }
    *prev = *off, *off = to[j], *s = ts[j];
  }
}

int cron_zone_check(const char *tz, kam_err *e) {
  const tz_zone *z;
  return zone_get(tz, &z, e);
}

/* ---- the search ------------------------------------------------------------ */

static int day_ok(const kam_cron *c, int d, int wd) {
  int dm = c->dom >> d & 1, wm = c->dow >> wd & 1;
  return c->dom_star || c->dow_star ? dm && wm : dm || wm;
}

/* The first wall-clock minute in [lo, hi) that c matches (wall-clock
 * seconds: the local date and time counted as if they were UTC). */
static int find_local(const kam_cron *c, int64_t lo, int64_t hi, int64_t *out) {
  int64_t L = fdiv(lo + 59, 60) * 60, day = fdiv(L, 86400);
  int sec = (int)(L - day * 86400), h = sec / 3600, m = sec % 3600 / 60, y, mo, d;
  civil_from_days(day, &y, &mo, &d);
  int dim = days_in_month(y, mo), wd = weekday(day);
  while (day * 86400 < hi) {
    if (!(c->month >> mo & 1)) { /* to the 1st of the next month */
      day += dim - d + 1;
      wd = (wd + dim - d + 1) % 7;
      if (++mo > 12) mo = 1, y++;
      d = 1, dim = days_in_month(y, mo), h = m = 0;
      continue;
    }
    if (day_ok(c, d, wd))
      for (int hh = h; hh < 24; hh++) {
        if (!(c->hour >> hh & 1)) continue;
        int m0 = hh == h ? m : 0;
        uint64_t ms = c->minute >> m0;
        if (!ms) continue;
        int64_t t = day * 86400 + hh * 3600 + (m0 + __builtin_ctzll(ms)) * 60;
        if (t >= hi) return 0;
        *out = t;
        return 1;
      }
    day++, wd = (wd + 1) % 7, h = m = 0;
    if (++d > dim) {
      d = 1;
      if (++mo > 12) mo = 1, y++;
      dim = days_in_month(y, mo);
    }
  }
  return 0;
}

int cron_next(const kam_cron *c, const char *tz, int64_t after, int64_t *next, kam_err *e) {
  const tz_zone *z;
  if (zone_get(tz, &z, e)) return KAM_EDATA;
  if (after < T_MIN || after > T_MAX)
    return kam_errf(e, KAM_EDATA, "cron \"%s\": time %lld out of range (years 1-9000)", c->text, (long long)after);
  int64_t t = after + 1, limit = after + HORIZON;
  /* one stretch of constant offset per round: a few per year */
  while (t <= limit) {
    int64_t s, en;
    int32_t off, prev;
    zone_span(z, t, &s, &en, &off, &prev);
    int64_t lb = t + off;
    if (s != INT64_MIN) {
      /* From the start of a stretch, look from the previous stretch's wall
       * clock at its end: after a spring-forward that takes in the skipped
       * times (they fire at s), after a fall-back it passes over the times
       * already seen once. */
      int64_t b = s + prev;
      if (t == s || b > lb) lb = b;
    }
    int64_t stop = en <= limit ? en : limit + 1, L;
    if (find_local(c, lb, stop + off, &L)) {
      *next = L - off < s ? s : L - off;
      return 0;
    }
    if (en > limit) break;
    t = en;
  }
  char when[40];
  cron_local(NULL, after, when, sizeof when);
  return kam_errf(e, KAM_EDATA, "cron \"%s\": does not fire in the 5 years after %.16s UTC", c->text, when);
}

void cron_local(const char *tz, int64_t t, char *out, size_t n) {
  const tz_zone *z;
  if (zone_get(tz, &z, NULL)) z = &utc_zone;
  if (t < T_MIN) t = T_MIN;
  if (t > T_MAX) t = T_MAX;
  int64_t s, en;
  int32_t off, prev;
  zone_span(z, t, &s, &en, &off, &prev);
  int64_t L = t + off, day = fdiv(L, 86400);
  int sec = (int)(L - day * 86400), y, m, d, a = off < 0 ? -off : off;
  civil_from_days(day, &y, &m, &d);
  char zs[16];
  if (a % 60) snprintf(zs, sizeof zs, "%c%02d:%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60, a % 60);
  else snprintf(zs, sizeof zs, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
  snprintf(out, n, "%04d-%02d-%02d %02d:%02d %s", y, m, d, sec / 3600, sec / 60 % 60, zs);
}
