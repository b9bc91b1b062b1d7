/* record.h — the compact binary encoding of a record.
 *
 * A record is a version byte, then (field id, value) pairs sorted by field
 * id to its end. A record of version 1 (written before) has the count of
 * its fields after the version byte; version 2 leaves it out, a byte less
 * in every record and every index entry's carried values. Field ids come from the book's field-name dictionary
 * (meta), never from positions in the schema, so adding or dropping a field
 * needs no migration: an unknown id is skipped, a missing one reads as nil.
 * Every value carries its tag and length, so one field is found by skipping
 * over the others without decoding them.
 *
 *   value := tag:u8 payload
 *     NULL FALSE TRUE           no payload
 *     INT                       zigzag varint
 *     NUM                       8 bytes, IEEE double, little endian
 *     STR                       varint length, bytes (UTF-8)
 *     LIST                      varint length, varint n, n values
 *     MAP                       varint length, varint n, n (varint klen, key, value)
 *     DAY (8)                   varint days since 0001-01-01
 * DAY is how a text that is exactly a date YYYY-MM-DD is stored, 4 bytes for
 * 12 (a third of an invoice is dates); it decodes to that same text, so no
 * reader sees it, and a STR holding a date (written before) reads the same.
 *     STAMP (10)                varint, an instant packed (stamp.h)
 * STAMP is how a text that is exactly an instant as kam writes them
 * (2026-12-02T15:17:51+07:00) is stored, 7 bytes for 27: created_at is in
 * every record; it decodes to that same text, as DAY does.
 *     SAME (9), fields only       varint bytes back to an earlier field's value
 * SAME stands for a text of SAME_MIN bytes or more that an earlier field of
 * the record holds too (a record never changed has updated == created: 28
 * bytes of 150). Only a record's own fields use it, never list or map items.
 *
 * Ownership: a kval never owns memory. A string (or a list or map body)
 * points into whatever it was decoded from or built over: an LMDB record
 * (valid until its txn ends or writes), a kbuf, a Lua string. Whoever holds
 * that memory decides how long the kval may be used.
 */
#ifndef KAM_RECORD_H
#define KAM_RECORD_H
#include "buf.h"
#include "kdate.h"
#include <stdint.h>
#include <stddef.h>

enum { KV_NULL, KV_FALSE, KV_TRUE, KV_INT, KV_NUM, KV_STR, KV_LIST, KV_MAP };
#define REC_VERSION 2         /* as written */
#define REC_VERSION_COUNTED 1 /* read: a field count after it */
#define REC_TAG_DAY 8 /* in stored bytes only: never a kval's tag */
#define REC_TAG_SAME 9
#define REC_TAG_STAMP 10 /* in stored bytes only, as DAY */
#define SAME_MIN 12

typedef struct kval {
  uint8_t tag;
  union {
    int64_t i;
    double n;
    struct { const char *p; size_t len; } s; /* STR bytes; LIST/MAP body */
  } u;
} kval;

static inline kval kv_null(void) { kval v; v.tag = KV_NULL; v.u.i = 0; return v; }
static inline kval kv_int(int64_t i) { kval v; v.tag = KV_INT; v.u.i = i; return v; }
static inline kval kv_num(double n) { kval v; v.tag = KV_NUM; v.u.n = n; return v; }
static inline kval kv_bool(int b) { kval v; v.tag = b ? KV_TRUE : KV_FALSE; v.u.i = 0; return v; }
static inline kval kv_str(const char *p, size_t len) { kval v; v.tag = KV_STR; v.u.s.p = p; v.u.s.len = len; return v; }

/* Encoding of one value (used for records, lists and maps). */
void val_put(kbuf *b, const kval *v);
/* Decodes one value at p; returns bytes used or 0 if malformed. */
size_t val_get(const uint8_t *p, const uint8_t *end, kval *out);

/* Building a record: add fields in any order, then finish. */
typedef struct rec_field { uint32_t fid; kval v; } rec_field;
typedef struct rec_builder {
  rec_field *f;
  int n, cap;
} rec_builder;
void rb_reset(rec_builder *rb);
void rb_add(rec_builder *rb, uint32_t fid, kval v); /* v's bytes must live until rb_finish */
void rb_finish(rec_builder *rb, kbuf *out); /* sorts by fid, appends to out */
void rb_free(rec_builder *rb);

/* Reading: find one field (returns 1 and sets *out, 0 if absent). */
int rec_find(const uint8_t *p, size_t n, uint32_t fid, kval *out);

/* The same, inline for the record a pass or a policy reads millions of
 * times: version 2, one-byte field ids, the wanted value an integer, a
 * text or a date. The fields before it are passed over here, without a call
 * per field; anything else (a repeated text, an instant, a field id past
 * 127, a record that does not decode) is left to rec_find, which gives the
 * same answer the long way. */
