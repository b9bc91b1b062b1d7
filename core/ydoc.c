/* ydoc.c — YAML documents with positions (see ydoc.h). */
#include "ydoc.h"
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_error(ydoc *d, yaml_parser_t *p, kam_err *e, const char *buf, size_t len) {
  if (p->error == YAML_READER_ERROR && buf) {
    /* the reader (bad UTF-8) reports a byte offset, not a position */
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->problem_offset && i < len; i++) {
      if (buf[i] == '\n') { line++; col = 1; } else if (((unsigned char)buf[i] & 0xC0) != 0x80) col++;
    }
    return kam_errf(e, KAM_EDATA, "%s:%zu:%zu: %s (save the file as UTF-8)", d->path, line, col,
                    p->problem ? p->problem : "invalid text");
  }
  return kam_errf(e, KAM_EDATA, "%s:%zu:%zu: %s%s%s", d->path, p->problem_mark.line + 1,
                  p->problem_mark.column + 1, p->problem ? p->problem : "invalid YAML",
                  p->context ? " " : "", p->context ? p->context : "");
}

static int node_errf(ydoc *d, const yaml_node_t *n, kam_err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int node_errf(ydoc *d, const yaml_node_t *n, kam_err *e, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return kam_errf(e, KAM_EDATA, "%s:%zu:%zu: %s", d->path, n->start_mark.line + 1,
                  n->start_mark.column + 1, msg);
}

/* libyaml keeps an alias as a second reference to its anchor's node, so a
 * document of a few hundred bytes can stand for billions of values once a
 * reader walks it (and an alias inside its own anchor for infinitely many).
 * The values each node stands for are counted here without expanding
 * anything: one depth-first pass, each node's count kept. */
#define ALIAS_MIN_LIMIT 1000000u

static size_t nchildren(const yaml_node_t *n) {
  if (n->type == YAML_SEQUENCE_NODE) return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (n->type == YAML_MAPPING_NODE) return 2 * (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  return 0;
}

static int child(const yaml_node_t *n, size_t i) {
  if (n->type == YAML_SEQUENCE_NODE) return n->data.sequence.items.start[i];
  const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i / 2];
  return i % 2 ? p->value : p->key;
}

static int check_aliases(ydoc *d, kam_err *e) {
  yaml_node_t *nodes = d->doc.nodes.start;
  size_t n = (size_t)(d->doc.nodes.top - nodes);
  /* a document without aliases references each node once: nothing to count */
  uint8_t *refs = calloc(n + 1, 1);
  if (!refs) return kam_errf(e, KAM_EINTERNAL, "%s: out of memory", d->path);
  int aliased = 0;
  for (size_t i = 0; i < n && !aliased; i++)
    for (size_t k = 0, m = nchildren(&nodes[i]); k < m; k++) {
      int c = child(&nodes[i], k);
      if (c < 1 || (size_t)c > n || c == 1 || refs[c]++) { aliased = 1; break; }
    }
  free(refs);
  if (!aliased) return 0;
  uint64_t limit = (uint64_t)n * 10 > ALIAS_MIN_LIMIT ? (uint64_t)n * 10 : ALIAS_MIN_LIMIT;
  uint8_t *state = calloc(n + 1, 1);          /* 0 unseen, 1 open, 2 counted */
  uint64_t *count = calloc(n + 1, sizeof *count);
  struct frame { int id; size_t next; uint64_t sum; } *st = malloc((n + 1) * sizeof *st);
  int rc = 0;
  if (!state || !count || !st) { rc = kam_errf(e, KAM_EINTERNAL, "%s: out of memory", d->path); goto out; }
  size_t sp = 0;
  st[sp++] = (struct frame){1, 0, 1};
  state[1] = 1;
  while (sp && !rc) {
    struct frame *f = &st[sp - 1];
    const yaml_node_t *nd = &nodes[f->id - 1];
    if (f->next < nchildren(nd)) {
      int c = child(nd, f->next++);
      if (c < 1 || (size_t)c > n) continue;
      if (state[c] == 1) {
        rc = node_errf(d, &nodes[c - 1], e, "an alias refers to the node that contains it");
      } else if (state[c] == 2) {
        f->sum += count[c];
        if (f->sum > limit) f->sum = limit + 1; /* saturate: only "too many" matters */
      } else {
        state[c] = 1;
        st[sp++] = (struct frame){c, 0, 1};
      }
      continue;
    }
    count[f->id] = f->sum;
    state[f->id] = 2;
    if (f->sum > limit) {
      rc = node_errf(d, nd, e, "aliases expand to more than %llu values", (unsigned long long)limit);
      break;
    }
    sp--;
    if (sp) {
      st[sp - 1].sum += f->sum;
      if (st[sp - 1].sum > limit) st[sp - 1].sum = limit + 1;
    }
  }
out:
  free(state);
  free(count);
  free(st);
  return rc;
}

static int same_key(const yaml_node_t *a, const yaml_node_t *b) {
  return a->data.scalar.length == b->data.scalar.length &&
         !memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length);
}

static uint32_t key_hash(const yaml_node_t *k) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < k->data.scalar.length; i++) h = (h ^ k->data.scalar.value[i]) * 16777619u;
  return h;
}

/* A mapping that names a key twice is not YAML, and libyaml keeps both: a
 * record would say two things and the last would win unseen. */
