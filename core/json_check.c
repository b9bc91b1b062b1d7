/* json_check.c — one linear pass over a JSON text that refuses, by RFC 8259,
 * what cJSON would let through. See json_check.h. */
#include "json_check.h"
#include "record.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 512 /* under cJSON's own limit (1000): deeper text is refused here, located */

typedef struct jkey { size_t off; uint32_t hash; } jkey;
typedef struct jframe {
  uint8_t close;    /* ']' or '}' */
  size_t kstart;    /* its keys in jcheck.keys */
  size_t *tab, tcap; /* a hash of them, once an object has many */
} jframe;

typedef struct jcheck {
  const uint8_t *s;
  size_t n, i;
  size_t err;
  char msg[300];
  jframe *st;
  int depth, cap;
  jkey *keys;
  size_t nkeys, capkeys;
  int in_cell;       /* a CSV cell: no line:col of its own */
} jcheck;

static int jfail(jcheck *j, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jfail(jcheck *j, size_t at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(j->msg, sizeof j->msg, fmt, ap);
  va_end(ap);
  j->err = at;
  return 0;
}

static inline int jdigit(uint8_t c) { return c >= '0' && c <= '9'; }

static int jhex4(const uint8_t *p, unsigned *out) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    uint8_t c = p[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static uint32_t jhash_bytes(uint32_t h, const uint8_t *p, size_t n) {
  for (size_t k = 0; k < n; k++) h = (h ^ p[k]) * 16777619u;
  return h;
}

/* The one-letter escapes (after a backslash) and the bytes they stand for. */
static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";

static size_t utf8_put(uint8_t *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
  if (cp < 0x800) { o[0] = (uint8_t)(0xC0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xE0 | cp >> 12); o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | cp >> 18); o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* The text of a checked string (at its opening quote), decoded. */
static void junescape(const uint8_t *s, size_t at, kbuf *out) {
  kbuf_reset(out);
  for (size_t i = at + 1; s[i] != '"';) {
    if (s[i] != '\\') { kbuf_byte(out, s[i++]); continue; }
    if (s[i + 1] != 'u') { kbuf_byte(out, (uint8_t)esc_out[strchr(esc_in, s[i + 1]) - esc_in]); i += 2; continue; }
    unsigned cp, lo;
    jhex4(s + i + 2, &cp);
    i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) { jhex4(s + i + 2, &lo); cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); i += 6; }
    uint8_t u[4];
    kbuf_put(out, u, utf8_put(u, cp));
  }
}

/* A string at j->i (its opening quote); *hash: FNV-1a of its decoded bytes. */
static int jstring(jcheck *j, uint32_t *hash) {
  const uint8_t *s = j->s;
  size_t n = j->n, start = j->i, i = j->i + 1;
  uint32_t h = 2166136261u;
  for (;;) {
    size_t run = i; /* plain ASCII: the common case, hashed in one go */
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') i++;
    if (hash) h = jhash_bytes(h, s + run, i - run);
    if (i >= n) return jfail(j, start, "text that is never closed (a \" is missing)");
    uint8_t c = s[i];
    if (c == '"') { j->i = i + 1; if (hash) *hash = h; return 1; }
    if (!c) return jfail(j, i, "a NUL byte in text: kam text cannot hold NUL");
    if (c < 0x20)
      return jfail(j, i, "a control character (U+%04X) in text: write it as \\n, \\t or \\u%04X", c, c);
    if (c >= 0x80) {
      size_t k = utf8_char_len(s + i, n - i);
      if (!k) return jfail(j, i, "text is not UTF-8 (save the file as UTF-8)");
      if (hash) h = jhash_bytes(h, s + i, k);
      i += k;
      continue;
    }
    /* an escape */
    if (i + 1 >= n) return jfail(j, start, "text that is never closed (a \" is missing)");
    uint8_t x = s[i + 1];
    if (x != 'u') {
      if (!x || !memchr(esc_in, x, 8)) {
        if (x >= 0x21 && x < 0x7F)
          return jfail(j, i, "an unknown escape \\%c (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", x);
        return jfail(j, i, "a backslash must start an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      }
      uint8_t o = (uint8_t)esc_out[strchr(esc_in, x) - esc_in];
      if (hash) h = jhash_bytes(h, &o, 1);
      i += 2;
      continue;
    }
    unsigned cp, lo;
    if (n - i < 6 || !jhex4(s + i + 2, &cp)) return jfail(j, i, "\\u must be followed by four hexadecimal digits");
    if (cp == 0) return jfail(j, i, "\\u0000 (a NUL character) in text: kam text cannot hold NUL");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return jfail(j, i, "a lone surrogate \\u%04X (a low surrogate must follow a high one, \\uD800-\\uDBFF)", cp);
    size_t len = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (n - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' || !jhex4(s + i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return jfail(j, i, "a lone surrogate \\u%04X (a high surrogate must be followed by a low one, \\uDC00-\\uDFFF)", cp);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      len = 12;
    }
    uint8_t u[4];
    if (hash) h = jhash_bytes(h, u, utf8_put(u, cp));
    i += len;
  }
}

static int jnumber(jcheck *j) {
  const uint8_t *s = j->s;
  size_t n = j->n, st = j->i, i = j->i;
  if (s[i] == '-') i++;
  if (i >= n || !jdigit(s[i])) {
    if (n - i >= 8 && !memcmp(s + i, "Infinity", 8)) return jfail(j, st, "-Infinity is not a JSON number");
    return jfail(j, st, "a minus sign must be followed by digits");
  }
  size_t d0 = i;
  if (s[i] == '0') {
    i++;
    if (i < n && jdigit(s[i])) return jfail(j, st, "a number must not start with 0 (to keep leading zeros, write it as text in quotes)");
    if (i < n && (s[i] == 'x' || s[i] == 'X')) return jfail(j, st, "hexadecimal numbers are not JSON");
  } else {
    while (i < n && jdigit(s[i])) i++;
  }
  size_t ndig = i - d0;
  int frac = 0, exp = 0;
  if (i < n && s[i] == '.') {
    i++;
    if (i >= n || !jdigit(s[i])) return jfail(j, st, "digits must follow the decimal point (1.0, not 1.)");
    while (i < n && jdigit(s[i])) i++;
    frac = 1;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !jdigit(s[i])) return jfail(j, st, "an exponent must have digits (1e5, not 1e)");
    while (i < n && jdigit(s[i])) i++;
    exp = 1;
  }
  j->i = i;
  int len = (int)(i - st > 40 ? 40 : i - st);
  if (!frac && !exp && ndig > 15) { /* 15 digits are always below 2^53 */
    uint64_t v = 0;
    for (size_t k = d0; k < d0 + ndig && ndig < 20; k++) v = v * 10 + (uint64_t)(s[k] - '0');
    if (ndig >= 20 || v > ((uint64_t)1 << 53))
      return jfail(j, st, "the whole number %.*s%s is beyond 2^53 and would not be read exactly; write it in quotes",
                   len, (const char *)s + st, i - st > 40 ? "..." : "");
  }
  if (exp) { /* only an exponent takes a number past the largest double */
    kbuf t = {0};
    kbuf_put(&t, s + st, i - st);
    double d = strtod(kbuf_cstr(&t), NULL);
    kbuf_free(&t);
    if (isinf(d))
      return jfail(j, st, "the number %.*s%s is too large", len, (const char *)s + st, i - st > 40 ? "..." : "");
  }
  return 1;
}

/* Whether key x is the key at off (hash h): candidates with the same hash
 * are compared as decoded text, in a and b. */
static int jkey_same(jcheck *j, size_t x, size_t off, uint32_t h, kbuf *a, kbuf *b) {
  if (j->keys[x].hash != h) return 0;
  junescape(j->s, j->keys[x].off, a);
  junescape(j->s, off, b);
  return a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len));
}

