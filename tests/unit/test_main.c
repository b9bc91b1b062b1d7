/* Unit tests for the encodings, schema, store and query planner. Each test
 * is a function; `unit_tests NAME` runs one and exits non-zero on failure. */
#include "unit.h"
#include "keyenc.h"
#include "kdate.h"
#include "pool.h"
#include "bulk.h"
#include "grouppass.h"
#include "heap.h"
#include "idset.h"
#include "query.h"
#include "record.h"
#include "schema.h"
#include "stamp.h"
#include "store.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

/* ---- records ---- */

static void t_record_roundtrip(void) {
  rec_builder rb = {0};
  kbuf out = {0}, list = {0}, body = {0};
  kbuf_uvarint(&body, 2);
  kval a = kv_str("xin chào", strlen("xin chào")), b = kv_int(-5);
  val_put(&body, &a);
  val_put(&body, &b);
  kval lv; lv.tag = KV_LIST; lv.u.s.p = (const char *)body.p; lv.u.s.len = body.len;
  rb_add(&rb, 9, kv_num(2.5));
  rb_add(&rb, 3, kv_str("Nguyễn", strlen("Nguyễn")));
  rb_add(&rb, 5, kv_int(INT64_MIN));
  rb_add(&rb, 7, kv_bool(1));
  rb_add(&rb, 8, lv);
  rb_add(&rb, 4, kv_null()); /* nil fields are not stored */
  rb_finish(&rb, &out);
  kval v;
  CHECK(rec_find(out.p, out.len, 3, &v) && v.tag == KV_STR && v.u.s.len == strlen("Nguyễn"));
  CHECK(rec_find(out.p, out.len, 5, &v) && v.tag == KV_INT && v.u.i == INT64_MIN);
  CHECK(rec_find(out.p, out.len, 7, &v) && v.tag == KV_TRUE);
  CHECK(rec_find(out.p, out.len, 9, &v) && v.tag == KV_NUM && v.u.n == 2.5);
  CHECK(!rec_find(out.p, out.len, 4, &v));
  CHECK(rec_find(out.p, out.len, 8, &v) && v.tag == KV_LIST);
  coll_iter it;
  citer_init(&it, &v);
  const char *k; size_t kl; kval x;
  CHECK(citer_next(&it, &k, &kl, &x) && x.tag == KV_STR && !memcmp(x.u.s.p, "xin chào", x.u.s.len));
  CHECK(citer_next(&it, &k, &kl, &x) && x.tag == KV_INT && x.u.i == -5);
  CHECK(!citer_next(&it, &k, &kl, &x));
  /* iteration is in field id order */
  rec_iter ri; uint32_t fid, last = 0; int n = 0;
  CHECK(rec_iter_init(&ri, out.p, out.len));
  while (rec_next(&ri, &fid, &v)) { CHECK(fid > last); last = fid; n++; }
  CHECK(n == 5);
  rb_free(&rb); kbuf_free(&out); kbuf_free(&list); kbuf_free(&body);
}

static void t_record_find(void) {
  /* a field unknown to the reader is skipped; a missing one reads as absent */
  rec_builder rb = {0};
  kbuf out = {0};
  for (uint32_t f = 1; f <= 200; f += 3) rb_add(&rb, f, kv_int(f * 10));
  rb_finish(&rb, &out);
  kval v;
  for (uint32_t f = 1; f <= 200; f++) {
    int found = rec_find(out.p, out.len, f, &v);
    CHECK(found == ((f - 1) % 3 == 0));
    if (found) CHECK(v.u.i == (int64_t)f * 10);
  }
  rb_free(&rb); kbuf_free(&out);
}

static void t_record_malformed(void) {
  /* random bytes must never crash the decoder */
  uint8_t buf[64];
  for (int round = 0; round < 20000; round++) {
    size_t n = rnd() % sizeof buf;
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rnd();
    if (n) buf[0] = round % 2 ? REC_VERSION : REC_VERSION_COUNTED;
    kval v;
    rec_find(buf, n, (uint32_t)(rnd() % 8), &v);
    rec_iter it; uint32_t f;
    if (rec_iter_init(&it, buf, n)) while (rec_next(&it, &f, &v)) if (v.tag == KV_LIST || v.tag == KV_MAP) {
      coll_iter ci; const char *k; size_t kl; kval x;
      citer_init(&ci, &v);
      while (citer_next(&ci, &k, &kl, &x)) {}
    }
  }
  CHECK(1);
}

/* rec_find_inline gives what rec_find gives, for every field id: on records
 * holding every kind of value (dates, instants and repeated texts, which it
 * leaves to rec_find, and field ids past 127), on each of them cut short at
 * every length, and on random bytes. */
static int found_same(const uint8_t *p, size_t n, uint32_t fid) {
  kval a = kv_int(7), b = kv_int(7);
  int ra = rec_find(p, n, fid, &a), rb = rec_find_inline(p, n, fid, &b);
  if (ra != rb) return 0;
  if (!ra) return 1;
  if (a.tag != b.tag) return 0;
  if (a.tag == KV_STR || a.tag == KV_LIST || a.tag == KV_MAP) return a.u.s.p == b.u.s.p && a.u.s.len == b.u.s.len;
  if (a.tag == KV_NUM) return !memcmp(&a.u.n, &b.u.n, sizeof a.u.n);
  return a.u.i == b.u.i;
}

static void t_record_find_inline(void) {
  static const char *texts[] = {"", "paid", "Nguyễn Thị Hoa", "2026-11-26", "2026-12-02T15:17:51+07:00",
                                "a text long enough to be written once and pointed back to after that"};
  char big[300];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  kbuf list = {0};
  kbuf_uvarint(&list, 1);
  kval one = kv_int(1);
  val_put(&list, &one);
  int bad = 0;
  for (int round = 0; round < 3000 && !bad; round++) {
    rec_builder rb = {0};
    kbuf out = {0};
    int nf = 1 + (int)(rnd() % 12);
    for (int i = 0; i < nf; i++) {
      uint32_t fid = (uint32_t)(rnd() % (round % 3 ? 40 : 300));
      kval v;
      switch (rnd() % 9) {
      case 0: v = kv_int((int64_t)(rnd() % 100)); break;
      case 1: v = kv_int((int64_t)rnd()); break; /* up to ten bytes */
      case 2: v = kv_num((double)(rnd() % 1000) / 7); break;
      case 3: v = kv_bool((int)(rnd() % 2)); break;
      case 4: v = kv_str(big, rnd() % sizeof big); break; /* lengths of one and two bytes */
      case 5: v.tag = KV_LIST; v.u.s.p = (const char *)list.p; v.u.s.len = list.len; break;
      default: { const char *t = texts[rnd() % 6]; v = kv_str(t, strlen(t)); }
      }
      rb_add(&rb, fid, v);
    }
    rb_finish(&rb, &out);
    for (size_t len = 0; len <= out.len && !bad; len++)
      for (uint32_t fid = 0; fid < 310 && !bad; fid++) bad = !found_same(out.p, len, fid);
    rb_free(&rb);
    kbuf_free(&out);
  }
  CHECK(!bad);
  uint8_t buf[48];
  for (int round = 0; round < 50000 && !bad; round++) {
    size_t n = rnd() % sizeof buf;
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(rnd() % 4 ? rnd() % 12 : rnd());
    if (n) buf[0] = round % 5 ? REC_VERSION : REC_VERSION_COUNTED;
    for (uint32_t fid = 0; fid < 16 && !bad; fid++) bad = !found_same(buf, n, fid);
  }
  CHECK(!bad);
  /* a length that would carry the walk round the address space past the end */
  kbuf w = {0};
  kbuf_byte(&w, REC_VERSION);
  kbuf_byte(&w, 1);
  kbuf_byte(&w, KV_STR);
  kbuf_uvarint(&w, UINT64_MAX - 11);
  kbuf_byte(&w, 2);
  kbuf_byte(&w, KV_INT);
  kbuf_uvarint(&w, 4);
  kval x;
  CHECK(!rec_find_inline(w.p, w.len, 2, &x) && found_same(w.p, w.len, 2));
  kbuf_free(&w);
  kbuf_free(&list);
}

/* The text s is stored with the tag (KV_STR: as text) in at most max
 * bytes, and reads back as s; returns where the text read back lies. */
static const char *check_stored(const char *s, int tag, size_t max) {
  size_t n = strlen(s);
  kbuf b = {0};
  kval v = kv_str(s, n), x = kv_null();
  val_put(&b, &v);
  CHECK(b.p[0] == tag && b.len <= max);
  CHECK(val_get(b.p, b.p + b.len, &x) == b.len && x.tag == KV_STR && x.u.s.len == n && !memcmp(x.u.s.p, s, n));
  kbuf_free(&b);
  return tag == KV_STR ? NULL : x.u.s.p; /* a text's own bytes went with the buffer */
}

/* A date text is stored as its day number and reads back as the same text;
 * a text that only looks like one stays a text. */
static void t_record_dates(void) {
  const char *dates[] = {"0001-01-01", "1970-01-01", "2024-02-29", "2026-11-26", "9999-12-31"};
  for (int i = 0; i < 5; i++) check_stored(dates[i], REC_TAG_DAY, 5);
  const char *texts[] = {"2025-02-29", "2026-1-01x", "2026/11/26", "0000-01-01", "2026-11-26 ", "+026-11-26"};
  for (int i = 0; i < 6; i++) check_stored(texts[i], KV_STR, 32);
  /* a day past 9999-12-31 does not decode */
  kbuf b = {0};
  kbuf_byte(&b, REC_TAG_DAY);
  kbuf_uvarint(&b, (uint64_t)(DAY_LAST - DAY_FIRST) + 1);
  kval x;
  CHECK(val_get(b.p, b.p + b.len, &x) == 0);
  kbuf_free(&b);
  /* a list written before dates were day numbers (the date as STR) is the
   * same value as the list written now, and not the same as another */
  {
    kbuf oldb = {0}, newb = {0}, other = {0};
    kval d = kv_str("2026-11-26", 10), d2 = kv_str("2026-11-27", 10), n5 = kv_int(5);
    kbuf_uvarint(&oldb, 2);
    kbuf_byte(&oldb, KV_STR); kbuf_uvarint(&oldb, 10); kbuf_put(&oldb, "2026-11-26", 10);
    val_put(&oldb, &n5);
    kbuf_uvarint(&newb, 2); val_put(&newb, &d); val_put(&newb, &n5);
    kbuf_uvarint(&other, 2); val_put(&other, &d2); val_put(&other, &n5);
    kval lo = {.tag = KV_LIST, .u.s = {(const char *)oldb.p, oldb.len}};
    kval ln = {.tag = KV_LIST, .u.s = {(const char *)newb.p, newb.len}};
    kval lx = {.tag = KV_LIST, .u.s = {(const char *)other.p, other.len}};
    CHECK(oldb.len != newb.len && kval_same(&lo, &ln) && kval_same(&ln, &lo));
    CHECK(!kval_same(&lo, &lx) && !kval_same(&ln, &lx));
    kbuf_free(&oldb); kbuf_free(&newb); kbuf_free(&other);
  }
  /* every day's text is the day's own, and stays where it is */
  CHECK(days_from_civil(1, 1, 1) == DAY_FIRST && days_from_civil(9999, 12, 31) == DAY_LAST);
  const char *t0 = date_text_of_day(20783);
  CHECK(t0 && !memcmp(t0, "2026-11-26", 10) && date_text_of_day(20783) == t0);
  CHECK(!date_text_of_day(DAY_FIRST - 1) && !date_text_of_day(DAY_LAST + 1));
  for (int64_t z = DAY_FIRST; z <= DAY_LAST; z += 997) {
    int y, m, d;
    char want[11];
    civil_from_days(z, &y, &m, &d);
    date_format(want, y, m, d);
    CHECK(!memcmp(date_text_of_day(z), want, 10));
  }
}

