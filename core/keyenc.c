/* keyenc.c — see keyenc.h. */
#include "keyenc.h"
#include "kdate.h"

#define DAY_NONE 0xffffffu /* above every day: the stand-in of a text after all dates */

/* Text order against the date of day number at (days since 0001-01-01). */
static int cmp_day_text(uint32_t at, const char *s, size_t n) {
  const char *d = date_text_of_day(DAY_FIRST + (int64_t)at);
  int c = memcmp(d, s, n < 10 ? n : 10);
  return c ? c : (10 < n ? -1 : 10 > n);
}

/* The day number of a date's key part. A text that is no date (only a
 * query's bound can be one) stands for the first date after it, so a seek
 * there finds every date at or above it, and key_exact says so. */
static uint32_t day_of(const kval *v) {
  const char *s = v->tag == KV_STR ? v->u.s.p : "";
  size_t n = v->tag == KV_STR ? v->u.s.len : 0;
  int y, m, d;
  if (date_parse(s, n, &y, &m, &d)) return (uint32_t)(days_from_civil(y, m, d) - DAY_FIRST);
  uint32_t lo = 0, hi = (uint32_t)(DAY_LAST - DAY_FIRST) + 1; /* the first day whose text is >= s */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (cmp_day_text(mid, s, n) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo > (uint32_t)(DAY_LAST - DAY_FIRST) ? DAY_NONE : lo;
}

int key_exact(const field_def *f, const kval *v) {
  if (v->tag == KV_NULL) return 1;
  int y, m, d;
  if (f->type == FT_DATE) return v->tag == KV_STR && date_parse(v->u.s.p, v->u.s.len, &y, &m, &d);
  if (ftype_is_text(f->type)) return v->tag == KV_STR && v->u.s.len < KEY_STR_MAX;
  return 1;
}

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

static const char *ref_prefix(const field_def *f) { return f->ref_prefix ? f->ref_prefix : ""; }

/* A text part's bytes: its text cut at KEY_STR_MAX. */
static size_t text_len(const kval *v) {
  size_t n = v->tag == KV_STR ? v->u.s.len : 0;
  return n > KEY_STR_MAX ? KEY_STR_MAX : n;
}

/* Whether a text part is written after an 0x01: empty, or starting with
 * 0x01, so that neither meets the nil part's lone 0x00. */
static int text_marked(const kval *v) { return text_len(v) == 0 || v->u.s.p[0] == 0x01; }

void key_put(kbuf *b, const field_def *f, const kval *v) {
  ftype t = f->type;
  if (t == FT_DATE) {
    uint32_t day = 0; /* nil */
    if (v->tag != KV_NULL && (day = day_of(v)) != DAY_NONE) day++;
    uint8_t x[3] = {(uint8_t)(day >> 16), (uint8_t)(day >> 8), (uint8_t)day};
    kbuf_put(b, x, 3);
    return;
  }
  if (ftype_is_text(t)) {
    if (v->tag == KV_NULL) { kbuf_byte(b, 0x00); return; }
    size_t n = text_len(v);
    if (t == FT_REF) key_put_id(b, ref_prefix(f), n ? v->u.s.p : "", n); /* an empty text may have no pointer */
    else {
      if (text_marked(v)) kbuf_byte(b, 0x01);
      kbuf_put(b, v->u.s.p, n);
    }
    kbuf_byte(b, 0x00);
    return;
  }
  if (v->tag == KV_NULL) { kbuf_byte(b, 0x01); return; }
  kbuf_byte(b, 0x02);
  if (t == FT_INT || t == FT_MONEY) {
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

size_t key_size(const field_def *f, const kval *v) {
  ftype t = f->type;
  if (t == FT_DATE) return 3;
  if (ftype_is_text(t)) {
    if (v->tag == KV_NULL) return 1;
    size_t n = text_len(v);
    if (t == FT_REF) return key_id_size(ref_prefix(f), n ? v->u.s.p : "", n) + 1;
    return text_marked(v) + n + 1;
  }
  if (v->tag == KV_NULL) return 1;
  if (t == FT_INT || t == FT_MONEY || t == FT_NUMBER) return 9;
  if (t == FT_BOOL) return 2;
  return 1;
}

int key_part_null(const field_def *f, const uint8_t *p, const uint8_t *end) {
  if (f->type == FT_DATE) return end - p >= 3 && !p[0] && !p[1] && !p[2];
  if (p >= end) return 0;
  return ftype_is_text(f->type) ? *p == 0x00 : *p == 0x01;
}

size_t key_get(const uint8_t *p, const uint8_t *end, const field_def *f, kval *out, char scratch[KEY_ID_MAX]) {
  ftype t = f->type;
  if (p >= end) return 0;
  if (t == FT_DATE) {
    if (end - p < 3) return 0;
    uint32_t day = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    if (!day) { *out = kv_null(); return 3; }
    if (--day > (uint32_t)(DAY_LAST - DAY_FIRST)) return 0;
    *out = kv_str(date_text_of_day(DAY_FIRST + (int64_t)day), 10);
    return 3;
  }
  if (ftype_is_text(t)) {
    if (*p == 0x00) { *out = kv_null(); return 1; }
    const uint8_t *z = memchr(p, 0, (size_t)(end - p));
    if (!z) return 0;
    if (t == FT_REF) {
      const char *pre = ref_prefix(f);
      size_t n = key_get_id(p, z, pre, scratch); /* 0: malformed, unless the text is empty */
      if (!n && !(z - p == 1 && (*p == 1 || (*p == 2 && !*pre)))) return 0;
      *out = kv_str(scratch, n);
    } else {
      const uint8_t *s = p + (*p == 0x01);
      *out = kv_str((const char *)s, (size_t)(z - s));
    }
    return (size_t)(z + 1 - p);
  }
  if (*p == 0x01) { *out = kv_null(); return 1; }
  if (*p != 0x02) return 0;
  p++;
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

/* ---- ids ---------------------------------------------------------------- */

static int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

/* The digit-packed form of s (see keyenc.h) to out, which has room for 2n
 * bytes (a run of d digits takes 1 + (d + 1) / 2, so a lone digit grows to
 * two); returns the bytes written. */
static size_t pack_digits(uint8_t *out, const unsigned char *s, size_t n) {
  uint8_t *o = out;
  for (size_t i = 0; i < n;) {
    if (!is_digit(s[i])) { *o++ = s[i++]; continue; }
    *o++ = s[i++]; /* the run's first digit, as is */
    int half = -1;  /* a high nibble waiting for its low one */
    for (;;) {
      int end = i == n || !is_digit(s[i]);
      int nib = end ? (i < n && s[i] > '9' ? 15 : 0) : s[i++] - '0' + 1;
      if (half < 0) half = nib;
      else *o++ = (uint8_t)(half << 4 | nib), half = -1;
      if (end) break;
    }
    if (half >= 0) *o++ = (uint8_t)(half << 4 | 15);
  }
  return (size_t)(o - out);
}

static int id_class(const char *prefix, const char *id, size_t n, size_t *skip) {
  size_t pl = strlen(prefix);
  *skip = 0;
  if (n >= pl && (!pl || !memcmp(id, prefix, pl))) { *skip = pl; return 2; }
  size_t m = n < pl ? n : pl;
  int c = m ? memcmp(id, prefix, m) : 0; /* an empty ref's text may have no pointer */
  return c < 0 || (c == 0 && n < pl) ? 1 : 3;
}

void key_put_id(kbuf *b, const char *prefix, const char *id, size_t n) {
  size_t skip;
  int cls = id_class(prefix, id, n, &skip);
  kbuf_reserve(b, 2 * n + 1);
  b->p[b->len++] = (uint8_t)cls;
  b->len += pack_digits(b->p + b->len, (const unsigned char *)id + skip, n - skip);
}

size_t key_id_size(const char *prefix, const char *id, size_t n) {
  size_t skip;
  id_class(prefix, id, n, &skip);
  size_t out = 1;
  for (size_t i = skip; i < n;) { /* as pack_digits counts */
    if (!is_digit((unsigned char)id[i])) { out++, i++; continue; }
    size_t d = 0;
    while (i < n && is_digit((unsigned char)id[i])) d++, i++;
    out += 1 + (d + 1) / 2;
  }
  return out;
}

size_t key_get_id(const uint8_t *p, const uint8_t *end, const char *prefix, char out[KEY_ID_MAX]) {
  if (p >= end || *p < 1 || *p > 3) return 0;
  size_t n = 0;
  if (*p++ == 2) {
    size_t pl = strlen(prefix);
    if (pl > KEY_ID_MAX) return 0;
    memcpy(out, prefix, pl);
    n = pl;
  }
  while (p < end) {
    uint8_t ch = *p++;
    if (n == KEY_ID_MAX) return 0;
    out[n++] = (char)ch;
    if (!is_digit(ch)) continue;
    for (int done = 0; !done;) { /* the run's nibbles, two a byte */
      if (p >= end) return 0;
      uint8_t x = *p++;
      for (int h = 0; h < 2 && !done; h++) {
        int nib = h ? x & 15 : x >> 4;
        if (nib == 0 || nib == 15) done = 1;
        else if (nib > 10 || n == KEY_ID_MAX) return 0;
        else out[n++] = (char)('0' + nib - 1);
      }
    }
  }
  return n;
}
