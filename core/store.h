/* store.h — the book of accounts in LMDB: environment, transactions,
 * entity writes with their index entries, ids and the audit trail.
 *
 * Contract: every function that takes a write txn leaves it usable on
 * success; on failure the caller aborts it (a failed put poisons the unit of
 * work). KAM_EFULL means the map is full: abort, store_grow(), replay. */
#ifndef KAM_STORE_H
#define KAM_STORE_H
#include "kerr.h"
#include "schema.h"
#include <lmdb.h>

#define KAM_EFULL 100 /* never leaves the process: grow the map and replay */

typedef struct kam_store {
  MDB_env *env;
  schema *sc;
  MDB_dbi meta, audit, decisions, runs;
  MDB_dbi sched;         /* the scheduler's claims and runs (schedule.h); 0 in an older book opened read-only */
  size_t mapsize;
  char path[1024];
} kam_store;

enum { STORE_CREATE = 1, STORE_MUST_EXIST = 2 };

/* Makes the folder that holds path, and the folders above it (mkdir -p),
 * with mode; 0, or code with e naming the folder that could not be made.
 * The book's folder (0700) and the reports' (0755) are made so. */
int store_make_folder(const char *path, unsigned mode, int code, kam_err *e);

/* Opens (or with STORE_CREATE creates) the book at path for a schema, and
 * binds the schema to it: store_open writes into *sc the LMDB handles of
 * every collection and index (c->dbi, ix->dbi) and the field ids the book
 * stores (f->fid, assigned once per field name and kept in meta). That is
 * why sc is not const: it must outlive the store and serve one store at a
 * time. Indexes whose declaration changed are rebuilt here. The store does
 * not own sc (schema_free it after store_close). */
int store_open(kam_store **out, const char *path, schema *sc, int flags, size_t mapsize,
               kam_err *e);
void store_close(kam_store *st);
/* Removes a closed book: its file and its -lock file. -1 with errno when
 * the book file could not be removed (a missing lock file is fine). */
int store_remove(const char *path);
/* Maps an LMDB code to a kam error: MDB_MAP_FULL -> KAM_EFULL. */
int lmdb_err(kam_err *e, int rc, const char *where);
int store_begin(kam_store *st, int write, MDB_txn **txn, kam_err *e);
/* A write transaction nested in `parent` (a savepoint): committing it
 * merges its writes into the parent, aborting it drops only them. The
 * parent may not be used until the child ends. */
int store_begin_child(kam_store *st, MDB_txn *parent, MDB_txn **txn, kam_err *e);
/* Another read transaction on the version of the book `txn` (a read
 * transaction) reads, for another thread to read it with; 0, or -1 when
 * none can be had or a write came in between (nothing is held then). */
int store_begin_same(MDB_txn *txn, MDB_txn **out);
int store_commit(kam_store *st, MDB_txn *txn, kam_err *e); /* the txn is gone after */
/* Ends a transaction without keeping its writes (a read snapshot ends this
 * way). Values read through it are invalid after. NULL is allowed. */
void store_abort(MDB_txn *txn);
/* Doubles the map; only when this process holds no transaction. */
int store_grow(kam_store *st, kam_err *e);
/* Makes the map at least `bytes` larger than the data file (bulk loads). */
int store_reserve(kam_store *st, size_t bytes, kam_err *e);

/* Reads a record by id: 0 found, MDB_NOTFOUND, or another LMDB code. The
 * record points into LMDB's map: valid until txn ends or writes (copy it
 * before a put in the same txn); never write through it. */
int store_get(MDB_txn *txn, const coll_def *c, const char *id, size_t idlen, MDB_val *rec);
/* The same through a cursor of the collection's, for ids asked in order:
 * when *near is set the id after the cursor's is tried first, then LMDB's
 * look-up, which starts on the cursor's leaf before it descends from the
 * root. *near says whether the cursor is now on an entry. */
int store_get_at(MDB_cursor *cur, const char *id, size_t idlen, MDB_val *rec, int *near);
/* Entries in a collection, O(1): 0 and *n set, or an LMDB failure in e
 * (KAM_EINTERNAL). */
int store_count(MDB_txn *txn, const coll_def *c, size_t *n, kam_err *e);
/* The same for any table of the book (an index, the audit). */
int store_entries(MDB_txn *txn, MDB_dbi dbi, const char *what, size_t *n, kam_err *e);

/* The values of one entity, by field position, decoded from a record:
 * vals has c->nfields slots; absent fields are KV_NIL. Strings and nested
 * values point into rec, so they live exactly as long as rec does. */
void store_decode(const coll_def *c, const uint8_t *rec, size_t n, kval *vals);

enum { OP_INSERT = 1, OP_UPDATE = 2, OP_DELETE = 3 };
/* Who writes, as the audit records it; any text may be NULL. */
typedef struct kam_actor {
  const char *who;      /* staff id, a new book's login, or system:NAME */
  const char *role;
  const char *by;       /* the one acting as who (--as), else NULL */
  const char *channel;  /* cli, repl, run, import, policy, request, schedule */
  const char *source;   /* the command line or the script's name */
  const char *hash;     /* SHA-256 (hex) of the script or command text */
} kam_actor;

/* Asked by store_write and store_delete once the data passed every check
 * and before the first put: nonzero (e set) refuses the write and nothing
 * is written. newv is NULL for a delete, oldv NULL for an insert. This is
 * where access rules hold on every path that writes an entity. */
typedef struct write_guard {
  int (*fn)(void *ud, MDB_txn *txn, const coll_def *c, int op, const kval *newv, const kval *oldv, kam_err *e);
  void *ud;
} write_guard;

