/* query.c — see query.h. */
#include "query.h"
#include "kdate.h"
#include "keyenc.h"
#include "store.h"
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *const qop_names[] = {"=", "~=", ">=", ">", "<=", "<", "in", "between"};

void query_init(query *q, const coll_def *c) {
  memset(q, 0, offsetof(query, cond_small));
  q->c = c;
}

query *query_new(const coll_def *c) {
  query *q = malloc(sizeof *q);
  query_init(q, c);
  return q;
}

static int in_text(const query *q, const char *p) {
  return p >= q->text_small && p < q->text_small + Q_SMALL_TEXT;
}

static kval copy_val(query *q, const kval *v) {
  kval r = *v;
  if (v->tag == KV_STR || v->tag == KV_LIST || v->tag == KV_MAP) {
    size_t n = v->u.s.len + 1;
    char *p;
    if (q->text_used + n <= Q_SMALL_TEXT) { p = q->text_small + q->text_used; q->text_used += n; }
    else p = malloc(n);
    memcpy(p, v->u.s.p, v->u.s.len);
    p[v->u.s.len] = 0;
    r.u.s.p = p;
  }
  return r;
}

static void free_val(query *q, kval *v) {
  if ((v->tag == KV_STR || v->tag == KV_LIST || v->tag == KV_MAP) && !in_text(q, v->u.s.p)) free((void *)v->u.s.p);
}

static void push_cond(query *q, int field, qop op, kval *v, int nv) {
  if (q->ncond == q->cap) {
    if (!q->cond) {
      q->cond = q->cond_small;
      q->cap = Q_SMALL_CONDS;
    } else {
      int cap = q->cap * 2;
      qcond *n = malloc(sizeof *n * (size_t)cap);
      memcpy(n, q->cond, sizeof *n * (size_t)q->ncond);
      if (q->cond != q->cond_small) free(q->cond);
      q->cond = n;
      q->cap = cap;
    }
  }
  qcond *c = &q->cond[q->ncond++];
  c->field = field;
  c->op = op;
  c->nv = nv;
  int k = nv ? nv : 1;
  if (q->vals_used + k <= Q_SMALL_VALS) { c->v = q->val_small + q->vals_used; q->vals_used += k; }
  else c->v = malloc(sizeof(kval) * (size_t)k);
  for (int i = 0; i < nv; i++) c->v[i] = copy_val(q, &v[i]);
}

void query_copy(query *dst, const query *src) {
  query_init(dst, src->c);
  dst->never = src->never;
  for (int i = 0; i < src->ncond; i++) push_cond(dst, src->cond[i].field, src->cond[i].op, src->cond[i].v, src->cond[i].nv);
}

query *query_clone(const query *q) {
  query *r = malloc(sizeof *r);
  query_copy(r, q);
  return r;
}

void query_release(query *q) {
  for (int i = 0; i < q->ncond; i++) {
    for (int j = 0; j < q->cond[i].nv; j++) free_val(q, &q->cond[i].v[j]);
    if (q->cond[i].v < q->val_small || q->cond[i].v >= q->val_small + Q_SMALL_VALS) free(q->cond[i].v);
  }
  if (q->cond != q->cond_small) free(q->cond);
  query_init(q, q->c);
}

void query_free(query *q) {
  if (!q) return;
  query_release(q);
  free(q);
}

/* Coerces a filter value to the field's type. Returns 1 ok, 0 "can never
 * match", <0 error. *op may be tightened (an int field compared with 2.5). */
