/* schema.c — config/schema.yaml into C structs, and the value rules of each
 * field type. Unknown keys and types are refused with their line. */
#include "schema.h"
#include "kdate.h"
#include "ydoc.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ftype_names[] = {"string", "int", "money", "number", "bool", "date",
                                   "datetime", "enum", "ref", "list", "map", NULL};

static char *xstrdup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) abort();
  return p;
}

coll_def *schema_coll(schema *s, const char *name) {
  for (int i = 0; i < s->ncolls; i++)
    if (!strcmp(s->colls[i].name, name)) return &s->colls[i];
  return NULL;
}

int coll_field_n(const coll_def *c, const char *name, size_t n) {
  for (int i = 0; i < c->nfields; i++) /* on every field read: lengths first */
    if (c->fields[i].namelen == n && n && c->fields[i].name[0] == name[0] && !memcmp(c->fields[i].name, name, n)) return i;
  return -1;
}
int coll_field(const coll_def *c, const char *name) { return coll_field_n(c, name, strlen(name)); }

void kval_show(kbuf *b, const kval *v) {
  switch (v->tag) {
  case KV_NULL: kbuf_str(b, "nil"); break;
  case KV_TRUE: kbuf_str(b, "true"); break;
  case KV_FALSE: kbuf_str(b, "false"); break;
  case KV_INT: kbuf_printf(b, "%lld", (long long)v->u.i); break;
  case KV_NUM: kbuf_printf(b, "%.14g", v->u.n); break;
  case KV_STR:
    kbuf_byte(b, '"');
    kbuf_put(b, v->u.s.p, v->u.s.len > 80 ? 80 : v->u.s.len);
    if (v->u.s.len > 80) kbuf_str(b, "...");
    kbuf_byte(b, '"');
    break;
  case KV_LIST: kbuf_str(b, "a list"); break;
  case KV_MAP: kbuf_str(b, "a map"); break;
  }
}

static void enum_expect(const field_def *f, char *why, size_t whylen) {
  size_t k = (size_t)snprintf(why, whylen, "one of ");
  for (int i = 0; i < f->nvalues && k < whylen; i++)
    k += (size_t)snprintf(why + k, whylen - k, "%s%s", i ? ", " : "", f->values[i]);
}

int field_check(const field_def *f, kval *v, char *why, size_t whylen) {
  if (v->tag == KV_NULL) return 1;
  switch (f->type) {
  case FT_STRING: case FT_REF:
    if (v->tag != KV_STR) break;
    if (memchr(v->u.s.p, 0, v->u.s.len)) { snprintf(why, whylen, "text without NUL bytes"); return 0; }
    if (f->type == FT_REF && v->u.s.len == 0) { snprintf(why, whylen, "an id of %s", f->ref_name); return 0; }
    return 1;
  case FT_INT: case FT_MONEY:
    if (v->tag == KV_INT) return 1;
    if (v->tag == KV_NUM && v->u.n == floor(v->u.n) && fabs(v->u.n) < 9.2e18) {
      *v = kv_int((int64_t)v->u.n);
      return 1;
    }
    snprintf(why, whylen, f->type == FT_MONEY ? "whole đồng (an integer)" : "an integer");
    return 0;
  case FT_NUMBER:
    if (v->tag == KV_NUM) return isfinite(v->u.n) || (snprintf(why, whylen, "a finite number"), 0);
    if (v->tag == KV_INT) { *v = kv_num((double)v->u.i); return 1; }
    break;
  case FT_BOOL:
    if (v->tag == KV_TRUE || v->tag == KV_FALSE) return 1;
    break;
  case FT_DATE: {
    int y, m, d;
    if (v->tag == KV_STR && date_parse(v->u.s.p, v->u.s.len, &y, &m, &d)) return 1;
    snprintf(why, whylen, "a date YYYY-MM-DD");
    return 0;
  }
  case FT_DATETIME:
    if (v->tag == KV_STR && datetime_valid(v->u.s.p, v->u.s.len)) return 1;
    snprintf(why, whylen, "a date-time YYYY-MM-DDTHH:MM:SS");
    return 0;
  case FT_ENUM:
    if (v->tag == KV_STR)
      for (int i = 0; i < f->nvalues; i++)
        if (strlen(f->values[i]) == v->u.s.len && !memcmp(f->values[i], v->u.s.p, v->u.s.len)) return 1;
    enum_expect(f, why, whylen);
    return 0;
  case FT_LIST:
    if (v->tag == KV_LIST) return 1;
    break;
  case FT_MAP:
    if (v->tag == KV_MAP) return 1;
    break;
  }
  snprintf(why, whylen, "%s", f->type == FT_STRING || f->type == FT_REF ? "text"
                              : f->type == FT_NUMBER ? "a number"
                              : f->type == FT_BOOL ? "true or false"
                              : f->type == FT_LIST ? "a list" : "a map");
  return 0;
}