/* An instant as kam writes it is stored packed and reads back as the same
 * 25 bytes; any text that would not come back byte for byte stays text. */
static void t_record_stamps(void) {
  const char *stamps[] = {"2026-12-02T15:17:51+07:00", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59+14:00",
                          "1969-12-31T23:59:59+00:00", "2024-02-29T12:00:00+05:45", "1970-01-01T00:00:00-03:30"};
  /* decoded twice, the same text in the same place */
  for (int i = 0; i < 6; i++) CHECK(check_stored(stamps[i], REC_TAG_STAMP, 9) == check_stored(stamps[i], REC_TAG_STAMP, 9));
  const char *texts[] = {"2026-12-02T15:17:51-00:00", "2026-12-02T15:17:60+07:00", "2026-12-02T24:00:00+07:00",
                         "2026-02-30T15:17:51+07:00", "2026-12-02 15:17:51+07:00", "2026-12-02T15:17:51+07:10",
                         "2026-12-02T15:17:51+15:00", "2026-12-02T15:17:51Z00:00", "2026-12-02T15:17:5x+07:00",
                         "2026-12-02T15:17:51+07:00 "};
  for (int i = 0; i < 10; i++) check_stored(texts[i], KV_STR, 32);
  /* every instant of a day at a random offset, packed and back */
  srand(7);
  for (int i = 0; i < 20000; i++) {
    char t[32];
    int64_t day = DAY_FIRST + rand() % (DAY_LAST - DAY_FIRST + 1);
    int sod = rand() % 86400, q = rand() % 113 - 56, off = q < 0 ? -q * 15 : q * 15;
    memcpy(t, date_text_of_day(day), 10);
    snprintf(t + 10, sizeof t - 10, "T%02d:%02d:%02d%c%02d:%02d", sod / 3600, sod / 60 % 60, sod % 60,
             q < 0 ? '-' : '+', off / 60, off % 60);
    uint64_t v;
    CHECK(stamp_pack(t, 25, &v));
    const char *back = stamp_text(v);
    CHECK(back && !memcmp(back, t, 25));
  }
  /* a packed value no text makes does not decode */
  kbuf b = {0};
  kval x;
  kbuf_byte(&b, REC_TAG_STAMP);
  kbuf_uvarint(&b, 113); /* offset past +14:00 */
  CHECK(val_get(b.p, b.p + b.len, &x) == 0);
  b.len = 0;
  kbuf_byte(&b, REC_TAG_STAMP);
  kbuf_uvarint(&b, (uint64_t)1 << 62); /* a day past 9999-12-31 */
  CHECK(val_get(b.p, b.p + b.len, &x) == 0);
  kbuf_free(&b);
  /* a record: created_at packed, updated_at the same one pointed back to */
  rec_builder rb = {0};
  kbuf r = {0};
  rb_add(&rb, 1, kv_str(stamps[0], 25));
  rb_add(&rb, 2, kv_str(stamps[0], 25));
  rb_finish(&rb, &r);
  CHECK(r.len <= 14);
  kval c, u;
  CHECK(rec_find(r.p, r.len, 1, &c) && rec_find(r.p, r.len, 2, &u) && c.u.s.len == 25 && !memcmp(u.u.s.p, stamps[0], 25));
  rb_free(&rb);
  kbuf_free(&r);
}

/* A long text an earlier field holds too is written once: the later field
 * points back at it, and reads the same. */
static void t_record_same(void) {
  /* 25-byte texts that are not instants as kam writes them (those are packed) */
  const char *ts = "2026-11-26 08:30:00 +0700", *other = "2026-11-27 08:30:00 +0700";
  rec_builder rb = {0};
  kbuf out = {0};
  rb_add(&rb, 2, kv_str(ts, strlen(ts)));
  rb_add(&rb, 1, kv_str(ts, strlen(ts)));
  rb_add(&rb, 3, kv_str(other, strlen(other)));
  rb_add(&rb, 4, kv_str(ts, strlen(ts)));
  rb_add(&rb, 5, kv_str("short", 5));
  rb_add(&rb, 6, kv_str("short", 5));
  rb_finish(&rb, &out);
  /* the text is written twice (fields 1 and 3), not four times; one byte
   * of version before the fields */
  CHECK(out.len == 1 + 2 * (1 + 2 + 25) + 2 * 3 + 2 * (1 + 2 + 5));
  const char *want[] = {NULL, ts, ts, other, ts, "short", "short"};
  for (uint32_t f = 1; f <= 6; f++) {
    kval v;
    CHECK(rec_find(out.p, out.len, f, &v) && v.tag == KV_STR && v.u.s.len == strlen(want[f]) &&
          !memcmp(v.u.s.p, want[f], v.u.s.len));
  }
  rec_iter it;
  uint32_t fid;
  kval v;
  int n = 0;
  CHECK(rec_iter_init(&it, out.p, out.len));
  while (rec_next(&it, &fid, &v)) n++;
  CHECK(n == 6 && it.p == it.end);
  /* field 2's value is a back reference; pointing it before the record,
   * at nothing, or at another back reference does not decode */
  size_t at = 0;
  for (size_t i = 0; i + 1 < out.len; i++)
    if (out.p[i] == 2 && out.p[i + 1] == REC_TAG_SAME) { at = i + 2; break; }
  CHECK(at > 0);
  uint8_t saved = out.p[at];
  uint8_t bad[] = {0, (uint8_t)(at + 1), 0x7f};
  for (int b = 0; b < 3; b++) {
    out.p[at] = bad[b];
    CHECK(!rec_find(out.p, out.len, 2, &v) || v.tag != KV_STR || v.u.s.len != strlen(ts) || memcmp(v.u.s.p, ts, 25));
  }
  out.p[at] = saved;
  CHECK(rec_find(out.p, out.len, 2, &v) && v.u.s.len == 25);
  /* a back reference is no value of its own: a list never holds one */
  uint8_t item[] = {REC_TAG_SAME, 1};
  CHECK(val_get(item, item + 2, &v) == 0);
  rb_free(&rb);
  kbuf_free(&out);
}

/* ---- keys ---- */

/* A field of type t for a key part (a ref's target ids without a prefix). */
#define KF(t) (&(field_def){.type = (t)})

static int keycmp(kbuf *a, kbuf *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->p, b->p, n);
  return c ? (c < 0 ? -1 : 1) : (a->len > b->len) - (a->len < b->len);
}

static void t_keyenc_order(void) {
  int64_t ints[] = {INT64_MIN, -1000000, -1, 0, 1, 255, 256, 1000000000000, INT64_MAX};
  for (size_t i = 0; i + 1 < sizeof ints / sizeof *ints; i++) {
    kbuf a = {0}, b = {0};
    kval x = kv_int(ints[i]), y = kv_int(ints[i + 1]);
    key_put(&a, KF(FT_MONEY), &x); key_put(&b, KF(FT_MONEY), &y);
    CHECK(keycmp(&a, &b) < 0);
    kbuf_free(&a); kbuf_free(&b);
  }
  double nums[] = {-INFINITY, -1e300, -2.5, -1e-300, 0.0, 1e-300, 0.5, 2.5, 1e300, INFINITY};
  for (size_t i = 0; i + 1 < sizeof nums / sizeof *nums; i++) {
    kbuf a = {0}, b = {0};
    kval x = kv_num(nums[i]), y = kv_num(nums[i + 1]);
    key_put(&a, KF(FT_NUMBER), &x); key_put(&b, KF(FT_NUMBER), &y);
    CHECK(keycmp(&a, &b) < 0);
    kbuf_free(&a); kbuf_free(&b);
  }
  const char *strs[] = {"", "2026-01-31", "2026-02-01", "A", "B", "a", "ab", "b", "Đ", "ư"};
  for (size_t i = 0; i + 1 < sizeof strs / sizeof *strs; i++) {
    kbuf a = {0}, b = {0};
    kval x = kv_str(strs[i], strlen(strs[i])), y = kv_str(strs[i + 1], strlen(strs[i + 1]));
    key_put(&a, KF(FT_STRING), &x); key_put(&b, KF(FT_STRING), &y);
    CHECK(keycmp(&a, &b) < 0);
    kbuf_free(&a); kbuf_free(&b);
  }
  /* composite: ("ab", 5) < ("ab", 7) < ("abc", 1) — the terminator keeps fields apart */
  kbuf k1 = {0}, k2 = {0}, k3 = {0}, kn = {0};
  kval s1 = kv_str("ab", 2), s2 = kv_str("abc", 3), i5 = kv_int(5), i7 = kv_int(7), i1 = kv_int(1), nil = kv_null();
  key_put(&k1, KF(FT_REF), &s1); key_put(&k1, KF(FT_INT), &i5);
  key_put(&k2, KF(FT_REF), &s1); key_put(&k2, KF(FT_INT), &i7);
  key_put(&k3, KF(FT_REF), &s2); key_put(&k3, KF(FT_INT), &i1);
  key_put(&kn, KF(FT_REF), &nil);
  CHECK(keycmp(&k1, &k2) < 0 && keycmp(&k2, &k3) < 0 && keycmp(&kn, &k1) < 0);
  kval f = kv_bool(0), t = kv_bool(1);
  kbuf bf = {0}, bt = {0};
  key_put(&bf, KF(FT_BOOL), &f); key_put(&bt, KF(FT_BOOL), &t);
  CHECK(keycmp(&bf, &bt) < 0);
  kbuf_free(&k1); kbuf_free(&k2); kbuf_free(&k3); kbuf_free(&kn); kbuf_free(&bf); kbuf_free(&bt);
  /* random ints: key order equals value order */
  for (int i = 0; i < 10000; i++) {
    int64_t x = (int64_t)rnd(), y = (int64_t)rnd();
    kbuf a = {0}, b = {0};
    kval vx = kv_int(x), vy = kv_int(y);
    key_put(&a, KF(FT_INT), &vx); key_put(&b, KF(FT_INT), &vy);
    CHECK(keycmp(&a, &b) == (x < y ? -1 : x > y));
    kbuf_free(&a); kbuf_free(&b);
  }
}

