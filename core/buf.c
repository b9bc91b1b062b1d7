/* buf.c — see buf.h. */
#include "buf.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void kbuf_reserve(kbuf *b, size_t extra) {
  size_t need = b->len + extra;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) { fputs("kam: out of memory\n", stderr); abort(); }
  b->p = p;
  b->cap = cap;
}

void kbuf_free(kbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void kbuf_printf(kbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  kbuf_reserve(b, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

const char *kbuf_cstr(kbuf *b) {
  kbuf_reserve(b, 1);
  b->p[b->len] = 0;
  return (const char *)b->p;
}

int kbuf_read(kbuf *b, FILE *f, size_t max) {
  size_t start = b->len;
  for (;;) {
    size_t want = 65536;
    if (max && b->len - start + want > max) want = max - (b->len - start);
    if (!want) break;
    kbuf_reserve(b, want);
    size_t k = fread(b->p + b->len, 1, want, f);
    b->len += k;
    if (k < want) break;
  }
  return ferror(f) ? -1 : 0;
}