/* Money as people type it: "1.234.567", "1,234,567 ₫", "1234567đ". A dot or
 * comma followed by exactly three digits is a thousands separator. */
static int money_from_text(const char *s, size_t n, int64_t *out) {
  while (n && (s[n - 1] == ' ')) n--;
  static const char *suffix[] = {"\xe2\x82\xab", "\xc4\x91", "VND", "vnd", NULL}; /* ₫ đ */
  for (int i = 0; suffix[i]; i++) {
    size_t l = strlen(suffix[i]);
    if (n >= l && !memcmp(s + n - l, suffix[i], l)) { n -= l; break; }
  }
  while (n && s[n - 1] == ' ') n--;
  while (n && *s == ' ') { s++; n--; }
  if (!n) return 0;
  int neg = 0;
  size_t i = 0;
  if (s[0] == '-') { neg = 1; i = 1; }
  if (i == n) return 0;
  int64_t v = 0;
  int ndig = 0, groups = 0;
  for (; i < n; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      if (v > (INT64_MAX - 9) / 10) return 0;
      v = v * 10 + (c - '0');
      ndig++;
    } else if ((c == '.' || c == ',' || c == ' ') && ndig > 0) {
      /* separator must be followed by exactly three digits */
      for (int k = 1; k <= 3; k++)
        if (i + k >= n || s[i + k] < '0' || s[i + k] > '9') return 0;
      if (i + 4 < n && s[i + 4] >= '0' && s[i + 4] <= '9') return 0;
      groups++;
    } else {
      return 0;
    }
  }
  (void)groups;
  *out = neg ? -v : v;
  return 1;
}

int field_from_text(const field_def *f, const char *s, size_t n, kval *out, char conv[32],
                    char *why, size_t whylen) {
  char tmp[64];
  switch (f->type) {
  case FT_STRING: case FT_REF: case FT_ENUM: case FT_DATETIME:
    *out = kv_str(s, n);
    return field_check(f, out, why, whylen);
  case FT_DATE: {
    int y, m, d;
    if (date_parse(s, n, &y, &m, &d)) { *out = kv_str(s, n); return 1; }
    /* D/M/YYYY, as Vietnamese spreadsheets write dates */
    if (n >= 8 && n <= 10) {
      memcpy(tmp, s, n); tmp[n] = 0;
      int dd, mm, yy; char c;
      if (sscanf(tmp, "%d/%d/%d%c", &dd, &mm, &yy, &c) == 3 && yy > 999 && yy < 10000 && mm >= 1 &&
          mm <= 12 && dd >= 1 && dd <= days_in_month(yy, mm)) {
        date_format(conv, yy, mm, dd);
        *out = kv_str(conv, 10);
        return 1;
      }
    }
    snprintf(why, whylen, "a date YYYY-MM-DD");
    return 0;
  }
  case FT_INT: {
    if (!n || n >= sizeof tmp) break;
    memcpy(tmp, s, n); tmp[n] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (*end || errno) break;
    *out = kv_int(v);
    return 1;
  }
  case FT_MONEY: {
    int64_t v;
    if (money_from_text(s, n, &v)) { *out = kv_int(v); return 1; }
    snprintf(why, whylen, "whole đồng (an integer, e.g. 1500000 or 1.500.000)");
    return 0;
  }
  case FT_NUMBER: {
    if (!n || n >= sizeof tmp) break;
    memcpy(tmp, s, n); tmp[n] = 0;
    int pct = tmp[n - 1] == '%';
    if (pct) tmp[n - 1] = 0;
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (*end || errno || end == tmp || !isfinite(v)) break;
    *out = kv_num(pct ? v / 100 : v);
    return 1;
  }
  case FT_BOOL: {
    static const char *yes[] = {"true", "yes", "1", "TRUE", "True", "y", "x", "có", NULL};
    static const char *no[] = {"false", "no", "0", "FALSE", "False", "n", "không", NULL};
    for (int i = 0; yes[i]; i++)
      if (strlen(yes[i]) == n && !memcmp(yes[i], s, n)) { *out = kv_bool(1); return 1; }
    for (int i = 0; no[i]; i++)
      if (strlen(no[i]) == n && !memcmp(no[i], s, n)) { *out = kv_bool(0); return 1; }
    break;
  }
  case FT_LIST: case FT_MAP:
    snprintf(why, whylen, "%s", f->type == FT_LIST ? "a list (JSON array)" : "a map (JSON object)");
    return 0;
  }
  snprintf(why, whylen, "%s", f->type == FT_INT ? "an integer" : f->type == FT_NUMBER ? "a number" : "true or false");
  return 0;
}