static size_t jkey_find(jcheck *j, jframe *f, size_t off, uint32_t h, kbuf *a, kbuf *b) {
  if (f->tab) {
    for (size_t k = h & (f->tcap - 1);; k = (k + 1) & (f->tcap - 1)) {
      size_t x = f->tab[k];
      if (x == (size_t)-1) return (size_t)-1;
      if (jkey_same(j, x, off, h, a, b)) return j->keys[x].off;
    }
  }
  for (size_t x = f->kstart; x < j->nkeys; x++)
    if (jkey_same(j, x, off, h, a, b)) return j->keys[x].off;
  return (size_t)-1;
}

static void jtab_put(jframe *f, const jkey *keys, size_t x) {
  size_t k = keys[x].hash & (f->tcap - 1);
  while (f->tab[k] != (size_t)-1) k = (k + 1) & (f->tcap - 1);
  f->tab[k] = x;
}

/* Adds a key of the innermost object; 0 if it is there already. A small
 * object is searched in order, a large one through a hash of its keys. */
static int jkey_add(jcheck *j, size_t off, uint32_t h) {
  jframe *f = &j->st[j->depth - 1];
  kbuf a = {0}, b = {0};
  size_t first = jkey_find(j, f, off, h, &a, &b);
  kbuf_free(&a);
  kbuf_free(&b);
  if (first != (size_t)-1) {
    kbuf k = {0};
    junescape(j->s, off, &k);
    long line, col;
    text_pos((const char *)j->s, first, &line, &col);
    if (j->in_cell)
      jfail(j, off, "key \"%.*s\" appears twice in this object", (int)(k.len > 80 ? 80 : k.len), (const char *)k.p);
    else
      jfail(j, off, "key \"%.*s\" appears twice in this object (first at %ld:%ld)",
            (int)(k.len > 80 ? 80 : k.len), (const char *)k.p, line, col);
    kbuf_free(&k);
    return 0;
  }
  if (j->nkeys == j->capkeys) {
    j->capkeys = j->capkeys ? j->capkeys * 2 : 64;
    j->keys = realloc(j->keys, sizeof *j->keys * j->capkeys);
    if (!j->keys) abort();
  }
  j->keys[j->nkeys++] = (jkey){off, h};
  size_t cnt = j->nkeys - f->kstart;
  if (cnt > 16 && (!f->tab || cnt * 2 > f->tcap)) {
    free(f->tab);
    f->tcap = 64;
    while (f->tcap < cnt * 4) f->tcap *= 2;
    f->tab = malloc(sizeof *f->tab * f->tcap);
    if (!f->tab) abort();
    for (size_t k = 0; k < f->tcap; k++) f->tab[k] = (size_t)-1;
    for (size_t x = f->kstart; x < j->nkeys; x++) jtab_put(f, j->keys, x);
  } else if (f->tab) {
    jtab_put(f, j->keys, j->nkeys - 1);
  }
  return 1;
}

