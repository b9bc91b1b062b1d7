/* record.c — encoding and decoding of records and values (see record.h). */
#include "record.h"
#include "kdate.h"
#include "stamp.h"
#include <stdlib.h>

void val_put(kbuf *b, const kval *v) {
  int y, m, d;
  if (v->tag == KV_STR && v->u.s.len == 10 && date_parse(v->u.s.p, 10, &y, &m, &d)) {
    kbuf_byte(b, REC_TAG_DAY);
    kbuf_uvarint(b, (uint64_t)(days_from_civil(y, m, d) - DAY_FIRST));
    return;
  }
  uint64_t st;
  if (v->tag == KV_STR && v->u.s.len == STAMP_LEN && stamp_pack(v->u.s.p, STAMP_LEN, &st)) {
    kbuf_byte(b, REC_TAG_STAMP);
    kbuf_uvarint(b, st);
    return;
  }
  kbuf_byte(b, v->tag);
  switch (v->tag) {
  case KV_INT: kbuf_uvarint(b, zigzag(v->u.i)); break;
  case KV_NUM: kbuf_put(b, &v->u.n, 8); break; /* little-endian hosts only */
  case KV_STR: case KV_LIST: case KV_MAP:
    kbuf_uvarint(b, v->u.s.len);
    kbuf_put(b, v->u.s.p, v->u.s.len);
    break;
  default: break;
  }
}

size_t val_get(const uint8_t *p, const uint8_t *end, kval *out) {
  if (p >= end) return 0;
  const uint8_t *s = p;
  out->tag = *p++;
  uint64_t u;
  size_t k;
  switch (out->tag) {
  case KV_NULL: case KV_FALSE: case KV_TRUE: out->u.i = 0; return 1;
  case KV_INT:
    if (!(k = uvarint_get(p, end, &u))) return 0;
    out->u.i = unzigzag(u);
    return 1 + k;
  case KV_NUM:
    if (end - p < 8) return 0;
    memcpy(&out->u.n, p, 8);
    return 9;
  case REC_TAG_DAY:
    if (!(k = uvarint_get(p, end, &u)) || u > (uint64_t)(DAY_LAST - DAY_FIRST)) return 0;
    out->tag = KV_STR;
    out->u.s.p = date_text_of_day(DAY_FIRST + (int64_t)u);
    out->u.s.len = 10;
    return 1 + k;
  case REC_TAG_STAMP:
    if (!(k = uvarint_get(p, end, &u)) || !(out->u.s.p = stamp_text(u))) return 0;
    out->tag = KV_STR;
    out->u.s.len = STAMP_LEN;
    return 1 + k;
  case KV_STR: case KV_LIST: case KV_MAP:
    if (!(k = uvarint_get(p, end, &u))) return 0;
    p += k;
    if ((uint64_t)(end - p) < u) return 0;
    out->u.s.p = (const char *)p;
    out->u.s.len = (size_t)u;
    return (size_t)(p - s) + (size_t)u;
  default: return 0;
  }
}

void rb_reset(rec_builder *rb) { rb->n = 0; }
void rb_free(rec_builder *rb) { free(rb->f); rb->f = NULL; rb->n = rb->cap = 0; }

void rb_add(rec_builder *rb, uint32_t fid, kval v) {
  for (int i = 0; i < rb->n; i++)
    if (rb->f[i].fid == fid) { rb->f[i].v = v; return; }
  if (rb->n == rb->cap) {
    rb->cap = rb->cap ? rb->cap * 2 : 32;
    rb->f = realloc(rb->f, sizeof *rb->f * (size_t)rb->cap);
    if (!rb->f) abort();
  }
  rb->f[rb->n].fid = fid;
  rb->f[rb->n].v = v;
  rb->n++;
}

void rb_finish(rec_builder *rb, kbuf *out) {
  /* insertion sort: records have tens of fields, usually already in order */
  for (int i = 1; i < rb->n; i++) {
    rec_field t = rb->f[i];
    int j = i - 1;
    while (j >= 0 && rb->f[j].fid > t.fid) { rb->f[j + 1] = rb->f[j]; j--; }
    rb->f[j + 1] = t;
  }
  kbuf_byte(out, REC_VERSION);
  /* where each of the first SAME_SCAN fields' value was written in full */
  enum { SAME_SCAN = 64 };
  size_t at[SAME_SCAN];
  for (int i = 0; i < rb->n; i++) {
    const kval *v = &rb->f[i].v;
    if (v->tag == KV_NULL) continue; /* absent and nil are the same */
    kbuf_uvarint(out, rb->f[i].fid);
    int same = -1;
    if (v->tag == KV_STR && v->u.s.len >= SAME_MIN && i < SAME_SCAN)
      for (int j = 0; j < i && same < 0; j++) {
        const kval *w = &rb->f[j].v;
        if (w->tag == KV_STR && w->u.s.len == v->u.s.len && !memcmp(w->u.s.p, v->u.s.p, v->u.s.len)) same = j;
      }
    if (i < SAME_SCAN) at[i] = same >= 0 ? at[same] : out->len;
    if (same >= 0) {
      size_t back = out->len - at[same];
      kbuf_byte(out, REC_TAG_SAME);
      kbuf_uvarint(out, (uint64_t)back);
    } else {
      val_put(out, v);
    }
  }
}

