/* colmap.h — column maps (config/import/NAME.yaml): a foreign CSV, as an ad
 * platform or a client exports it (its own headers, Vietnamese with units in
 * brackets, dates as 26/11/2026, money as 1,234,567.00, Excel's BOM, CRLF),
 * turned into the CSV kam import reads: a header of kam field names.
 *
 * A map says, per header of the foreign file, which field it fills and how
 * its values read (`format`), or `skip`; `extract` takes a field out of
 * another cell with a POSIX extended regex; `set` gives fields the file
 * lacks. The converted text keeps one line per line of the foreign file, so
 * a line number means the same in both; each converted column remembers the
 * foreign column it came from.
 *
 * Errors (file:line:column, the header and the value) are collected, up to
 * max_err, as lines without "kam: " joined by "\nkam: ". */
#ifndef KAM_COLMAP_H
#define KAM_COLMAP_H
#include "buf.h"
#include "kerr.h"
#include "schema.h"

typedef struct colmap colmap;

/* Loads a map against the schema: NAME is config/import/NAME.yaml under
 * root, or a path when it holds a '/' or ends in .yaml. A missing map is a
 * usage error (2) listing the maps there are; what is wrong in one is a data
 * error (1) at its file:line:column. */
int colmap_load(colmap **out, const char *root, const char *name, schema *sc, kam_err *e);
void colmap_free(colmap *m);
/* The collection a map fills, and its file as messages name it. */
const coll_def *colmap_into(const colmap *m);
const char *colmap_path(const colmap *m);
const char *colmap_name(const colmap *m);

/* A converted file: the text of a CSV with kam's headers, and for each of
 * its columns (0-based) the foreign file's column (1-based; 0: from `set`). */
typedef struct colmap_out {
  kbuf csv;
  int *src;
  int ncols;
} colmap_out;
void colmap_out_free(colmap_out *o);

/* Converts one foreign file's text (file: its name in messages). 0, or
 * KAM_EDATA with the errors in *errs and their number in *nerr. */
int colmap_convert(const colmap *m, const char *file, const char *buf, size_t len, colmap_out *out, kbuf *errs,
                   int *nerr, int max_err);

/* ---- kam import FILE... --map NAME ------------------------------------------ */

/* The converted files, written to a private temporary folder for the
 * importer, which reads files; relocate puts the foreign file's name and
 * column back into what the importer says about them. */
typedef struct colmap_staged {
  char dir[512];
  int n;
  char **paths;        /* the temporary files, in the order given */
  char *const *orig;   /* the foreign files (borrowed) */
  colmap_out *outs;
} colmap_staged;
int colmap_stage(const colmap *m, char *const *files, int nfiles, colmap_staged *s, kbuf *errs, int *nerr, kam_err *e);
void colmap_unstage(colmap_staged *s);
/* Appends msg to out with every "TMPFILE:line[:col]" made "FILE:line[:col]". */
void colmap_relocate(const colmap_staged *s, const char *msg, kbuf *out);

/* ---- a CSV read into values (K.read_csv) ----------------------------------- */

/* One cell: tag as in record.h (KV_NULL when empty); text at off/len in
 * the table's store. */
typedef struct ccell {
  int tag;
  int64_t i;
  double n;
  size_t off, len;
} ccell;

typedef struct ctable {
  const coll_def *c;
  int ncols;
  int *field;          /* per column: its field's position */
  int *src;            /* per column: the column in the file as given */
  long nrows;
  long *line;          /* per row: where it starts in the file */
  ccell *cells;        /* nrows x ncols */
  kbuf store;
} ctable;
void ctable_free(ctable *t);

/* Reads a CSV file (through map m when not NULL, else a CSV of c's field
 * names) into t, each cell checked and converted as kam import would.
 * file names it in messages. 0, or the code with *errs (and *nerr) or e
 * set: KAM_EDATA for what is wrong in it, e for a file that cannot be read
 * or a map into another collection. */
int colmap_read(ctable *t, const char *file, const colmap *m, const coll_def *c, kbuf *errs, int *nerr, int max_err,
                kam_err *e);

#endif
