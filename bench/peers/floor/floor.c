/*
 * floor: the bare minimum over LMDB, to show the limit any LMDB design can
 * reach on the benchmark's jobs (bench/jobs.md). No schema, no validation,
 * no Lua: records are the CSV lines themselves, index entries are built,
 * sorted in memory and appended in key order, and the jobs are C loops
 * over one cursor.
 *
 *   floor import DB SPEC CSVDIR     SPEC from bench/peers/spec.lua (.floor)
 *   floor lookups DB N              N point lookups by id (the jobs.md ids)
 *   floor tiering DB SINCE          full-book tiering
 *   floor count DB                  the number of invoices
 *
 * Layout: "c:NAME" id -> CSV line; "i:INDEX" parts ++ id -> carried values.
 * A part or a carried value is a tag byte (0 empty, 1 present) and then the
 * text and a NUL (text and dates), or 8 big-endian bytes, sign-flipped (whole numbers)
 * or ordered IEEE bits (numbers).
 *
 * cc -O2 -std=c11 -o floor floor.c -llmdb
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH 200000 /* puts per write transaction */

static void die(const char *what, const char *why)
{
    fprintf(stderr, "floor: %s: %s\n", what, why);
    exit(1);
}

static void ck(int rc, const char *what)
{
    if (rc) die(what, mdb_strerror(rc));
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("malloc", strerror(errno));
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) die("realloc", strerror(errno));
    return p;
}

/* ------------------------------------------------------------ CSV cells */

typedef struct { const char *p; size_t n; } Cell;

/* Parse one record at *pos (RFC 4180); cells point into the file, or into
 * `scratch` when a quoted cell needed unescaping. Returns the cell count,
 * and the record's bytes (without its line break) in *line. */
static int csv_record(const char *buf, size_t len, size_t *pos, Cell *cells, int max,
                      char *scratch, Cell *line)
{
    size_t i = *pos, s = 0;
    int n = 0;
    line->p = buf + i;
    for (;;) {
        if (n == max) die("csv", "too many cells");
        if (i < len && buf[i] == '"') {
            size_t start = s;
            i++;
            for (;;) {
                if (i >= len) die("csv", "unterminated quoted cell");
                if (buf[i] == '"') {
                    if (i + 1 < len && buf[i + 1] == '"') { scratch[s++] = '"'; i += 2; continue; }
                    i++;
                    break;
                }
                scratch[s++] = buf[i++];
            }
            cells[n].p = scratch + start;
            cells[n].n = s - start;
            n++;
        } else {
            size_t start = i;
            while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') i++;
            cells[n].p = buf + start;
            cells[n].n = i - start;
            n++;
        }
        if (i < len && buf[i] == ',') { i++; continue; }
        line->n = (size_t)(buf + i - line->p);
        if (i < len && buf[i] == '\r') i++;
        if (i < len && buf[i] == '\n') i++;
        *pos = i;
        return n;
    }
}

/* ------------------------------------------------------------- encoding */

static uint64_t parse_int(const char *p, size_t n)
{
    int neg = n && p[0] == '-';
    uint64_t v = 0;
    for (size_t i = neg; i < n; i++) v = v * 10 + (uint64_t)(p[i] - '0');
    return neg ? (uint64_t)(-(int64_t)v) : v;
}

static size_t enc(char *out, char kind, const Cell *c)
{
    if (c->n == 0) { out[0] = 0; return 1; }
    out[0] = 1;
    if (kind == 's' || kind == 'd') {
        memcpy(out + 1, c->p, c->n);
        out[1 + c->n] = 0;
        return c->n + 2;
    }
    uint64_t u;
    if (kind == 'i') {
        u = parse_int(c->p, c->n) ^ (1ULL << 63);
    } else {
        char tmp[64];
        size_t k = c->n < 63 ? c->n : 63;
        memcpy(tmp, c->p, k);
        tmp[k] = 0;
        double d = strtod(tmp, NULL);
        memcpy(&u, &d, 8);
        u = (u >> 63) ? ~u : u ^ (1ULL << 63);
    }
    for (int b = 0; b < 8; b++) out[1 + b] = (char)(u >> (56 - 8 * b));
    return 9;
}

