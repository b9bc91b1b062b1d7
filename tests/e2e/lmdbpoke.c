/* lmdbpoke — damages a book on purpose, for the tests of kam verify.
 *
 *   lmdbpoke BOOK find SUBDB TEXT        keys of SUBDB that contain TEXT (\xHH read), one a line
 *   lmdbpoke BOOK del SUBDB KEY          deletes one entry
 *   lmdbpoke BOOK put SUBDB KEY VALUE    writes one entry
 *   lmdbpoke BOOK copy SUBDB KEY NEWKEY  writes KEY's value again under NEWKEY
 *   lmdbpoke BOOK count SUBDB N          overwrites SUBDB's stored entry count
 *   lmdbpoke BOOK root SUBDB PAGE        points SUBDB at another root page (past the
 *                                        file's end: every read of it fails)
 *   lmdbpoke BOOK drop SUBDB -           empties SUBDB
 *
 * Keys and values are printed and read with \xHH for bytes outside printable
 * ASCII (and \\ for a backslash), so a key found can be passed back as is.
 * `count` and `root` patch the sub-database's record in the file itself: LMDB
 * keeps no checksums, and no API writes that record. */
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int die(const char *what, int rc) {
  fprintf(stderr, "lmdbpoke: %s: %s\n", what, rc ? mdb_strerror(rc) : "failed");
  return 1;
}

static size_t unesc(const char *s, char *out) {
  size_t n = 0;
  while (*s) {
    if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
      char h[3] = {s[2], s[3], 0};
      out[n++] = (char)strtol(h, NULL, 16);
      s += 4;
    } else if (s[0] == '\\' && s[1] == '\\') {
      out[n++] = '\\';
      s += 2;
    } else {
      out[n++] = *s++;
    }
  }
  return n;
}

static void put_esc(const MDB_val *v) {
  const unsigned char *p = v->mv_data;
  for (size_t i = 0; i < v->mv_size; i++) {
    if (p[i] >= 0x21 && p[i] < 0x7f && p[i] != '\\') putchar(p[i]);
    else if (p[i] == '\\') fputs("\\\\", stdout);
    else printf("\\x%02x", p[i]);
  }
  putchar('\n');
}

/* MDB_db as LMDB stores it in the main database (lmdb.h keeps it private). */
typedef struct db_rec {
  uint32_t pad;
  uint16_t flags, depth;
  size_t branch_pages, leaf_pages, overflow_pages, entries, root;
} db_rec;

int main(int argc, char **argv) {
  if (argc < 5) {
    fputs("usage: lmdbpoke BOOK find|del|put|copy|count|root|drop SUBDB ARG...\n", stderr);
    return 2;
  }
  const char *book = argv[1], *op = argv[2], *sub = argv[3];
  int patch = !strcmp(op, "count") || !strcmp(op, "root");
  int ro = !strcmp(op, "find") || patch;
  struct stat sb;
  if (stat(book, &sb)) { perror(book); return 1; }
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  int rc = mdb_env_create(&env);
  if (rc) return die("env", rc);
  mdb_env_set_maxdbs(env, 1024);
  mdb_env_set_mapsize(env, (size_t)sb.st_size * 2 + (64u << 20));
  if ((rc = mdb_env_open(env, book, MDB_NOSUBDIR | (ro ? MDB_RDONLY : 0), 0600))) return die(book, rc);
  if ((rc = mdb_txn_begin(env, NULL, ro ? MDB_RDONLY : 0, &txn))) return die("begin", rc);
  if (patch) {
    /* the sub-database's record in the main database, found in the map */
    MDB_dbi main_dbi;
    MDB_val k = {strlen(sub), (void *)sub}, d;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) || (rc = mdb_get(txn, main_dbi, &k, &d))) return die(sub, rc);
    if (d.mv_size != sizeof(db_rec)) return die("unexpected sub-database record size", 0);
    db_rec rec;
    memcpy(&rec, d.mv_data, sizeof rec);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    /* every copy of the record in the file: the live page and any freed
     * older copy alike (a freed page is never read) */
    FILE *f = fopen(book, "r+b");
    if (!f) { perror(book); return 1; }
    char *all = malloc((size_t)sb.st_size);
    if (fread(all, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) { perror(book); return 1; }
    db_rec patched = rec;
    if (!strcmp(op, "count")) patched.entries = (size_t)strtoull(argv[4], NULL, 10);
    else patched.root = (size_t)strtoull(argv[4], NULL, 10);
    int hits = 0;
    for (char *p = all; (p = memmem(p, (size_t)(all + sb.st_size - p), &rec, sizeof rec)); p += sizeof rec) {
      if (fseek(f, (long)(p - all), SEEK_SET) || fwrite(&patched, sizeof patched, 1, f) != 1) { perror(book); return 1; }
      hits++;
    }
    fclose(f);
    free(all);
    if (!hits) return die("the sub-database record is not in the file", 0);
    return 0;
  }
  if ((rc = mdb_dbi_open(txn, sub, 0, &dbi))) return die(sub, rc);
  char *kb = malloc(strlen(argv[4]) + 1), *vb = malloc(argc > 5 ? strlen(argv[5]) + 1 : 1);
  MDB_val k = {unesc(argv[4], kb), kb}, d;
  if (!strcmp(op, "find")) {
    MDB_cursor *cur;
    size_t tn = k.mv_size; /* TEXT, unescaped like a key */
    mdb_cursor_open(txn, dbi, &cur);
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
      if (memmem(k.mv_data, k.mv_size, kb, tn)) put_esc(&k);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
  } else if (!strcmp(op, "drop")) {
    if ((rc = mdb_drop(txn, dbi, 0))) return die("drop", rc);
  } else if (!strcmp(op, "del")) {
    if ((rc = mdb_del(txn, dbi, &k, NULL))) return die("del", rc);
  } else if (!strcmp(op, "put") && argc > 5) {
    d.mv_size = unesc(argv[5], vb);
    d.mv_data = vb;
    if ((rc = mdb_put(txn, dbi, &k, &d, 0))) return die("put", rc);
  } else if (!strcmp(op, "copy") && argc > 5) {
    MDB_val nk = {unesc(argv[5], vb), vb};
    if ((rc = mdb_get(txn, dbi, &k, &d))) return die("get", rc);
    /* the value lives in the map: copy it out before writing */
    void *tmp = malloc(d.mv_size ? d.mv_size : 1);
    memcpy(tmp, d.mv_data, d.mv_size);
    d.mv_data = tmp;
    rc = mdb_put(txn, dbi, &nk, &d, 0);
    free(tmp);
    if (rc) return die("put", rc);
  } else {
    fputs("lmdbpoke: unknown operation\n", stderr);
    return 2;
  }
  if (!ro && (rc = mdb_txn_commit(txn))) return die("commit", rc);
  fflush(stdout);
  free(kb);
  free(vb);
  mdb_env_close(env);
  return 0;
}
