/* decisions.h — the policy engine's part of the book: the decisions that
 * `kam policy eval --commit` stores, the runs that made them and the texts of
 * the policies they were made with. policy.c reads and writes them through
 * here; kam verify (verify.c) checks the same layout.
 *
 * Layout
 *   decisions  key    id \0 policy \0 seq   seq: 8 bytes, big-endian, so an (id, policy)'s
 *                                           decisions sort oldest first
 *              value  a record (record.h) of the fields DC_* below
 *   runs       key    the run's number, 8 bytes, big-endian
 *              value  a record of the fields RUN_* below
 *   meta       "decision_seq", "run_seq"    the last number given, 8 bytes in host order
 *              "src:POLICY:HASH"            a policy's text, under the SHA-256 (hex) of the text
 *              "cur:POLICY"                 the hash of its text last committed
 *                                           (both cut at 399 bytes: a policy of rules/, named
 *                                           after its file, never is)
 *
 * Errors: every function returns 0, or a kam_err code with e set:
 * KAM_EINTERNAL when LMDB fails, KAM_EFULL when a write finds the map full
 * (store.h: abort, grow, replay). A failed write leaves its txn to abort.
 *
 * Lifetimes, as lmdb.h's: a record or text read points into the map and is
 * valid until its transaction ends or writes (a callback's record, until
 * the callback returns). A put copies what it is given. */
#ifndef KAM_DECISIONS_H
#define KAM_DECISIONS_H
#include "kerr.h"
#include "store.h"
#include <stdint.h>

/* Fields of a decision record: text, but reasons (a list of text) and run. */
enum { DC_POLICY = 1, DC_HASH, DC_COLL, DC_ID, DC_RESULT, DC_REASONS, DC_TIME, DC_USER, DC_RUN };
/* Fields of a run record: text, but the three counts (integers). */
enum { RUN_POLICY = 1, RUN_HASH, RUN_MODE, RUN_TIME, RUN_USER, RUN_EVALUATED, RUN_CHANGED, RUN_FAILED };

/* One decision to write. Strings without a length are NUL-terminated. */
typedef struct decision {
  const char *policy, *hash, *coll; /* the policy's name and text's hash, its subject's collection */
  const char *id;
  size_t idlen;
  const char *result; /* JSON text */
  size_t resultlen;
  const char *reasons; /* a list's body as record.h encodes it: varint n, n text values */
  size_t reasonslen;
  const char *time, *user;
  int64_t run;
} decision;

/* The last decision number given (meta "decision_seq"): 0 before the first. */
int decision_seq(MDB_txn *txn, kam_store *st, uint64_t *seq, kam_err *e);
/* Writes decision number seq. Numbers only grow (the newest decision of an
 * (id, policy) is the one with the highest), but this does not move the
 * counter: a batch puts seq+1, seq+2, ... and then sets it once. */
int decision_put(MDB_txn *txn, kam_store *st, uint64_t seq, const decision *d, kam_err *e);
int decision_set_seq(MDB_txn *txn, kam_store *st, uint64_t seq, kam_err *e);

/* A cursor for decision_last: one serves every look-up of a run. Close it
 * with decision_cursor_close (NULL allowed); a read txn's cursor must be
 * closed before or after its txn ends, a write txn's at the latest when the
 * txn ends (lmdb.h). */
int decision_cursor(MDB_txn *txn, kam_store *st, MDB_cursor **cur, kam_err *e);
void decision_cursor_close(MDB_cursor *cur);
/* The newest decision of (id, policy): 0 with *rec set, or 0 with
 * rec->mv_data NULL when there is none. */
int decision_last(MDB_cursor *cur, const char *id, size_t idlen, const char *policy, MDB_val *rec,
                  kam_err *e);
/* Every decision about id, of one policy or of all (policy NULL), in key
 * order: policy by policy, oldest first. fn is called with each record. */
int decision_history(MDB_txn *txn, kam_store *st, const char *id, size_t idlen, const char *policy,
                     void (*fn)(const MDB_val *rec, void *ud), void *ud, kam_err *e);

/* One run of a policy to write. */
typedef struct run_info {
  const char *policy, *hash, *mode, *time, *user;
  int64_t evaluated, changed, failed;
} run_info;

/* Takes the next run number (meta "run_seq") and writes the run under it:
 * 0 with *run set. */
int run_put(MDB_txn *txn, kam_store *st, const run_info *r, uint64_t *run, kam_err *e);

/* Keeps a policy's text under its hash and makes that hash its current one:
 * a what-if compares with the version whose decisions are in the book, even
 * after the file was edited. */
int policy_text_put(MDB_txn *txn, kam_store *st, const char *policy, const char *hash,
                    const char *text, size_t n, kam_err *e);
/* The policy's current hash: 0 with *hash set, or 0 with hash->mv_data NULL
 * when it was never committed. */
int policy_text_current(MDB_txn *txn, kam_store *st, const char *policy, MDB_val *hash, kam_err *e);
/* A policy's text by hash: 0 with *text set, or 0 with text->mv_data NULL
 * when the book does not have it. */
int policy_text_get(MDB_txn *txn, kam_store *st, const char *policy, const char *hash, MDB_val *text,
                    kam_err *e);

#endif
