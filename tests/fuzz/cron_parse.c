/* cron_parse.c — fuzz target: core/cron.c. Input: a cron expression up to
 * the first newline; after it, 8 bytes or more give the start time (little
 * endian; with the first byte's high bit clear, reduced to years 1716-2223,
 * else taken as it is, mostly out of range). Each expression cron_parse takes
 * goes to cron_either_day, and to cron_next three times in a row in UTC and
 * in Europe/Berlin, which must return (the watchdog), with KAM_EDATA or a
 * later instant each time, and in UTC one the expression matches. */
#include "cron.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  return 0;
}

/* the UTC instant t is a time c fires at */
static int matches(const kam_cron *c, int64_t t) {
  int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int s = (int)(t - day * 86400), y, m, d, wd = (int)(((day + 4) % 7 + 7) % 7);
  civil_from_days(day, &y, &m, &d);
  int dm = c->dom >> d & 1, wm = c->dow >> wd & 1;
  return s % 60 == 0 && (c->minute >> (s / 60 % 60) & 1) && (c->hour >> (s / 3600) & 1) && (c->month >> m & 1) &&
         (c->dom_star || c->dow_star ? dm && wm : dm || wm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_begin();
  const uint8_t *nl = memchr(data, '\n', size);
  size_t n = nl ? (size_t)(nl - data) : size;
  char *text = strndup((const char *)data, n);
  int64_t after = 1774656000; /* 2026-03-28, the day before Berlin's spring-forward */
  if (nl && size - n - 1 >= 8) {
    uint64_t raw = 0;
    for (int i = 7; i >= 0; i--) raw = raw << 8 | nl[1 + i];
    after = nl[1] & 0x80 ? (int64_t)raw : (int64_t)(raw % 16000000000u) - 8000000000;
  }
  kam_cron c;
  kam_err e;
  int rc = cron_parse(&c, text, &e);
  if (rc != 0 && rc != KAM_EDATA) abort();
  if (rc == 0) {
    char msg[512], when[64];
    cron_either_day(&c, msg, sizeof msg);
    const char *zones[] = {NULL, "Europe/Berlin"};
    for (int z = 0; z < 2; z++) {
      int64_t t = after;
      for (int i = 0; i < 3; i++) {
        int64_t next;
        rc = cron_next(&c, zones[z], t, &next, &e);
        if (rc == KAM_EDATA) break;
        if (rc != 0 || next <= t) abort();
        if (!zones[z] && !matches(&c, next)) abort();
        cron_local(zones[z], next, when, sizeof when);
        t = next;
      }
    }
  }
  free(text);
  fz_end();
  return 0;
}