static int coerce(const coll_def *c, const field_def *f, qop *op, kval *v, kam_err *e) {
  char why[600];
  kbuf b = {0};
  int rc = 1;
  switch (f->type) {
  case FT_INT: case FT_MONEY:
    if (v->tag == KV_INT) break;
    if (v->tag != KV_NUM || !isfinite(v->u.n)) goto bad;
    if (v->u.n >= 9223372036854775808.0 || v->u.n < -9223372036854775808.0) {
      /* past every integer: no conversion (it would overflow); what the
       * comparison means is known without one */
      int above = v->u.n > 0;
      if (*op == Q_NE) break;                 /* compared as a number */
      if ((*op == Q_GE || *op == Q_GT) && !above) { *v = kv_int(INT64_MIN); *op = Q_GE; }
      else if ((*op == Q_LE || *op == Q_LT) && above) { *v = kv_int(INT64_MAX); *op = Q_LE; }
      else rc = 0;
      break;
    }
    if (v->u.n == floor(v->u.n)) { *v = kv_int((int64_t)v->u.n); break; }
    if (*op == Q_GE || *op == Q_GT) { *v = kv_int((int64_t)ceil(v->u.n)); *op = Q_GE; }
    else if (*op == Q_LE || *op == Q_LT) { *v = kv_int((int64_t)floor(v->u.n)); *op = Q_LE; }
    else if (*op == Q_NE) { *op = Q_NE; }
    else rc = 0;
    break;
  case FT_NUMBER:
    if (v->tag == KV_INT) *v = kv_num((double)v->u.i);
    else if (v->tag != KV_NUM) goto bad;
    break;
  case FT_BOOL:
    if (v->tag != KV_TRUE && v->tag != KV_FALSE) goto bad;
    break;
  case FT_LIST: case FT_MAP:
    kbuf_free(&b);
    return -kam_errf(e, KAM_EDATA, "%s.%s: a %s field cannot be filtered on; use a function", c->name, f->name, ftype_names[f->type]);
  case FT_ENUM:
    if (v->tag != KV_STR) goto bad;
    if ((*op == Q_EQ || *op == Q_IN || *op == Q_NE) && !field_check(f, v, why, sizeof why)) {
      kval_show(&b, v);
      kbuf_cstr(&b);
      rc = -kam_errf(e, KAM_EDATA, "%s.%s: filter value %s is not %s", c->name, f->name, (char *)b.p, why);
      kbuf_free(&b);
      return rc;
    }
    break;
  default:
    if (v->tag != KV_STR) goto bad;
  }
  kbuf_free(&b);
  return rc;
bad:
  kval_show(&b, v);
  kbuf_cstr(&b);
  rc = -kam_errf(e, KAM_EDATA, "%s.%s: filter value %s is not %s", c->name, f->name, (char *)b.p,
                f->type == FT_INT || f->type == FT_MONEY || f->type == FT_NUMBER ? "a number"
                : f->type == FT_BOOL ? "true or false" : "text");
  kbuf_free(&b);
  return rc;
}

int query_add(query *q, int field, qop op, const kval *vals, int nv, kam_err *e) {
  const field_def *f = &q->c->fields[field];
  kval tmp[256];
  if (nv > 256) return kam_errf(e, KAM_EDATA, "%s.%s: at most 256 values in a filter", q->c->name, f->name);
  int n = 0;
  for (int i = 0; i < nv; i++) {
    kval v = vals[i];
    qop o = op;
    int rc = coerce(q->c, f, &o, &v, e);
    if (rc < 0) return -rc;
    if (rc == 0) {
      if (op == Q_IN) continue;
      q->never = 1;
      return 0;
    }
    if (op != Q_IN && op != Q_BETWEEN) op = o;
    tmp[n++] = v;
  }
  if (op == Q_IN && n == 0) { q->never = 1; return 0; }
  if (op == Q_IN) { /* sorted and unique: one scan per distinct value, in key order */
    for (int i = 1; i < n; i++) {
      kval t = tmp[i];
      int j = i - 1;
      while (j >= 0 && kval_cmp(&tmp[j], &t) == 1) { tmp[j + 1] = tmp[j]; j--; }
      tmp[j + 1] = t;
    }
    int u = 0;
    for (int i = 0; i < n; i++)
      if (!u || kval_cmp(&tmp[u - 1], &tmp[i]) != 0) tmp[u++] = tmp[i];
    n = u;
  }
  push_cond(q, field, op, tmp, n);
  return 0;
}

/* ---- filters written as Lua expressions ---------------------------------- */

/* A token of Lua text, as much as the check needs. */
enum { TK_END, TK_NAME, TK_STR, TK_NUM, TK_OP, TK_OTHER };
typedef struct xtok { int kind; const char *p; size_t n; } xtok;

/* Skips a long bracket [==[ ... ]==] at s (s[0] == '['); returns its end,
 * or NULL when s does not open one. */
static const char *long_bracket(const char *s, const char *end) {
  const char *p = s + 1;
  size_t level = 0;
  while (p < end && *p == '=') { p++; level++; }
  if (p >= end || *p != '[') return NULL;
  for (p++; p < end; p++) {
    if (*p != ']') continue;
    size_t k = 0;
    while (p + 1 + k < end && p[1 + k] == '=') k++;
    if (k == level && p + 1 + k < end && p[1 + k] == ']') return p + 2 + k;
  }
  return end;
}