/* ---- loading ---------------------------------------------------------- */

static int parse_bool(ydoc *d, yaml_node_t *n, int *out, kam_err *e) {
  const char *s = ydoc_scalar(n);
  if (s && (!strcmp(s, "true") || !strcmp(s, "yes"))) { *out = 1; return 0; }
  if (s && (!strcmp(s, "false") || !strcmp(s, "no"))) { *out = 0; return 0; }
  return ydoc_errf(d, n, e, KAM_EDATA, "expected true or false");
}

static int list_strings(ydoc *d, yaml_node_t *n, char ***out, int *count, kam_err *e) {
  if (!n || n->type != YAML_SEQUENCE_NODE)
    return ydoc_errf(d, n, e, KAM_EDATA, "expected a list like [a, b]");
  int cnt = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  *out = calloc((size_t)cnt + 1, sizeof(char *));
  *count = 0;
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    yaml_node_t *v = ydoc_get(d, *it);
    const char *s = ydoc_scalar(v);
    if (!s) return ydoc_errf(d, v, e, KAM_EDATA, "expected a name");
    (*out)[(*count)++] = xstrdup(s);
  }
  return 0;
}

static int load_field(ydoc *d, coll_def *c, field_def *f, const char *name, yaml_node_t *spec,
                      kam_err *e) {
  memset(f, 0, sizeof *f);
  f->name = xstrdup(name);
  f->namelen = strlen(name);
  f->ref = -1;
  if (ydoc_scalar(spec)) { /* shorthand: `name: string` */
    const char *t = ydoc_scalar(spec);
    for (int i = 0; ftype_names[i]; i++)
      if (!strcmp(ftype_names[i], t)) { f->type = (ftype)i; return 0; }
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: unknown type '%s' (expected string, int, money, number, bool, date, datetime, enum, ref, list or map)", c->name, name, t);
  }
  if (!spec || spec->type != YAML_MAPPING_NODE)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: expected a mapping like {type: string}", c->name, name);
  yaml_node_t *type = ydoc_map_get(d, spec, "type");
  if (!type) return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: missing 'type'", c->name, name);
  int found = 0;
  for (int i = 0; ftype_names[i]; i++)
    if (ydoc_scalar(type) && !strcmp(ftype_names[i], ydoc_scalar(type))) { f->type = (ftype)i; found = 1; }
  if (!found)
    return ydoc_errf(d, type, e, KAM_EDATA, "%s.%s: unknown type '%s' (expected string, int, money, number, bool, date, datetime, enum, ref, list or map)",
                     c->name, name, ydoc_scalar(type) ? ydoc_scalar(type) : "?");
  yaml_node_t *defnode = NULL;
  for (yaml_node_pair_t *p = spec->data.mapping.pairs.start; p < spec->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key), *v = ydoc_get(d, p->value);
    const char *key = ydoc_scalar(k);
    int rc = 0;
    if (!key) return ydoc_errf(d, k, e, KAM_EDATA, "expected a key");
    if (!strcmp(key, "type")) continue;
    else if (!strcmp(key, "required")) rc = parse_bool(d, v, &f->required, e);
    else if (!strcmp(key, "index")) rc = parse_bool(d, v, &f->indexed, e);
    else if (!strcmp(key, "values")) rc = list_strings(d, v, &f->values, &f->nvalues, e);
    else if (!strcmp(key, "to")) {
      if (!ydoc_scalar(v)) return ydoc_errf(d, v, e, KAM_EDATA, "%s.%s: 'to' names a collection", c->name, name);
      f->ref_name = xstrdup(ydoc_scalar(v));
    } else if (!strcmp(key, "default")) defnode = v;
    else if (!strcmp(key, "description") || !strcmp(key, "label")) continue;
    else return ydoc_errf(d, k, e, KAM_EDATA, "%s.%s: unknown key '%s' (expected type, required, index, values, to, default, description)", c->name, name, key);
    if (rc) return rc;
  }
  if (f->type == FT_ENUM && f->nvalues == 0)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: an enum needs 'values'", c->name, name);
  if (f->type != FT_ENUM && f->nvalues)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: 'values' is only for enum fields", c->name, name);
  if (f->type == FT_REF && !f->ref_name)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: a ref needs 'to: COLLECTION'", c->name, name);
  if (f->type != FT_REF && f->ref_name)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: 'to' is only for ref fields", c->name, name);
  if ((f->type == FT_LIST || f->type == FT_MAP) && f->indexed)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s.%s: list and map fields cannot be indexed", c->name, name);
  if (defnode) {
    const char *s = ydoc_scalar(defnode);
    char why[256];
    kval v;
    char conv[32];
    if (!s || f->type == FT_LIST || f->type == FT_MAP)
      return ydoc_errf(d, defnode, e, KAM_EDATA, "%s.%s: default must be a plain value", c->name, name);
    if (!field_from_text(f, s, strlen(s), &v, conv, why, sizeof why))
      return ydoc_errf(d, defnode, e, KAM_EDATA, "%s.%s: default '%s' is not %s", c->name, name, s, why);
    f->has_def = 1;
    f->def = v;
    if (v.tag == KV_STR) { /* own the bytes */
      kbuf_put(&f->def_store, v.u.s.p, v.u.s.len);
      kbuf_cstr(&f->def_store);
      f->def.u.s.p = (const char *)f->def_store.p;
    }
  }
  return 0;
}

