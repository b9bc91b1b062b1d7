/* import_yaml.c — kam import's reader of YAML files (libyaml through ydoc):
 * a list of records, or collection: [records] for several collections. */
#include "import_reader.h"
#include "ydoc.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A plain scalar in a list or map is a number only when written as one (the
 * YAML 1.2 core schema): strtod alone also takes nan, inf and 0x1p3, and a
 * whole number past 64 bits would come back rounded. Returns 1 (a number in
 * *v), 0 (text) or -1 (a number kam cannot keep, *why says so). */
static int yaml_number(const char *s, size_t n, kval *v, const char **why) {
  const char *p = s, *e = s + n;
  static const char *const big = "a whole number beyond 64 bits (quote it to keep it as text)";
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    int base = s[1] == 'x' ? 16 : 8;
    for (p = s + 2; p < e; p++)
      if (base == 16 ? !isxdigit((unsigned char)*p) : (*p < '0' || *p > '7')) return 0;
    errno = 0;
    unsigned long long u = strtoull(s + 2, NULL, base);
    if (errno || u > INT64_MAX) { *why = big; return -1; }
    *v = kv_int((int64_t)u);
    return 1;
  }
  if (p < e && (*p == '-' || *p == '+')) p++;
  if (e - p == 4 && (!memcmp(p, ".inf", 4) || !memcmp(p, ".Inf", 4) || !memcmp(p, ".INF", 4))) {
    *why = "infinite (kam keeps finite numbers)";
    return -1;
  }
  if (n == 4 && (!memcmp(s, ".nan", 4) || !memcmp(s, ".NaN", 4) || !memcmp(s, ".NAN", 4))) {
    *why = "not a number (kam keeps finite numbers)";
    return -1;
  }
  const char *d0 = p;
  while (p < e && *p >= '0' && *p <= '9') p++;
  int nint = p > d0, isfloat = 0;
  if (p < e && *p == '.') {
    const char *f0 = ++p;
    while (p < e && *p >= '0' && *p <= '9') p++;
    if (!nint && p == f0) return 0;
    isfloat = 1;
  } else if (!nint) {
    return 0;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    const char *x = p + 1;
    if (x < e && (*x == '+' || *x == '-')) x++;
    const char *x0 = x;
    while (x < e && *x >= '0' && *x <= '9') x++;
    if (x == x0) return 0;
    p = x;
    isfloat = 1;
  }
  if (p != e) return 0;
  if (!isfloat) {
    errno = 0;
    long long i = strtoll(s, NULL, 10);
    if (errno) { *why = big; return -1; }
    *v = kv_int(i);
    return 1;
  }
  double x = strtod(s, NULL);
  if (!isfinite(x)) { *why = "a number too large to keep (quote it to keep it as text)"; return -1; }
  *v = kv_num(x);
  return 1;
}

/* Encodes a list or map; NULL, or the node that cannot be kept (*why). */
static yaml_node_t *encode_yaml(ydoc *d, yaml_node_t *n, kbuf *b, int depth, const char **why) {
  kval v;
  if (!n) { v = kv_null(); val_put(b, &v); return NULL; }
  if (n->type == YAML_SCALAR_NODE) {
    const char *s = ydoc_scalar(n);
    size_t len = ydoc_scalar_len(n);
    if (ydoc_plain(n)) {
      if (!strcmp(s, "true")) v = kv_bool(1);
      else if (!strcmp(s, "false")) v = kv_bool(0);
      else if (!strcmp(s, "null") || !strcmp(s, "~") || !len) v = kv_null();
      else {
        int r = yaml_number(s, len, &v, why);
        if (r < 0) return n;
        if (!r) v = kv_str(s, len);
      }
    } else v = kv_str(s, len);
    val_put(b, &v);
    return NULL;
  }
  /* as deep as the Lua write path allows, and refused beyond, not cut */
  if (depth > KV_MAX_DEPTH) { *why = KV_DEPTH_MSG; return n; }
  int is_map = n->type == YAML_MAPPING_NODE;
  kbuf body = {0};
  yaml_node_t *bad = NULL;
  if (is_map) {
    kbuf_uvarint(&body, (uint64_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start));
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && !bad; p++) {
      yaml_node_t *kn = ydoc_get(d, p->key);
      const char *k = ydoc_scalar(kn);
      if (!k) { *why = "a key must be text, not a list or mapping"; bad = kn ? kn : n; break; }
      kbuf_uvarint(&body, ydoc_scalar_len(kn));
      kbuf_put(&body, k, ydoc_scalar_len(kn));
      bad = encode_yaml(d, ydoc_get(d, p->value), &body, depth + 1, why);
    }
  } else {
    kbuf_uvarint(&body, (uint64_t)(n->data.sequence.items.top - n->data.sequence.items.start));
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top && !bad; it++)
      bad = encode_yaml(d, ydoc_get(d, *it), &body, depth + 1, why);
  }
  if (!bad) put_nested(b, is_map, &body);
  kbuf_free(&body);
  return bad;
}