static const char *next_tok(const char *p, const char *end, xtok *t) {
  for (;;) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')) p++;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') { /* a comment */
      const char *q = p[2] == '[' ? long_bracket(p + 2, end) : NULL;
      if (q) { p = q; continue; }
      while (p < end && *p != '\n') p++;
      continue;
    }
    break;
  }
  t->p = p;
  if (p >= end) { t->kind = TK_END; t->n = 0; return p; }
  unsigned char c = (unsigned char)*p;
  const char *q = p + 1;
  if (c == '_' || ((c | 32) >= 'a' && (c | 32) <= 'z') || c >= 0x80) {
    while (q < end && (*q == '_' || ((*q | 32) >= 'a' && (*q | 32) <= 'z') || (*q >= '0' && *q <= '9') || (unsigned char)*q >= 0x80)) q++;
    t->kind = TK_NAME;
  } else if ((c >= '0' && c <= '9') || (c == '.' && q < end && *q >= '0' && *q <= '9')) {
    while (q < end && (((*q | 32) >= 'a' && (*q | 32) <= 'z') || (*q >= '0' && *q <= '9') || *q == '.' ||
                       ((*q == '+' || *q == '-') && ((q[-1] | 32) == 'e' || (q[-1] | 32) == 'p'))))
      q++;
    t->kind = TK_NUM;
  } else if (c == '"' || c == '\'') {
    while (q < end && *q != (char)c && *q != '\n') q += *q == '\\' && q + 1 < end ? 2 : 1;
    if (q < end && *q == (char)c) q++;
    t->kind = TK_STR;
  } else if (c == '[' && (q = long_bracket(p, end))) {
    t->kind = TK_OTHER; /* a long string: not read */
  } else {
    static const char *const two[] = {"==", "~=", "<=", ">=", "//", "::", "<<", ">>", "..", NULL};
    q = p + 1;
    for (int i = 0; two[i]; i++)
      if (end - p >= 2 && p[0] == two[i][0] && p[1] == two[i][1]) q = p + 2;
    if (q == p + 2 && p[0] == '.' && q < end && *q == '.') q++; /* ... */
    t->kind = TK_OP;
  }
  t->n = (size_t)(q - p);
  return q;
}

static int tok_is(const xtok *t, const char *s) {
  return (t->kind == TK_OP || t->kind == TK_NAME) && t->n == strlen(s) && !memcmp(t->p, s, t->n);
}

/* Reads a quoted literal's text into b: 1, or 0 for an escape it does not
 * know (the literal is then left unchecked). */
static int str_literal(const xtok *t, kbuf *b) {
  if (t->n < 2 || t->p[t->n - 1] != t->p[0]) return 0;
  for (size_t i = 1; i + 1 < t->n; i++) {
    char ch = t->p[i];
    if (ch == '\\') {
      ch = t->p[++i];
      if (ch == 'n') ch = '\n';
      else if (ch == 't') ch = '\t';
      else if (ch != '\\' && ch != '"' && ch != '\'') return 0;
    }
    kbuf_byte(b, (uint8_t)ch);
  }
  return 1;
}

/* Can the tokens around `A op B` not bind tighter than the comparison? */
static int cmp_opens(const xtok *t) {
  return t->kind == TK_END || tok_is(t, "(") || tok_is(t, ",") || tok_is(t, "and") || tok_is(t, "or") ||
         tok_is(t, "[") || tok_is(t, "{") || tok_is(t, "=");
}
static int cmp_closes(const xtok *t) {
  return t->kind == TK_END || tok_is(t, ")") || tok_is(t, ",") || tok_is(t, "and") || tok_is(t, "or") ||
         tok_is(t, "]") || tok_is(t, "}") || tok_is(t, ";");
}

int query_check_expr(const coll_def *c, const char *text, kam_err *e) {
  const char *end = text + strlen(text);
  xtok w[5] = {{TK_END, text, 0}, {TK_END, text, 0}, {TK_END, text, 0}, {TK_END, text, 0}, {TK_END, text, 0}};
  const char *p = text;
  /* inside a function a name may be a parameter or a local, not a field */
  for (const char *q = p; q < end;) {
    xtok t;
    q = next_tok(q, end, &t);
    if (t.kind == TK_END) break;
    if (tok_is(&t, "function") || tok_is(&t, "local")) return 0;
  }
  /* a window of five tokens: before, A, op, B, after */
  for (int i = 1; i < 5; i++) p = next_tok(p, end, &w[i]);
  int rc = 0;
  kbuf b = {0};
  while (!rc && w[1].kind != TK_END) {
    const xtok *name = w[1].kind == TK_NAME ? &w[1] : w[3].kind == TK_NAME ? &w[3] : NULL;
    const xtok *lit = name == &w[1] ? &w[3] : &w[1];
    int f = name ? coll_field_n(c, name->p, name->n) : -1;
    if (f >= 0 && (c->fields[f].type == FT_LIST || c->fields[f].type == FT_MAP)) f = -1; /* a table is never text */
    static const char *const globals[] = {"kam", "db", "math", "string", "and", "or", "not", "nil", "true", "false", NULL};
    for (int g = 0; f >= 0 && globals[g]; g++)
      if (tok_is(name, globals[g])) f = -1;
    kbuf_reset(&b);
    if (f >= 0 && lit->kind == TK_STR && (tok_is(&w[2], "==") || tok_is(&w[2], "~=")) && cmp_opens(&w[0]) &&
        cmp_closes(&w[4]) && str_literal(lit, &b)) {
      kval v = kv_str((const char *)b.p, b.len);
      qop op = tok_is(&w[2], "==") ? Q_EQ : Q_NE;
      rc = coerce(c, &c->fields[f], &op, &v, e);
      rc = rc < 0 ? -rc : 0;
    }
    for (int i = 0; i < 4; i++) w[i] = w[i + 1];
    p = next_tok(p, end, &w[4]);
  }
  kbuf_free(&b);
  return rc;
}