static int load_index(ydoc *d, coll_def *c, yaml_node_t *n, kam_err *e) {
  index_def *ix = &c->indexes[c->nindexes];
  memset(ix, 0, sizeof *ix);
  yaml_node_t *on = n, *carry = NULL;
  if (n->type == YAML_MAPPING_NODE) {
    on = ydoc_map_get(d, n, "on");
    carry = ydoc_map_get(d, n, "carry");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
      const char *k = ydoc_scalar(ydoc_get(d, p->key));
      if (!k || (strcmp(k, "on") && strcmp(k, "carry")))
        return ydoc_errf(d, ydoc_get(d, p->key), e, KAM_EDATA, "%s: unknown index key '%s' (expected on, carry)", c->name, k ? k : "?");
    }
    if (!on) return ydoc_errf(d, n, e, KAM_EDATA, "%s: an index needs 'on: [fields]'", c->name);
  }
  char **names = NULL;
  int cnt = 0, rc;
  if ((rc = list_strings(d, on, &names, &cnt, e))) goto done;
  if (cnt < 1 || cnt > IDX_MAXF) { rc = ydoc_errf(d, on, e, KAM_EDATA, "%s: an index has 1 to %d fields", c->name, IDX_MAXF); goto done; }
  int k = snprintf(ix->name, sizeof ix->name, "%s", c->name);
  for (int i = 0; i < cnt && k < (int)sizeof ix->name; i++) {
    int fi = coll_field(c, names[i]);
    if (fi < 0) { rc = ydoc_errf(d, on, e, KAM_EDATA, "%s: index on unknown field '%s'", c->name, names[i]); goto done; }
    if (c->fields[fi].type == FT_LIST || c->fields[fi].type == FT_MAP || fi == F_ID) {
      rc = ydoc_errf(d, on, e, KAM_EDATA, "%s: field '%s' cannot be indexed", c->name, names[i]);
      goto done;
    }
    ix->f[ix->nf++] = fi;
    /* the name is the index's database: cut, two indexes would share one */
    k += snprintf(ix->name + k, sizeof ix->name - (size_t)k, ".%s", names[i]);
    if (k >= (int)sizeof ix->name) {
      rc = ydoc_errf(d, on, e, KAM_EDATA, "%s: the index's name (collection and fields) is longer than %zu bytes",
                     c->name, sizeof ix->name - 1);
      goto done;
    }
  }
  if (k >= (int)sizeof ix->name) {
    rc = ydoc_errf(d, on, e, KAM_EDATA, "%s: the index's name (collection and fields) is longer than %zu bytes",
                   c->name, sizeof ix->name - 1);
    goto done;
  }
  if (carry) {
    for (int i = 0; i < cnt; i++) free(names[i]);
    free(names);
    names = NULL;
    if ((rc = list_strings(d, carry, &names, &cnt, e))) goto done;
    if (cnt > IDX_MAXC) { rc = ydoc_errf(d, carry, e, KAM_EDATA, "%s: at most %d carried fields", c->name, IDX_MAXC); goto done; }
    for (int i = 0; i < cnt; i++) {
      int fi = coll_field(c, names[i]);
      if (fi <= F_ID) { rc = ydoc_errf(d, carry, e, KAM_EDATA, "%s: carry of unknown field '%s'", c->name, names[i]); goto done; }
      ix->carry[ix->nc++] = fi;
    }
  }
  c->nindexes++;
  rc = 0;