static int64_t dec_int(const unsigned char *p)
{
    uint64_t u = 0;
    for (int b = 0; b < 8; b++) u = u << 8 | p[b];
    return (int64_t)(u ^ (1ULL << 63));
}

/* ------------------------------------------------- index entries, sorted */

typedef struct { char *buf; size_t len, cap; uint64_t *off; size_t n, ncap; } Entries;

static void ent_add(Entries *e, const char *k, size_t kn, const char *v, size_t vn)
{
    size_t need = 4 + kn + vn;
    if (e->len + need > e->cap) {
        e->cap = (e->cap + need) * 2;
        e->buf = xrealloc(e->buf, e->cap);
    }
    if (e->n == e->ncap) {
        e->ncap = e->ncap ? e->ncap * 2 : 1 << 16;
        e->off = xrealloc(e->off, e->ncap * sizeof *e->off);
    }
    char *p = e->buf + e->len;
    p[0] = (char)(kn >> 8); p[1] = (char)kn; p[2] = (char)(vn >> 8); p[3] = (char)vn;
    memcpy(p + 4, k, kn);
    memcpy(p + 4 + kn, v, vn);
    e->off[e->n++] = e->len;
    e->len += need;
}

static const unsigned char *g_base;
static inline size_t klen(uint64_t o) { return (size_t)g_base[o] << 8 | g_base[o + 1]; }
static inline const unsigned char *kptr(uint64_t o) { return g_base + o + 4; }
static inline int kbyte(uint64_t o, size_t d) { return d < klen(o) ? kptr(o)[d] : -1; }

static int kcmp_from(uint64_t a, uint64_t b, size_t d)
{
    size_t la = klen(a), lb = klen(b), m = la < lb ? la : lb;
    int c = m > d ? memcmp(kptr(a) + d, kptr(b) + d, m - d) : 0;
    return c ? c : (la > lb) - (la < lb);
}

/* MSD radix sort of entry offsets by key bytes from depth d */
static void rsort(uint64_t *a, size_t n, size_t d, uint64_t *tmp)
{
    while (n > 1) {
        if (n < 48) {
            for (size_t i = 1; i < n; i++) {
                uint64_t x = a[i];
                size_t j = i;
                while (j > 0 && kcmp_from(a[j - 1], x, d) > 0) { a[j] = a[j - 1]; j--; }
                a[j] = x;
            }
            return;
        }
        size_t cnt[257] = {0}, start[257];
        for (size_t i = 0; i < n; i++) cnt[kbyte(a[i], d) + 1]++;
        size_t s = 0;
        for (int b = 0; b < 257; b++) { start[b] = s; s += cnt[b]; }
        if (cnt[0] == 0) {
            int only = -1;
            for (int b = 1; b < 257; b++) if (cnt[b] == n) only = b;
            if (only >= 0) { d++; continue; } /* all share this byte */
        }
        size_t pos[257];
        memcpy(pos, start, sizeof pos);
        for (size_t i = 0; i < n; i++) tmp[pos[kbyte(a[i], d) + 1]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
        for (int b = 1; b < 257; b++)
            if (cnt[b] > 1) rsort(a + start[b], cnt[b], d + 1, tmp);
        return;
    }
}

/* ------------------------------------------------------------------ env */

static MDB_env *open_env(const char *path, int write)
{
    MDB_env *env;
    ck(mdb_env_create(&env), "env");
    ck(mdb_env_set_maxdbs(env, 256), "maxdbs");
    ck(mdb_env_set_mapsize(env, (size_t)1 << 40), "mapsize");
    ck(mdb_env_open(env, path, MDB_NOSUBDIR | (write ? 0 : MDB_RDONLY), 0600), path);
    return env;
}

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    char name[128];
    size_t puts;
} Writer;

static void w_begin(Writer *w)
{
    ck(mdb_txn_begin(w->env, NULL, 0, &w->txn), "txn");
    ck(mdb_dbi_open(w->txn, w->name, MDB_CREATE, &w->dbi), w->name);
}