static void import_yaml_list(imp *m, ydoc *d, const coll_def *c, yaml_node_t *list) {
  if (!list || list->type != YAML_SEQUENCE_NODE) {
    kam_err e;
    ydoc_errf(d, list, &e, KAM_EDATA, "%s: expected a list of records", c->name);
    add_error(m, "%s", e.msg);
    return;
  }
  row_bufs rb;
  row_bufs_init(&rb, c);
  for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top && !m->fatal; it++) {
    yaml_node_t *row = ydoc_get(d, *it);
    char where[700], why[600];
    snprintf(where, sizeof where, "%s:%zu:%zu", d->path, row->start_mark.line + 1, row->start_mark.column + 1);
    if (row->type != YAML_MAPPING_NODE) { add_error(m, "%s: %s: expected a record (field: value, ...)", where, c->name); continue; }
    for (int i = 0; i < c->nfields; i++) rb.vals[i] = kv_null();
    int bad = 0;
    const char *rid = ydoc_scalar(ydoc_map_get(d, row, "id")); /* for messages */
    for (yaml_node_pair_t *p = row->data.mapping.pairs.start; p < row->data.mapping.pairs.top; p++) {
      yaml_node_t *kn = ydoc_get(d, p->key), *vn = ydoc_get(d, p->value);
      const char *k = ydoc_scalar(kn);
      int f = k ? coll_field_n(c, k, ydoc_scalar_len(kn)) : -1;
      char at[700];
      snprintf(at, sizeof at, "%s:%zu:%zu", d->path, kn->start_mark.line + 1, kn->start_mark.column + 1);
      if (f < 0) { add_error(m, "%s: %s: unknown field '%s'", at, c->name, k ? k : "?"); bad = 1; continue; }
      const field_def *fd = &c->fields[f];
      if (fd->type == FT_LIST || fd->type == FT_MAP) {
        if (vn->type != (fd->type == FT_LIST ? YAML_SEQUENCE_NODE : YAML_MAPPING_NODE)) {
          add_error(m, "%s: %s field %s: expected %s", at, c->name, k, fd->type == FT_LIST ? "a list" : "a mapping");
          bad = 1;
          continue;
        }
        const char *ywhy = NULL;
        yaml_node_t *yb = encode_yaml(d, vn, row_nested(&rb, f), 0, &ywhy);
        if (yb) {
          const char *ys = ydoc_scalar(yb);
          add_error(m, "%s:%zu:%zu: %s%s%s field %s: %s%.80s%s%s", d->path, yb->start_mark.line + 1, yb->start_mark.column + 1,
                    c->name, rid ? " " : "", rid ? rid : "", k, ys ? "value \"" : "", ys ? ys : "", ys ? "\" is " : "", ywhy);
          bad = 1;
          continue;
        }
        row_nested_set(&rb, f);
        continue;
      }
      const char *s = ydoc_scalar(vn);
      if (!s) { add_error(m, "%s: %s field %s: expected a plain value, not a %s", at, c->name, k, vn->type == YAML_SEQUENCE_NODE ? "list" : "mapping"); bad = 1; continue; }
      if (ydoc_plain(vn) && (!strcmp(s, "null") || !strcmp(s, "~") || !*s)) continue;
      if (!field_from_text(fd, s, ydoc_scalar_len(vn), &rb.vals[f], rb.conv[f], why, sizeof why)) {
        snprintf(at, sizeof at, "%s:%zu:%zu", d->path, vn->start_mark.line + 1, vn->start_mark.column + 1);
        add_error(m, "%s: %s field %s: value \"%.80s\" is not %s", at, c->name, k, s, why);
        bad = 1;
      }
    }
    row_loc loc = {NULL, 0, where, NULL};
    if (!bad) put_row(m, c, rb.vals, &loc);
  }
  row_bufs_free(&rb);
}

void import_yaml(imp *m, const char *path, const char *buf, size_t len) {
  ydoc d;
  kam_err e;
  if (ydoc_load_buf(&d, path, buf, len, &e)) { add_error(m, "%s", e.msg); return; }
  yaml_node_t *root = ydoc_root(&d);
  if (!root) { add_error(m, "%s: empty file", path); ydoc_free(&d); return; }
  if (root->type == YAML_SEQUENCE_NODE) {
    const coll_def *c = target_coll(m, path);
    if (c) import_yaml_list(m, &d, c, root);
  } else if (root->type == YAML_MAPPING_NODE) {
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
      yaml_node_t *kn = ydoc_get(&d, p->key);
      const char *k = ydoc_scalar(kn);
      const coll_def *c = k ? schema_coll(m->st->sc, k) : NULL;
      if (!c) {
        ydoc_errf(&d, kn, &e, KAM_EDATA, "no collection '%s' (see config/schema.yaml)", k ? k : "?");
        add_error(m, "%s", e.msg);
        continue;
      }
      import_yaml_list(m, &d, c, ydoc_get(&d, p->value));
    }
  } else {
    add_error(m, "%s: expected collection: [records] at the top", path);
  }
  ydoc_free(&d);
}