/* A date part is its day number: in date order after nil, 3 bytes,
 * decoded to its text; a bound that is no date seeks to the first date
 * after it. */
static void t_keyenc_dates(void) {
  const char *dates[] = {"0001-01-01", "1999-12-31", "2024-02-29", "2024-03-01", "2026-11-26", "9999-12-31"};
  char scratch[KEY_ID_MAX];
  kbuf prev = {0};
  kval nil = kv_null(), x0;
  key_put(&prev, KF(FT_DATE), &nil);
  CHECK(prev.len == 3 && key_size(KF(FT_DATE), &nil) == 3 && key_part_null(KF(FT_DATE), prev.p, prev.p + 3));
  CHECK(key_get(prev.p, prev.p + 3, KF(FT_DATE), &x0, scratch) == 3 && x0.tag == KV_NULL);
  for (int i = 0; i < 6; i++) {
    kbuf k = {0};
    kval v = kv_str(dates[i], 10), x;
    key_put(&k, KF(FT_DATE), &v);
    CHECK(k.len == 3 && key_size(KF(FT_DATE), &v) == 3 && key_exact(KF(FT_DATE), &v));
    CHECK(keycmp(&prev, &k) < 0 && !key_part_null(KF(FT_DATE), k.p, k.p + 3));
    CHECK(key_get(k.p, k.p + k.len, KF(FT_DATE), &x, scratch) == 3 && x.u.s.len == 10 && !memcmp(x.u.s.p, dates[i], 10));
    kbuf_free(&prev);
    prev = k;
  }
  kbuf_free(&prev);
  /* stand-ins: "2025-11" seeks to 2025-11-01, "2026-02-30" to 2026-03-01 */
  struct { const char *bound, *first; } st[] = {{"2025-11", "2025-11-01"}, {"2026-02-30", "2026-03-01"},
                                                {"", "0001-01-01"}, {"2026-11-26T00:00", "2026-11-27"}};
  for (int i = 0; i < 4; i++) {
    kbuf a = {0}, b = {0};
    kval x = kv_str(st[i].bound, strlen(st[i].bound)), y = kv_str(st[i].first, 10);
    key_put(&a, KF(FT_DATE), &x);
    key_put(&b, KF(FT_DATE), &y);
    CHECK(keycmp(&a, &b) == 0 && !key_exact(KF(FT_DATE), &x));
    kbuf_free(&a); kbuf_free(&b);
  }
  /* after every date: above them all */
  kbuf a = {0}, b = {0};
  kval x = kv_str("A", 1), y = kv_str("9999-12-31", 10);
  key_put(&a, KF(FT_DATE), &x);
  key_put(&b, KF(FT_DATE), &y);
  CHECK(keycmp(&b, &a) < 0);
  kval out;
  CHECK(key_get(a.p, a.p + a.len, KF(FT_DATE), &out, scratch) == 0); /* never stored: no date */
  kbuf_free(&a); kbuf_free(&b);
  kval cut = kv_str("x", 1);
  CHECK(key_exact(KF(FT_STRING), &cut) && key_exact(KF(FT_DATE), &(kval){.tag = KV_NULL}));
}

/* An id packed as a key's last part: back to its text, shorter, and in the
 * order of the texts, whatever the ids are (random ones against the prefix). */
static int textcmp(const char *a, size_t an, const char *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  return c ? (c < 0 ? -1 : 1) : (an > bn) - (an < bn);
}

static void t_keyenc_ids(void) {
  const char *prefixes[] = {"INV-", "", "CL-", "9", "ĐH-"};
  const char alphabet[] = "0123456789-/:ABINVXaz~";
  char ids[400][24];
  size_t lens[400];
  kbuf enc[400];
  for (int pi = 0; pi < 5; pi++) {
    const char *pre = prefixes[pi];
    for (int i = 0; i < 400; i++) {
      size_t n = 0;
      if (rnd() % 2) { memcpy(ids[i], pre, strlen(pre)); n = strlen(pre); } /* half of them the collection's */
      size_t extra = 1 + rnd() % 10;
      for (size_t k = 0; k < extra && n < 23; k++)
        ids[i][n++] = rnd() % 3 ? alphabet[rnd() % 10] : alphabet[rnd() % (sizeof alphabet - 1)];
      if (rnd() % 8 == 0 && n < 22) { ids[i][n++] = (char)0xc3; ids[i][n++] = (char)0xa1; } /* á */
      lens[i] = n;
      memset(&enc[i], 0, sizeof enc[i]);
      key_put_id(&enc[i], pre, ids[i], n);
      CHECK(enc[i].len == key_id_size(pre, ids[i], n));
      CHECK(!memchr(enc[i].p, 0, enc[i].len));
      char back[KEY_ID_MAX];
      size_t bn = key_get_id(enc[i].p, enc[i].p + enc[i].len, pre, back);
      CHECK(bn == n && !memcmp(back, ids[i], n));
    }
    for (int i = 0; i < 400; i++)
      for (int j = 0; j < 400; j += 7)
        CHECK(keycmp(&enc[i], &enc[j]) == textcmp(ids[i], lens[i], ids[j], lens[j]));
    for (int i = 0; i < 400; i++) kbuf_free(&enc[i]);
  }
  /* INV-00131508 of invoices: the class, "0", nibbles 1 2 4 2 6 1 9 and the end: 6 bytes */
  kbuf b = {0};
  key_put_id(&b, "INV-", "INV-00131508", 12);
  CHECK(b.len == 6 && b.p[0] == 2 && b.p[1] == '0' && b.p[2] == 0x12 && b.p[5] == 0x90);
  kbuf_free(&b);
  /* what does not decode: no class, a run cut short, a nibble past 9 */
  uint8_t bad1[] = {4, 'A'}, bad2[] = {2, '1'}, bad3[] = {2, '1', 0xb0};
  char out[KEY_ID_MAX];
  CHECK(!key_get_id(bad1, bad1 + 2, "X-", out) && !key_get_id(bad2, bad2 + 2, "X-", out) &&
        !key_get_id(bad3, bad3 + 3, "X-", out));
  /* random bytes never read past their end */
  for (int r = 0; r < 20000; r++) {
    uint8_t junk[40];
    size_t n = rnd() % sizeof junk;
    for (size_t k = 0; k < n; k++) junk[k] = (uint8_t)rnd();
    key_get_id(junk, junk + n, "INV-", out);
  }
}

static void t_keyenc_roundtrip(void) {
  field_def f[] = {{.type = FT_INT}, {.type = FT_MONEY}, {.type = FT_NUMBER}, {.type = FT_STRING}, {.type = FT_DATE},
                   {.type = FT_BOOL}, {.type = FT_ENUM}, {.type = FT_REF, .ref_prefix = "CL-"}, {.type = FT_STRING},
                   {.type = FT_REF, .ref_prefix = "CL-"}, {.type = FT_DATE}, {.type = FT_INT}};
  kval vals[] = {kv_int(-42), kv_int(1234567890123), kv_num(-0.125), kv_str("Sao Mai", 7),
                 kv_str("2026-11-26", 10), kv_bool(1), kv_str("A", 1), kv_str("CL-004814", 9), kv_null(),
                 kv_null(), kv_null(), kv_null()};
  enum { N = sizeof vals / sizeof vals[0] };
  char scratch[N][KEY_ID_MAX];
  kbuf k = {0};
  size_t want = 0;
  for (int i = 0; i < N; i++) key_put(&k, &f[i], &vals[i]), want += key_size(&f[i], &vals[i]);
  CHECK(k.len == want);
  const uint8_t *p = k.p, *end = k.p + k.len;
  kval v[N];
  for (int i = 0; i < N; i++) {
    CHECK(key_part_null(&f[i], p, end) == (vals[i].tag == KV_NULL));
    size_t n = key_get(p, end, &f[i], &v[i], scratch[i]);
    CHECK(n > 0);
    p += n;
  }
  for (int i = 0; i < N; i++) /* a ref's text lives in its own scratch */
    CHECK(vals[i].tag == KV_NULL ? v[i].tag == KV_NULL : kval_cmp(&v[i], &vals[i]) == 0);
  CHECK(p == end);
  kbuf_free(&k);
}

/* Text parts after nil, an empty text and one starting with 0x01, in text
 * order; a ref packed as its target's ids are, ordered and given back
 * whatever its text, a long one cut as any text part is. */
