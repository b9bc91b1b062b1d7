/* Unit tests for core/cron.c: parsing and its messages, the day rules, and
 * the next times across daylight-saving changes. Instants are written as
 * UTC "YYYY-MM-DD HH:MM" and checked exactly. `cron_tests NAME` runs one
 * test and exits non-zero on failure. Needs the tz database (tzdata). */
#include "unit.h"
#include "cron.h"
#include "kdate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* "YYYY-MM-DD HH:MM" in UTC as Unix seconds */
static int64_t U(const char *s) {
  int y, mo, d, h, mi;
  if (sscanf(s, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi) != 5) { fprintf(stderr, "bad time %s\n", s); abort(); }
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static void utc_text(int64_t t, char out[32]) {
  int y, m, d;
  int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  civil_from_days(day, &y, &m, &d);
  int s = (int)(t - day * 86400);
  snprintf(out, 32, "%04d-%02d-%02d %02d:%02d", y, m, d, s / 3600, s / 60 % 60);
}

/* expr in tz fires at want[0], want[1], ... (UTC) after `from` */
#define SEQ(expr, tz, from, ...) seq(__LINE__, expr, tz, from, (const char *[]){__VA_ARGS__, NULL})
static void seq(int line, const char *expr, const char *tz, const char *from, const char **want) {
  kam_cron c;
  kam_err e;
  if (cron_parse(&c, expr, &e)) { fprintf(stderr, "%d: %s: %s\n", line, expr, e.msg); failures++; return; }
  int64_t t = U(from);
  for (int i = 0; want[i]; i++) {
    int64_t next = 0;
    char got[32];
    if (cron_next(&c, tz, t, &next, &e)) {
      fprintf(stderr, "%d: \"%s\" in %s after %s: %s\n", line, expr, tz ? tz : "UTC", from, e.msg);
      failures++;
      return;
    }
    utc_text(next, got);
    if (next != U(want[i])) {
      fprintf(stderr, "%d: \"%s\" in %s, time %d after %s: got %s, want %s\n", line, expr, tz ? tz : "UTC", i + 1,
              from, got, want[i]);
      failures++;
      return;
    }
    t = next;
  }
}

/* expr is refused with a message containing each of the parts */
#define BAD(expr, ...) bad(__LINE__, expr, (const char *[]){__VA_ARGS__, NULL})
static void bad(int line, const char *expr, const char **parts) {
  kam_cron c;
  kam_err e = {0, ""};
  int rc = cron_parse(&c, expr, &e);
  if (rc != KAM_EDATA) { fprintf(stderr, "%d: \"%s\": accepted (rc %d)\n", line, expr, rc); failures++; return; }
  for (int i = 0; parts[i]; i++)
    if (!strstr(e.msg, parts[i])) {
      fprintf(stderr, "%d: \"%s\": message \"%s\" lacks \"%s\"\n", line, expr, e.msg, parts[i]);
      failures++;
    }
}

static int parses(const char *expr, kam_cron *c) {
  kam_err e;
  int rc = cron_parse(c, expr, &e);
  if (rc) fprintf(stderr, "\"%s\": %s\n", expr, e.msg);
  return rc == 0;
}

static int same(const kam_cron *a, const kam_cron *b) {
  return a->minute == b->minute && a->hour == b->hour && a->dom == b->dom && a->month == b->month &&
         a->dow == b->dow && a->dom_star == b->dom_star && a->dow_star == b->dow_star;
}

static void t_cron_parse_errors(void) {
  BAD("", "0 fields, expected 5");
  BAD("* * * *", "\"* * * *\"", "4 fields, expected 5 (minute hour day-of-month month day-of-week)");
  BAD("* * * * * *", "6 fields");
  BAD("60 * * * *", "minute field: 60: out of range 0-59");
  BAD("* 24 * * *", "hour field: 24: out of range 0-23");
  BAD("* * 0 * *", "day-of-month field: 0: out of range 1-31");
  BAD("* * 32 * *", "day-of-month field: 32: out of range 1-31");
  BAD("* * * 13 *", "month field: 13: out of range 1-12");
  BAD("* * * 0 *", "month field: 0: out of range 1-12");
  BAD("* * * * 8", "day-of-week field: 8: out of range 0-7");
  BAD("* 5-2 * * *", "hour field: 5-2: the range runs backwards (5 > 2)");
  BAD("* * * * fri-sun", "day-of-week field: fri-sun: the range runs backwards (5 > 0); Sunday at the end of a range is 7");
  BAD("*/0 * * * *", "minute field: */0: step 0");
  BAD("1-10/0 * * * *", "minute field: 1-10/0: step 0");
  BAD("*/61 * * * *", "minute field: */61: the step is more than the field's 60 values");
  BAD("*/99999999999 * * * *", "minute field: */99999999999: the step is more than the field's 60 values");
  BAD("5/15 * * * *", "minute field: 5/15: a step needs a range or * (5-59/N)");
  BAD("*/ * * * *", "minute field: */: a step is a number after /");
  BAD("1,,2 * * * *", "minute field: 1,,2: an empty item");
  BAD("1, * * * *", "minute field: 1,: an empty item");
  BAD(",1 * * * *", "an empty item");
  BAD("1- * * * *", "minute field: 1-: a value is missing");
  BAD("-1 * * * *", "minute field: -1: unexpected '-'");
  BAD("1x * * * *", "minute field: 1x: not a value (0-59)");
  BAD("*5 * * * *", "minute field: *5: unexpected '5'");
  BAD("* * * foo *", "month field: foo: not a value (1-12 or jan-dec)");
  BAD("* * * january *", "month field: january: not a value");
  BAD("* * * * mon;tue", "day-of-week field: mon;tue: unexpected ';'");
  BAD("* mon * * *", "hour field: mon: not a value (0-23)");
  BAD("* * * * sunday", "day-of-week field: sunday: not a value (0-7 or sun-sat");
  BAD("99999999999 * * * *", "minute field: 99999999999: out of range 0-59");
  BAD("* * * * */9", "*/9: the step is more than the field's 8 values");
  char longx[200];
  memset(longx, '1', sizeof longx - 1);
  longx[sizeof longx - 1] = 0;
  BAD(longx, "longer than 127 characters");
  /* blanks around and between fields are fine; the text keeps the middle */
  kam_cron c;
  CHECK(parses("  0\t12  * *   1 \n", &c) && !strcmp(c.text, "0\t12  * *   1"));
  CHECK(c.minute == 1 && c.hour == 1u << 12 && c.dow == 2 && c.dom_star && !c.dow_star);
  /* steps and ranges */
  CHECK(parses("*/15 0-23/6 1-31/10 */5 *", &c));
  CHECK(c.minute == (1ull | 1ull << 15 | 1ull << 30 | 1ull << 45));
  CHECK(c.hour == (1u | 1u << 6 | 1u << 12 | 1u << 18));
  CHECK(c.dom == (1u << 1 | 1u << 11 | 1u << 21 | 1u << 31));
  CHECK(c.month == (1u << 1 | 1u << 6 | 1u << 11));
  CHECK(parses("5-10/20 * * * *", &c) && c.minute == 1ull << 5); /* a step past the range: its start */
  CHECK(parses("1,*/30 * * * *", &c) && c.minute == (1ull | 2ull | 1ull << 30));
  CHECK(parses("007 * * * *", &c) && c.minute == 1ull << 7);
}

static void t_cron_macros(void) {
  static const char *pairs[][2] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                                   {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                                   {"@hourly", "0 * * * *"}};
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    kam_cron a, b;
    CHECK(parses(pairs[i][0], &a) && parses(pairs[i][1], &b) && same(&a, &b));
    CHECK(!strcmp(a.text, pairs[i][0]));
  }
  BAD("@reboot", "@reboot is not supported: kam has no boot");
  BAD("@Daily", "unknown macro (one of @yearly");
  BAD("@daily 5", "unknown macro");
  BAD("@every 5m", "unknown macro");
  SEQ("@weekly", NULL, "2026-01-01 00:00", "2026-01-04 00:00", "2026-01-11 00:00");
  SEQ("@yearly", NULL, "2026-01-01 00:00", "2027-01-01 00:00", "2028-01-01 00:00");
  SEQ("@hourly", NULL, "2026-12-31 23:00", "2027-01-01 00:00", "2027-01-01 01:00");
}

