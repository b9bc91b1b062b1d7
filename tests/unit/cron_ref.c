/* cron_ref — core/cron.c from the command line, for tests/e2e/cron.sh.
 *
 *   cron_ref EXPR TZ FROM N         the next N instants after FROM (Unix s), one a line
 *   cron_ref --stdin TZ             lines "EXPR|FROM|N" in, one line out each: the
 *                                   N instants separated by spaces, or "error: MESSAGE"
 *   cron_ref --bench EXPR TZ FROM K K successive cron_next calls; prints µs per call
 *
 * Exit 1 on an error of the one-expression forms, 2 on bad usage. */
#include "cron.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void) {
  fprintf(stderr, "usage: cron_ref EXPR TZ FROM N | --stdin TZ | --bench EXPR TZ FROM K\n");
  return 2;
}

static const char *zone(const char *tz) { return strcmp(tz, "-") ? tz : NULL; }

int main(int argc, char **argv) {
  kam_cron c;
  kam_err e;
  if (argc == 3 && !strcmp(argv[1], "--stdin")) {
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
      line[strcspn(line, "\r\n")] = 0;
      char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
      if (!bar2) { printf("error: no EXPR|FROM|N\n"); continue; }
      *bar1 = *bar2 = 0;
      int64_t t = strtoll(bar1 + 1, NULL, 10);
      int n = atoi(bar2 + 1);
      if (cron_parse(&c, line, &e)) { printf("error: %s\n", e.msg); continue; }
      for (int i = 0; i < n; i++) {
        if (cron_next(&c, zone(argv[2]), t, &t, &e)) { printf("%serror: %s", i ? " " : "", e.msg); break; }
        printf("%s%lld", i ? " " : "", (long long)t);
      }
      printf("\n");
    }
    return 0;
  }
  if (argc == 6 && !strcmp(argv[1], "--bench")) {
    if (cron_parse(&c, argv[2], &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    int64_t t = strtoll(argv[4], NULL, 10);
    long k = atol(argv[5]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < k; i++)
      if (cron_next(&c, zone(argv[3]), t, &t, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3;
    printf("%s in %s: %.3f us per call (%ld calls)\n", argv[2], argv[3], k ? us / (double)k : 0, k);
    return 0;
  }
  if (argc != 5) return usage();
  if (cron_parse(&c, argv[1], &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
  int64_t t = strtoll(argv[3], NULL, 10);
  int n = atoi(argv[4]);
  for (int i = 0; i < n; i++) {
    if (cron_next(&c, zone(argv[2]), t, &t, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    printf("%lld\n", (long long)t);
  }
  return 0;
}