done:
  if (names) { for (int i = 0; names[i]; i++) free(names[i]); free(names); }
  return rc;
}

static int load_coll(ydoc *d, schema *s, coll_def *c, const char *name, yaml_node_t *spec, kam_err *e) {
  memset(c, 0, sizeof *c);
  c->name = xstrdup(name);
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
      return ydoc_errf(d, spec, e, KAM_EDATA, "collection name '%s' must be lower_snake_case", name);
  if (!spec || spec->type != YAML_MAPPING_NODE)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s: expected a mapping with prefix and fields", name);
  yaml_node_t *fields = NULL, *indexes = NULL;
  for (yaml_node_pair_t *p = spec->data.mapping.pairs.start; p < spec->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key), *v = ydoc_get(d, p->value);
    const char *key = ydoc_scalar(k);
    if (key && !strcmp(key, "prefix") && ydoc_scalar(v)) c->prefix = xstrdup(ydoc_scalar(v));
    else if (key && !strcmp(key, "fields")) fields = v;
    else if (key && !strcmp(key, "indexes")) indexes = v;
    else if (key && !strcmp(key, "description")) continue;
    else return ydoc_errf(d, k, e, KAM_EDATA, "%s: unknown key '%s' (expected prefix, fields, indexes, description)", name, key ? key : "?");
  }
  if (!c->prefix) {
    c->prefix = malloc(strlen(name) + 2);
    sprintf(c->prefix, "%s-", name);
  }
  if (!fields || fields->type != YAML_MAPPING_NODE)
    return ydoc_errf(d, spec, e, KAM_EDATA, "%s: missing 'fields' mapping", name);
  int nf = (int)(fields->data.mapping.pairs.top - fields->data.mapping.pairs.start);
  c->fields = calloc((size_t)nf + 3, sizeof *c->fields);
  const char *implicit[] = {"id", "created_at", "updated_at"};
  for (int i = 0; i < 3; i++) {
    c->fields[i].name = xstrdup(implicit[i]);
    c->fields[i].namelen = strlen(implicit[i]);
    c->fields[i].type = i ? FT_DATETIME : FT_STRING;
    c->fields[i].ref = -1;
  }
  c->nfields = 3;
  for (yaml_node_pair_t *p = fields->data.mapping.pairs.start; p < fields->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(d, p->key);
    const char *fname = ydoc_scalar(k);
    if (!fname || !*fname) return ydoc_errf(d, k, e, KAM_EDATA, "%s: expected a field name", name);
    if (coll_field(c, fname) >= 0)
      return ydoc_errf(d, k, e, KAM_EDATA, "%s: field '%s' is %s", name, fname, coll_field(c, fname) < 3 ? "kept by kam and cannot be declared" : "declared twice");
    int rc = load_field(d, c, &c->fields[c->nfields], fname, ydoc_get(d, p->value), e);
    c->nfields++;
    if (rc) return rc;
  }
  int nix = indexes && indexes->type == YAML_SEQUENCE_NODE
                ? (int)(indexes->data.sequence.items.top - indexes->data.sequence.items.start) : 0;
  if (indexes && indexes->type != YAML_SEQUENCE_NODE)
    return ydoc_errf(d, indexes, e, KAM_EDATA, "%s: 'indexes' is a list", name);
  c->indexes = calloc((size_t)(nix + c->nfields), sizeof *c->indexes);
  for (int i = 0; i < nix; i++) {
    int rc = load_index(d, c, ydoc_get(d, indexes->data.sequence.items.start[i]), e);
    if (rc) return rc;
  }
  /* single-field indexes, unless a composite index already starts with the field */
  for (int fi = 0; fi < c->nfields; fi++) {
    if (!c->fields[fi].indexed) continue;
    int covered = 0;
    for (int i = 0; i < c->nindexes; i++) covered |= c->indexes[i].f[0] == fi;
    if (covered) continue;
    index_def *ix = &c->indexes[c->nindexes++];
    memset(ix, 0, sizeof *ix);
    ix->nf = 1;
    ix->f[0] = fi;
    if (snprintf(ix->name, sizeof ix->name, "%s.%s", c->name, c->fields[fi].name) >= (int)sizeof ix->name)
      return ydoc_errf(d, fields, e, KAM_EDATA, "%s: the index of field '%s' would have a name longer than %zu bytes",
                       name, c->fields[fi].name, sizeof ix->name - 1);
  }
  (void)s;
  return 0;
}

