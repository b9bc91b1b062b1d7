/* audit.h — reading the audit trail that store_audit appends: entries
 * newest first, filtered, each with the fields its write changed; and the
 * trail printed as kam audit shows it (a table, JSON or CSV).
 *
 * Lifetimes: everything an audit_entry holds (its texts, the changes' names
 * and values) points into the read transaction's map or into memory
 * audit_each owns, and is valid only during the callback that receives it;
 * copy what must outlive the call. The txn stays the caller's. */
#ifndef KAM_AUDIT_H
#define KAM_AUDIT_H
#include "kerr.h"
#include "record.h"
#include "store.h"
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

typedef struct audit_filter {
  const char *id;       /* the entity's id, exactly; NULL: any */
  const char *user;     /* who wrote or who really acted (by, under --as), exactly; NULL: any */
  const char *coll;     /* a collection of the schema; NULL: any */
  const char *since;    /* YYYY-MM-DD: entries of that day (book's zone) or later; NULL: all */
  size_t limit;         /* entries passed to the callback at most; 0: no limit */
  int none;             /* 1: no entry at all (--limit 0, since a limit of 0 is none) */
} audit_filter;

/* One field a write changed. A side the write did not have (an insert's old,
 * a delete's new, a field absent from the record) is KV_NULL with has_* 0. */
typedef struct audit_change {
  const char *name; size_t namelen; /* from the schema, else the book's field dictionary, else "#fid" */
  kval old, new_;
  int has_old, has_new;
} audit_change;

typedef struct audit_entry {
  uint64_t seq;                    /* the entry's number, 1 for the first */
  kval who, when, op, coll, id;    /* text (KV_STR); import's id is "N rows" */
  kval role, by, channel, source, hash; /* text, or KV_NULL when the entry has none (books
                                    * written before them): who's role; the staff id or
                                    * login really acting under --as; cli, repl, run,
                                    * import, policy, request, schedule; the command line;
                                    * SHA-256 (hex) of the script or command text */
  const audit_change *changes;     /* update: fields whose values differ; insert: the new
                                    * values; delete: the old ones; import: none. id,
                                    * created_at and updated_at are left out (when says it) */
  int nchanges;
} audit_entry;

/* Refuses a filter no entry could match for being malformed: a collection
 * the schema does not have, a since that is not a YYYY-MM-DD date.
 * KAM_EUSAGE ("--coll X: no such collection") or 0. */
int audit_check_filter(const schema *sc, const audit_filter *f, kam_err *e);

/* Calls fn for each entry that passes f, newest first, in the read (or
 * write) txn; stops at f->limit entries or when fn returns nonzero (that
 * value is returned). An entry that does not decode is KAM_EDATA naming its
 * number (kam verify says more); an LMDB failure KAM_EINTERNAL. */
typedef int (*audit_fn)(void *ud, const audit_entry *a, kam_err *e);
int audit_each(kam_store *st, MDB_txn *txn, const audit_filter *f, audit_fn fn, void *ud, kam_err *e);

/* A changed value as people read it: text as it is, other values as
 * kval_show writes them (lists and maps as "a list", "a map"), an absent
 * value as "-". Appends to b. */
void audit_value_text(kbuf *b, const kval *v, int present);

/* Prints the entries that pass f, newest first, to out (kam audit):
 *   AUDIT_TABLE  columns when, who, via, op, collection, id, changes; who is
 *                "ST-000018 (account_manager)", "ST-000001 as ST-000018
 *                (account_manager)" under --as; via the channel; changes
 *                "field: old → new; ...". No entry: one line saying so.
 *   AUDIT_JSON   one array of {seq, when, who, role, by, channel, source, hash,
 *                op, collection, id, changes: [{field, old, new}]}; values keep
 *                their types (money and numbers as numbers), absent ones null.
 *   AUDIT_CSV    RFC 4180 with CRLF: seq,when,who,role,by,channel,source,hash,
 *                op,collection,id,changes (the header even with no entry).
 * Text that is not UTF-8 (a command line cut mid-character) prints with
 * U+FFFD for each bad byte. Everything is read first: with txn NULL in a
 * read snapshot of its own that ends before the first byte is written;
 * otherwise in txn, which stays the caller's. 0, or audit_each's codes
 * (e set), or KAM_EINTERNAL when out cannot be written. */
enum { AUDIT_TABLE = 0, AUDIT_JSON = 1, AUDIT_CSV = 2 };
int audit_print(kam_store *st, MDB_txn *txn, const audit_filter *f, int format, FILE *out, kam_err *e);

#endif
