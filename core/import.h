/* import.h — YAML, CSV and JSON files into the book, all or nothing.
 *
 * One import is one write transaction. Every row is converted and checked
 * against the schema; a bad row is reported with file:line:column (or the
 * entity and field) and nothing is written. Refs may point to rows later in
 * the same import. Records append in id order and index entries are sorted
 * before they are written, which is what makes a large import fast.
 *
 * Input that would lie is refused, located: JSON is read by RFC 8259 alone
 * (one document per file, no key twice, text without \u0000 and in UTF-8,
 * whole numbers exact, i.e. at most 2^53), lists and maps deeper than 32
 * levels, ids of another collection's form, values too long for an index
 * key; YAML as ydoc.h loads it (aliases capped, one document). */
#ifndef KAM_IMPORT_H
#define KAM_IMPORT_H
#include "store.h"
#include <stdio.h>

typedef struct import_opts {
  const char *into;   /* collection for CSV/JSON lists (default: the file's name) */
  int dry_run;
  const char *user;
  int max_errors;     /* errors reported before giving up (default 10) */
} import_opts;

typedef struct import_stats {
  long rows;
  long per_coll[256];
} import_stats;

/* Imports the files (their names end .csv, .tsv, .yaml, .yml or .json),
 * each read whole first, in one write transaction of its own: the caller
 * holds none on st, as the map may have to grow. 0 and *stats (if not
 * NULL; per_coll by collection position) filled, nothing written with
 * dry_run; else nothing is written and e holds the errors, each after the
 * first on a line of its own that begins "kam: ". */
int import_files(kam_store *st, char *const *files, int nfiles, const import_opts *o,
                 import_stats *stats, kam_err *e);

#endif