int qcond_match(const qcond *c, const kval *v) {
  int r;
  switch (c->op) {
  case Q_EQ: return kval_eq(v, &c->v[0]);
  case Q_NE: return !kval_eq(v, &c->v[0]);
  case Q_GE: r = kval_cmp(v, &c->v[0]); return r == 0 || r == 1;
  case Q_GT: return kval_cmp(v, &c->v[0]) == 1;
  case Q_LE: r = kval_cmp(v, &c->v[0]); return r == 0 || r == -1;
  case Q_LT: return kval_cmp(v, &c->v[0]) == -1;
  case Q_IN:
    for (int i = 0; i < c->nv; i++) if (kval_eq(v, &c->v[i])) return 1;
    return 0;
  case Q_BETWEEN:
    r = kval_cmp(v, &c->v[0]);
    if (r != 0 && r != 1) return 0;
    r = kval_cmp(v, &c->v[1]);
    return r == 0 || r == -1;
  }
  return 0;
}

/* ---- planning ---------------------------------------------------------- */

static const qcond *find_cond(const query *q, int field, int eq) {
  for (int i = 0; i < q->ncond; i++) {
    const qcond *c = &q->cond[i];
    if (c->field != field) continue;
    int is_eq = c->op == Q_EQ || c->op == Q_IN;
    int is_range = c->op == Q_GE || c->op == Q_GT || c->op == Q_LE || c->op == Q_LT || c->op == Q_BETWEEN;
    if (eq ? is_eq : is_range) return c;
  }
  return NULL;
}

/* The share of a collection's rows a plan is expected to read, from what
 * the schema says of its fields (the book keeps no statistics): `field =
 * value` on a ref, a text or an id-like field leaves few rows, on an enum
 * one value in so many, on a yes/no field half; a range a quarter. Enough
 * to prefer a client's 100 invoices to every unpaid invoice in the book. */
#define RANGE_SHARE 0.25
static double eq_share(const field_def *f, int nv) {
  double one;
  switch (f->type) {
  case FT_ENUM: one = f->nvalues > 0 ? 1.0 / f->nvalues : 0.5; break;
  case FT_BOOL: one = 0.5; break;
  case FT_DATE: case FT_DATETIME: one = 1.0 / 365; break;
  case FT_INT: case FT_MONEY: case FT_NUMBER: one = 0.01; break;
  default: one = 0.001; /* refs, texts */
  }
  double s = one * nv;
  return s < 1 ? s : 1;
}

static int index_has(const index_def *ix, int field) {
  for (int i = 0; i < ix->nf; i++) if (ix->f[i] == field) return 1;
  for (int i = 0; i < ix->nc; i++) if (ix->carry[i] == field) return 1;
  return 0;
}

void qcursors_close(qcursors *qc) {
  for (int i = 0; i < qc->n; i++) mdb_cursor_close(qc->cur[i]);
  qc->n = 0;
  qc->txn = NULL;
}

static int cursor_take(qiter *it, MDB_dbi dbi) {
  it->dbi = dbi;
  qcursors *qc = it->cache;
  if (qc && qc->txn == it->txn)
    for (int i = 0; i < qc->n; i++)
      if (qc->dbi[i] == dbi) {
        it->cur = qc->cur[i];
        qc->n--;
        qc->dbi[i] = qc->dbi[qc->n];
        qc->cur[i] = qc->cur[qc->n];
        return 0;
      }
  return mdb_cursor_open(it->txn, dbi, &it->cur);
}

static void cursor_give_back(qiter *it) {
  qcursors *qc = it->cache;
  if (qc && qc->txn == it->txn && qc->n < QC_MAX) {
    qc->dbi[qc->n] = it->dbi;
    qc->cur[qc->n++] = it->cur;
  } else {
    mdb_cursor_close(it->cur);
  }
  it->cur = NULL;
}

int qiter_open(qiter *it, MDB_txn *txn, const query *q, int want, kam_err *e) {
  return qiter_open_cached(it, txn, q, want, NULL, e);
}