static void t_keyenc_texts(void) {
  char scratch[KEY_ID_MAX];
  const char *strs[] = {"", "\x01", "\x01\x01" "a", "\x01" "b", "\x02", " ", "A", "a"};
  kval nil = kv_null();
  for (int ti = 0; ti < 3; ti++) {
    const field_def *f = ti == 0 ? KF(FT_STRING) : ti == 1 ? KF(FT_ENUM) : &(field_def){.type = FT_REF, .ref_prefix = "\x01"};
    kbuf prev = {0};
    key_put(&prev, f, &nil);
    CHECK(prev.len == 1 && prev.p[0] == 0 && key_part_null(f, prev.p, prev.p + 1));
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
      kbuf k = {0};
      kval x = kv_str(strs[i], strlen(strs[i])), y;
      key_put(&k, f, &x);
      kbuf_byte(&k, 0x01); /* a part after it */
      CHECK(k.len == key_size(f, &x) + 1 && keycmp(&prev, &k) < 0 && !key_part_null(f, k.p, k.p + k.len));
      CHECK(key_get(k.p, k.p + k.len, f, &y, scratch) == k.len - 1 && kval_cmp(&x, &y) == 0);
      kbuf_free(&prev);
      prev = k;
    }
    kbuf_free(&prev);
  }
  /* random refs against the prefix, each followed by a part: the order of their texts */
  const char *pre = "CL-";
  const field_def *rf = &(field_def){.type = FT_REF, .ref_prefix = "CL-"};
  const char alphabet[] = "0123456789-/ ABCLXz~";
  char refs[300][20];
  size_t lens[300];
  kbuf enc[300];
  for (int i = 0; i < 300; i++) {
    size_t n = 0;
    if (rnd() % 2) { memcpy(refs[i], pre, 3); n = 3; }
    size_t extra = rnd() % 10;
    for (size_t k = 0; k < extra; k++) refs[i][n++] = rnd() % 3 ? alphabet[rnd() % 10] : alphabet[rnd() % (sizeof alphabet - 1)];
    lens[i] = n;
    memset(&enc[i], 0, sizeof enc[i]);
    kval x = kv_str(refs[i], n), y;
    key_put(&enc[i], rf, &x);
    kval after = kv_int((int64_t)(rnd() % 5));
    key_put(&enc[i], KF(FT_INT), &after);
    CHECK(key_get(enc[i].p, enc[i].p + enc[i].len, rf, &y, scratch) == key_size(rf, &x) && kval_cmp(&x, &y) == 0);
  }
  for (int i = 0; i < 300; i++)
    for (int j = 0; j < 300; j += 3) {
      int c = textcmp(refs[i], lens[i], refs[j], lens[j]);
      if (c) CHECK(keycmp(&enc[i], &enc[j]) == c);
    }
  for (int i = 0; i < 300; i++) kbuf_free(&enc[i]);
  /* an empty ref whose text has no pointer (as a kval of no bytes may have) */
  kbuf e0 = {0};
  kval empty = kv_str(NULL, 0), eo;
  key_put(&e0, rf, &empty);
  CHECK(e0.len == key_size(rf, &empty) && key_get(e0.p, e0.p + e0.len, rf, &eo, scratch) == e0.len &&
        eo.tag == KV_STR && eo.u.s.len == 0);
  kbuf_free(&e0);
  /* CL-004814: class, "0", nibbles 1 5 9 2 5 and the end, 0x00: 6 bytes where the text took 11 */
  kbuf b = {0};
  kval cl = kv_str("CL-004814", 9);
  key_put(&b, rf, &cl);
  CHECK(b.len == 6 && b.p[0] == 2 && b.p[1] == '0' && b.p[5] == 0);
  kbuf_free(&b);
  /* a ref longer than a key part holds: cut, as a text is, and not exact */
  char lng[300];
  memset(lng, '7', sizeof lng);
  memcpy(lng, "CL-", 3);
  kval lv = kv_str(lng, sizeof lng), back;
  key_put(&b, rf, &lv);
  CHECK(!key_exact(rf, &lv) && key_get(b.p, b.p + b.len, rf, &back, scratch) == b.len && back.u.s.len == KEY_STR_MAX &&
        !memcmp(back.u.s.p, lng, KEY_STR_MAX));
  kbuf_free(&b);
  /* what does not decode: no terminator, a ref whose packing is broken */
  uint8_t bad1[] = {'a', 'b'}, bad2[] = {4, 'A', 0}, bad3[] = {2, '1', 0};
  kval o;
  CHECK(!key_get(bad1, bad1 + 2, KF(FT_STRING), &o, scratch) && !key_get(bad2, bad2 + 3, rf, &o, scratch) &&
        !key_get(bad3, bad3 + 3, rf, &o, scratch));
}

/* ---- text conversion ---- */

static field_def fdef(ftype t) { field_def f; memset(&f, 0, sizeof f); f.name = "x"; f.type = t; f.ref = -1; return f; }

static void t_money_text(void) {
  field_def f = fdef(FT_MONEY);
  kval v; char conv[32], why[256];
  struct { const char *s; int ok; int64_t v; } cases[] = {
      {"1234567", 1, 1234567}, {"1.234.567", 1, 1234567}, {"1,234,567", 1, 1234567},
      {"1.234.567 \xe2\x82\xab", 1, 1234567}, {"-500.000", 1, -500000}, {"2500000000đ", 1, 2500000000},
      {"12abc", 0, 0}, {"1.23", 0, 0}, {"1.2345", 0, 0}, {"", 0, 0}, {"1..000", 0, 0}, {"99999999999999999999", 0, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int ok = field_from_text(&f, cases[i].s, strlen(cases[i].s), &v, conv, why, sizeof why);
    if (ok != cases[i].ok) fprintf(stderr, "money \"%s\": ok=%d\n", cases[i].s, ok);
    CHECK(ok == cases[i].ok);
    if (ok) CHECK(v.u.i == cases[i].v);
  }
}

static void t_date_text(void) {
  field_def f = fdef(FT_DATE);
  kval v; char conv[32], why[256];
  CHECK(field_from_text(&f, "2026-11-26", 10, &v, conv, why, sizeof why) && !memcmp(v.u.s.p, "2026-11-26", 10));
  CHECK(field_from_text(&f, "26/11/2026", 10, &v, conv, why, sizeof why) && !memcmp(v.u.s.p, "2026-11-26", 10));
  CHECK(field_from_text(&f, "1/2/2026", 8, &v, conv, why, sizeof why) && !memcmp(v.u.s.p, "2026-02-01", 10));
  CHECK(!field_from_text(&f, "2026-02-30", 10, &v, conv, why, sizeof why));
  CHECK(!field_from_text(&f, "31/02/2026", 10, &v, conv, why, sizeof why));
  CHECK(!field_from_text(&f, "tomorrow", 8, &v, conv, why, sizeof why));
  field_def b = fdef(FT_BOOL);
  CHECK(field_from_text(&b, "có", strlen("có"), &v, conv, why, sizeof why) && v.tag == KV_TRUE);
  CHECK(field_from_text(&b, "false", 5, &v, conv, why, sizeof why) && v.tag == KV_FALSE);
  CHECK(!field_from_text(&b, "maybe", 5, &v, conv, why, sizeof why));
  field_def n = fdef(FT_NUMBER);
  CHECK(field_from_text(&n, "18%", 3, &v, conv, why, sizeof why) && fabs(v.u.n - 0.18) < 1e-12);
  CHECK(!field_from_text(&n, "nan", 3, &v, conv, why, sizeof why));
}

static void t_kdate_civil(void) {
  for (int64_t z = -800000; z < 800000; z += 37) {
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    CHECK(days_from_civil(y, m, d) == z);
  }
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(2026, 11, 26) == 20783);
  int y, m, d;
  CHECK(date_parse("2024-02-29", 10, &y, &m, &d));
  CHECK(!date_parse("2025-02-29", 10, &y, &m, &d));
  CHECK(datetime_valid("2026-11-26T08:30:00+07:00", 25));
  CHECK(!datetime_valid("2026-11-26T25:30", 16));
}

static void t_kdate_months(void) {
  char out[11];
  date_add_months(out, "2026-03-31", -1); CHECK_STR(out, "2026-02-28");
  date_add_months(out, "2024-03-31", -1); CHECK_STR(out, "2024-02-29");
  date_add_months(out, "2026-11-26", -12); CHECK_STR(out, "2025-11-26");
  date_add_months(out, "2026-01-15", -1); CHECK_STR(out, "2025-12-15");
  date_add_months(out, "2026-12-15", 1); CHECK_STR(out, "2027-01-15");
}

/* ---- schema ---- */

static void t_schema_load(void) {
  schema *s;
  kam_err e;
  int rc = schema_load(&s, KAM_SRC "/config/schema.yaml", &e);
  if (rc) fprintf(stderr, "%s\n", e.msg);
  CHECK(rc == 0);
  if (rc) return;
  const char *need[] = {"clients", "contacts", "staff", "teams", "services", "packages", "plans", "briefs",
                        "quotes", "contracts", "change_requests", "projects", "spend", "acceptances",
                        "reconciliations", "invoices", "payments", "opportunities", "risks", "activities",
                        "kpis", "reviews", "requests", NULL};
  for (int i = 0; need[i]; i++) CHECK(schema_coll(s, need[i]) != NULL);
  coll_def *inv = schema_coll(s, "invoices");
  CHECK(coll_field(inv, "amount") > 0 && inv->fields[coll_field(inv, "amount")].type == FT_MONEY);
  CHECK(inv->fields[coll_field(inv, "client")].ref == (int)(schema_coll(s, "clients") - s->colls));
  CHECK(!strcmp(inv->prefix, "INV-"));
  int composite = 0;
  for (int i = 0; i < inv->nindexes; i++)
    if (inv->indexes[i].nf == 2 && inv->indexes[i].f[0] == coll_field(inv, "client")) composite = 1;
  CHECK(composite);
  schema_free(s);
}

static int schema_error(const char *text, const char *want) {
  char path[] = "/tmp/kam-schema-XXXXXX";
  int fd = mkstemp(path);
  if (write(fd, text, strlen(text)) < 0) return 0;
  close(fd);
  schema *s;
  kam_err e;
  int rc = schema_load(&s, path, &e);
  unlink(path);
  if (!rc) { schema_free(s); fprintf(stderr, "expected an error for: %s\n", text); return 0; }
  if (!strstr(e.msg, want)) { fprintf(stderr, "error \"%s\" lacks \"%s\"\n", e.msg, want); return 0; }
  return 1;
}

static void t_schema_errors(void) {
  CHECK(schema_error("collections:\n  a:\n    fields:\n      x: {type: strin}\n", ":4:17: a.x: unknown type 'strin'"));
  CHECK(schema_error("collections:\n  a:\n    fields:\n      x: {type: string, idx: true}\n", ":4:25: a.x: unknown key 'idx'"));
  CHECK(schema_error("collections:\n  a:\n    fields:\n      x: {type: ref, to: nope}\n", ":4:26: a.x: ref to unknown collection 'nope'"));
  CHECK(schema_error("collections:\n  a:\n    fields:\n      x: {type: enum}\n", "a.x: an enum needs 'values'"));
  CHECK(schema_error("colections:\n  a: {}\n", ":1:1: unknown key 'colections'"));
  CHECK(schema_error("collections:\n  a:\n    fields:\n      x: {type: int, default: abc}\n", "default 'abc' is not an integer"));
  CHECK(schema_error("collections:\n  a:\n    fields:\n      x: {type: string\n", "schema"));
  CHECK(schema_error("collections:\n  a:\n    fields:\n      id: string\n", "kept by kam"));
}

/* ---- store and queries ---- */

static const char *TEST_SCHEMA =
    "collections:\n"
    "  owners:\n    prefix: OW-\n    fields:\n      name: {type: string, required: true}\n"
    "  items:\n    prefix: IT-\n    fields:\n"
    "      owner: {type: ref, to: owners, index: true}\n"
    "      kind: {type: enum, values: [a, b, c, d], index: true}\n"
    "      amount: {type: money, required: true}\n"
    "      score: {type: number}\n"
    "      day: {type: date, index: true}\n"
    "      label: {type: string, index: true}\n"
    "      flag: {type: bool, default: false}\n"
    "    indexes:\n      - {on: [owner, day], carry: [amount]}\n      - {on: [kind, amount]}\n";

typedef struct tbook { char dir[64], path[128]; schema *sc; kam_store *st; } tbook;