static inline __attribute__((always_inline)) int rec_find_inline(const uint8_t *p, size_t n, uint32_t fid, kval *out) {
  if (n < 1 || p[0] != REC_VERSION || fid > 0x7f) return rec_find(p, n, fid, out);
  const uint8_t *s = p + 1, *end = p + n;
  uint64_t u;
  size_t k;
  while (s + 1 < end) { /* a field id and a tag */
    uint32_t f = s[0];
    uint8_t tag = s[1];
    if (f > fid) return f & 0x80 ? rec_find(p, n, fid, out) : 0; /* fields come in fid order */
    if (f == fid) {
      if (tag == KV_INT && (k = uvarint_get(s + 2, end, &u))) {
        out->tag = KV_INT;
        out->u.i = unzigzag(u);
        return 1;
      }
      if (tag == KV_STR && (k = uvarint_get(s + 2, end, &u)) && u <= (uint64_t)(end - s - 2 - (ptrdiff_t)k)) {
        *out = kv_str((const char *)s + 2 + k, (size_t)u);
        return 1;
      }
      if (tag == REC_TAG_DAY && uvarint_get(s + 2, end, &u) && u <= (uint64_t)(DAY_LAST - DAY_FIRST)) {
        *out = kv_str(date_text_of_day(DAY_FIRST + (int64_t)u), 10);
        return 1;
      }
      return rec_find(p, n, fid, out);
    }
    switch (tag) { /* passed over, undecoded */
    case KV_NULL: case KV_FALSE: case KV_TRUE: s += 2; break;
    case KV_NUM:
      if (end - s < 10) return rec_find(p, n, fid, out);
      s += 10;
      break;
    case KV_INT: case REC_TAG_DAY: case REC_TAG_SAME: case REC_TAG_STAMP:
      if (!(k = uvarint_get(s + 2, end, &u))) return rec_find(p, n, fid, out);
      s += 2 + k;
      break;
    case KV_STR: case KV_LIST: case KV_MAP:
      if (!(k = uvarint_get(s + 2, end, &u)) || u > (uint64_t)(end - s - 2 - (ptrdiff_t)k)) return rec_find(p, n, fid, out);
      s += 2 + k + (size_t)u;
      break;
    default: return rec_find(p, n, fid, out); /* a tag it does not know */
    }
  }
  return s == end ? 0 : rec_find(p, n, fid, out);
}

/* Iterating all fields in order. */
/* left: fields still to read (of version 2: until the end, then 0) */
typedef struct rec_iter { const uint8_t *start, *p, *end; uint64_t left; } rec_iter;
int rec_iter_init(rec_iter *it, const uint8_t *p, size_t n); /* 0 if malformed */
int rec_next(rec_iter *it, uint32_t *fid, kval *v);           /* 1 while fields */

/* Iterating a LIST or MAP body (kval.u.s). For lists key is NULL. */
typedef struct coll_iter { const uint8_t *p, *end; uint64_t left; int is_map; } coll_iter;
void citer_init(coll_iter *it, const kval *v);
int citer_next(coll_iter *it, const char **key, size_t *klen, kval *v);

/* Lists and maps hold lists and maps at most this many levels below a
 * field's own value (the Lua write path refuses deeper tables the same way). */
#define KV_MAX_DEPTH 32
#define KV_DEPTH_MSG "nested deeper than 32 levels"

/* Bytes of the well-formed UTF-8 character at p (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 if there is none. */
size_t utf8_char_len(const uint8_t *p, size_t n);
/* Offset of the first byte of s that is not well-formed UTF-8, or n. */
size_t utf8_invalid_at(const char *s, size_t n);
/* What is wrong with a value the book would store, or NULL: text (also in
 * lists and maps, and their keys) that is not UTF-8 or holds NUL, lists and
 * maps nested deeper than KV_MAX_DEPTH, a body that does not decode. */
const char *kval_check(const kval *v);

/* Value comparison for filters: numbers with numbers, strings bytewise.
 * Returns -1/0/1, or 2 when the values are not comparable. */
int kval_cmp(const kval *a, const kval *b);
/* kval_cmp(a, b) == 0, with texts of different lengths told apart before
 * their bytes are read: an enum filter (status ~= "draft") on every row. */
static inline int kval_eq(const kval *a, const kval *b) {
  if (a->tag == KV_STR && b->tag == KV_STR && a->u.s.len != b->u.s.len) return 0;
  return kval_cmp(a, b) == 0;
}
/* Whether two values are the same value of the same type, lists and maps
 * included (by their encoded bytes, which one value has only one way to
 * be): what "this field changed" means for the audit and access rules. */
int kval_same(const kval *a, const kval *b);
/* Whether v is the text s, exactly. */
int kval_is_text(const kval *v, const char *s);

#endif
