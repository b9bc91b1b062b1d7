/* csv_import.c — fuzz target: `kam import FILE.csv` (libcsv reader, header
 * mapping, cell conversion, JSON cells of list and map fields, refs, the
 * index build and commit) into a temporary book holding the Lua tests'
 * fixtures. Input: one byte that picks the collection the file is named
 * after (and --dry-run with its high bit), then the CSV text. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_import(data, size, "csv");
  return 0;
}