static int tbook_open(tbook *b, size_t mapsize) {
  strcpy(b->dir, "/tmp/kam-unit-XXXXXX");
  if (!mkdtemp(b->dir)) return 0;
  char sp[128];
  snprintf(sp, sizeof sp, "%s/schema.yaml", b->dir);
  FILE *f = fopen(sp, "w");
  fputs(TEST_SCHEMA, f);
  fclose(f);
  kam_err e;
  if (schema_load(&b->sc, sp, &e)) { fprintf(stderr, "%s\n", e.msg); return 0; }
  snprintf(b->path, sizeof b->path, "%s/book.db", b->dir);
  if (store_open(&b->st, b->path, b->sc, STORE_CREATE, mapsize, &e)) { fprintf(stderr, "%s\n", e.msg); return 0; }
  return 1;
}

static void tbook_close(tbook *b) {
  store_close(b->st);
  schema_free(b->sc);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
  if (system(cmd)) {}
}

static const kam_actor WHO = {"test", NULL, NULL, "cli", NULL, NULL};
static const write_opts WO = {&WHO, 1, 1, 0, NULL};

static int put_item(tbook *b, MDB_txn *txn, int i, kam_err *e) {
  coll_def *c = schema_coll(b->sc, "items");
  kval v[16];
  for (int k = 0; k < c->nfields; k++) v[k] = kv_null();
  char id[32], owner[32], day[11], label[KEY_STR_MAX + 64];
  snprintf(id, sizeof id, "IT-%06d", i);
  snprintf(owner, sizeof owner, "OW-%06d", 1 + i % 5);
  date_format(day, 2026, 1 + i % 12, 1 + i % 28);
  /* some labels longer than an index key holds, sharing their first bytes */
  if (i % 11 == 0) snprintf(label, sizeof label, "%0*d nhãn %d", KEY_STR_MAX, 0, i);
  else snprintf(label, sizeof label, "nhãn %d", i);
  static const char *kinds[] = {"a", "b", "c", "d"};
  v[F_ID] = kv_str(id, strlen(id));
  v[coll_field(c, "owner")] = kv_str(owner, strlen(owner));
  v[coll_field(c, "kind")] = kv_str(kinds[i % 4], 1);
  v[coll_field(c, "amount")] = kv_int((i * 7919) % 1000 * 1000);
  v[coll_field(c, "score")] = kv_num((i % 10) / 4.0);
  if (i % 7) v[coll_field(c, "day")] = kv_str(day, 10); /* every 7th has no day */
  v[coll_field(c, "label")] = kv_str(label, strlen(label));
  return store_write(b->st, txn, c, v, NULL, 0, OP_INSERT, &WO, e);
}

static int fill(tbook *b, int n) {
  MDB_txn *txn;
  kam_err e;
  if (store_begin(b->st, 1, &txn, &e)) return 0;
  coll_def *oc = schema_coll(b->sc, "owners");
  for (int i = 1; i <= 5; i++) {
    kval v[4] = {kv_null(), kv_null(), kv_null(), kv_null()};
    char id[32];
    snprintf(id, sizeof id, "OW-%06d", i);
    v[F_ID] = kv_str(id, strlen(id));
    v[coll_field(oc, "name")] = kv_str("Chủ", strlen("Chủ"));
    if (store_write(b->st, txn, oc, v, NULL, 0, OP_INSERT, &WO, &e)) { fprintf(stderr, "%s\n", e.msg); mdb_txn_abort(txn); return 0; }
  }
  for (int i = 1; i <= n; i++)
    if (put_item(b, txn, i, &e)) { fprintf(stderr, "%s\n", e.msg); mdb_txn_abort(txn); return 0; }
  return store_commit(b->st, txn, &e) == 0;
}

static void t_store_crud(void) {
  tbook b;
  CHECK(tbook_open(&b, 1 << 20));
  CHECK(fill(&b, 50));
  coll_def *c = schema_coll(b.sc, "items");
  MDB_txn *txn;
  kam_err e;
  CHECK(!store_begin(b.st, 1, &txn, &e));
  MDB_val rec;
  CHECK(store_get(txn, c, "IT-000007", 9, &rec) == 0);
  kval v;
  CHECK(rec_find(rec.mv_data, rec.mv_size, c->fields[coll_field(c, "flag")].fid, &v) && v.tag == KV_FALSE); /* default */
  size_t cnt = 0;
  CHECK(!store_count(txn, c, &cnt, &e) && cnt == 50);
  /* duplicate id */
  CHECK(put_item(&b, txn, 7, &e) == KAM_EDATA && strstr(e.msg, "duplicate id"));
  mdb_txn_abort(txn);
  CHECK(!store_begin(b.st, 1, &txn, &e));
  /* a ref to nothing */
  kval vals[16];
  for (int k = 0; k < c->nfields; k++) vals[k] = kv_null();
  vals[F_ID] = kv_str("IT-999", 6);
  vals[coll_field(c, "owner")] = kv_str("OW-404", 6);
  vals[coll_field(c, "amount")] = kv_int(1);
  CHECK(store_write(b.st, txn, c, vals, NULL, 0, OP_INSERT, &WO, &e) == KAM_EDATA && strstr(e.msg, "field owner") && strstr(e.msg, "not an id in owners"));
  /* a missing required field */
  vals[coll_field(c, "owner")] = kv_null();
  vals[coll_field(c, "amount")] = kv_null();
  CHECK(store_write(b.st, txn, c, vals, NULL, 0, OP_INSERT, &WO, &e) == KAM_EDATA && strstr(e.msg, "field amount: is required"));
  /* enum */
  vals[coll_field(c, "amount")] = kv_int(5);
  vals[coll_field(c, "kind")] = kv_str("z", 1);
  CHECK(store_write(b.st, txn, c, vals, NULL, 0, OP_INSERT, &WO, &e) == KAM_EDATA && strstr(e.msg, "one of a, b, c, d"));
  /* delete */
  CHECK(store_delete(b.st, txn, c, "IT-000003", 9, &WO, &e) == 0);
  CHECK(store_get(txn, c, "IT-000003", 9, &rec) == MDB_NOTFOUND);
  CHECK(store_delete(b.st, txn, c, "IT-000003", 9, &WO, &e) == KAM_EDATA);
  /* ids */
  char id[64];
  CHECK(store_next_id(b.st, txn, c, id, sizeof id, &e) == 0 && !strcmp(id, "IT-000001") == 0);
  CHECK(!strncmp(id, "IT-", 3) && strlen(id) == 9);
  CHECK(!store_note_id(b.st, txn, c, "IT-000500", 9, &e));
  CHECK(store_next_id(b.st, txn, c, id, sizeof id, &e) == 0 && !strcmp(id, "IT-000501"));
  MDB_stat ms;
  mdb_stat(txn, b.st->audit, &ms);
  CHECK(ms.ms_entries == 56); /* 55 inserts and one delete */
  mdb_txn_abort(txn);
  tbook_close(&b);
}

/* every index holds exactly one entry per record, with the right key */
static void t_store_indexes(void) {
  tbook b;
  CHECK(tbook_open(&b, 1 << 20));
  CHECK(fill(&b, 200));
  coll_def *c = schema_coll(b.sc, "items");
  MDB_txn *txn;
  kam_err e;
  CHECK(!store_begin(b.st, 1, &txn, &e));
  /* update moves index entries */
  MDB_val rec;
  store_get(txn, c, "IT-000010", 9, &rec);
  uint8_t *old = malloc(rec.mv_size);
  memcpy(old, rec.mv_data, rec.mv_size);
  size_t oldlen = rec.mv_size;
  kval vals[16];
  store_decode(c, old, oldlen, vals);
  vals[F_ID] = kv_str("IT-000010", 9);
  vals[coll_field(c, "owner")] = kv_str("OW-000005", 9);
  vals[coll_field(c, "amount")] = kv_int(123);
  CHECK(store_write(b.st, txn, c, vals, old, oldlen, OP_UPDATE, &WO, &e) == 0);
  free(old);
  CHECK(!store_delete(b.st, txn, c, "IT-000011", 9, &WO, &e));
  for (int xi = 0; xi < c->nindexes; xi++) {
    MDB_stat s;
    mdb_stat(txn, c->indexes[xi].dbi, &s);
    CHECK(s.ms_entries == 199);
  }
  /* the composite index with its carried amount agrees with the records */
  query *q = query_new(c);
  kval ow = kv_str("OW-000005", 9);
  CHECK(!query_add(q, coll_field(c, "owner"), Q_EQ, &ow, 1, &e));
  qiter it;
  CHECK(!qiter_open(&it, txn, q, coll_field(c, "amount"), &e));
  CHECK(it.kind == PLAN_INDEX && it.ix->nf == 2);
  int n = 0, saw = 0;
  while (qiter_next(&it, &e) == 1) {
    kval amt, own, id;
    qiter_field(&it, coll_field(c, "amount"), &amt, &e);
    qiter_field(&it, coll_field(c, "owner"), &own, &e);
    qiter_field(&it, F_ID, &id, &e);
    CHECK(!it.rec_loaded); /* answered from the index entry alone */
    CHECK(kval_cmp(&own, &ow) == 0);
    if (id.u.s.len == 9 && !memcmp(id.u.s.p, "IT-000010", 9)) { saw = 1; CHECK(amt.u.i == 123); }
    n++;
  }
  CHECK(saw && n == 41); /* 40 of its own, and IT-000010 moved to it */
  qiter_close(&it);
  query_free(q);
  mdb_txn_abort(txn);
  tbook_close(&b);
}

/* a map far too small: writes fail with KAM_EFULL, the map grows, the unit of work replays */
static void t_store_map_full(void) {
  tbook b;
  CHECK(tbook_open(&b, 1 << 20));
  int grew = 0, ok = 0;
  for (int attempt = 0; attempt < 12 && !ok; attempt++) {
    MDB_txn *txn;
    kam_err e;
    CHECK(!store_begin(b.st, 1, &txn, &e));
    int rc = 0;
    coll_def *oc = schema_coll(b.sc, "owners");
    for (int i = 1; i <= 5 && !rc; i++) {
      kval v[4] = {kv_null(), kv_null(), kv_null(), kv_null()};
      char id[32];
      snprintf(id, sizeof id, "OW-%06d", i);
      v[F_ID] = kv_str(id, strlen(id));
      v[coll_field(oc, "name")] = kv_str("x", 1);
      rc = store_write(b.st, txn, oc, v, NULL, 0, OP_INSERT, &WO, &e);
    }
    for (int i = 1; i <= 20000 && !rc; i++) rc = put_item(&b, txn, i, &e);
    if (!rc) rc = store_commit(b.st, txn, &e);
    else mdb_txn_abort(txn);
    if (rc == KAM_EFULL) { grew++; CHECK(!store_grow(b.st, &e)); continue; }
    CHECK(rc == 0);
    ok = 1;
  }
  CHECK(ok && grew > 0);
  MDB_txn *txn;
  kam_err e;
  CHECK(!store_begin(b.st, 0, &txn, &e));
  size_t cnt = 0;
  CHECK(!store_count(txn, schema_coll(b.sc, "items"), &cnt, &e) && cnt == 20000);
  mdb_txn_abort(txn);
  tbook_close(&b);
}