static void w_put(Writer *w, const void *k, size_t kn, const void *v, size_t vn, int append)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    ck(mdb_put(w->txn, w->dbi, &key, &val, append ? MDB_APPEND : 0), w->name);
    if (++w->puts % BATCH == 0) {
        ck(mdb_txn_commit(w->txn), "commit");
        w_begin(w);
    }
}

/* ---------------------------------------------------------------- import */

typedef struct { char name[64]; int on[8], non, carry[8], ncarry; } Index;
typedef struct { char name[64]; int ncol; char kind[64]; Index idx[16]; int nidx; } Coll;

static int read_spec(const char *path, Coll *colls, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) die(path, strerror(errno));
    char line[1024];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        char *save, *tok = strtok_r(line, " \n", &save);
        if (!tok) continue;
        if (strcmp(tok, "collection") == 0) {
            if (++n >= max) die(path, "too many collections");
            Coll *c = &colls[n];
            memset(c, 0, sizeof *c);
            snprintf(c->name, sizeof c->name, "%s", strtok_r(NULL, " \n", &save));
            c->ncol = atoi(strtok_r(NULL, " \n", &save));
            for (int j = 0; j < c->ncol && j < 64; j++) c->kind[j] = strtok_r(NULL, " \n", &save)[0];
        } else if (strcmp(tok, "index") == 0 && n >= 0) {
            Coll *c = &colls[n];
            Index *x = &c->idx[c->nidx++];
            snprintf(x->name, sizeof x->name, "%s", strtok_r(NULL, " \n", &save));
            int carry = 0;
            while ((tok = strtok_r(NULL, " \n", &save))) {
                if (strcmp(tok, "-") == 0) carry = 1;
                else if (carry) x->carry[x->ncarry++] = atoi(tok);
                else x->on[x->non++] = atoi(tok);
            }
        }
    }
    fclose(f);
    return n + 1;
}

static void import_coll(MDB_env *env, const Coll *c, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%.63s.csv", dir, c->name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) die(path, strerror(errno));
    struct stat st;
    fstat(fd, &st);
    size_t len = (size_t)st.st_size;
    char *buf = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (len && buf == MAP_FAILED) die(path, strerror(errno));
    if (len) posix_madvise(buf, len, POSIX_MADV_SEQUENTIAL);
    close(fd);

    Cell cells[64], line;
    char *scratch = xmalloc(len + 1);
    size_t pos = 0;
    csv_record(buf, len, &pos, cells, 64, scratch, &line); /* header */

    Writer rec = {.env = env};
    snprintf(rec.name, sizeof rec.name, "c:%.63s", c->name);
    w_begin(&rec);
    Entries *ent = calloc((size_t)c->nidx, sizeof *ent);
    char prev[256] = "", key[4096], val[4096];
    size_t prevn = 0;
    while (pos < len) {
        int n = csv_record(buf, len, &pos, cells, 64, scratch, &line);
        if (n == 1 && cells[0].n == 0) continue; /* blank line */
        if (n < c->ncol) die(path, "short row");
        int append = prevn == 0 || cells[0].n > prevn ||
                     (cells[0].n == prevn && memcmp(cells[0].p, prev, prevn) > 0);
        w_put(&rec, cells[0].p, cells[0].n, line.p, line.n, append);
        prevn = cells[0].n < sizeof prev ? cells[0].n : 0;
        memcpy(prev, cells[0].p, prevn);
        for (int x = 0; x < c->nidx; x++) {
            const Index *ix = &c->idx[x];
            size_t kn = 0, vn = 0;
            for (int j = 0; j < ix->non; j++) kn += enc(key + kn, c->kind[ix->on[j]], &cells[ix->on[j]]);
            memcpy(key + kn, cells[0].p, cells[0].n);
            kn += cells[0].n;
            for (int j = 0; j < ix->ncarry; j++) vn += enc(val + vn, c->kind[ix->carry[j]], &cells[ix->carry[j]]);
            ent_add(&ent[x], key, kn, val, vn);
        }
    }
    ck(mdb_txn_commit(rec.txn), "commit");
    if (len) munmap(buf, len);
    free(scratch);

    for (int x = 0; x < c->nidx; x++) {
        Entries *e = &ent[x];
        uint64_t *tmp = xmalloc(e->n * sizeof *tmp);
        g_base = (const unsigned char *)e->buf;
        rsort(e->off, e->n, 0, tmp);
        free(tmp);
        Writer w = {.env = env};
        snprintf(w.name, sizeof w.name, "i:%.63s", c->idx[x].name);
        w_begin(&w);
        for (size_t i = 0; i < e->n; i++) {
            uint64_t o = e->off[i];
            size_t kn = klen(o), vn = (size_t)g_base[o + 2] << 8 | g_base[o + 3];
            w_put(&w, kptr(o), kn, kptr(o) + kn, vn, 1);
        }
        ck(mdb_txn_commit(w.txn), "commit");
        free(e->buf);
        free(e->off);
    }
    free(ent);
}