static int check_keys(ydoc *d, const yaml_node_t *map, kam_err *e) {
  const yaml_node_pair_t *pr = map->data.mapping.pairs.start;
  size_t n = (size_t)(map->data.mapping.pairs.top - pr);
  const yaml_node_t *dup = NULL, *first = NULL;
  if (n <= 16) {
    for (size_t i = 1; i < n && !dup; i++) {
      const yaml_node_t *k = ydoc_get(d, pr[i].key);
      if (!k || k->type != YAML_SCALAR_NODE) continue;
      for (size_t j = 0; j < i; j++) {
        const yaml_node_t *o = ydoc_get(d, pr[j].key);
        if (o && o->type == YAML_SCALAR_NODE && same_key(k, o)) { dup = k; first = o; break; }
      }
    }
  } else { /* open addressing over the pair indexes */
    size_t cap = 32;
    while (cap < 2 * n) cap *= 2;
    size_t *slot = malloc(cap * sizeof *slot);
    if (!slot) return kam_errf(e, KAM_EINTERNAL, "%s: out of memory", d->path);
    for (size_t i = 0; i < cap; i++) slot[i] = (size_t)-1;
    for (size_t i = 0; i < n && !dup; i++) {
      const yaml_node_t *k = ydoc_get(d, pr[i].key);
      if (!k || k->type != YAML_SCALAR_NODE) continue;
      for (size_t j = key_hash(k) & (cap - 1);; j = (j + 1) & (cap - 1)) {
        if (slot[j] == (size_t)-1) { slot[j] = i; break; }
        const yaml_node_t *o = ydoc_get(d, pr[slot[j]].key);
        if (same_key(k, o)) { dup = k; first = o; break; }
      }
    }
    free(slot);
  }
  if (!dup) return 0;
  return node_errf(d, dup, e, "key '%.80s' appears twice in this mapping (first on line %zu)",
                   (const char *)dup->data.scalar.value, first->start_mark.line + 1);
}

/* What libyaml accepts but kam must not read: alias bombs, keys named twice,
 * NUL in text (cut short by every reader that takes the text as a C string). */
static int check_doc(ydoc *d, kam_err *e) {
  int rc = check_aliases(d, e);
  for (yaml_node_t *n = d->doc.nodes.start; n < d->doc.nodes.top && !rc; n++) {
    if (n->type == YAML_SCALAR_NODE && memchr(n->data.scalar.value, 0, n->data.scalar.length))
      rc = node_errf(d, n, e, "text contains a NUL character (\\0)");
    else if (n->type == YAML_MAPPING_NODE)
      rc = check_keys(d, n, e);
  }
  return rc;
}

static int load(ydoc *d, yaml_parser_t *p, kam_err *e, const char *buf, size_t len) {
  int rc = 0;
  if (!yaml_parser_load(p, &d->doc)) {
    rc = parse_error(d, p, e, buf, len);
  } else {
    d->loaded = 1;
    if (yaml_document_get_root_node(&d->doc)) {
      /* a file of several documents would be read as its first alone */
      yaml_document_t next;
      if (!yaml_parser_load(p, &next)) {
        rc = parse_error(d, p, e, buf, len);
      } else {
        if (yaml_document_get_root_node(&next))
          rc = kam_errf(e, KAM_EDATA, "%s:%zu:%zu: a second YAML document; kam reads one document per file",
                        d->path, next.start_mark.line + 1, next.start_mark.column + 1);
        yaml_document_delete(&next);
      }
      if (!rc) rc = check_doc(d, e);
    }
    if (rc) ydoc_free(d);
  }
  yaml_parser_delete(p);
  return rc;
}

int ydoc_load_file(ydoc *d, const char *path, kam_err *e) {
  memset(d, 0, sizeof *d);
  snprintf(d->path, sizeof d->path, "%s", path);
  FILE *f = fopen(path, "rb");
  if (!f) return kam_errf(e, KAM_EDATA, "%s: cannot open: %s", path, strerror(errno));
  yaml_parser_t p;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_file(&p, f);
  int rc = load(d, &p, e, NULL, 0);
  fclose(f);
  return rc;
}

int ydoc_load_buf(ydoc *d, const char *name, const char *buf, size_t len, kam_err *e) {
  memset(d, 0, sizeof *d);
  snprintf(d->path, sizeof d->path, "%s", name);
  yaml_parser_t p;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
  return load(d, &p, e, buf, len);
}

void ydoc_free(ydoc *d) {
  if (d->loaded) yaml_document_delete(&d->doc);
  d->loaded = 0;
}

yaml_node_t *ydoc_root(ydoc *d) { return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL; }
yaml_node_t *ydoc_get(ydoc *d, int id) { return yaml_document_get_node(&d->doc, id); }

const char *ydoc_scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

size_t ydoc_scalar_len(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? n->data.scalar.length : 0;
}

int ydoc_plain(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

yaml_node_t *ydoc_map_get(ydoc *d, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
    const char *k = ydoc_scalar(ydoc_get(d, pr->key));
    if (k && !strcmp(k, key)) return ydoc_get(d, pr->value);
  }
  return NULL;
}

int ydoc_errf(ydoc *d, yaml_node_t *n, kam_err *e, int code, const char *fmt, ...) {
  char msg[800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n)
    return kam_errf(e, code, "%s:%zu:%zu: %s", d->path, n->start_mark.line + 1,
                    n->start_mark.column + 1, msg);
  return kam_errf(e, code, "%s: %s", d->path, msg);
}
