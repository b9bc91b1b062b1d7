/* schema.h — collections and fields, loaded from config/schema.yaml. */
#ifndef KAM_SCHEMA_H
#define KAM_SCHEMA_H
#include "buf.h"
#include "kerr.h"
#include "record.h"

typedef enum {
  FT_STRING, FT_INT, FT_MONEY, FT_NUMBER, FT_BOOL, FT_DATE, FT_DATETIME,
  FT_ENUM, FT_REF, FT_LIST, FT_MAP
} ftype;

extern const char *const ftype_names[];

typedef struct field_def {
  char *name;
  size_t namelen;
  ftype type;
  int required, indexed;
  char **values; int nvalues;    /* enum */
  char *ref_name; int ref;       /* ref: target collection index */
  const char *ref_prefix;        /* ref: the target's id prefix (keyenc.h packs by it) */
  int has_def; kval def; kbuf def_store;
  uint32_t fid;                  /* id in the book's field dictionary */
} field_def;

#define IDX_MAXF 4
#define IDX_MAXC 8
typedef struct index_def {
  char name[160];                /* "invoices.client.issued" */
  int nf, f[IDX_MAXF];           /* field positions, in key order */
  int nc, carry[IDX_MAXC];       /* values stored in the entry */
  unsigned dbi;
} index_def;

/* Field 0 is always id, 1 created_at, 2 updated_at. */
enum { F_ID = 0, F_CREATED = 1, F_UPDATED = 2 };

typedef struct coll_def {
  char *name, *prefix;
  int nfields; field_def *fields;
  int nindexes; index_def *indexes;
  unsigned dbi;
} coll_def;

typedef struct schema {
  int ncolls;
  coll_def *colls;
} schema;

int schema_load(schema **out, const char *path, kam_err *e);
void schema_free(schema *s);
coll_def *schema_coll(schema *s, const char *name);
int coll_field(const coll_def *c, const char *name); /* position or -1 */
int coll_field_n(const coll_def *c, const char *name, size_t n);

/* Converts text (CSV cell, YAML scalar, command line) to a field's value.
 * A string result points into s, or into conv when it had to be rewritten
 * (D/M/YYYY dates); on failure returns 0 and writes what was expected. */
int field_from_text(const field_def *f, const char *s, size_t n, kval *out, char conv[32],
                    char *why, size_t whylen);
/* Checks (and normalises: integral number -> int for money) a typed value. */
int field_check(const field_def *f, kval *v, char *why, size_t whylen);

/* Shows a value for messages: strings quoted, numbers plain. */
void kval_show(kbuf *b, const kval *v);

#endif