static void jws(jcheck *j) {
  while (j->i < j->n) {
    uint8_t c = j->s[j->i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
    j->i++;
  }
}

/* What was found where a value was expected, said as plainly as possible. */
static int jnot_value(jcheck *j) {
  const uint8_t *p = j->s + j->i;
  size_t left = j->n - j->i;
  if (!left) return jfail(j, j->i, "the text ends where a value is expected");
  if (*p == '\'') return jfail(j, j->i, "text takes double quotes (\"...\"), not single quotes");
  if (*p == '/') return jfail(j, j->i, "comments are not JSON");
  if (*p == '+') return jfail(j, j->i, "a number must not start with +");
  if (*p == '.') return jfail(j, j->i, "a number must start with a digit (0.5, not .5)");
  if ((left >= 3 && !memcmp(p, "NaN", 3)) || (left >= 8 && !memcmp(p, "Infinity", 8)))
    return jfail(j, j->i, "NaN and Infinity are not JSON numbers");
  if (*p == ',') return jfail(j, j->i, "a value is missing before this comma");
  if (*p == ']' || *p == '}') return jfail(j, j->i, "a value is missing before %c", *p);
  return jfail(j, j->i, "expected a value (text in double quotes, a number, an object, an array, true, false or null)");
}

int json_check(const char *buf, size_t len, int in_cell, size_t *err_at, char *msg, size_t msglen) {
  jcheck j = {0};
  j.in_cell = in_cell;
  j.s = (const uint8_t *)buf;
  j.n = len;
  int ok = 0;
  if (j.n >= 2 && ((j.s[0] == 0xFF && j.s[1] == 0xFE) || (j.s[0] == 0xFE && j.s[1] == 0xFF))) {
    jfail(&j, 0, "the text is UTF-16, not UTF-8 (save the file as UTF-8)");
    goto done;
  }
  jws(&j);
  if (j.i == j.n) { jfail(&j, 0, "no JSON here (the text is empty)"); goto done; }
  for (;;) {
    /* a value */
    jws(&j);
    if (j.i >= j.n) { jnot_value(&j); goto done; }
    uint8_t c = j.s[j.i];
    if (c == '{' || c == '[') {
      if (j.depth == JSON_MAX_DEPTH) { jfail(&j, j.i, "nested deeper than %d levels", JSON_MAX_DEPTH); goto done; }
      if (j.depth == j.cap) {
        j.cap = j.cap ? j.cap * 2 : 16;
        j.st = realloc(j.st, sizeof *j.st * (size_t)j.cap);
        if (!j.st) abort();
      }
      jframe *f = &j.st[j.depth++];
      f->close = c == '{' ? '}' : ']';
      f->kstart = j.nkeys;
      f->tab = NULL;
      f->tcap = 0;
      j.i++;
      jws(&j);
      if (j.i < j.n && j.s[j.i] == f->close) { j.depth--; j.i++; goto after; }
      if (c == '[') continue;
      goto key;
    } else if (c == '"') {
      if (!jstring(&j, NULL)) goto done;
    } else if (c == '-' || jdigit(c)) {
      if (!jnumber(&j)) goto done;
    } else if (j.n - j.i >= 4 && (!memcmp(j.s + j.i, "true", 4) || !memcmp(j.s + j.i, "null", 4))) {
      j.i += 4;
    } else if (j.n - j.i >= 5 && !memcmp(j.s + j.i, "false", 5)) {
      j.i += 5;
    } else {
      jnot_value(&j);
      goto done;
    }
  after:
    /* after a value: a comma, the end of its object or array, or of the text */
    for (;;) {
      jws(&j);
      if (!j.depth) {
        if (j.i < j.n) {
          jfail(&j, j.i, "text after the end of the JSON document (a file holds one: wrap records in [...])");
          goto done;
        }
        ok = 1;
        goto done;
      }
      jframe *f = &j.st[j.depth - 1];
      if (j.i >= j.n) { jfail(&j, j.i, "the text ends before this %s is closed with %c", f->close == '}' ? "object" : "array", f->close); goto done; }
      c = j.s[j.i];
      if (c == f->close) {
        free(f->tab);
        f->tab = NULL;
        j.nkeys = f->kstart;
        j.depth--;
        j.i++;
        continue;
      }
      if (c != ',') {
        if (c == '/') jfail(&j, j.i, "comments are not JSON");
        else if (c == ':' && f->close == ']') jfail(&j, j.i, "a colon in an array (keys belong in objects, {...})");
        else jfail(&j, j.i, "expected , or %c after a value", f->close);
        goto done;
      }
      j.i++;
      jws(&j);
      if (j.i < j.n && (j.s[j.i] == ']' || j.s[j.i] == '}')) {
        jfail(&j, j.i, "a comma before %c (a trailing comma is not JSON)", j.s[j.i]);
        goto done;
      }
      if (f->close == ']') break; /* the next value */
    key:
      /* a key, a colon, then its value */
      jws(&j);
      if (j.i >= j.n || j.s[j.i] != '"') {
        if (j.i < j.n && j.s[j.i] == '\'') jfail(&j, j.i, "a key takes double quotes (\"key\"), not single quotes");
        else if (j.i < j.n && j.s[j.i] == '/') jfail(&j, j.i, "comments are not JSON");
        else jfail(&j, j.i, "expected a key in double quotes");
        goto done;
      }
      {
        size_t koff = j.i;
        uint32_t h;
        if (!jstring(&j, &h) || !jkey_add(&j, koff, h)) goto done;
      }
      jws(&j);
      if (j.i >= j.n || j.s[j.i] != ':') { jfail(&j, j.i, "expected : after the key"); goto done; }
      j.i++;
      break;
    }
  }
done:
  for (int d = 0; d < j.depth; d++) free(j.st[d].tab);
  free(j.st);
  free(j.keys);
  if (!ok) {
    *err_at = j.err;
    snprintf(msg, msglen, "%s", j.msg);
  }
  return ok;
}

void text_advance(const char *p, size_t n, long *line, long *col) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n') { (*line)++; *col = 1; } else if (((unsigned char)p[i] & 0xC0) != 0x80) (*col)++;
  }
}

void text_pos(const char *buf, size_t off, long *line, long *col) {
  *line = 1;
  *col = 1;
  text_advance(buf, off, line, col);
}