int qiter_open_cached(qiter *it, MDB_txn *txn, const query *q, int want, qcursors *cache, kam_err *e) {
  memset(it, 0, offsetof(qiter, poff_small));
  it->q = q;
  it->txn = txn;
  it->cache = cache;
  const coll_def *c = q->c;
  if (find_cond(q, F_ID, 1)) {
    it->kind = PLAN_IDS;
  } else {
    int best = 0;
    double best_share = 2;
    for (int xi = 0; xi < c->nindexes; xi++) {
      const index_def *ix = &c->indexes[xi];
      int eqn = 0, range = 0;
      double share = 1;
      const qcond *eqc;
      while (eqn < ix->nf && (eqc = find_cond(q, ix->f[eqn], 1))) share *= eq_share(&c->fields[ix->f[eqn++]], eqc->nv);
      if (eqn < ix->nf && find_cond(q, ix->f[eqn], 0)) range = 1, share *= RANGE_SHARE;
      int score = eqn * 4 + range * 2;
      if (score && want >= 0 && index_has(ix, want)) score++;
      if (score && eqn == 0 && !range) score = 0;
      /* the fewest rows expected; between equals, the most conditions the scan answers */
      if (score && (share < best_share || (share == best_share && score > best))) {
        best = score;
        best_share = share;
        it->ix = ix;
        it->eqn = eqn;
        it->range = range;
      }
    }
    it->kind = best ? PLAN_INDEX : PLAN_SCAN;
  }
  int rc;
  if (it->kind == PLAN_INDEX) {
    const index_def *ix = it->ix;
    if (it->range) {
      const qcond *r = find_cond(q, ix->f[it->eqn], 0);
      /* the tightest bounds of every range condition on that field */
      for (int i = 0; i < q->ncond; i++) {
        const qcond *cc = &q->cond[i];
        if (cc->field != r->field) continue;
        const kval *lo = NULL, *hi = NULL;
        int lo_open = 0, hi_open = 0;
        if (cc->op == Q_GE || cc->op == Q_GT) { lo = &cc->v[0]; lo_open = cc->op == Q_GT; }
        if (cc->op == Q_LE || cc->op == Q_LT) { hi = &cc->v[0]; hi_open = cc->op == Q_LT; }
        if (cc->op == Q_BETWEEN) { lo = &cc->v[0]; hi = &cc->v[1]; }
        /* a tighter bound replaces the last one, openness and all; an equal one
         * is open if either is */
        int r;
        if (lo && (!it->lo || (r = kval_cmp(lo, it->lo)) == 1)) { it->lo = lo; it->lo_open = lo_open; }
        else if (lo && r == 0) it->lo_open = it->lo_open || lo_open;
        if (hi && (!it->hi || (r = kval_cmp(hi, it->hi)) == -1)) { it->hi = hi; it->hi_open = hi_open; }
        else if (hi && r == 0) it->hi_open = it->hi_open || hi_open;
      }
    }
    /* prefixes: cartesian product of the equality values */
    int counts[IDX_MAXF], total = 1;
    const qcond *eqc[IDX_MAXF];
    for (int i = 0; i < it->eqn; i++) {
      eqc[i] = find_cond(q, ix->f[i], 1);
      counts[i] = eqc[i]->nv;
      if (total * counts[i] > 4096) { it->eqn = i; it->range = 0; it->lo = it->hi = NULL; break; }
      total *= counts[i];
    }
    it->ncombo = total;
    it->poff = total + 1 <= 9 ? it->poff_small : malloc(sizeof(size_t) * (size_t)(total + 1));
    int any_cut = 0;
    for (int i = 0; i < it->eqn; i++)
      for (int j = 0; j < eqc[i]->nv; j++)
        any_cut |= eqc[i]->v[j].tag == KV_STR && eqc[i]->v[j].u.s.len >= KEY_STR_MAX;
    int kept = 0;
    for (int k = 0; k < total; k++) {
      size_t start = it->prefixes.len;
      it->poff[kept] = start;
      int rem;
      /* build in field order */
      int digits[IDX_MAXF];
      rem = k;
      for (int i = it->eqn - 1; i >= 0; i--) { digits[i] = rem % counts[i]; rem /= counts[i]; }
      for (int i = 0; i < it->eqn; i++)
        key_put(&it->prefixes, &c->fields[ix->f[i]], &eqc[i]->v[digits[i]]);
      /* two long strings cut to the same key: scan their prefix once */
      int dup = 0;
      for (int j = 0; any_cut && j < kept && !dup; j++)
        dup = it->poff[j + 1] - it->poff[j] == it->prefixes.len - start &&
              !memcmp(it->prefixes.p + it->poff[j], it->prefixes.p + start, it->prefixes.len - start);
      if (dup) it->prefixes.len = start;
      else kept++;
    }
    it->ncombo = kept;
    it->poff[kept] = it->prefixes.len;
    /* equality on a prefix field is what the scan matches: no need to check it
     * again, unless a long string was cut in the key */
    size_t nc = (size_t)q->ncond + 1;
    if (nc <= 32) { memset(it->skip_small, 0, sizeof it->skip_small); it->skip = it->skip_small; }
    else it->skip = calloc(2 * nc, 1);
    it->bounded = it->skip + (nc <= 32 ? 32 : nc);
    /* the seek and the stop at the upper bound do every range condition on
     * the range field (the tightest bounds imply the others), unless a bound
     * is a string long enough to be cut in the key */
    int exact_range = it->range;
    for (int i = 0; i < q->ncond && exact_range; i++) {
      const qcond *cc = &q->cond[i];
      if (cc->field != ix->f[it->eqn]) continue;
      for (int j = 0; j < cc->nv; j++)
        if (cc->v[j].tag == KV_STR && cc->v[j].u.s.len >= KEY_STR_MAX) exact_range = 0;
    }
    for (int i = 0; i < q->ncond; i++) {
      const qcond *cc = &q->cond[i];
      if (exact_range && cc->field == ix->f[it->eqn] && cc->op != Q_EQ && cc->op != Q_IN && cc->op != Q_NE) {
        it->bounded[i] = 1;
        continue;
      }
      if (cc->op != Q_EQ && cc->op != Q_IN) continue;
      int pos = -1;
      for (int k = 0; k < it->eqn; k++) if (ix->f[k] == cc->field && eqc[k] == cc) pos = k;
      if (pos < 0) continue;
      int cut = 0;
      for (int j = 0; j < cc->nv; j++) cut |= cc->v[j].tag == KV_STR && cc->v[j].u.s.len >= KEY_STR_MAX;
      it->skip[i] = !cut;
    }
    if ((rc = cursor_take(it, ix->dbi))) return lmdb_err(e, rc, ix->name);
  } else if (it->kind == PLAN_SCAN) {
    if ((rc = cursor_take(it, c->dbi))) return lmdb_err(e, rc, c->name);
  }
  return 0;
}

