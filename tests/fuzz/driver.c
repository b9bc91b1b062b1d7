/* driver.c — a main for a fuzz target without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on each file given, and on each file of each
 * folder given (in name order). The normal build replays the seeds and the
 * regression inputs with it as tests. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); return 1; }
  size_t cap = 4096, n = 0, k;
  uint8_t *b = malloc(cap);
  while (b && (k = fread(b + n, 1, cap - n, f)) > 0)
    if ((n += k) == cap) b = realloc(b, cap *= 2);
  fclose(f);
  if (!b) { fprintf(stderr, "%s: out of memory\n", path); return 1; }
  fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
  /* a copy of exactly n bytes, so that ASan sees a read past the end */
  uint8_t *exact = malloc(n ? n : 1);
  memcpy(exact, b, n);
  free(b);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  int count = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') continue; /* libFuzzer flags */
    struct stat sb;
    if (stat(argv[i], &sb)) { perror(argv[i]); bad = 1; continue; }
    if (!S_ISDIR(sb.st_mode)) { bad |= run_file(argv[i]); count++; continue; }
    struct dirent **names;
    int n = scandir(argv[i], &names, NULL, alphasort);
    if (n < 0) { perror(argv[i]); bad = 1; continue; }
    for (int k = 0; k < n; k++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
      if (names[k]->d_name[0] != '.' && !stat(path, &sb) && S_ISREG(sb.st_mode)) { bad |= run_file(path); count++; }
      free(names[k]);
    }
    free(names);
  }
  fprintf(stderr, "%d input%s replayed\n", count, count == 1 ? "" : "s");
  return bad;
}