/* The planner must never change results: random filters through qiter
 * against a brute-force check of every record. */
static int brute(tbook *b, MDB_txn *txn, query *q) {
  coll_def *c = schema_coll(b->sc, "items");
  MDB_cursor *cur;
  mdb_cursor_open(txn, c->dbi, &cur);
  MDB_val k, d;
  int n = 0, op = MDB_FIRST;
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  while (!mdb_cursor_get(cur, &k, &d, op)) {
    op = MDB_NEXT;
    store_decode(c, d.mv_data, d.mv_size, vals);
    vals[F_ID] = kv_str(k.mv_data, k.mv_size);
    int ok = !q->never;
    for (int i = 0; i < q->ncond && ok; i++) ok = qcond_match(&q->cond[i], &vals[q->cond[i].field]);
    n += ok;
  }
  free(vals);
  mdb_cursor_close(cur);
  return n;
}

static void t_query_vs_scan(void) {
  tbook b;
  CHECK(tbook_open(&b, 1 << 22));
  CHECK(fill(&b, 600));
  coll_def *c = schema_coll(b.sc, "items");
  MDB_txn *txn;
  kam_err e;
  CHECK(!store_begin(b.st, 0, &txn, &e));
  const char *fields[] = {"owner", "kind", "amount", "day", "score", "label", "flag", "id"};
  qop ops[] = {Q_EQ, Q_NE, Q_GE, Q_GT, Q_LE, Q_LT, Q_IN, Q_BETWEEN};
  int plans[3] = {0};
  qcursors cache = {.txn = txn};
  for (int round = 0; round < 1200; round++) {
    query *q = query_new(c);
    /* mostly a few conditions; sometimes more than a query holds inline */
    int nc = 1 + (int)(rnd() % (round % 5 ? 3 : 9));
    for (int k = 0; k < nc; k++) {
      const char *fn = fields[rnd() % 8];
      int f = coll_field(c, fn);
      qop op = ops[rnd() % 8];
      kval vals[3];
      char sbuf[3][KEY_STR_MAX + 40];
      int nv = op == Q_IN ? 3 : op == Q_BETWEEN ? 2 : 1;
      for (int j = 0; j < nv; j++) {
        int r = (int)(rnd() % 1000);
        if (!strcmp(fn, "owner")) { snprintf(sbuf[j], 32, "OW-%06d", 1 + r % 6); vals[j] = kv_str(sbuf[j], strlen(sbuf[j])); }
        else if (!strcmp(fn, "kind")) { snprintf(sbuf[j], 32, "%c", 'a' + r % 4); vals[j] = kv_str(sbuf[j], 1); }
        else if (!strcmp(fn, "amount")) vals[j] = kv_int(r * 1000);
        else if (!strcmp(fn, "score")) vals[j] = kv_num((r % 12) / 4.0);
        else if (!strcmp(fn, "flag")) vals[j] = kv_bool(r % 2);
        else if (!strcmp(fn, "id")) { snprintf(sbuf[j], 32, "IT-%06d", r); vals[j] = kv_str(sbuf[j], strlen(sbuf[j])); }
        else if (!strcmp(fn, "label")) {
          if (r % 3 == 0) snprintf(sbuf[j], sizeof sbuf[j], "%0*d nhãn %d", KEY_STR_MAX, 0, r);
          else snprintf(sbuf[j], 32, "nhãn %d", r);
          vals[j] = kv_str(sbuf[j], strlen(sbuf[j]));
        }
        else { date_format(sbuf[j], 2026, 1 + r % 12, 1 + r % 28); vals[j] = kv_str(sbuf[j], 10); }
      }
      if (op == Q_BETWEEN && kval_cmp(&vals[0], &vals[1]) > 0) { kval t = vals[0]; vals[0] = vals[1]; vals[1] = t; }
      if (query_add(q, f, op, vals, nv, &e)) { fprintf(stderr, "%s\n", e.msg); failures++; }
    }
    qiter it;
    /* every other round takes its cursor from the cache the last one left */
    CHECK(!qiter_open_cached(&it, txn, q, -1, round % 2 ? &cache : NULL, &e));
    plans[it.kind]++;
    int n = 0, rc;
    while ((rc = qiter_next(&it, &e)) == 1) n++;
    CHECK(rc == 0);
    int want = brute(&b, txn, q);
    if (n != want) {
      kbuf x = {0};
      qiter_explain(&it, &x);
      kbuf_cstr(&x);
      fprintf(stderr, "round %d: %d rows, expected %d (%s)\n", round, n, want, (char *)x.p);
      for (int i = 0; i < q->ncond; i++) {
        kbuf s = {0};
        kval_show(&s, &q->cond[i].v[0]);
        kbuf_cstr(&s);
        fprintf(stderr, "  %s %s %s\n", c->fields[q->cond[i].field].name, qop_names[q->cond[i].op], (char *)s.p);
        kbuf_free(&s);
      }
      kbuf_free(&x);
      failures++;
    }
    qiter_close(&it);
    query_free(q);
  }
  CHECK(plans[PLAN_SCAN] > 0 && plans[PLAN_INDEX] > 0 && plans[PLAN_IDS] > 0);
  CHECK(cache.n > 0);
  qcursors_close(&cache);
  mdb_txn_abort(txn);
  tbook_close(&b);
}

/* A grouped pass (grouppass.h) must give each group what the conditions
 * give its rows in a brute-force scan: random filters over what the index
 * [owner, day] holds (day, the carried amount, the id), grouped by owner,
 * and by owner and day (more days in a group than a pass keeps: it says so). */
typedef struct bagg { int64_t n, sum, max; char min_day[11]; } bagg;

/* the owner's number in "OW-000003" (a text that is not NUL-terminated) */
static int owner_no(const char *p, size_t n) {
  int o = 0;
  for (size_t i = 3; i < n; i++) o = o * 10 + (p[i] - '0');
  return o;
}

static void brute_groups(tbook *b, MDB_txn *txn, query *q, const char *day_eq, bagg out[6]) {
  coll_def *c = schema_coll(b->sc, "items");
  memset(out, 0, 6 * sizeof *out);
  MDB_cursor *cur;
  mdb_cursor_open(txn, c->dbi, &cur);
  MDB_val k, d;
  int op = MDB_FIRST, fo = coll_field(c, "owner"), fd = coll_field(c, "day"), fa = coll_field(c, "amount");
  kval *vals = calloc((size_t)c->nfields, sizeof *vals);
  while (!mdb_cursor_get(cur, &k, &d, op)) {
    op = MDB_NEXT;
    store_decode(c, d.mv_data, d.mv_size, vals);
    vals[F_ID] = kv_str(k.mv_data, k.mv_size);
    int ok = !q->never;
    for (int i = 0; i < q->ncond && ok; i++) ok = qcond_match(&q->cond[i], &vals[q->cond[i].field]);
    if (day_eq) ok = ok && (day_eq[0] ? kval_is_text(&vals[fd], day_eq) : vals[fd].tag == KV_NULL);
    if (!ok) continue;
    int o = owner_no(vals[fo].u.s.p, vals[fo].u.s.len);
    bagg *g = &out[o];
    if (!g->n || vals[fa].u.i > g->max) g->max = vals[fa].u.i;
    g->n++;
    g->sum += vals[fa].u.i;
    if (vals[fd].tag == KV_STR && (!g->min_day[0] || memcmp(vals[fd].u.s.p, g->min_day, 10) < 0))
      memcpy(g->min_day, vals[fd].u.s.p, 10);
  }
  free(vals);
  mdb_cursor_close(cur);
}

