/* out_audit.c — the audit trail printed: a table, JSON or CSV (audit_print
 * in audit.h); audit.c reads the entries, this file only shows them. */
#include "audit.h"
#include "kdate.h"
#include "out_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_utf8(kbuf *b, const char *s, size_t n) {
  size_t bad = utf8_invalid_at(s, n);
  kbuf_put(b, s, bad);
  for (size_t i = bad; i < n;) {
    size_t k = utf8_char_len((const uint8_t *)s + i, n - i);
    if (k) { kbuf_put(b, s + i, k); i += k; }
    else { kbuf_str(b, "\xef\xbf\xbd"); i++; }
  }
}

/* A text field as cell text: empty when absent. */
static void put_text(kbuf *b, const kval *v) {
  if (v->tag == KV_STR) put_utf8(b, v->u.s.p, v->u.s.len);
}

/* A text field as JSON: a string, or null when absent. */
static void json_text(kbuf *b, kbuf *tmp, const kval *v) {
  if (v->tag != KV_STR) { kbuf_str(b, "null"); return; }
  if (utf8_invalid_at(v->u.s.p, v->u.s.len) == v->u.s.len) { json_str(b, v->u.s.p, v->u.s.len); return; }
  kbuf_reset(tmp);
  put_utf8(tmp, v->u.s.p, v->u.s.len);
  json_str(b, (const char *)tmp->p, tmp->len);
}

static void changes_text(kbuf *b, const audit_entry *a) {
  for (int i = 0; i < a->nchanges; i++) {
    const audit_change *ch = &a->changes[i];
    if (i) kbuf_str(b, "; ");
    kbuf_put(b, ch->name, ch->namelen);
    kbuf_str(b, ": ");
    audit_value_text(b, &ch->old, ch->has_old);
    kbuf_str(b, " \xe2\x86\x92 ");
    audit_value_text(b, &ch->new_, ch->has_new);
  }
}

typedef struct printer {
  int format;
  kbuf json, tmp;           /* AUDIT_JSON: the array so far */
  kbuf *cells;              /* AUDIT_TABLE / AUDIT_CSV: rows of ncol cells, the header first */
  size_t ncells, cap;
  int ncol;
  size_t rows;              /* entries */
} printer;

static const char *const table_cols[] = {"when", "who", "via", "op", "collection", "id", "changes", NULL};
static const char *const csv_cols[] = {"seq", "when", "who", "role", "by", "channel", "source", "hash",
                                       "op", "collection", "id", "changes", NULL};

/* A new row of ncol empty cells: its first, or NULL. The row's pointers
 * last until the next row is added. */
static kbuf *row(printer *p) {
  if (p->ncells + (size_t)p->ncol > p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 16 * (size_t)p->ncol;
    kbuf *c = realloc(p->cells, cap * sizeof *c);
    if (!c) return NULL;
    memset(c + p->cap, 0, (cap - p->cap) * sizeof *c);
    p->cells = c;
    p->cap = cap;
  }
  p->ncells += (size_t)p->ncol;
  return &p->cells[p->ncells - (size_t)p->ncol];
}

