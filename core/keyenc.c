/* keyenc.c — see keyenc.h. */
#include "keyenc.h"

static void be64(kbuf *b, uint64_t u) {
  uint8_t x[8];
  for (int i = 7; i >= 0; i--) { x[i] = (uint8_t)u; u >>= 8; }
  kbuf_put(b, x, 8);
}

static uint64_t get_be64(const uint8_t *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++) u = (u << 8) | p[i];
  return u;
}

void key_put(kbuf *b, ftype t, const kval *v) {
  if (v->tag == KV_NULL) { kbuf_byte(b, 0x01); return; }
  kbuf_byte(b, 0x02);
  if (ftype_is_text(t)) {
    size_t n = v->tag == KV_STR ? v->u.s.len : 0;
    kbuf_put(b, v->u.s.p, n > KEY_STR_MAX ? KEY_STR_MAX : n);
    kbuf_byte(b, 0x00);
  } else if (t == FT_INT || t == FT_MONEY) {
    int64_t i = v->tag == KV_NUM ? (int64_t)v->u.n : v->u.i;
    be64(b, (uint64_t)i ^ 0x8000000000000000ull);
  } else if (t == FT_NUMBER) {
    double d = v->tag == KV_INT ? (double)v->u.i : v->u.n;
    uint64_t u;
    if (d == 0) d = 0; /* -0 and 0 are one key */
    memcpy(&u, &d, 8);
    u = (u & 0x8000000000000000ull) ? ~u : u | 0x8000000000000000ull;
    be64(b, u);
  } else if (t == FT_BOOL) {
    kbuf_byte(b, v->tag == KV_TRUE);
  }
}

size_t key_size(ftype t, const kval *v) {
  if (v->tag == KV_NULL) return 1;
  if (ftype_is_text(t)) {
    size_t n = v->tag == KV_STR ? v->u.s.len : 0;
    return 2 + (n > KEY_STR_MAX ? KEY_STR_MAX : n);
  }
  if (t == FT_INT || t == FT_MONEY || t == FT_NUMBER) return 9;
  if (t == FT_BOOL) return 2;
  return 1;
}

size_t key_get(const uint8_t *p, const uint8_t *end, ftype t, kval *out) {
  if (p >= end) return 0;
  if (*p == 0x01) { *out = kv_null(); return 1; }
  if (*p != 0x02) return 0;
  const uint8_t *s = p++;
  if (ftype_is_text(t)) {
    const uint8_t *z = memchr(p, 0, (size_t)(end - p));
    if (!z) return 0;
    *out = kv_str((const char *)p, (size_t)(z - p));
    return (size_t)(z + 1 - s);
  }
  if (t == FT_INT || t == FT_MONEY || t == FT_NUMBER) {
    if (end - p < 8) return 0;
    uint64_t u = get_be64(p);
    if (t == FT_NUMBER) {
      u = (u & 0x8000000000000000ull) ? u & ~0x8000000000000000ull : ~u;
      double d;
      memcpy(&d, &u, 8);
      *out = kv_num(d);
    } else {
      *out = kv_int((int64_t)(u ^ 0x8000000000000000ull));
    }
    return 9;
  }
  if (t == FT_BOOL) {
    if (end - p < 1) return 0;
    *out = kv_bool(*p);
    return 2;
  }
  return 0;
}
