/* ydoc.h — a loaded YAML document (libyaml) with positions for errors. */
#ifndef KAM_YDOC_H
#define KAM_YDOC_H
#include "kerr.h"
#include <yaml.h>

typedef struct ydoc {
  yaml_document_t doc;
  int loaded;
  char path[512];
} ydoc;

/* Loads the document of a file or buffer. An empty file gives a NULL root.
 * Refused, with file:line:col: a second document, aliases that expand to
 * more than max(1,000,000, 10 x the document's nodes) values or into
 * themselves, a mapping key given twice, text with NUL. */
int ydoc_load_file(ydoc *d, const char *path, kam_err *e);
int ydoc_load_buf(ydoc *d, const char *name, const char *buf, size_t len, kam_err *e);
void ydoc_free(ydoc *d);
yaml_node_t *ydoc_root(ydoc *d);
yaml_node_t *ydoc_get(ydoc *d, int id);
/* Scalar text of a node, or NULL if it is not a scalar. */
const char *ydoc_scalar(yaml_node_t *n);
/* Length of a scalar's text (YAML text never holds NUL once loaded). */
size_t ydoc_scalar_len(yaml_node_t *n);
/* True if the scalar was written plain (not quoted): only then does `null`,
 * `true` or a number mean anything but text. */
int ydoc_plain(yaml_node_t *n);
/* Value of key in a mapping node, or NULL. */
yaml_node_t *ydoc_map_get(ydoc *d, yaml_node_t *map, const char *key);
/* "path:line:col" of a node. */
int ydoc_errf(ydoc *d, yaml_node_t *n, kam_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