static void t_cron_names(void) {
  kam_cron a, b;
  CHECK(parses("0 0 * jan-mar,DEC mon-FRI", &a) && parses("0 0 * 1-3,12 1-5", &b) && same(&a, &b));
  CHECK(parses("0 0 * Jul sAt,sun", &a) && parses("0 0 * 7 6,0", &b) && same(&a, &b));
  CHECK(parses("0 0 * feb-nov/3 mon-7/2", &a) && a.month == (1u << 2 | 1u << 5 | 1u << 8 | 1u << 11) &&
        a.dow == (1u << 1 | 1u << 3 | 1u << 5 | 1u)); /* mon-7/2: mon wed fri sun */
  /* 7 is Sunday, alone, in ranges and in steps */
  CHECK(parses("0 0 * * 7", &a) && parses("0 0 * * 0", &b) && same(&a, &b) && a.dow == 1);
  CHECK(parses("0 0 * * 5-7", &a) && a.dow == (1u << 5 | 1u << 6 | 1u));
  CHECK(parses("0 0 * * */7", &a) && a.dow == 1);
  CHECK(parses("0 0 * * 0-7", &a) && a.dow == 0x7f && !a.dow_star);
  SEQ("0 12 * * 7", NULL, "2026-01-01 00:00", "2026-01-04 12:00", "2026-01-11 12:00");
  SEQ("0 12 * * sun", NULL, "2026-01-01 00:00", "2026-01-04 12:00", "2026-01-11 12:00");
  SEQ("30 8 * * mon-fri", NULL, "2026-01-02 08:30", "2026-01-05 08:30", "2026-01-06 08:30");
  SEQ("0 0 1 jan,jul *", NULL, "2026-01-01 00:00", "2026-07-01 00:00", "2027-01-01 00:00");
}

