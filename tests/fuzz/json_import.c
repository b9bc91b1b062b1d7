/* json_import.c — fuzz target: `kam import FILE.json` (cJSON, the scan that
 * locates records for messages, nested lists and maps, refs, the index build
 * and commit) into a temporary book holding the Lua tests' fixtures. Input:
 * one byte that picks the collection the file is named after (used by a
 * top-level list; --dry-run with its high bit), then the JSON text. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_import(data, size, "json");
  return 0;
}
