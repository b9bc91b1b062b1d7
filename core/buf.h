/* buf.h — a growable byte buffer and varint helpers used by the encoders. */
#ifndef KAM_BUF_H
#define KAM_BUF_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct kbuf {
  uint8_t *p;
  size_t len, cap;
} kbuf;

void kbuf_reserve(kbuf *b, size_t extra);
void kbuf_free(kbuf *b);
static inline void kbuf_reset(kbuf *b) { b->len = 0; }
static inline void kbuf_put(kbuf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) kbuf_reserve(b, n);
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
}
static inline void kbuf_byte(kbuf *b, uint8_t c) {
  if (b->len + 1 > b->cap) kbuf_reserve(b, 1);
  b->p[b->len++] = c;
}
static inline void kbuf_str(kbuf *b, const char *s) { kbuf_put(b, s, strlen(s)); }
void kbuf_printf(kbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends what is left of stream f (at most max bytes more, when max is not
 * 0); -1 on a read error (what was read stays in b), else 0. */
int kbuf_read(kbuf *b, FILE *f, size_t max);
/* NUL-terminates without counting the terminator in len. */
const char *kbuf_cstr(kbuf *b);

static inline void kbuf_uvarint(kbuf *b, uint64_t v) {
  if (b->len + 10 > b->cap) kbuf_reserve(b, 10);
  while (v >= 0x80) { b->p[b->len++] = (uint8_t)(v | 0x80); v >>= 7; }
  b->p[b->len++] = (uint8_t)v;
}
/* Reads a varint; returns bytes used, 0 on truncation. Most are one byte
 * (field ids, tags' lengths, small numbers), read before the loop. */
static inline size_t uvarint_get(const uint8_t *p, const uint8_t *end, uint64_t *out) {
  if (p < end && *p < 0x80) { *out = *p; return 1; }
  uint64_t v = 0; int shift = 0; const uint8_t *s = p;
  while (p < end && shift < 64) {
    uint8_t c = *p++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) { *out = v; return (size_t)(p - s); }
    shift += 7;
  }
  return 0;
}
static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