static void t_cron_either_day(void) {
  /* both restricted: the 1st, or any Friday (2026-01-01 is a Thursday) */
  SEQ("0 0 1 * 5", NULL, "2026-01-01 00:00", "2026-01-02 00:00", "2026-01-09 00:00", "2026-01-16 00:00",
      "2026-01-23 00:00", "2026-01-30 00:00", "2026-02-01 00:00", "2026-02-06 00:00");
  /* one is `*`: both must match */
  SEQ("0 0 * * 5", NULL, "2026-01-30 00:00", "2026-02-06 00:00");
  SEQ("0 0 13 * *", NULL, "2026-01-01 00:00", "2026-01-13 00:00", "2026-02-13 00:00");
  /* "*\/2" counts as `*` in Vixie cron: odd days that are Fridays */
  SEQ("0 0 */2 * fri", NULL, "2026-01-01 00:00", "2026-01-09 00:00", "2026-01-23 00:00", "2026-02-13 00:00");
  /* "1-31" does not: every day (either rule with a full day-of-month) */
  SEQ("0 0 1-31 * fri", NULL, "2026-01-01 00:00", "2026-01-02 00:00", "2026-01-03 00:00");
  /* Friday the 13th needs both: not expressible; the either rule fires on both */
  SEQ("0 0 13 * 5", NULL, "2026-02-01 00:00", "2026-02-06 00:00", "2026-02-13 00:00", "2026-02-20 00:00");
  /* months restrict both halves of the either rule */
  SEQ("0 0 15 feb mon", NULL, "2026-01-01 00:00", "2026-02-02 00:00", "2026-02-09 00:00", "2026-02-15 00:00",
      "2026-02-16 00:00");
  kam_cron c;
  char msg[256];
  CHECK(parses("0 9 1 * 5", &c) && cron_either_day(&c, msg, sizeof msg) == 1 &&
        !strcmp(msg, "1st or every Friday — did you mean Friday the 1st?"));
  CHECK(parses("0 9 1,2,3,22,23 * mon,tue,wed-fri", &c) && cron_either_day(&c, msg, sizeof msg) == 1 &&
        !strcmp(msg, "1st-3rd, 22nd or 23rd or every Monday-Friday — did you mean Monday-Friday the 1st-3rd, 22nd or 23rd?"));
  CHECK(parses("0 9 11,12,13 * sun,sat", &c) && cron_either_day(&c, msg, sizeof msg) == 1 &&
        !strcmp(msg, "11th-13th or every Sunday or Saturday — did you mean Sunday or Saturday the 11th-13th?"));
  CHECK(parses("0 9 1 * *", &c) && cron_either_day(&c, msg, sizeof msg) == 0 && !msg[0]);
  CHECK(parses("0 9 * * 5", &c) && cron_either_day(&c, msg, sizeof msg) == 0);
  CHECK(parses("0 9 */2 * 5", &c) && cron_either_day(&c, msg, sizeof msg) == 0);
  CHECK(parses("0 9 1 * 5", &c) && cron_either_day(&c, msg, 8) == 1 && strlen(msg) == 7); /* cut, terminated */
}

