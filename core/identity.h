/* identity.h — who is acting: the staff record of the process's login.
 *
 * One list of people: a user is a staff record, `staff.os_user` is the OS
 * login that acts as it, and role and team come from that record. The login
 * is the real uid's (getuid + getpwuid_r), never $USER or $LOGNAME, which
 * anyone can set. `--as ID` (a staff id or an os_user) is honoured for an
 * admin, audited as "admin as ID", or for anyone under `auth: trust`.
 *
 * Two cases have no staff record to act as:
 *   - a book without a single staff record (a new one): the login acts as
 *     admin, to set the book up; the audit says "login (new book)";
 *   - root (uid 0) when no staff record names it: the superuser, who can
 *     rewrite the book's file whatever kam says, acts as admin rather than
 *     being pretended away; the audit says "root";
 *   - any other login no staff record names: refused (KAM_EPERM, saying how
 *     to add it), or a read-only guest when kam.yaml says
 *     `unknown_logins: read`.
 * Principals that are not people (the scheduler, the approval engine) are
 * written "system:NAME" and act with an owner's rights (identity_system). */
#ifndef KAM_IDENTITY_H
#define KAM_IDENTITY_H
#include "config.h"
#include "store.h"

typedef struct kam_principal {
  char staff[64];     /* the staff id (ST-000004); "" for a guest or a new book's login */
  char login[64];     /* the os_user that names it (else the staff id, else the OS login) */
  char name[160];
  char role[48];      /* from the staff record; "admin" for a new book, "guest" for a guest */
  char team[64];      /* teams id, or "" */
  char by[64];        /* the admin's staff id when acting as someone else, else "" */
  char by_login[64];
  char os_login[64];  /* the process's own login */
  char system[96];    /* "system:schedule NAME" for a principal that is not a person, else "" */
  int guest;          /* an unknown login allowed to read: writes nothing */
  int bootstrap;      /* the book has no staff yet, or root: may do anything */
  int superuser;      /* root without a staff record */
  int trust;          /* auth: trust */
} kam_principal;

/* The login of the real uid, into out: 0, or KAM_EPERM when the uid has
 * no passwd entry. */
int identity_login(char *out, size_t n, kam_err *e);

/* Resolves who acts: the login's staff record in the book (read in txn),
 * or `as` (may be NULL) under the rules above. KAM_EPERM with one line
 * naming the login and what to do; KAM_EUSAGE for an --as that names
 * nobody; KAM_EINTERNAL for a failing book. */
int identity_resolve(kam_store *st, MDB_txn *txn, const kam_config *cfg, const char *as,
                     kam_principal *p, kam_err *e);

/* Looks a staff record up by id or os_user into p (role, team, name), in
 * txn: 1 found, 0 not, <0 a failing book (e set). */
int identity_staff(kam_store *st, MDB_txn *txn, const char *id_or_login, kam_principal *p, kam_err *e);

/* "hoa (account_manager)", "tuan as hoa (account_manager)", "root (new book)":
 * who, as a message names them. */
const char *identity_label(const kam_principal *p, char *buf, size_t n);

/* Who, as the audit records it: the staff id ("ST-000018"), the login of a
 * new book, "guest:LOGIN", or the system principal. */
const char *identity_who(const kam_principal *p);

#endif