void qiter_close(qiter *it) {
  if (it->cur) cursor_give_back(it);
  kbuf_free(&it->prefixes);
  if (it->poff != it->poff_small) free(it->poff);
  it->poff = NULL;
  if (it->skip != it->skip_small) free(it->skip);
  it->skip = it->bounded = NULL;
}

static int passes(qiter *it, kam_err *e) {
  const query *q = it->q;
  for (int i = 0; i < q->ncond; i++) {
    if (it->skip && it->skip[i]) continue;
    if (it->bounded && it->bounded[i]) { /* exact unless the key cut a long string */
      const kval *v = &it->rangev;
      if (v->tag != KV_NULL && !(v->tag == KV_STR && v->u.s.len >= KEY_STR_MAX)) continue;
    }
    kval v;
    int rc = qiter_field(it, q->cond[i].field, &v, e);
    if (rc < 0) return rc;
    if (!qcond_match(&q->cond[i], &v)) return 0;
  }
  return 1;
}

/* Decodes the components of the current index key; the id after them is
 * unpacked by decode_id, when something asks for it (a range or a condition
 * on a part does not). */
static int decode_key(qiter *it) {
  if (it->decoded) return 1;
  const uint8_t *p = it->key.mv_data, *end = p + it->key.mv_size;
  for (int i = 0; i < it->ix->nf; i++) {
    size_t k = key_get(p, end, &it->q->c->fields[it->ix->f[i]], &it->comp[i], it->compbuf[i]);
    if (!k) return 0;
    p += k;
  }
  it->idp = p;
  it->decoded = 1;
  it->id_ready = 0;
  return 1;
}

static int decode_id(qiter *it) {
  if (it->id_ready) return 1;
  const uint8_t *end = (const uint8_t *)it->key.mv_data + it->key.mv_size;
  const uint8_t *idp = it->idp;
  if (!it->decoded) { /* past the parts after tail, read but not kept */
    idp = it->tail;
    for (int i = it->tail_part; i < it->ix->nf; i++) {
      kval v;
      char scratch[KEY_ID_MAX];
      size_t k = key_get(idp, end, &it->q->c->fields[it->ix->f[i]], &v, scratch);
      if (!k) return 0;
      idp += k;
    }
  }
  size_t n = key_get_id(idp, end, it->q->c->prefix, it->idbuf);
  if (!n) return 0;
  it->id = kv_str(it->idbuf, n);
  it->id_ready = 1;
  return 1;
}