static int print_entry(void *ud, const audit_entry *a, kam_err *e) {
  printer *p = ud;
  p->rows++;
  if (p->format == AUDIT_JSON) {
    kbuf *b = &p->json;
    kbuf_str(b, p->rows > 1 ? "," : "[");
    kbuf_printf(b, "{\"seq\":%llu,\"when\":", (unsigned long long)a->seq);
    json_text(b, &p->tmp, &a->when);
    static const char *const names[] = {"who", "role", "by", "channel", "source", "hash", "op", "collection", "id"};
    const kval *vals[] = {&a->who, &a->role, &a->by, &a->channel, &a->source, &a->hash, &a->op, &a->coll, &a->id};
    for (int i = 0; i < 9; i++) {
      kbuf_printf(b, ",\"%s\":", names[i]);
      json_text(b, &p->tmp, vals[i]);
    }
    kbuf_str(b, ",\"changes\":[");
    for (int i = 0; i < a->nchanges; i++) {
      const audit_change *ch = &a->changes[i];
      kbuf_str(b, i ? ",{\"field\":" : "{\"field\":");
      json_str(b, ch->name, ch->namelen);
      const kval *v[2] = {&ch->old, &ch->new_};
      int has[2] = {ch->has_old, ch->has_new};
      for (int k = 0; k < 2; k++) {
        kbuf_str(b, k ? ",\"new\":" : ",\"old\":");
        if (!has[k]) kbuf_str(b, "null");
        else if (v[k]->tag == KV_STR) json_text(b, &p->tmp, v[k]);
        else json_kval(b, v[k]);
      }
      kbuf_byte(b, '}');
    }
    kbuf_str(b, "]}");
    return 0;
  }
  kbuf *c = row(p);
  if (!c) return kam_errf(e, KAM_EINTERNAL, "audit: out of memory");
  if (p->format == AUDIT_TABLE) {
    put_text(&c[0], &a->when);
    if (a->by.tag == KV_STR) { put_text(&c[1], &a->by); kbuf_str(&c[1], " as "); }
    put_text(&c[1], &a->who);
    if (a->role.tag == KV_STR) { kbuf_str(&c[1], " ("); put_text(&c[1], &a->role); kbuf_byte(&c[1], ')'); }
    put_text(&c[2], &a->channel);
    put_text(&c[3], &a->op);
    put_text(&c[4], &a->coll);
    put_text(&c[5], &a->id);
    changes_text(&c[6], a);
    return 0;
  }
  kbuf_printf(&c[0], "%llu", (unsigned long long)a->seq);
  const kval *vals[] = {&a->when, &a->who, &a->role, &a->by, &a->channel, &a->source, &a->hash,
                        &a->op, &a->coll, &a->id};
  for (int i = 0; i < 10; i++) put_text(&c[i + 1], vals[i]);
  changes_text(&c[11], a);
  return 0;
}

int audit_print(kam_store *st, MDB_txn *txn, const audit_filter *f, int format, FILE *out, kam_err *e) {
  if (format != AUDIT_TABLE && format != AUDIT_JSON && format != AUDIT_CSV)
    return kam_errf(e, KAM_EUSAGE, "audit: --format table, json or csv");
  printer p = {0};
  p.format = format;
  const char *const *cols = format == AUDIT_TABLE ? table_cols : csv_cols;
  int rc = 0;
  if (format != AUDIT_JSON) {
    while (cols[p.ncol]) p.ncol++;
    kbuf *c = row(&p);
    if (!c) rc = kam_errf(e, KAM_EINTERNAL, "audit: out of memory");
    for (int i = 0; c && i < p.ncol; i++) kbuf_str(&c[i], cols[i]);
  }
  /* read everything, end an own snapshot, then write */
  MDB_txn *own = NULL;
  if (!rc && !txn && !(rc = store_begin(st, 0, &own, e))) txn = own;
  if (!rc) rc = audit_each(st, txn, f, print_entry, &p, e);
  if (own) store_abort(own);
  if (!rc) {
    if (format == AUDIT_JSON) {
      kbuf_str(&p.json, p.rows ? "]\n" : "[]\n");
      fwrite(p.json.p, 1, p.json.len, out);
    } else if (format == AUDIT_TABLE && !p.rows) {
      int filtered = f->id || f->user || f->coll || f->since || f->none;
      fputs(filtered ? "no audit entries match\n" : "no audit entries: nothing has been written to this book\n", out);
    } else {
      grid g;
      grid_init(&g, p.ncol, (int)(p.ncells / (size_t)p.ncol));
      for (size_t i = 0; i < p.ncells; i++) { g.cells[i] = p.cells[i]; p.cells[i] = (kbuf){0}; }
      out_opts o = {format == AUDIT_CSV ? FMT_CSV : FMT_TABLE, 1, 120, NULL, 0};
      grid_print(&g, &o, out);
      grid_free(&g);
    }
    if (fflush(out) || ferror(out)) rc = kam_errf(e, KAM_EINTERNAL, "audit: cannot write the output");
  }
  for (size_t i = 0; i < p.ncells; i++) kbuf_free(&p.cells[i]);
  free(p.cells);
  kbuf_free(&p.json);
  kbuf_free(&p.tmp);
  return rc;
}