static void t_cron_never(void) {
  BAD("0 0 30 2 *", "\"0 0 30 2 *\": never fires: feb has no day 30");
  BAD("0 0 31 4,6,9,11 *", "never fires: apr, jun, sep and nov have no day 31");
  BAD("0 0 30,31 feb *", "never fires: feb has no day 30 or 31");
  /* fires somewhere: accepted */
  kam_cron c;
  CHECK(parses("0 0 31 2,3 *", &c));
  CHECK(parses("0 0 31 2 1", &c)); /* the either rule: Mondays in February */
  CHECK(parses("0 0 */30 2 1", &c)); /* both needed, on Feb 1 when it is a Monday */
  /* Feb 29 waits for a leap year */
  SEQ("0 0 29 2 *", NULL, "2026-03-01 00:00", "2028-02-29 00:00", "2032-02-29 00:00");
  /* the 31st skips the short months */
  SEQ("0 0 31 * *", NULL, "2026-01-31 00:00", "2026-03-31 00:00", "2026-05-31 00:00", "2026-07-31 00:00");
  /* rarer than every 5 years: no answer, and the search ends */
  kam_err e;
  int64_t t;
  CHECK(parses("0 0 */31 2 1", &c)); /* Feb 1 on a Monday: 2027, then 2038 */
  CHECK(cron_next(&c, NULL, U("2026-01-01 00:00"), &t, &e) == 0 && t == U("2027-02-01 00:00"));
  CHECK(cron_next(&c, NULL, t, &t, &e) == KAM_EDATA && strstr(e.msg, "does not fire in the 5 years after 2027-02-01 00:00 UTC"));
  CHECK(parses("0 0 29 2 *", &c)); /* 2100 is not a leap year */
  CHECK(cron_next(&c, NULL, U("2097-01-01 00:00"), &t, &e) == KAM_EDATA);
  CHECK(cron_next(&c, NULL, (int64_t)1 << 62, &t, &e) == KAM_EDATA && strstr(e.msg, "out of range"));
  kam_cron zero;
  memset(&zero, 0, sizeof zero);
  CHECK(cron_next(&zero, "Europe/Berlin", 0, &t, &e) == KAM_EDATA);
}

static void t_cron_utc(void) {
  SEQ("* * * * *", NULL, "2026-01-01 00:00", "2026-01-01 00:01", "2026-01-01 00:02");
  SEQ("* * * * *", "UTC", "2026-12-31 23:59", "2027-01-01 00:00");
  SEQ("59 23 31 12 *", NULL, "2026-06-01 00:00", "2026-12-31 23:59", "2027-12-31 23:59");
  SEQ("0 0 * * *", NULL, "1969-12-31 12:00", "1970-01-01 00:00", "1970-01-02 00:00");
  SEQ("15 3 * * *", "Etc/UTC", "2026-05-05 03:15", "2026-05-06 03:15");
  /* strictly after, from a time with seconds */
  kam_cron c;
  kam_err e;
  int64_t t;
  CHECK(parses("*/5 * * * *", &c));
  CHECK(cron_next(&c, NULL, U("2026-01-01 10:05") - 1, &t, &e) == 0 && t == U("2026-01-01 10:05"));
  CHECK(cron_next(&c, NULL, U("2026-01-01 10:05"), &t, &e) == 0 && t == U("2026-01-01 10:10"));
  CHECK(cron_next(&c, NULL, U("2026-01-01 10:05") + 30, &t, &e) == 0 && t == U("2026-01-01 10:10"));
}