int qiter_next(qiter *it, kam_err *e) {
  const query *q = it->q;
  int rc;
  if (q->never) return 0;
  for (;;) {
    it->rec_loaded = 0;
    if (it->kind == PLAN_SCAN) {
      rc = mdb_cursor_get(it->cur, &it->key, &it->val, it->started ? MDB_NEXT : MDB_FIRST);
      it->started = 1;
      if (rc == MDB_NOTFOUND) return 0;
      if (rc) return -lmdb_err(e, rc, q->c->name);
      it->scanned++;
      it->id = kv_str(it->key.mv_data, it->key.mv_size);
      it->id_ready = 1;
      it->rec = it->val;
      it->rec_loaded = 1;
    } else if (it->kind == PLAN_IDS) {
      const qcond *c = find_cond(q, F_ID, 1);
      if (it->combo >= c->nv) return 0;
      const kval *id = &c->v[it->combo++];
      if (id->tag != KV_STR) continue;
      rc = store_get(it->txn, q->c, id->u.s.p, id->u.s.len, &it->rec);
      if (rc == MDB_NOTFOUND) continue;
      if (rc) return -lmdb_err(e, rc, q->c->name);
      it->scanned++;
      it->id = *id;
      it->id_ready = 1;
      it->rec_loaded = 1;
    } else {
      if (it->combo >= it->ncombo) return 0;
      const uint8_t *pre = it->prefixes.p ? it->prefixes.p + it->poff[it->combo] : (const uint8_t *)"";
      size_t plen = it->poff[it->combo + 1] - it->poff[it->combo];
      const field_def *rf = it->range ? &q->c->fields[it->ix->f[it->eqn]] : NULL;
      if (!it->started) {
        kbuf seek = {0};
        kbuf_put(&seek, pre, plen);
        if (it->lo) key_put(&seek, rf, it->lo);
        it->key.mv_size = seek.len;
        it->key.mv_data = seek.p;
        /* LMDB refuses an empty key: from the first entry then */
        rc = mdb_cursor_get(it->cur, &it->key, &it->val, seek.len ? MDB_SET_RANGE : MDB_FIRST);
        kbuf_free(&seek);
        it->started = 1;
      } else {
        rc = mdb_cursor_get(it->cur, &it->key, &it->val, MDB_NEXT);
      }
      if (rc == MDB_NOTFOUND) { it->combo++; it->started = 0; continue; }
      if (rc) return -lmdb_err(e, rc, it->ix->name);
      it->scanned++;
      if (it->key.mv_size < plen || (plen && memcmp(it->key.mv_data, pre, plen))) { it->combo++; it->started = 0; continue; }
      /* the key is decoded when something needs it: a range bound, a
       * condition, a field or the id (a covered sum needs none of them) */
      it->decoded = 0;
      it->id_ready = 0;
      const uint8_t *kp = (const uint8_t *)it->key.mv_data;
      it->tail = kp + plen;
      it->tail_part = it->eqn;
      if (it->range) {
        /* only the range part: the parts before it are the prefix just matched */
        size_t k = key_get(kp + plen, kp + it->key.mv_size, rf, &it->rangev, it->rangebuf);
        if (!k) return -kam_errf(e, KAM_EINTERNAL, "%s: malformed index entry", it->ix->name);
        it->tail += k;
        it->tail_part++;
        const kval *v = &it->rangev;
        if (it->lo && it->lo_open && kval_cmp(v, it->lo) == 0) continue;
        if (it->hi) {
          int r = kval_cmp(v, it->hi);
          if (r == 1 || (r == 0 && it->hi_open)) {
            /* a cut string equal to the bound's first bytes may still match */
            if (!(v->tag == KV_STR && v->u.s.len >= KEY_STR_MAX)) { it->combo++; it->started = 0; continue; }
          }
        }
      }
    }
    rc = passes(it, e);
    if (rc < 0) return rc;
    if (rc) return 1;
  }
}

int qiter_record(qiter *it, MDB_val *rec, kam_err *e) {
  if (it->kind == PLAN_INDEX && !it->id_ready && !decode_id(it))
    return -kam_errf(e, KAM_EINTERNAL, "%s: malformed index entry", it->ix->name);
  if (!it->rec_loaded) {
    int rc = store_get(it->txn, it->q->c, it->id.u.s.p, it->id.u.s.len, &it->rec);
    if (rc) return -lmdb_err(e, rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc, it->q->c->name);
    it->rec_loaded = 1;
  }
  *rec = it->rec;
  return 1;
}

