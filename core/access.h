/* access.h — who may do what: the rules of config/access.yaml, and their
 * checks on every write (store_write's guard), import, export, a policy's
 * commit, an approval and the admin's commands.
 *
 * The file is data: `groups` names sets of roles, `rules` is a list of
 * grants and forbids, each with the actions, the roles (`to`), what it is
 * `on` (collections; policy names for commit; request kinds for approve),
 * a row scope (all, team, own; followed through refs to the client, else to
 * a staff member or team), optional field limits (`fields` or `except`),
 * an optional `when` (field values the row must have before and after) and
 * a `why`. Default deny; a forbid overrides any grant. A new book's login
 * (identity.h) may do anything; a guest only read.
 *
 * Refusals are KAM_EPERM with one line: "permission denied: hoa
 * (account_manager) may not update invoices INV-000123: finance owns
 * invoices (config/access.yaml:14)". */
#ifndef KAM_ACCESS_H
#define KAM_ACCESS_H
#include "buf.h"
#include "identity.h"

enum { ACT_READ, ACT_INSERT, ACT_UPDATE, ACT_DELETE, ACT_IMPORT, ACT_EXPORT, ACT_COMMIT, ACT_APPROVE,
       ACT_ADMIN, ACT_N };
extern const char *const access_action_names[ACT_N];
int access_action(const char *name); /* ACT_* or -1 */

enum { SCOPE_NONE, SCOPE_OWN, SCOPE_TEAM, SCOPE_ALL };

typedef struct kam_access kam_access;

/* Loads and checks the rules (unknown actions, roles, collections, fields,
 * a forbid without why: KAM_EDATA with file:line:col). A file that does
 * not exist gives rules that grant nothing (an admin keeps everything, so
 * the book can be repaired) and says so in every refusal. shown is the
 * name messages give the file (config/access.yaml), NULL: path. */
int access_load(kam_access **out, const char *path, const char *shown, const schema *sc, kam_err *e);
void access_free(kam_access *a);
const char *access_path(const kam_access *a);

/* What kam check adds: grants no one can use because a forbid without
 * conditions covers them. Appends one line per finding to out; their count. */
int access_lint(const kam_access *a, kbuf *out);

/* A write of one record: op is OP_INSERT / OP_UPDATE / OP_DELETE; newv the
 * record as it would be (NULL for a delete), oldv as it was (NULL for an
 * insert). Rows of a team or own scope are placed by reading their refs in
 * txn. 0 or KAM_EPERM. */
int access_write(const kam_access *a, const kam_principal *p, kam_store *st, MDB_txn *txn, const coll_def *c,
                 int op, const kval *newv, const kval *oldv, kam_err *e);

/* An action on something whole: import / export / read of a collection,
 * commit of a policy (on = its name), approve (on = the request's kind),
 * admin (on = init, schema, users or config). For import the grant's scope
 * must be all unless rows is set, in which case the caller checks each row
 * with access_write. 0 or KAM_EPERM. */
int access_may(const kam_access *a, const kam_principal *p, int action, const char *on, kam_err *e);

/* 1 when one grant covers the action on every row of c whatever its
 * fields (scope all, no field or value limits) and no forbid may apply:
 * then rows need no check one by one (a big import's fast path). */
int access_whole(const kam_access *a, const kam_principal *p, int action, const coll_def *c);

/* How much of collection c the principal reads: SCOPE_ALL, SCOPE_TEAM or
 * SCOPE_OWN (only such rows), or SCOPE_NONE. */
int access_read_scope(const kam_access *a, const kam_principal *p, const coll_def *c);
/* Whether one row (decoded, vals[F_ID] set) is within the principal's read
 * scope of c: 1 or 0. */
int access_row_readable(const kam_access *a, const kam_principal *p, kam_store *st, MDB_txn *txn,
                        const coll_def *c, const kval *vals);

/* `kam access explain`: the decision on (action, on, id) and every rule
 * that took part, with its file:line, appended to out as lines. Returns 1
 * allowed, 0 denied, <0 with e set. id may be NULL (any row). */
int access_explain(const kam_access *a, const kam_principal *p, kam_store *st, MDB_txn *txn, int action,
                   const char *on, const char *id, kbuf *out, kam_err *e);

/* `kam access matrix`: for role and collection, the scope of each action
 * as a word (all, team, own, "-" none, "forbid"), and the roles known. */
const char *access_cell(const kam_access *a, const char *role, int action, const char *on, char *buf, size_t n);
int access_roles(const kam_access *a, const char ***roles);

#endif