/* Europe/Berlin 2026: 03-29 02:00 CET -> 03:00 CEST (01:00 UTC); 10-25
 * 03:00 CEST -> 02:00 CET (01:00 UTC), 02:00-02:59 twice. */
static void t_cron_berlin(void) {
  const char *B = "Europe/Berlin";
  /* 02:30 on the spring-forward day does not exist: 03:00 CEST */
  SEQ("30 2 * * *", B, "2026-03-27 12:00", "2026-03-28 01:30", "2026-03-29 01:00", "2026-03-30 00:30");
  /* on the fall-back day it happens twice: the first one only */
  SEQ("30 2 * * *", B, "2026-10-23 12:00", "2026-10-24 00:30", "2026-10-25 00:30", "2026-10-26 01:30");
  /* from inside the repeated hour, the second 02:30 does not fire */
  SEQ("30 2 * * *", B, "2026-10-25 01:10", "2026-10-26 01:30");
  /* hourly: no hour skipped beyond the gap's, none twice */
  SEQ("0 * * * *", B, "2026-03-28 22:30", "2026-03-28 23:00", "2026-03-29 00:00", "2026-03-29 01:00",
      "2026-03-29 02:00");
  SEQ("0 * * * *", B, "2026-10-24 22:30", "2026-10-24 23:00", "2026-10-25 00:00", "2026-10-25 02:00",
      "2026-10-25 03:00");
  SEQ("*/15 1-3 * * *", B, "2026-03-28 23:50", "2026-03-29 00:00", "2026-03-29 00:15", "2026-03-29 00:30",
      "2026-03-29 00:45", "2026-03-29 01:00", "2026-03-29 01:15", "2026-03-29 01:30", "2026-03-29 01:45",
      "2026-03-29 23:00");
  SEQ("*/15 1-3 * * *", B, "2026-10-24 22:50", "2026-10-24 23:00", "2026-10-24 23:15", "2026-10-24 23:30",
      "2026-10-24 23:45", "2026-10-25 00:00", "2026-10-25 00:15", "2026-10-25 00:30", "2026-10-25 00:45",
      "2026-10-25 02:00", "2026-10-25 02:15", "2026-10-25 02:30", "2026-10-25 02:45", "2026-10-26 00:00");
  /* from the instant of the change itself, and just before it */
  SEQ("30 2 * * *", B, "2026-03-29 01:00", "2026-03-30 00:30");
  kam_cron c;
  kam_err e;
  int64_t t;
  CHECK(parses("30 2 * * *", &c) && cron_next(&c, B, U("2026-03-29 01:00") - 1, &t, &e) == 0 &&
        t == U("2026-03-29 01:00"));
  /* every minute across both changes: one a minute, no gap but the clock's */
  CHECK(parses("* * * * *", &c) && cron_next(&c, B, U("2026-03-29 00:59"), &t, &e) == 0 && t == U("2026-03-29 01:00"));
  CHECK(cron_next(&c, B, U("2026-10-25 00:59"), &t, &e) == 0 && t == U("2026-10-25 02:00"));
  /* past the transitions the file lists (2037): the zone's rule */
  SEQ("30 2 * * *", B, "2045-03-24 12:00", "2045-03-25 01:30", "2045-03-26 01:00", "2045-03-27 00:30");
  SEQ("30 2 * * *", B, "2080-10-26 12:00", "2080-10-27 00:30", "2080-10-28 01:30");
  SEQ("0 12 * * *", B, "2026-06-01 00:00", "2026-06-01 10:00");
  SEQ("0 12 * * *", B, "2026-12-01 00:00", "2026-12-01 11:00");
}

/* America/New_York 2026: 03-08 02:00 EST -> 03:00 EDT (07:00 UTC); 11-01
 * 02:00 EDT -> 01:00 EST (06:00 UTC), 01:00-01:59 twice. */