int qiter_field(qiter *it, int field, kval *out, kam_err *e) {
  const coll_def *c = it->q->c;
  if (field == F_ID) { /* an index entry's id needs no other part kept */
    if (it->kind == PLAN_INDEX && !decode_id(it))
      return -kam_errf(e, KAM_EINTERNAL, "%s: malformed index entry", it->ix->name);
    *out = it->id;
    return 1;
  }
  if (it->kind == PLAN_INDEX && !it->decoded) {
    for (int i = 0; i < it->ix->nc; i++) /* carried values need no key */
      if (it->ix->carry[i] == field) {
        if (!rec_find_inline(it->val.mv_data, it->val.mv_size, c->fields[field].fid, out)) *out = kv_null();
        return 1;
      }
    if (!decode_key(it)) return -kam_errf(e, KAM_EINTERNAL, "%s: malformed index entry", it->ix->name);
  }
  if (it->kind == PLAN_INDEX) {
    for (int i = 0; i < it->ix->nf; i++)
      if (it->ix->f[i] == field) {
        const kval *v = &it->comp[i];
        if (!(v->tag == KV_STR && v->u.s.len >= KEY_STR_MAX)) { *out = *v; return 1; }
      }
    for (int i = 0; i < it->ix->nc; i++)
      if (it->ix->carry[i] == field) {
        if (!rec_find_inline(it->val.mv_data, it->val.mv_size, c->fields[field].fid, out)) *out = kv_null();
        return 1;
      }
  }
  MDB_val rec;
  int rc = qiter_record(it, &rec, e);
  if (rc < 0) return rc;
  if (!rec_find_inline(rec.mv_data, rec.mv_size, c->fields[field].fid, out)) *out = kv_null();
  return 1;
}

size_t qiter_count_prefix(qiter *it, size_t max) {
  if (it->kind != PLAN_INDEX || !it->cur) return 0;
  size_t n = 0;
  for (int c = 0; c < it->ncombo && n < max; c++) {
    const uint8_t *pre = it->prefixes.p + it->poff[c];
    size_t plen = it->poff[c + 1] - it->poff[c];
    MDB_val k = {plen, (void *)pre}, v;
    int rc = mdb_cursor_get(it->cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && n < max && k.mv_size >= plen && !memcmp(k.mv_data, pre, plen)) {
      n++;
      rc = mdb_cursor_get(it->cur, &k, &v, MDB_NEXT);
    }
  }
  it->started = 0;
  return n;
}

/* A value as a point on a line, for the share of a range: numbers as they
 * are, dates and times by their day; 0 when it has none. */
static int as_point(const kval *v, ftype t, double *out) {
  if (v->tag == KV_INT) { *out = (double)v->u.i; return 1; }
  if (v->tag == KV_NUM) { *out = v->u.n; return 1; }
  int y, m, d;
  if (v->tag == KV_STR && (t == FT_DATE || t == FT_DATETIME) && v->u.s.len >= 10 &&
      date_parse(v->u.s.p, 10, &y, &m, &d)) {
    *out = (double)days_from_civil(y, m, d);
    return 1;
  }
  return 0;
}

double qiter_range_share(qiter *it) {
  if (it->kind != PLAN_INDEX || it->eqn != 0 || !it->range || !it->cur) return -1;
  const field_def *f = &it->q->c->fields[it->ix->f[0]];
  ftype t = f->type;
  MDB_val k, v;
  kval a, b;
  char sa[KEY_ID_MAX], sb[KEY_ID_MAX];
  double first, last, lo, hi;
  if (mdb_cursor_get(it->cur, &k, &v, MDB_FIRST) ||
      !key_get(k.mv_data, (const uint8_t *)k.mv_data + k.mv_size, f, &a, sa) || !as_point(&a, t, &first))
    return -1;
  if (mdb_cursor_get(it->cur, &k, &v, MDB_LAST) ||
      !key_get(k.mv_data, (const uint8_t *)k.mv_data + k.mv_size, f, &b, sb) || !as_point(&b, t, &last))
    return -1;
  lo = first;
  hi = last;
  if (it->lo && !as_point(it->lo, t, &lo)) return -1;
  if (it->hi && !as_point(it->hi, t, &hi)) return -1;
  if (lo < first) lo = first;
  if (hi > last) hi = last;
  if (last <= first) return 1;
  if (hi < lo) return 0;
  return (hi - lo + 1) / (last - first + 1);
}

void qiter_explain(const qiter *it, kbuf *out) {
  const coll_def *c = it->q->c;
  if (it->kind == PLAN_SCAN) kbuf_printf(out, "scan %s", c->name);
  else if (it->kind == PLAN_IDS) kbuf_printf(out, "get %s by id", c->name);
  else {
    kbuf_printf(out, "index %s (%d equal", it->ix->name, it->eqn);
    if (it->range) kbuf_printf(out, ", range on %s", c->fields[it->ix->f[it->eqn]].name);
    kbuf_printf(out, ", %d prefix%s)", it->ncombo, it->ncombo == 1 ? "" : "es");
  }
}
