/* unit.h — what the unit test binaries share: CHECK, CHECK_STR, and a
 * main that runs every test or the one named (`BINARY NAME`, as ctest
 * calls it), exiting 1 on a failed check and 2 for an unknown name. */
#ifndef KAM_UNIT_H
#define KAM_UNIT_H
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)
#define CHECK_STR(a, b) do { const char *x_ = (a), *y_ = (b); if (strcmp(x_, y_)) { fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, x_, y_); failures++; } } while (0)

typedef struct unit_test { const char *name; void (*fn)(void); } unit_test;

static inline int unit_main(const unit_test *tests, int argc, char **argv) {
  int ran = 0;
  for (int i = 0; tests[i].name; i++) {
    if (argc > 1 && strcmp(argv[1], tests[i].name)) continue;
    tests[i].fn();
    ran++;
  }
  if (!ran) { fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "?"); return 2; }
  if (failures) { fprintf(stderr, "%d check(s) failed\n", failures); return 1; }
  return 0;
}

#endif