static void t_cron_new_york(void) {
  const char *N = "America/New_York";
  SEQ("30 2 * * *", N, "2026-03-06 12:00", "2026-03-07 07:30", "2026-03-08 07:00", "2026-03-09 06:30");
  /* 02:30 happens once on the fall-back day; 01:30 twice, fires the first */
  SEQ("30 2 * * *", N, "2026-10-30 12:00", "2026-10-31 06:30", "2026-11-01 07:30", "2026-11-02 07:30");
  SEQ("30 1 * * *", N, "2026-10-30 12:00", "2026-10-31 05:30", "2026-11-01 05:30", "2026-11-02 06:30");
  SEQ("0 * * * *", N, "2026-03-08 04:30", "2026-03-08 05:00", "2026-03-08 06:00", "2026-03-08 07:00",
      "2026-03-08 08:00");
  SEQ("0 * * * *", N, "2026-11-01 03:30", "2026-11-01 04:00", "2026-11-01 05:00", "2026-11-01 07:00",
      "2026-11-01 08:00");
  SEQ("*/15 1-3 * * *", N, "2026-03-08 05:50", "2026-03-08 06:00", "2026-03-08 06:15", "2026-03-08 06:30",
      "2026-03-08 06:45", "2026-03-08 07:00", "2026-03-08 07:15", "2026-03-08 07:30", "2026-03-08 07:45",
      "2026-03-09 05:00");
  SEQ("*/15 1-3 * * *", N, "2026-11-01 04:50", "2026-11-01 05:00", "2026-11-01 05:15", "2026-11-01 05:30",
      "2026-11-01 05:45", "2026-11-01 07:00", "2026-11-01 07:15", "2026-11-01 07:30", "2026-11-01 07:45",
      "2026-11-01 08:00", "2026-11-01 08:15", "2026-11-01 08:30", "2026-11-01 08:45", "2026-11-02 06:00");
  /* a weekday that begins in the gap: Sunday 02:xx fires at 03:00 EDT */
  SEQ("45 2 * * sun", N, "2026-03-01 12:00", "2026-03-08 07:00", "2026-03-15 06:45");
}

static void t_cron_ho_chi_minh(void) {
  const char *H = "Asia/Ho_Chi_Minh";
  SEQ("30 2 * * *", H, "2026-03-27 12:00", "2026-03-27 19:30", "2026-03-28 19:30", "2026-03-29 19:30");
  SEQ("0 * * * *", H, "2026-10-24 22:30", "2026-10-24 23:00", "2026-10-25 00:00", "2026-10-25 01:00");
  SEQ("0 9 1 * *", H, "2026-01-01 00:00", "2026-01-01 02:00", "2026-02-01 02:00");
  /* midnight local is the day before in UTC: the local date decides */
  SEQ("0 0 1 1 *", H, "2026-06-01 00:00", "2026-12-31 17:00");
  SEQ("0 0 * * mon", H, "2026-01-01 00:00", "2026-01-04 17:00");
  char out[64];
  cron_local(H, U("2026-12-31 17:00"), out, sizeof out);
  CHECK(!strcmp(out, "2027-01-01 00:00 +07:00"));
}

