/* import_reader.h — between kam import's driver (import.c) and its readers
 * (import_csv.c, import_yaml.c, import_json.c); no other file includes it.
 *
 * The driver reads every file whole and hands each text to the reader its
 * name asks for. A reader turns the text into rows, the values of one
 * record by field position, and gives each row to put_row, which checks it
 * against the schema, writes it and buffers its index entries. What is
 * wrong is told to add_error, located (file:line:col), and the reader goes
 * on to the next row, so that one run reports up to max_err errors.
 *
 * Lifetimes: a file's text belongs to the driver and outlives the reader's
 * call. The values of a row, and what they point to, need live only for
 * the call to put_row: it copies what it keeps. */
#ifndef KAM_IMPORT_READER_H
#define KAM_IMPORT_READER_H
#include "import.h"

struct cJSON;
struct coll_state;
struct pending_ref;
struct idset;
struct bulk_sorter;

/* One import in progress: one write transaction over every file. */
typedef struct imp {
  /* what a reader reads */
  kam_store *st;       /* the book; st->sc is its schema */
  int fatal;           /* an LMDB failure (its code, said in *e): stop at once */
  int nerr, max_err;   /* errors so far; past max_err, stop reading */
  /* the driver's */
  MDB_txn *txn;
  const import_opts *o;
  kam_err *e;
  kbuf errs;           /* the messages, max_err at most */
  long rows;
  char now[40];        /* created/updated of rows that give none */
  kbuf rec, kb, vb;    /* a record, an index key and value, reused row to row */
  rec_builder rb;
  struct coll_state *cs;       /* per collection */
  struct pending_ref *pend;    /* refs to check again at the end */
  size_t npend, cappend;
  struct idset *ids;           /* per collection, loaded when first referenced */
  struct bulk_sorter *sorter;
  kbuf *gbufs;                 /* what write guards convert into a row, per field */
  int ngbufs;
} imp;

/* Counts an error and keeps its message (printf-style, without "kam: ")
 * while there are no more than max_err. */
void add_error(imp *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where a row came from, formatted only for messages: a label (the record's
 * file:line:col in YAML and JSON), or a CSV file and line with the column
 * of each field (fcol, by field position; 0 when the file has none). */
typedef struct row_loc { const char *file; long line; const char *label; const int *fcol; } row_loc;

/* Checks one row (vals: c->nfields values by field position) and writes
 * it, or adds an error. It fills in what the row leaves out (id, created,
 * updated, defaults) in vals, some with its own memory: vals is not to be
 * read after the call. What it keeps it copies. After the first error rows
 * are still checked, no longer written. */
void put_row(imp *m, const coll_def *c, kval *vals, const row_loc *loc);

/* A reader that has a ref's text a while before its row reaches put_row
 * (the rest of the row still to parse) calls this, so that the ref check
 * does not wait on memory. It checks and changes nothing. */
void prefetch_ref(imp *m, const field_def *f, const char *id, size_t n);

/* The collection a file of records fills: --into, else the file's name up
 * to its first dot. NULL, and an error added, if there is none. */
const coll_def *target_coll(imp *m, const char *path);

/* Bytes of a UTF-8 byte order mark at the start of buf (as Windows tools
 * write one): 3 or 0. It is not part of the text. */
size_t bom_len(const char *buf, size_t len);

/* A row's values and the room they point to, sized for one collection and
 * reused row to row: nested[f] holds field f's list or map encoded, conv[f]
 * its text rewritten (a date, a number given where text is expected). The
 * reader owns it; a zeroed one is empty and may be freed. */
typedef struct row_bufs {
  kval *vals;
  kbuf *nested;
  char (*conv)[32];
  int n;               /* fields */
} row_bufs;
void row_bufs_init(row_bufs *r, const coll_def *c);
void row_bufs_free(row_bufs *r);
/* Field f's list or map is encoded into the buffer row_nested returns
 * (emptied), then row_nested_set makes vals[f] that value. */
kbuf *row_nested(row_bufs *r, int f);
void row_nested_set(row_bufs *r, int f);

/* Appends to b a list or map value whose body (the count, then the items
 * or key and item pairs) is in body; body is left to the caller. */
void put_nested(kbuf *b, int is_map, const kbuf *body);

/* Appends a value parsed by cJSON (from text json_check passed) to b: a
 * whole number as an integer, lists and maps nested. NULL, or what is wrong
 * with it (KV_DEPTH_MSG). Used for JSON files and for CSV's list and map
 * cells. */
const char *encode_cjson(const struct cJSON *j, kbuf *b, int depth);

/* The readers: each adds the rows of one file's text to the import. tabs:
 * a .tsv file. */
void import_csv(imp *m, const char *path, const char *buf, size_t len, int tabs);
void import_yaml(imp *m, const char *path, const char *buf, size_t len);
void import_json(imp *m, const char *path, const char *buf, size_t len);

#endif
