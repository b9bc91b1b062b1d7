/* kdate.c — see kdate.h. Day arithmetic after H. Hinnant's civil algorithms. */
#include "kdate.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int utc_offset = 7 * 3600;

void date_set_utc_offset(int seconds) { utc_offset = seconds; }

int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yy + (*m <= 2));
}

int days_in_month(int y, int m) {
  static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dm[m - 1];
}

static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int date_parse(const char *s, size_t n, int *y, int *m, int *d) {
  if (n != 10 || s[4] != '-' || s[7] != '-') return 0;
  int yy = digits(s, 4), mm = digits(s + 5, 2), dd = digits(s + 8, 2);
  if (yy < 1 || mm < 1 || mm > 12 || dd < 1 || dd > days_in_month(yy, mm)) return 0;
  *y = yy; *m = mm; *d = dd;
  return 1;
}

/* The texts of the days, made a block of 1024 days at a time on first use
 * and published with a compare-and-swap (a loser frees its copy). */
_Atomic(char *) kdate_day_blocks[DAY_BLOCKS];

const char *date_text_of_day_slow(int64_t z) {
  if (z < DAY_FIRST || z > DAY_LAST) return NULL;
  int64_t at = z - DAY_FIRST;
  _Atomic(char *) *slot = &kdate_day_blocks[at / DAY_BLOCK];
  char *b = atomic_load_explicit(slot, memory_order_acquire);
  if (!b) {
    char *fresh = malloc(DAY_BLOCK * 11);
    if (!fresh) abort();
    int64_t first = z - at % DAY_BLOCK;
    for (int i = 0; i < DAY_BLOCK; i++) {
      int y, m, d;
      civil_from_days(first + i, &y, &m, &d);
      date_format(fresh + i * 11, y, m, d);
    }
    if (atomic_compare_exchange_strong_explicit(slot, &b, fresh, memory_order_acq_rel, memory_order_acquire)) b = fresh;
    else free(fresh);
  }
  return b + (at % DAY_BLOCK) * 11;
}

int datetime_valid(const char *s, size_t n) {
  int y, m, d;
  if (n < 10 || !date_parse(s, 10, &y, &m, &d)) return 0;
  if (n == 10) return 1;
  if (n < 16 || (s[10] != 'T' && s[10] != ' ')) return 0;
  int hh = digits(s + 11, 2), mi = digits(s + 14, 2);
  if (s[13] != ':' || hh < 0 || hh > 23 || mi < 0 || mi > 59) return 0;
  size_t i = 16;
  if (i < n && s[i] == ':') {
    if (n < 19) return 0;
    int ss = digits(s + 17, 2);
    if (ss < 0 || ss > 60) return 0;
    i = 19;
    if (i < n && s[i] == '.') { i++; while (i < n && s[i] >= '0' && s[i] <= '9') i++; }
  }
  if (i == n) return 1;
  if (s[i] == 'Z') return i + 1 == n;
  if ((s[i] == '+' || s[i] == '-') && n - i == 6 && s[i + 3] == ':')
    return digits(s + i + 1, 2) >= 0 && digits(s + i + 4, 2) >= 0;
  return 0;
}

void date_format(char *out, int y, int m, int d) {
  unsigned uy = (unsigned)y % 10000, um = (unsigned)m % 100, ud = (unsigned)d % 100;
  out[0] = (char)('0' + uy / 1000); out[1] = (char)('0' + uy / 100 % 10);
  out[2] = (char)('0' + uy / 10 % 10); out[3] = (char)('0' + uy % 10); out[4] = '-';
  out[5] = (char)('0' + um / 10); out[6] = (char)('0' + um % 10); out[7] = '-';
  out[8] = (char)('0' + ud / 10); out[9] = (char)('0' + ud % 10); out[10] = 0;
}

int instant_parse(const char *s, int64_t *out) {
  if (!s) return 0;
  if (s[0] == '@') {
    char *end;
    long long v = strtoll(s + 1, &end, 10);
    if (end == s + 1 || *end || v < 0 || v > 253402300799LL) return 0;
    *out = v;
    return 1;
  }
  int y, mo, d, hh, mi, ss = 0, n = 0;
  char sep;
  if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &hh, &mi, &n) != 6 || (sep != 'T' && sep != ' ')) return 0;
  const char *p = s + n;
  if (*p == ':') {
    int k = 0;
    if (sscanf(p, ":%2d%n", &ss, &k) != 1) return 0;
    p += k;
  }
  char ds[11];
  snprintf(ds, sizeof ds, "%04d-%02d-%02d", y, mo, d);
  if (!date_parse(ds, 10, &y, &mo, &d) || hh > 23 || mi > 59 || ss > 59 || hh < 0 || mi < 0 || ss < 0) return 0;
  int off = utc_offset; /* no zone written: the book's */
  if (*p == 'Z' && !p[1]) off = 0;
  else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
    int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
    if (oh > 14 || om > 59) return 0;
    off = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  } else if (*p) return 0;
  *out = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - off;
  return 1;
}

int64_t kam_clock(void) {
  int64_t t;
  const char *pin = getenv("KAM_NOW");
  if (pin && instant_parse(pin, &t)) return t;
  return (int64_t)time(NULL);
}

void date_today(char out[11]) {
  const char *pin = getenv("KAM_TODAY");
  int y, m, d;
  if (pin && date_parse(pin, strlen(pin), &y, &m, &d)) { date_format(out, y, m, d); return; }
  time_t t = (time_t)kam_clock() + utc_offset;
  civil_from_days((int64_t)(t / 86400), &y, &m, &d);
  date_format(out, y, m, d);
}

void datetime_now(char out[40]) {
  time_t t = (time_t)kam_clock() + utc_offset;
  int y, m, d;
  civil_from_days((int64_t)(t / 86400), &y, &m, &d);
  long s = (long)(t % 86400);
  int oh = utc_offset / 3600, om = (abs(utc_offset) % 3600) / 60;
  snprintf(out, 40, "%04d-%02d-%02dT%02ld:%02ld:%02ld%c%02d:%02d", y, m, d, s / 3600,
           (s / 60) % 60, s % 60, utc_offset < 0 ? '-' : '+', abs(oh), om);
}

void date_add_months(char out[11], const char *date, int months) {
  int y, m, d;
  if (!date_parse(date, strlen(date), &y, &m, &d)) { out[0] = 0; return; }
  int total = y * 12 + (m - 1) + months;
  y = total / 12;
  m = total % 12 + 1;
  if (d > days_in_month(y, m)) d = days_in_month(y, m);
  date_format(out, y, m, d);
}