static void t_cron_zones(void) {
  kam_err e;
  CHECK(cron_zone_check(NULL, &e) == 0);
  CHECK(cron_zone_check("UTC", &e) == 0);
  CHECK(cron_zone_check("Asia/Ho_Chi_Minh", &e) == 0);
  CHECK(cron_zone_check("Europe/Berlin", &e) == 0);
  CHECK(cron_zone_check("America/Argentina/Buenos_Aires", &e) == 0);
  CHECK(cron_zone_check("Etc/GMT-7", &e) == 0);
  const char *badz[] = {"Asia/Saigon City", "Nowhere/City", "", "/etc/localtime", "../../etc/passwd",
                        "Europe/../Europe/Berlin", "Europe", "zone.tab", "Europe/Berlin/", "Asia/Ho_Chi_Minh\n"};
  for (size_t i = 0; i < sizeof badz / sizeof badz[0]; i++) {
    e.msg[0] = 0;
    CHECK(cron_zone_check(badz[i], &e) == KAM_EDATA);
    char want[300];
    snprintf(want, sizeof want, "timezone %s: no such zone (IANA names like Asia/Ho_Chi_Minh)", badz[i]);
    if (strcmp(e.msg, want)) { fprintf(stderr, "zone \"%s\": %s\n", badz[i], e.msg); failures++; }
  }
  kam_cron c;
  int64_t t;
  CHECK(parses("* * * * *", &c) && cron_next(&c, "Mars/Olympus", 0, &t, &e) == KAM_EDATA &&
        strstr(e.msg, "timezone Mars/Olympus: no such zone"));
  char out[64];
  cron_local("Europe/Berlin", U("2026-03-29 00:59"), out, sizeof out);
  CHECK(!strcmp(out, "2026-03-29 01:59 +01:00"));
  cron_local("Europe/Berlin", U("2026-03-29 01:00"), out, sizeof out);
  CHECK(!strcmp(out, "2026-03-29 03:00 +02:00"));
  cron_local("America/New_York", U("2026-11-01 05:30"), out, sizeof out);
  CHECK(!strcmp(out, "2026-11-01 01:30 -04:00"));
  cron_local("America/New_York", U("2026-11-01 06:30"), out, sizeof out);
  CHECK(!strcmp(out, "2026-11-01 01:30 -05:00"));
  cron_local(NULL, 0, out, sizeof out);
  CHECK(!strcmp(out, "1970-01-01 00:00 +00:00"));
  cron_local("Asia/Kolkata", U("2026-01-01 00:00"), out, sizeof out);
  CHECK(!strcmp(out, "2026-01-01 05:30 +05:30"));
  cron_local("Europe/Amsterdam", U("1920-01-01 00:00"), out, sizeof out); /* Amsterdam mean time */
  CHECK(!strcmp(out, "1920-01-01 00:19 +00:19:32"));
  cron_local("No/Such", 0, out, sizeof out);
  CHECK(!strcmp(out, "1970-01-01 00:00 +00:00"));
}

/* Zones whose rules differ from Europe's: the southern hemisphere, a
 * half-hour change, a quarter-hour offset. */
static void t_cron_rules(void) {
  /* Sydney: 2026-04-05 03:00 AEDT -> 02:00 AEST (16:00 UTC the day before);
   * 2026-10-04 02:00 AEST -> 03:00 AEDT (16:00 UTC the day before) */
  const char *S = "Australia/Sydney";
  SEQ("30 2 * * *", S, "2026-04-03 12:00", "2026-04-03 15:30", "2026-04-04 15:30", "2026-04-05 16:30");
  SEQ("30 2 * * *", S, "2026-10-02 12:00", "2026-10-02 16:30", "2026-10-03 16:00", "2026-10-04 15:30");
  SEQ("30 2 * * *", S, "2050-10-01 12:00", "2050-10-01 16:00", "2050-10-02 15:30"); /* the rule: Sunday Oct 2 */
  /* Lord Howe moves by 30 minutes: 2026-10-04 02:00 -> 02:30 (15:30 UTC) */
  SEQ("15 2 * * *", "Australia/Lord_Howe", "2026-10-02 12:00", "2026-10-02 15:45", "2026-10-03 15:30",
      "2026-10-04 15:15");
  /* Kathmandu: +05:45 */
  SEQ("0 6 * * *", "Asia/Kathmandu", "2026-01-01 00:00", "2026-01-01 00:15");
  /* a zone with no daylight saving but a past change: Ho Chi Minh was +08:00 in 1975 */
  SEQ("0 0 1 1 *", "Asia/Ho_Chi_Minh", "1970-06-01 00:00", "1970-12-31 16:00");
}

static const unit_test tests[] = {
    {"cron_parse_errors", t_cron_parse_errors}, {"cron_macros", t_cron_macros}, {"cron_names", t_cron_names},
    {"cron_either_day", t_cron_either_day},     {"cron_never", t_cron_never},   {"cron_utc", t_cron_utc},
    {"cron_berlin", t_cron_berlin},             {"cron_new_york", t_cron_new_york},
    {"cron_ho_chi_minh", t_cron_ho_chi_minh},   {"cron_zones", t_cron_zones},   {"cron_rules", t_cron_rules},
    {NULL, NULL}};

int main(int argc, char **argv) { return unit_main(tests, argc, argv); }