int rec_iter_init(rec_iter *it, const uint8_t *p, size_t n) {
  it->start = p;
  it->end = p + n;
  if (n >= 1 && p[0] == REC_VERSION) { it->p = p + 1; it->left = UINT64_MAX; return 1; }
  if (n < 2 || p[0] != REC_VERSION_COUNTED) { it->p = it->end; it->left = 0; return 0; }
  size_t k = uvarint_get(p + 1, it->end, &it->left);
  if (!k) { it->p = it->end; it->left = 0; return 0; }
  it->p = p + 1 + k;
  return 1;
}

/* The value a SAME at p (a field's value) points back to; 0 if it does not decode. */
static __attribute__((noinline)) size_t same_get(const uint8_t *start, const uint8_t *p, const uint8_t *end, kval *v) {
  uint64_t back;
  size_t k = uvarint_get(p + 1, end, &back);
  if (!k || !back || back > (uint64_t)(p - start)) return 0;
  const uint8_t *at = p - back;
  if (*at == REC_TAG_SAME || !val_get(at, end, v)) return 0;
  return k + 1;
}

/* A field's value at p, a SAME included. */
static inline size_t field_get(const uint8_t *start, const uint8_t *p, const uint8_t *end, kval *v) {
  if (p < end && *p == REC_TAG_SAME) return same_get(start, p, end, v);
  return val_get(p, end, v);
}

/* Bytes of the value at p, undecoded (a field passed over on the way to another). */
static inline size_t val_skip(const uint8_t *p, const uint8_t *end) {
  if (p >= end) return 0;
  uint64_t u;
  size_t k;
  switch (*p) {
  case KV_NULL: case KV_FALSE: case KV_TRUE: return 1;
  case KV_NUM: return end - p >= 9 ? 9 : 0;
  case KV_INT: case REC_TAG_DAY: case REC_TAG_SAME: case REC_TAG_STAMP:
    k = uvarint_get(p + 1, end, &u);
    return k ? 1 + k : 0;
  case KV_STR: case KV_LIST: case KV_MAP:
    if (!(k = uvarint_get(p + 1, end, &u)) || (uint64_t)(end - p - 1 - (ptrdiff_t)k) < u) return 0;
    return 1 + k + (size_t)u;
  default: return 0;
  }
}

int rec_next(rec_iter *it, uint32_t *fid, kval *v) {
  if (!it->left) return 0;
  if (it->p == it->end && *it->start == REC_VERSION) { it->left = 0; return 0; } /* its end: all read */
  uint64_t f;
  size_t k = uvarint_get(it->p, it->end, &f);
  if (!k) return 0;
  it->p += k;
  if (!(k = field_get(it->start, it->p, it->end, v))) return 0;
  it->p += k;
  it->left--;
  *fid = (uint32_t)f;
  return 1;
}

int rec_find(const uint8_t *p, size_t n, uint32_t fid, kval *out) {
  rec_iter it;
  if (!rec_iter_init(&it, p, n)) return 0;
  for (; it.left; it.left--) {
    uint64_t f;
    size_t k = uvarint_get(it.p, it.end, &f);
    if (!k || f > fid) return 0;
    it.p += k;
    if (f == fid) return field_get(it.start, it.p, it.end, out) != 0;
    if (!(k = val_skip(it.p, it.end))) return 0;
    it.p += k;
  }
  return 0;
}

void citer_init(coll_iter *it, const kval *v) {
  const uint8_t *p = (const uint8_t *)v->u.s.p;
  it->end = p + v->u.s.len;
  it->is_map = v->tag == KV_MAP;
  size_t k = uvarint_get(p, it->end, &it->left);
  it->p = k ? p + k : it->end;
  if (!k) it->left = 0;
}

int citer_next(coll_iter *it, const char **key, size_t *klen, kval *v) {
  if (!it->left) return 0;
  if (it->is_map) {
    uint64_t l;
    size_t k = uvarint_get(it->p, it->end, &l);
    if (!k || (uint64_t)(it->end - it->p - k) < l) return 0;
    *key = (const char *)it->p + k;
    *klen = (size_t)l;
    it->p += k + l;
  } else {
    *key = NULL;
    *klen = 0;
  }
  size_t k = val_get(it->p, it->end, v);
  if (!k) return 0;
  it->p += k;
  it->left--;
  return 1;
}

