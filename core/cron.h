/* cron.h — cron expressions as Debian's cron (Vixie cron) reads them, and
 * the next time one fires in an IANA time zone, daylight saving included.
 * Plain C: reads the system's tz database (/usr/share/zoneinfo) itself. */
#ifndef KAM_CRON_H
#define KAM_CRON_H
#include "kerr.h"
#include <stddef.h>
#include <stdint.h>

typedef struct kam_cron {
  uint64_t minute;  /* bit m: minute m, 0-59 */
  uint32_t hour;    /* bit h: 0-23 */
  uint32_t dom;     /* bit d: day of month 1-31 */
  uint16_t month;   /* bit m: 1-12 */
  uint8_t dow;      /* bit d: 0-6, Sunday 0 (a 7 in the text sets bit 0) */
  /* the field begins with '*' (so "*" and "*\/2" alike, as in Vixie cron):
   * when neither is set, a day matching either field fires, else both must */
  uint8_t dom_star, dow_star;
  char text[128];   /* the expression as given, without surrounding blanks */
} kam_cron;

/* Parses 5 fields (minute hour day-of-month month day-of-week) or one of
 * @yearly @annually @monthly @weekly @daily @midnight @hourly (@reboot is
 * refused: kam has no boot). Fields: numbers, names (jan-dec, sun-sat, any
 * case, 3 letters), `*`, ranges a-b, steps *\/n and a-b\/n, lists of these; 0
 * and 7 are Sunday. As in cron, a step needs a range or `*` ("5/15" is
 * refused). KAM_EDATA, with a message naming the field and the fault, for a
 * wrong number of fields, a value out of range, a-b with a > b, a step of 0
 * or larger than the field's count of values, an expression longer than 127
 * characters, and one that can never fire (`0 0 30 2 *`). */
int cron_parse(kam_cron *c, const char *expr, kam_err *e);

/* The first instant strictly after `after` (Unix seconds) at which c fires
 * in zone tz (an IANA name; NULL or "UTC": UTC): *next set, 0 returned.
 * KAM_EDATA for an unknown zone, or when it does not fire within the next
 * 5 years (the search always ends; `after` must lie in years 1-9000).
 * Minute resolution: instants are whole local minutes. Daylight saving: a
 * local time skipped by a spring-forward gap fires once, at the instant the
 * gap ends (02:30 on Berlin's spring-forward day fires at 03:00 local); a
 * local time that happens twice fires at its first occurrence only. Takes
 * a few microseconds: it steps over non-matching months, days and hours.
 * Not thread-safe (zones are cached in static memory). */
int cron_next(const kam_cron *c, const char *tz, int64_t after, int64_t *next, kam_err *e);

/* 1 when day-of-month and day-of-week are both restricted, so a day
 * matching either fires; msg gets the warning for this expression, e.g.
 * "1st or every Friday — did you mean Friday the 1st?". 0 otherwise (msg
 * empty). */
int cron_either_day(const kam_cron *c, char *msg, size_t n);

/* 0 if tz names a zone of the system's tz database (NULL and "UTC" always
 * do); KAM_EDATA "timezone X: no such zone (...)" otherwise, also for names
 * with "..", a leading '/', and leap-second zones (right/...). */
int cron_zone_check(const char *tz, kam_err *e);

/* t as local time in tz, "YYYY-MM-DD HH:MM +07:00" (the offset gets :SS
 * when it has seconds, as old local mean times do). An unknown zone is
 * shown as UTC. */
void cron_local(const char *tz, int64_t t, char *out, size_t n);

#endif