static int cmd_import(const char *db, const char *spec, const char *dir)
{
    Coll colls[32];
    int n = read_spec(spec, colls, 32);
    char lock[4096];
    unlink(db);
    snprintf(lock, sizeof lock, "%s-lock", db);
    unlink(lock);
    MDB_env *env = open_env(db, 1);
    for (int i = 0; i < n; i++) import_coll(env, &colls[i], dir);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat ms;
    ck(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn");
    ck(mdb_dbi_open(txn, "c:invoices", 0, &dbi), "c:invoices");
    ck(mdb_stat(txn, dbi, &ms), "stat");
    printf("invoices=%zu\n", ms.ms_entries);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}

/* ---------------------------------------------------------------- reads */

static MDB_dbi open_dbi(MDB_txn *txn, const char *name)
{
    MDB_dbi dbi;
    ck(mdb_dbi_open(txn, name, 0, &dbi), name);
    return dbi;
}

static int cmd_count(const char *db)
{
    MDB_env *env = open_env(db, 0);
    MDB_txn *txn;
    MDB_stat ms;
    ck(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn");
    ck(mdb_stat(txn, open_dbi(txn, "c:invoices"), &ms), "stat");
    printf("invoices=%zu\n", ms.ms_entries);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}

static int cmd_lookups(const char *db, long count)
{
    MDB_env *env = open_env(db, 0);
    MDB_txn *txn;
    MDB_stat ms;
    ck(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn");
    MDB_dbi dbi = open_dbi(txn, "c:invoices");
    ck(mdb_stat(txn, dbi, &ms), "stat");
    uint64_t n = ms.ms_entries, x = 1;
    int w = snprintf(NULL, 0, "%llu", (unsigned long long)n);
    if (w < 8) w = 8;
    long found = 0;
    int64_t sum = 0;
    char id[64];
    Cell cells[64], line;
    char scratch[4096];
    for (long i = 0; i < count && n; i++) {
        x = x * 48271 % 2147483647;
        int len = snprintf(id, sizeof id, "INV-%0*llu", w, (unsigned long long)(x % n + 1));
        MDB_val k = {(size_t)len, id}, v;
        if (mdb_get(txn, dbi, &k, &v) == 0) {
            size_t pos = 0;
            if (v.mv_size >= sizeof scratch) die("lookups", "record too long");
            csv_record(v.mv_data, v.mv_size, &pos, cells, 64, scratch, &line);
            found++;
            sum += (int64_t)parse_int(cells[3].p, cells[3].n); /* amount */
        }
    }
    printf("found=%ld amount=%lld\n", found, (long long)sum);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}

typedef struct { char id[32]; int64_t rev, overdue, cost; } Client;

static int by_id(const void *a, const void *b) { return strcmp(a, ((const Client *)b)->id); }

static int cmd_tiering(const char *db, const char *since)
{
    MDB_env *env = open_env(db, 0);
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    MDB_stat ms;
    ck(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), "txn");

    /* every client, in id order */
    MDB_dbi dcl = open_dbi(txn, "c:clients");
    ck(mdb_stat(txn, dcl, &ms), "stat");
    size_t ncl = ms.ms_entries, i = 0;
    Client *cl = calloc(ncl ? ncl : 1, sizeof *cl);
    ck(mdb_cursor_open(txn, dcl, &cur), "cursor");
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && i < ncl;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), i++)
        memcpy(cl[i].id, k.mv_data, k.mv_size < 31 ? k.mv_size : 31);
    mdb_cursor_close(cur);

    /* revenue and overdue: one pass over [client, issued] carrying amount, status */
    size_t sn = strlen(since);
    ck(mdb_cursor_open(txn, open_dbi(txn, "i:invoices_client_issued"), &cur), "cursor");
    Client *c = NULL;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *kp = k.mv_data, *client = kp + 1;
        size_t cn = strlen(client);
        const char *issued = client + cn + 2;
        if (memcmp(issued, since, sn) < 0) continue;
        const unsigned char *vp = v.mv_data;
        int64_t amount = dec_int(vp + 1);
        const char *status = (const char *)vp + 10;
        if (strcmp(status, "draft") == 0) continue;
        if (!c || strcmp(c->id, client) != 0) c = bsearch(client, cl, ncl, sizeof *cl, by_id);
        if (!c) continue;
        c->rev += amount;
        if (strcmp(status, "overdue") == 0) c->overdue += amount;
    }
    mdb_cursor_close(cur);

    /* cost: a pass over [project, date] carrying amount, merged with the
     * project records (both in project id order) for each one's client */
    MDB_cursor *pc;
    ck(mdb_cursor_open(txn, open_dbi(txn, "c:projects"), &pc), "cursor");
    ck(mdb_cursor_open(txn, open_dbi(txn, "i:spend_project_date"), &cur), "cursor");
    MDB_val pk, pv;
    int prc = mdb_cursor_get(pc, &pk, &pv, MDB_FIRST);
    c = NULL;
    char scratch[4096];
    Cell cells[64], line;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *project = (const char *)k.mv_data + 1;
        size_t pn = strlen(project);
        const char *date = project + pn + 2;
        if (memcmp(date, since, sn) < 0) continue;
        int cmp;
        while (prc == 0 && (cmp = (pk.mv_size == pn ? memcmp(pk.mv_data, project, pn) : (pk.mv_size > pn) - (pk.mv_size < pn))) < 0) {
            prc = mdb_cursor_get(pc, &pk, &pv, MDB_NEXT);
            c = NULL;
        }
        if (prc != 0 || cmp != 0) continue;
        if (!c) {
            size_t pos = 0;
            csv_record(pv.mv_data, pv.mv_size, &pos, cells, 64, scratch, &line);
            char id[32];
            size_t idn = cells[1].n < 31 ? cells[1].n : 31;
            memcpy(id, cells[1].p, idn);
            id[idn] = 0;
            c = bsearch(id, cl, ncl, sizeof *cl, by_id);
            if (!c) continue;
        }
        c->cost += dec_int((const unsigned char *)v.mv_data + 1);
    }
    mdb_cursor_close(cur);
    mdb_cursor_close(pc);

    long n[4] = {0};
    int64_t R = 0, C = 0, O = 0;
    for (i = 0; i < ncl; i++) {
        int64_t rev = cl[i].rev, cost = cl[i].cost, od = cl[i].overdue;
        int t = 3;
        if (rev > 0) {
            int64_t m100 = 100 * (rev - cost), o100 = 100 * od;
            if (rev >= 5000000000LL && m100 >= 25 * rev && o100 <= 10 * rev) t = 0;
            else if (rev >= 1000000000LL && m100 >= 15 * rev && o100 <= 15 * rev) t = 1;
            else if (rev >= 200000000LL && m100 >= 0) t = 2;
        }
        n[t]++;
        R += rev; C += cost; O += od;
    }
    printf("A=%ld B=%ld C=%ld D=%ld revenue=%lld cost=%lld overdue=%lld\n", n[0], n[1], n[2], n[3],
           (long long)R, (long long)C, (long long)O);
    free(cl);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "import") == 0) return cmd_import(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "lookups") == 0) return cmd_lookups(argv[2], atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "tiering") == 0) return cmd_tiering(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "count") == 0) return cmd_count(argv[2]);
    fprintf(stderr, "usage: floor import DB SPEC CSVDIR | lookups DB N | tiering DB SINCE | count DB\n");
    return 2;
}