int schema_load(schema **out, const char *path, kam_err *e) {
  ydoc d;
  *out = NULL;
  int rc = ydoc_load_file(&d, path, e);
  if (rc) return rc;
  schema *s = calloc(1, sizeof *s);
  yaml_node_t *root = ydoc_root(&d), *colls = NULL;
  if (!root || root->type != YAML_MAPPING_NODE) { rc = ydoc_errf(&d, root, e, KAM_EDATA, "expected a mapping with 'collections'"); goto fail; }
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    const char *key = ydoc_scalar(ydoc_get(&d, p->key));
    if (key && !strcmp(key, "collections")) colls = ydoc_get(&d, p->value);
    else if (key && !strcmp(key, "version")) continue;
    else { rc = ydoc_errf(&d, ydoc_get(&d, p->key), e, KAM_EDATA, "unknown key '%s' (expected collections)", key ? key : "?"); goto fail; }
  }
  if (!colls || colls->type != YAML_MAPPING_NODE) { rc = ydoc_errf(&d, root, e, KAM_EDATA, "missing 'collections' mapping"); goto fail; }
  int n = (int)(colls->data.mapping.pairs.top - colls->data.mapping.pairs.start);
  s->colls = calloc((size_t)n, sizeof *s->colls);
  for (yaml_node_pair_t *p = colls->data.mapping.pairs.start; p < colls->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ydoc_get(&d, p->key);
    const char *name = ydoc_scalar(k);
    if (!name) { rc = ydoc_errf(&d, k, e, KAM_EDATA, "expected a collection name"); goto fail; }
    if (schema_coll(s, name)) { rc = ydoc_errf(&d, k, e, KAM_EDATA, "collection '%s' declared twice", name); goto fail; }
    rc = load_coll(&d, s, &s->colls[s->ncolls], name, ydoc_get(&d, p->value), e);
    s->ncolls++;
    if (rc) goto fail;
  }
  /* resolve refs once every collection is known */
  for (yaml_node_pair_t *p = colls->data.mapping.pairs.start; p < colls->data.mapping.pairs.top; p++) {
    coll_def *c = schema_coll(s, ydoc_scalar(ydoc_get(&d, p->key)));
    yaml_node_t *fields = ydoc_map_get(&d, ydoc_get(&d, p->value), "fields");
    for (int i = 3; i < c->nfields; i++) {
      field_def *f = &c->fields[i];
      if (f->type != FT_REF) continue;
      coll_def *t = schema_coll(s, f->ref_name);
      if (!t) {
        yaml_node_t *fn = ydoc_map_get(&d, fields, f->name);
        yaml_node_t *to = ydoc_map_get(&d, fn, "to");
        rc = ydoc_errf(&d, to ? to : fn, e, KAM_EDATA, "%s.%s: ref to unknown collection '%s'", c->name, f->name, f->ref_name);
        goto fail;
      }
      f->ref = (int)(t - s->colls);
      f->ref_prefix = t->prefix;
    }
  }
  ydoc_free(&d);
  *out = s;
  return 0;
fail:
  ydoc_free(&d);
  schema_free(s);
  return rc;
}

void schema_free(schema *s) {
  if (!s) return;
  for (int i = 0; i < s->ncolls; i++) {
    coll_def *c = &s->colls[i];
    for (int j = 0; j < c->nfields; j++) {
      field_def *f = &c->fields[j];
      free(f->name);
      free(f->ref_name);
      for (int k = 0; k < f->nvalues; k++) free(f->values[k]);
      free(f->values);
      kbuf_free(&f->def_store);
    }
    free(c->fields);
    free(c->indexes);
    free(c->name);
    free(c->prefix);
  }
  free(s->colls);
  free(s);
}
