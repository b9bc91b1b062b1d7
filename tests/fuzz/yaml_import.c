/* yaml_import.c — fuzz target: `kam import FILE.yaml` (libyaml through ydoc,
 * scalars, nested lists and maps, anchors and aliases, refs, the index build
 * and commit) into a temporary book holding the Lua tests' fixtures. Input:
 * one byte that picks the collection the file is named after (used by a
 * top-level list; --dry-run with its high bit), then the YAML text. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_import(data, size, "yaml");
  return 0;
}
