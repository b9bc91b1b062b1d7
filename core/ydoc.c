/* ydoc.c — YAML documents with positions (see ydoc.h). */
#include "ydoc.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int load(ydoc *d, yaml_parser_t *p, kam_err *e, const char *buf, size_t len) {
  if (!yaml_parser_load(p, &d->doc)) {
    if (p->error == YAML_READER_ERROR && buf) {
      /* the reader (bad UTF-8) reports a byte offset, not a position */
      size_t line = 1, col = 1;
      for (size_t i = 0; i < p->problem_offset && i < len; i++) {
        if (buf[i] == '\n') { line++; col = 1; } else if (((unsigned char)buf[i] & 0xC0) != 0x80) col++;
      }
      int rc = kam_errf(e, KAM_EDATA, "%s:%zu:%zu: %s (save the file as UTF-8)", d->path, line, col,
                        p->problem ? p->problem : "invalid text");
      yaml_parser_delete(p);
      return rc;
    }
    int rc = kam_errf(e, KAM_EDATA, "%s:%zu:%zu: %s%s%s", d->path,
                      p->problem_mark.line + 1, p->problem_mark.column + 1,
                      p->problem ? p->problem : "invalid YAML",
                      p->context ? " " : "", p->context ? p->context : "");
    yaml_parser_delete(p);
    return rc;
  }
  d->loaded = 1;
  yaml_parser_delete(p);
  return 0;
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