static void t_grouppass_vs_scan(void) {
  tbook b;
  CHECK(tbook_open(&b, 1 << 22));
  CHECK(fill(&b, 600));
  coll_def *c = schema_coll(b.sc, "items");
  MDB_txn *txn;
  kam_err e;
  CHECK(!store_begin(b.st, 0, &txn, &e));
  int fo = coll_field(c, "owner"), fd = coll_field(c, "day"), fa = coll_field(c, "amount");
  gp_agg aggs[4] = {{GP_COUNT, -1}, {GP_SUM, fa}, {GP_MIN, fd}, {GP_MAX, fa}};
  const char *fields[] = {"day", "amount", "id"};
  qop ops[] = {Q_EQ, Q_NE, Q_GE, Q_GT, Q_LE, Q_LT, Q_IN, Q_BETWEEN};
  int passes = 0, too_many = 0;
  for (int round = 0; round < 400; round++) {
    query *q = query_new(c);
    int nc = (int)(rnd() % 4);
    for (int k = 0; k < nc; k++) {
      const char *fn = fields[rnd() % 3];
      qop op = ops[rnd() % 8];
      kval vals[3];
      char sbuf[3][32];
      int nv = op == Q_IN ? 3 : op == Q_BETWEEN ? 2 : 1;
      for (int j = 0; j < nv; j++) {
        int r = (int)(rnd() % 1000);
        if (!strcmp(fn, "amount")) vals[j] = kv_int(r * 1000);
        else if (!strcmp(fn, "id")) { snprintf(sbuf[j], 32, "IT-%06d", r); vals[j] = kv_str(sbuf[j], strlen(sbuf[j])); }
        else { date_format(sbuf[j], 2026, 1 + r % 12, 1 + r % 28); vals[j] = kv_str(sbuf[j], 10); }
      }
      if (op == Q_BETWEEN && kval_cmp(&vals[0], &vals[1]) > 0) { kval t = vals[0]; vals[0] = vals[1]; vals[1] = t; }
      if (query_add(q, coll_field(c, fn), op, vals, nv, &e)) { fprintf(stderr, "%s\n", e.msg); failures++; }
    }
    int by_day = round % 4 == 3;
    const index_def *ix = grouppass_index(q, fo, by_day ? fd : -1, aggs, 4);
    CHECK(ix && ix->f[0] == fo);
    if (!ix) { query_free(q); continue; }
    gp_result r, rows;
    int rc = grouppass_collect(txn, q, ix, fo, by_day ? fd : -1, aggs, 4, 1000, NULL, &r, &e);
    if (rc == GP_TOO_MANY) { too_many++; CHECK(r.n == 0); query_free(q); continue; }
    CHECK(rc == 0);
    /* the query's own plan, aggregated in a hash: the same groups, in another order */
    CHECK(grouppass_collect_rows(txn, q, fo, by_day ? fd : -1, aggs, 4, 100000, NULL, &rows, &e) == 0);
    CHECK(rows.n == r.n);
    for (size_t i = 0; i < r.n; i++) {
      kval k = gp_result_key(&r, i), d = gp_result_sub(&r, i);
      size_t m = 0;
      while (m < rows.n) {
        kval k2 = gp_result_key(&rows, m), d2 = gp_result_sub(&rows, m);
        if (kval_same(&k, &k2) && kval_same(&d, &d2)) break;
        m++;
      }
      CHECK(m < rows.n);
      if (m == rows.n) break;
      CHECK(rows.rows[m] == r.rows[i]);
      if (rows.rows[m] != r.rows[i]) {
        fprintf(stderr, "round %d by_day %d: rows %lld vs pass %lld; conds:", round, by_day, (long long)rows.rows[m], (long long)r.rows[i]);
        for (int ci = 0; ci < q->ncond; ci++) {
          kbuf sh = {0};
          kval_show(&sh, &q->cond[ci].v[0]);
          kbuf_cstr(&sh);
          fprintf(stderr, " %s %s %s (nv %d)", c->fields[q->cond[ci].field].name, qop_names[q->cond[ci].op], (char *)sh.p, q->cond[ci].nv);
          kbuf_free(&sh);
        }
        fprintf(stderr, "\n");
      }
      for (int j = 0; j < 4; j++) {
        gp_acc x = gp_result_acc(&r, i, j), y = gp_result_acc(&rows, m, j);
        CHECK(x.n == y.n && x.is_int == y.is_int && x.isum == y.isum && x.have == y.have);
        if (x.have) CHECK(kval_same(&x.best, &y.best));
      }
    }
    gp_result_free(&rows);
    passes++;
    bagg want[6];
    int seen[6] = {0};
    if (!by_day) brute_groups(&b, txn, q, NULL, want);
    for (size_t i = 0; i < r.n; i++) {
      kval k = gp_result_key(&r, i);
      CHECK(k.tag == KV_STR && k.u.s.len == 9);
      int o = k.tag == KV_STR ? owner_no(k.u.s.p, k.u.s.len) : 0;
      CHECK(o >= 1 && o <= 5);
      if (o < 1 || o > 5) break;
      if (by_day) { /* this group's day only */
        kval d = gp_result_sub(&r, i);
        char day[11] = "";
        if (d.tag == KV_STR) { memcpy(day, d.u.s.p, 10); day[10] = 0; }
        brute_groups(&b, txn, q, day, want);
      } else {
        CHECK(!seen[o]);
        seen[o] = 1;
      }
      gp_acc n = gp_result_acc(&r, i, 0), sum = gp_result_acc(&r, i, 1), mn = gp_result_acc(&r, i, 2),
             mx = gp_result_acc(&r, i, 3);
      CHECK(r.rows[i] == want[o].n && n.n == want[o].n);
      CHECK(sum.is_int && sum.isum == want[o].sum);
      CHECK(mx.have && mx.best.u.i == want[o].max);
      CHECK(mn.have == (want[o].min_day[0] != 0));
      if (mn.have) CHECK(mn.best.u.s.len == 10 && !memcmp(mn.best.u.s.p, want[o].min_day, 10));
    }
    for (int o = 1; o <= 5 && !by_day; o++) CHECK(seen[o] == (want[o].n > 0));
    gp_result_free(&r);
    query_free(q);
  }
  CHECK(passes > 300 && too_many > 0);
  /* a condition on a field the index does not hold: no pass */
  query *q = query_new(c);
  kval kd = kv_str("a", 1);
  CHECK(!query_add(q, coll_field(c, "kind"), Q_EQ, &kd, 1, &e));
  CHECK(grouppass_index(q, fo, -1, aggs, 4) == NULL);
  query_free(q);
  mdb_txn_abort(txn);
  tbook_close(&b);
}

/* Lua's blocks: contents survive growing and shrinking across size classes
 * and out of the pool; freed blocks come back for new ones. */
static void t_pool_realloc(void) {
  enum { N = 400 };
  unsigned char *b[N];
  size_t sz[N];
  for (int i = 0; i < N; i++) {
    sz[i] = 1 + (size_t)(rnd() % (2 * POOL_MAX));
    b[i] = pool_realloc(NULL, 0, sz[i]);
    CHECK(b[i] != NULL);
    memset(b[i], i & 0xFF, sz[i]);
  }
  for (int round = 0; round < 4; round++)
    for (int i = 0; i < N; i++) {
      size_t n = 1 + (size_t)(rnd() % (3 * POOL_MAX));
      unsigned char *p = pool_realloc(b[i], sz[i], n);
      CHECK(p != NULL);
      size_t keep = n < sz[i] ? n : sz[i];
      int same = 1;
      for (size_t k = 0; k < keep; k++) same &= p[k] == (i & 0xFF);
      CHECK(same);
      memset(p, i & 0xFF, n);
      b[i] = p;
      sz[i] = n;
    }
  for (int i = 0; i < N; i++) CHECK(pool_realloc(b[i], sz[i], 0) == NULL);
  void *x = pool_realloc(NULL, 0, 40), *y;
  pool_realloc(x, 40, 0);
  y = pool_realloc(NULL, 0, 33); /* the same class: the freed block again (not under ASan) */
  (void)x;
  CHECK(y != NULL);
  pool_realloc(y, 33, 0);
  pool_release();
}

static void t_query_in_between(void) {
  tbook b;
  CHECK(tbook_open(&b, 1 << 22));
  CHECK(fill(&b, 240));
  coll_def *c = schema_coll(b.sc, "items");
  MDB_txn *txn;
  kam_err e;
  CHECK(!store_begin(b.st, 0, &txn, &e));
  /* owner in {1,2} and day between Feb and Mar: two prefixes, one range each */
  query *q = query_new(c);
  kval owners[2] = {kv_str("OW-000001", 9), kv_str("OW-000002", 9)};
  kval days[2] = {kv_str("2026-02-01", 10), kv_str("2026-03-31", 10)};
  CHECK(!query_add(q, coll_field(c, "owner"), Q_IN, owners, 2, &e));
  CHECK(!query_add(q, coll_field(c, "day"), Q_BETWEEN, days, 2, &e));
  qiter it;
  CHECK(!qiter_open(&it, txn, q, -1, &e));
  CHECK(it.kind == PLAN_INDEX && it.ncombo == 2 && it.range);
  int n = 0;
  while (qiter_next(&it, &e) == 1) n++;
  CHECK(n == brute(&b, txn, q) && n > 0);
  CHECK(it.scanned <= n + 4); /* the range scan does not wander */
  qiter_close(&it);
  query_free(q);
  /* two bounds on one side: the tighter one decides, closed or open (day <
   * Sep 17 and day <= Jul 3 keeps Jul 3; day > Jan 5 and day >= Feb 6 keeps
   * Feb 6) */
  for (int side = 0; side < 2; side++)
    for (int on_day = 0; on_day < 2; on_day++) { /* on_day: the bound itself too, one day's rows */
      q = query_new(c);
      kval loose = kv_str(side ? "2026-01-05" : "2026-09-17", 10), tight = kv_str(side ? "2026-02-06" : "2026-07-03", 10);
      CHECK(!query_add(q, coll_field(c, "day"), side ? Q_GT : Q_LT, &loose, 1, &e));
      CHECK(!query_add(q, coll_field(c, "day"), side ? Q_GE : Q_LE, &tight, 1, &e));
      if (on_day) CHECK(!query_add(q, coll_field(c, "day"), side ? Q_LE : Q_GE, &tight, 1, &e));
      CHECK(!qiter_open(&it, txn, q, -1, &e));
      n = 0;
      while (qiter_next(&it, &e) == 1) n++;
      CHECK(n == brute(&b, txn, q) && n > 0);
      qiter_close(&it);
      query_free(q);
    }
  /* the index expected to read fewest rows: an owner's own entries, not
   * every entry of three kinds in an amount range (which answers more of
   * the conditions, and read a book's worth for each owner) */
  q = query_new(c);
  kval kinds[3] = {kv_str("a", 1), kv_str("b", 1), kv_str("c", 1)}, cap = kv_int(900000), ow = kv_str("OW-000002", 9);
  CHECK(!query_add(q, coll_field(c, "owner"), Q_EQ, &ow, 1, &e));
  CHECK(!query_add(q, coll_field(c, "kind"), Q_IN, kinds, 3, &e));
  CHECK(!query_add(q, coll_field(c, "amount"), Q_LT, &cap, 1, &e));
  CHECK(!qiter_open(&it, txn, q, -1, &e));
  CHECK(it.kind == PLAN_INDEX && it.ix->f[0] == coll_field(c, "owner"));
  n = 0;
  while (qiter_next(&it, &e) == 1) n++;
  CHECK(n == brute(&b, txn, q) && n > 0);
  CHECK(it.scanned <= 240 / 5 + 2); /* the owner's entries, no more */
  qiter_close(&it);
  query_free(q);
  /* an int field compared with 2.5: amount >= 2.5 is amount >= 3 */
  q = query_new(c);
  kval half = kv_num(2500.5);
  CHECK(!query_add(q, coll_field(c, "amount"), Q_GT, &half, 1, &e));
  CHECK(q->cond[0].op == Q_GE && q->cond[0].v[0].u.i == 2501);
  query_free(q);
  /* a bad enum value is an error, not an empty answer */
  q = query_new(c);
  kval z = kv_str("z", 1);
  CHECK(query_add(q, coll_field(c, "kind"), Q_EQ, &z, 1, &e) == KAM_EDATA && strstr(e.msg, "one of a, b, c, d"));
  query_free(q);
  mdb_txn_abort(txn);
  tbook_close(&b);
}

/* The heap made ready for an import: under glibc the region is one growth
 * marked for huge pages and the blocks an import asks for land in it; under
 * another allocator (ASan's) nothing is done and nothing breaks. */
static void t_heap_bulk(void) {
  CHECK(heap_prepare_bulk(1 << 20) == 0); /* too small to be worth it */
  size_t got = heap_prepare_bulk((size_t)64 << 20);
  char *blocks[40];
  for (int i = 0; i < 40; i++) { /* 40 MiB of 1 MiB blocks, written through */
    blocks[i] = malloc((size_t)1 << 20);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], i, (size_t)1 << 20);
  }
  if (got == 0) {
    printf("heap_bulk: another allocator; nothing prepared\n");
  } else {
    CHECK(got >= ((size_t)56 << 20) && got <= ((size_t)66 << 20));
    /* the region is a mapping of its own, marked for huge pages, and holds the blocks */
    FILE *f = fopen("/proc/self/smaps", "r");
    CHECK(f != NULL);
    char line[512];
    unsigned long lo = 0, hi = 0;
    int inside = 0, marked = 0;
    uintptr_t at = (uintptr_t)blocks[20];
    while (fgets(line, sizeof line, f)) {
      if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
        inside = at >= lo && at < hi;
      else if (inside && !strncmp(line, "VmFlags:", 8)) marked = strstr(line, " hg") != NULL;
    }
    fclose(f);
    CHECK(marked);
  }
  for (int i = 0; i < 40; i++) {
    CHECK(blocks[i][12345] == (char)i);
    free(blocks[i]);
  }
}