int kval_cmp(const kval *a, const kval *b) {
  if ((a->tag == KV_INT || a->tag == KV_NUM) && (b->tag == KV_INT || b->tag == KV_NUM)) {
    if (a->tag == KV_INT && b->tag == KV_INT)
      return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    double x = a->tag == KV_INT ? (double)a->u.i : a->u.n;
    double y = b->tag == KV_INT ? (double)b->u.i : b->u.n;
    return x < y ? -1 : x > y;
  }
  if (a->tag == KV_STR && b->tag == KV_STR) {
    size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
    int c = memcmp(a->u.s.p, b->u.s.p, n);
    if (c) return c < 0 ? -1 : 1;
    return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
  }
  if ((a->tag == KV_TRUE || a->tag == KV_FALSE) && (b->tag == KV_TRUE || b->tag == KV_FALSE))
    return a->tag < b->tag ? -1 : a->tag > b->tag;
  if (a->tag == KV_NULL && b->tag == KV_NULL) return 0;
  return 2;
}

size_t utf8_char_len(const uint8_t *p, size_t n) {
  if (!n) return 0;
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  /* the second byte's range carries the rules on overlongs, surrogates and
   * the top of Unicode (RFC 3629, table 3-7 of the Unicode standard) */
  size_t k;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) k = 2;
  else if (c >= 0xE0 && c <= 0xEF) { k = 3; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { k = 4; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
  else return 0;
  if (n < k || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < k; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return k;
}

size_t utf8_invalid_at(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) { i++; continue; }
    size_t k = utf8_char_len(p + i, n - i);
    if (!k) return i;
    i += k;
  }
  return n;
}

static const char *text_check(const char *s, size_t n) {
  if (memchr(s, 0, n)) return "text must not contain NUL characters";
  if (utf8_invalid_at(s, n) != n) return "text is not UTF-8";
  return NULL;
}

static const char *check_at(const kval *v, int depth) {
  if (v->tag == KV_STR) return text_check(v->u.s.p, v->u.s.len);
  if (v->tag != KV_LIST && v->tag != KV_MAP) return NULL;
  if (depth > KV_MAX_DEPTH) return KV_DEPTH_MSG;
  coll_iter it;
  citer_init(&it, v);
  uint64_t want = it.left;
  const char *key;
  size_t klen;
  kval x;
  for (uint64_t i = 0; i < want; i++) {
    if (!citer_next(&it, &key, &klen, &x)) return "a list or map that does not decode";
    const char *why = key ? text_check(key, klen) : NULL;
    if (!why) why = check_at(&x, depth + 1);
    if (why) return why;
  }
  return NULL;
}

const char *kval_check(const kval *v) { return check_at(v, 0); }

/* Lists and maps item by item: one written before dates were day numbers
 * holds the same values in other bytes. */
static int coll_same(const kval *a, const kval *b, int depth) {
  coll_iter x, y;
  citer_init(&x, a);
  citer_init(&y, b);
  if (x.left != y.left || depth > KV_MAX_DEPTH) return 0;
  const char *ka, *kb;
  size_t la, lb;
  kval va, vb;
  for (;;) {
    int ma = citer_next(&x, &ka, &la, &va), mb = citer_next(&y, &kb, &lb, &vb);
    if (ma != mb) return 0;
    if (!ma) return x.left == 0 && y.left == 0;
    if (la != lb || (la && memcmp(ka, kb, la)) || va.tag != vb.tag) return 0;
    if (va.tag == KV_LIST || va.tag == KV_MAP ? !coll_same(&va, &vb, depth + 1) : !kval_same(&va, &vb)) return 0;
  }
}

int kval_same(const kval *a, const kval *b) {
  if (a->tag != b->tag) return 0;
  switch (a->tag) {
  case KV_INT: return a->u.i == b->u.i;
  case KV_NUM: return !memcmp(&a->u.n, &b->u.n, sizeof a->u.n);
  case KV_STR:
    return a->u.s.len == b->u.s.len && !memcmp(a->u.s.p, b->u.s.p, a->u.s.len);
  case KV_LIST: case KV_MAP:
    if (a->u.s.len == b->u.s.len && !memcmp(a->u.s.p, b->u.s.p, a->u.s.len)) return 1;
    return coll_same(a, b, 0);
  default: return 1;
  }
}

int kval_is_text(const kval *v, const char *s) {
  size_t n = strlen(s);
  return v->tag == KV_STR && v->u.s.len == n && !memcmp(v->u.s.p, s, n);
}
