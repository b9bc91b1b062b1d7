/* kdate.h — civil dates as ISO strings and day numbers, in the book's time zone. */
#ifndef KAM_KDATE_H
#define KAM_KDATE_H
#include <stdint.h>
#include <stddef.h>
#include <stdatomic.h>

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t days_from_civil(int y, int m, int d);
void civil_from_days(int64_t z, int *y, int *m, int *d);
/* Parses exactly YYYY-MM-DD (a real date); returns 1 on success. */
int date_parse(const char *s, size_t n, int *y, int *m, int *d);
/* The text YYYY-MM-DD of day z (days since 1970-01-01, from 0001-01-01 to
 * 9999-12-31; NULL outside): 10 bytes, not NUL-terminated, that live as long
 * as the process and never move, so a value decoded from a day number can
 * point at them as a decoded text points into its record. Thread-safe. */
#define DAY_FIRST (-719162)  /* 0001-01-01 */
#define DAY_LAST 2932896     /* 9999-12-31 */
#define DAY_BLOCK 1024
#define DAY_BLOCKS ((DAY_LAST - DAY_FIRST) / DAY_BLOCK + 1)
extern _Atomic(char *) kdate_day_blocks[DAY_BLOCKS];
const char *date_text_of_day_slow(int64_t z);
static inline const char *date_text_of_day(int64_t z) {
  if (z < DAY_FIRST || z > DAY_LAST) return NULL;
  uint64_t at = (uint64_t)(z - DAY_FIRST);
  char *b = atomic_load_explicit(&kdate_day_blocks[at / DAY_BLOCK], memory_order_acquire);
  return b ? b + (at % DAY_BLOCK) * 11 : date_text_of_day_slow(z);
}
/* Accepts YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z|+hh:mm] or with a space. */
int datetime_valid(const char *s, size_t n);
/* Writes YYYY-MM-DD into out (11 bytes). */
void date_format(char *out, int y, int m, int d);
/* Today in the book's zone (UTC offset in seconds; default +7h for Vietnam).
 * KAM_TODAY=YYYY-MM-DD in the environment pins it (tests, what-ifs). */
void date_today(char out[11]);
void date_set_utc_offset(int seconds);
/* Now, as Unix seconds: KAM_NOW in the environment (an instant as
 * instant_parse reads it) pins it, for the scheduler's fake clock; it moves
 * kam.today() and the audit's times with it. */
int64_t kam_clock(void);
/* "@UNIX", or YYYY-MM-DD[T ]HH:MM[:SS] with Z, +hh:mm or nothing (the
 * book's zone): 1 and *out in Unix seconds, else 0. */
int instant_parse(const char *s, int64_t *out);
/* Current time as YYYY-MM-DDTHH:MM:SS+07:00. */
void datetime_now(char out[40]);
/* Shifts a date by n months, clamping the day (2026-03-31 - 1 month = 2026-02-28). */
void date_add_months(char out[11], const char *date, int months);
int days_in_month(int y, int m);

#endif