/* A bulk load's index entries: each block sorted when the wait returns, and
 * every entry written once with its own value, when
 * an index spans several sorted blocks and the blocks of two indexes are
 * sorted by the sorter and the writing thread at once. */
static void bulk_key(uint8_t *k, size_t *kl, uint32_t i) {
  uint32_t x = i * 2654435761u; /* a permutation of the numbers */
  memcpy(k, "\x02CL-", 4);     /* a prefix every key shares, as real ones do */
  for (int j = 0; j < 4; j++) k[4 + j] = (uint8_t)(x >> (24 - 8 * j));
  *kl = 8 + (x % 3); /* keys of three lengths, some a prefix of another */
  memset(k + 8, 0, 2);
}

/* A bare LMDB environment in a fresh directory, a write transaction open in
 * it; scratch_close aborts the transaction and removes the directory. */
static void scratch_open(char dir[21], size_t mapsize, MDB_env **env, MDB_txn **txn) {
  strcpy(dir, "/tmp/kam-unit-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  CHECK(!mdb_env_create(env) && !mdb_env_set_maxdbs(*env, 4) && !mdb_env_set_mapsize(*env, mapsize));
  CHECK(!mdb_env_open(*env, dir, MDB_NOSYNC, 0600));
  CHECK(!mdb_txn_begin(*env, NULL, 0, txn));
}

static void scratch_close(const char *dir, MDB_env *env, MDB_txn *txn) {
  mdb_txn_abort(txn);
  mdb_env_close(env);
  char cmd[100];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) {}
}

static void t_bulk_merge(void) {
  char dir[21];
  MDB_env *env;
  MDB_txn *txn;
  scratch_open(dir, (size_t)512 << 20, &env, &txn);
  index_def ix[2] = {{.name = "a"}, {.name = "b"}};
  CHECK(!mdb_dbi_open(txn, "a", MDB_CREATE, &ix[0].dbi) && !mdb_dbi_open(txn, "b", MDB_CREATE, &ix[1].dbi));
  const uint32_t n[2] = {700000, 300001}; /* blocks of 2^18 entries: three, and two */
  bulk_sorter so;
  bulk_sorter_start(&so);
  bulk_index b[2];
  memset(b, 0, sizeof b);
  for (uint32_t i = 0; i < n[0]; i++)
    for (int w = 0; w < 2; w++) {
      if (i >= n[w]) continue;
      uint8_t k[16];
      size_t kl;
      bulk_key(k, &kl, i + (uint32_t)w);
      bulk_index_add(&b[w], &so, k, kl, (const uint8_t *)&i, sizeof i);
    }
  bulk_index_finish(&b[0], &so);
  bulk_index_finish(&b[1], &so);
  kam_err e;
  for (int w = 0; w < 2; w++) {
    bulk_index_wait(&b[w], &so);
    size_t unsorted = 0; /* each block sorted by the time the wait returns (the last first) */
    for (size_t j = b[w].nblocks; j-- > 0;) {
      size_t cnt = j + 1 < b[w].nblocks ? (size_t)1 << 18 : b[w].n - j * ((size_t)1 << 18);
      for (size_t i = 1; i < cnt; i++) {
        const bulk_entry *x = &b[w].blocks[j][i - 1], *y = &b[w].blocks[j][i];
        unsorted += textcmp((const char *)x->p, x->klen, (const char *)y->p, y->klen) >= 0;
      }
    }
    CHECK(b[w].nblocks == (w ? 2 : 3) && unsorted == 0);
    CHECK(bulk_index_write(&b[w], txn, &ix[w], &e) == 0);
    bulk_index_free(&b[w]);
  }
  bulk_sorter_stop(&so);
  for (int w = 0; w < 2; w++) {
    MDB_cursor *cur;
    MDB_val k, v;
    size_t seen = 0, bad = 0;
    CHECK(!mdb_cursor_open(txn, ix[w].dbi, &cur));
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      uint32_t i;
      memcpy(&i, v.mv_data, sizeof i);
      uint8_t want[16];
      size_t wl;
      bulk_key(want, &wl, i + (uint32_t)w);
      if (wl != k.mv_size || memcmp(want, k.mv_data, wl)) bad++;
      seen++;
    }
    mdb_cursor_close(cur);
    CHECK(seen == n[w] && bad == 0);
  }
  scratch_close(dir, env, txn);
}

/* The ref checks of an import: every id added is found, once, short ones
 * in their slot and long ones (past a slot's room) in the arena; ids that
 * differ in one byte or in length are not; growth keeps them all; a
 * prefetch, even on an empty set, changes nothing. */
static void t_idset_refs(void) {
  idset s;
  memset(&s, 0, sizeof s);
  idset_prefetch(&s, "CL-000001", 9);
  CHECK(!idset_has(&s, "CL-000001", 9));
  char id[64], longid[64];
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof id, "CL-%06d", i);
    idset_add(&s, id, strlen(id));
    snprintf(longid, sizeof longid, "KH-dai-han-co-ten-rat-dai-%06d", i); /* past 27 bytes */
    idset_add(&s, longid, strlen(longid));
  }
  idset_add(&s, "CL-000007", 9); /* again: still one */
  CHECK(s.n == 10000);
  CHECK(s.cap >= 2 * s.n);
  int found = 0, strays = 0;
  for (int i = 0; i < 5000; i++) {
    snprintf(id, sizeof id, "CL-%06d", i);
    idset_prefetch(&s, id, strlen(id));
    found += idset_has(&s, id, strlen(id));
    snprintf(longid, sizeof longid, "KH-dai-han-co-ten-rat-dai-%06d", i);
    found += idset_has(&s, longid, strlen(longid));
    snprintf(id, sizeof id, "CL-%06d", i + 5000);
    strays += idset_has(&s, id, strlen(id));
    strays += idset_has(&s, longid, strlen(longid) - 1);
    snprintf(id, sizeof id, "CL-%06dX", i);
    strays += idset_has(&s, id, strlen(id));
  }
  CHECK(found == 10000);
  CHECK(strays == 0);
  CHECK(!idset_has(&s, "", 0));
  idset_free(&s);
  CHECK(s.n == 0 && !s.cap && !idset_has(&s, "CL-000001", 9));
}

/* A merge that fails part way (the map fills while an index of three blocks
 * is written) returns the failure and leaves nothing held: the import then
 * grows the map and starts again. The same entries written into a map with
 * room are whole. */
static void t_bulk_merge_full(void) {
  for (int room = 0; room < 2; room++) {
    char dir[21];
    MDB_env *env;
    MDB_txn *txn;
    scratch_open(dir, room ? (size_t)256 << 20 : (size_t)4 << 20, &env, &txn);
    index_def ix = {.name = "a"};
    CHECK(!mdb_dbi_open(txn, "a", MDB_CREATE, &ix.dbi));
    const uint32_t n = 600000; /* three blocks */
    bulk_sorter so;
    bulk_sorter_start(&so);
    bulk_index b;
    memset(&b, 0, sizeof b);
    for (uint32_t i = 0; i < n; i++) {
      uint8_t k[16];
      size_t kl;
      bulk_key(k, &kl, i);
      bulk_index_add(&b, &so, k, kl, (const uint8_t *)&i, sizeof i);
    }
    bulk_index_finish(&b, &so);
    bulk_index_wait(&b, &so);
    kam_err e;
    int rc = bulk_index_write(&b, txn, &ix, &e);
    if (room) {
      MDB_stat st;
      CHECK(rc == 0 && !mdb_stat(txn, ix.dbi, &st) && st.ms_entries == n);
    } else {
      CHECK(rc == KAM_EFULL);
      CHECK(strstr(e.msg, "full") != NULL);
    }
    bulk_index_free(&b);
    bulk_sorter_stop(&so);
    scratch_close(dir, env, txn);
  }
}

/* A load that holds more than 2 GiB (10M invoices hold 3.5 GB) gets all of
 * it prepared, not the 2 GiB an int option allowed: address space only,
 * nothing is touched. Half the machine's memory is the most it asks for. */
static void t_heap_bulk_large(void) {
  size_t want = (size_t)3 << 30;
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && psize > 0 && want > (size_t)pages * (size_t)psize / 2) want = (size_t)pages * (size_t)psize / 2;
  size_t got = heap_prepare_bulk((size_t)3 << 30);
  if (got == 0) {
    printf("heap_bulk_large: another allocator; nothing prepared\n");
    return;
  }
  CHECK(got + ((size_t)8 << 20) >= want && got <= want);
  char *p = malloc((size_t)16 << 20); /* the heap works as before */
  CHECK(p != NULL);
  memset(p, 7, (size_t)16 << 20);
  CHECK(p[12345] == 7);
  free(p);
}

static const unit_test tests[] = {
    {"record_roundtrip", t_record_roundtrip}, {"record_find", t_record_find},
    {"record_malformed", t_record_malformed}, {"keyenc_order", t_keyenc_order},
    {"record_dates", t_record_dates}, {"record_same", t_record_same}, {"record_stamps", t_record_stamps}, {"keyenc_dates", t_keyenc_dates}, {"keyenc_ids", t_keyenc_ids},
    {"keyenc_roundtrip", t_keyenc_roundtrip}, {"keyenc_texts", t_keyenc_texts}, {"money_text", t_money_text}, {"date_text", t_date_text},
    {"kdate_civil", t_kdate_civil}, {"kdate_months", t_kdate_months}, {"schema_load", t_schema_load},
    {"schema_errors", t_schema_errors}, {"store_crud", t_store_crud}, {"store_indexes", t_store_indexes},
    {"store_map_full", t_store_map_full}, {"query_vs_scan", t_query_vs_scan}, {"grouppass_vs_scan", t_grouppass_vs_scan},
    {"query_in_between", t_query_in_between}, {"pool_realloc", t_pool_realloc}, {"heap_bulk", t_heap_bulk},
    {"bulk_merge", t_bulk_merge}, {"idset_refs", t_idset_refs},
    {"bulk_merge_full", t_bulk_merge_full},
    {"heap_bulk_large", t_heap_bulk_large}, {"record_find_inline", t_record_find_inline}, {NULL, NULL}};

int main(int argc, char **argv) { return unit_main(tests, argc, argv); }
