/* verify.h — kam verify: checks that a book agrees with itself.
 *
 * Checked, in one read snapshot: the stored entry count of every collection
 * and index against a scan; every record decodes and its fields have the
 * schema's types; every index holds exactly the entries its collection's
 * records give (key and carried values, both ways); the field dictionary,
 * the id sequences, the audit trail, the policy runs and their decisions. */
#ifndef KAM_VERIFY_H
#define KAM_VERIFY_H
#include "kerr.h"
#include "schema.h"
#include <stddef.h>
#include <stdio.h>

typedef struct verify_opts {
  long max_shown;      /* problem lines printed; the rest are only counted */
  FILE *problems;      /* where they go, as "kam: verify: <where>: <what>" */
  FILE *notes;         /* things that are not wrong but left unchecked */
} verify_opts;

typedef struct verify_stats {
  size_t colls, records, indexes, index_entries, audit, runs, decisions;
  size_t problems, notes;
} verify_stats;

/* Opens the book at path read-only and checks it. Returns 0 when the book
 * could be read to the end (vs->problems says whether it is sound), else an
 * error code with e set (the book cannot be read). */
int verify_book(const char *path, schema *sc, const verify_opts *o, verify_stats *vs, kam_err *e);

#endif