typedef struct write_opts {
  const kam_actor *actor; /* for the audit */
  int check_refs;       /* look refs up in the txn (bulk import checks them itself) */
  int audit;            /* write an audit entry */
  int append;           /* MDB_APPEND where keys arrive in order */
  const write_guard *guard; /* NULL: none */
} write_opts;

/* Writes one entity, all or nothing. vals[F_ID] holds the id (generated by
 * the caller with store_next_id when absent). For updates, old is the
 * previous record, copied out of the txn by the caller. Everything is checked
 * and every key built before the first put: the id (for inserts, also
 * store_check_id), required fields, enums, types, refs, store_check_record.
 * Bad data returns KAM_EDATA ("coll id: field f: what") with nothing
 * written; a duplicate id too. After a put only LMDB can fail: KAM_EFULL
 * (map full) or KAM_EINTERNAL, and the txn must then be aborted. Keeps
 * indexes and the audit in step. */
int store_write(kam_store *st, MDB_txn *txn, const coll_def *c, kval *vals, const uint8_t *old,
                size_t oldlen, int op, const write_opts *o, kam_err *e);
/* Inserts one entity (OP_INSERT of store_write, same codes). Without an
 * id, the next one (store_next_id) is taken only once the record has passed
 * every check, so a refused insert uses up no number; it is written to
 * idbuf (64 bytes are plenty) and vals[F_ID] points to it. An explicit id
 * of the collection's form moves the sequence past it (store_note_id). */
int store_insert(kam_store *st, MDB_txn *txn, const coll_def *c, kval *vals, const write_opts *o,
                 char *idbuf, size_t idcap, kam_err *e);
/* Every check store_write (or store_insert, for an insert without an id)
 * would make, the guard's included, and nothing written: KAM_EDATA or the
 * guard's code, else 0. vals is as it was given. */
int store_check_write(kam_store *st, MDB_txn *txn, const coll_def *c, kval *vals, const uint8_t *old,
                      size_t oldlen, int op, const write_opts *o, kam_err *e);
/* Deletes one entity and its index entries: KAM_EDATA when there is no
 * such id (nothing written); KAM_EFULL / KAM_EINTERNAL from LMDB. */
int store_delete(kam_store *st, MDB_txn *txn, const coll_def *c, const char *id, size_t idlen,
                 const write_opts *o, kam_err *e);

/* Checks for a new entity's id: 1 to 200 bytes without spaces or control
 * characters, not of another collection's form (INV-000001 among clients:
 * "clients INV-000001: field id: the prefix INV- (invoices) is another
 * collection's; ..."), and its own prefix in its own case (not cl-000001).
 * Prefixes match without regard to case, the longest one decides. KAM_EDATA
 * or 0; reads nothing. */
int store_check_id(const schema *sc, const coll_def *c, const char *id, size_t n, kam_err *e);
/* Checks what a write would store, before anything is written: every
 * field's value with kval_check (text is UTF-8 without NUL, also inside
 * lists and maps; nesting at most KV_MAX_DEPTH), then store_check_keys.
 * KAM_EDATA ("clients CL-1: field name: text is not UTF-8") or 0. */
int store_check_record(kam_store *st, const coll_def *c, const kval *vals, kam_err *e);
/* Every index key of the entity fits LMDB's key limit (511 bytes): else
 * KAM_EDATA naming the collection, id, the index's text fields and index. */
int store_check_keys(kam_store *st, const coll_def *c, const kval *vals, kam_err *e);

/* Next id of a collection: prefix + 6 digits (CL-000042). */
int store_next_id(kam_store *st, MDB_txn *txn, const coll_def *c, char *out, size_t outlen,
                  kam_err *e);
/* The number in an id of the collection's form (CL-000042 -> 42). */
int id_number(const coll_def *c, const char *id, size_t n, uint64_t *out);
int store_note_seq(kam_store *st, MDB_txn *txn, const coll_def *c, uint64_t v, kam_err *e);
/* Keeps the sequence ahead of an explicit id of the collection's form. */
int store_note_id(kam_store *st, MDB_txn *txn, const coll_def *c, const char *id, size_t n,
                  kam_err *e);

/* Index entry key and value for an entity. */
void index_key(kbuf *b, const coll_def *c, const index_def *ix, const kval *vals);
void index_val(kbuf *b, const coll_def *c, const index_def *ix, const kval *vals);

/* Audit: appends one entry (who, op, collection, id, before, after). */
int store_audit(kam_store *st, MDB_txn *txn, const kam_actor *who, int op, const char *coll,
                const char *id, size_t idlen, const uint8_t *before, size_t blen,
                const uint8_t *after, size_t alen, kam_err *e);
/* Field ids of the audit entry record. */
enum { AU_WHO = 1, AU_WHEN, AU_OP, AU_COLL, AU_ID, AU_BEFORE, AU_AFTER, AU_ROLE, AU_BY, AU_CHANNEL,
       AU_SOURCE, AU_HASH };

/* Meta values: small strings under a key. */
int meta_get(MDB_txn *txn, kam_store *st, const char *key, MDB_val *out);
int meta_put(MDB_txn *txn, kam_store *st, const char *key, const void *v, size_t n, kam_err *e);

/* Validation message for a value: "clients CL-000001 field tier: value "Z" is not one of A, B, C, D". */
int field_errf(kam_err *e, const coll_def *c, const kval *vals, const field_def *f,
               const kval *v, const char *why);

/* Opens an existing book read-only: no layout sync, no index rebuilds; only
 * meta, audit, decisions and runs are opened (kam verify opens the rest). */
int store_open_readonly(kam_store **out, const char *path, schema *sc, kam_err *e);
/* What meta "ix:<index>" holds for an index built as the schema declares it. */
void store_index_signature(const coll_def *c, const index_def *ix, kbuf *b);

#endif
