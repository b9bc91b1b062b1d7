/* stamp.c — instants packed as integers, and the texts they decode to (see stamp.h). */
#include "stamp.h"
#include "buf.h"
#include "kdate.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The packed form: the local time as seconds since 1970-01-01 (zigzag),
 * times 128, plus the offset in quarter hours from -14:00 (0..112). */
enum { Q_SPAN = 112, Q_ZERO = 56 };

static int two(const char *s) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

int stamp_pack(const char *s, size_t n, uint64_t *out) {
  int y, mo, d;
  if (n != STAMP_LEN || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[22] != ':' ||
      (s[19] != '+' && s[19] != '-') || !date_parse(s, 10, &y, &mo, &d))
    return 0;
  int hh = two(s + 11), mi = two(s + 14), ss = two(s + 17), oh = two(s + 20), om = two(s + 23);
  if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59 || oh < 0 || oh > 14 || om < 0 || om % 15)
    return 0;
  int off = oh * 60 + om;
  if (off > 14 * 60 || (s[19] == '-' && off == 0)) return 0; /* -00:00 would come back as +00:00 */
  int q = (s[19] == '-' ? -off : off) / 15 + Q_ZERO;
  int64_t secs = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
  *out = zigzag(secs) << 7 | (uint64_t)q;
  return 1;
}

static void put2(char *p, int v) { p[0] = (char)('0' + v / 10); p[1] = (char)('0' + v % 10); }

/* Writes the text of v into out; 0 when v is not a packed instant. */
static int stamp_format(uint64_t v, char out[STAMP_LEN]) {
  int q = (int)(v & 127);
  if (q > Q_SPAN || v >> 63) return 0; /* the shift back must not lose a bit */
  int64_t secs = unzigzag(v >> 7);
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) { sod += 86400; days--; }
  const char *date = date_text_of_day(days);
  if (!date) return 0;
  memcpy(out, date, 10);
  out[10] = 'T';
  put2(out + 11, (int)(sod / 3600));
  out[13] = ':';
  put2(out + 14, (int)(sod / 60 % 60));
  out[16] = ':';
  put2(out + 17, (int)(sod % 60));
  int off = (q - Q_ZERO) * 15;
  out[19] = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  put2(out + 20, off / 60);
  out[22] = ':';
  put2(out + 23, off % 60);
  return 1;
}

/* The texts decoded so far: an open-addressed table of packed value ->
 * text, the texts in chunks that are never moved or freed. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *keys;
static const char **texts; /* NULL: an empty slot */
static size_t cap, used;
static char *chunk;
static size_t chunk_left;

static size_t slot_of(uint64_t v, size_t mask) { return (size_t)((v * 0x9E3779B97F4A7C15ull) >> 20) & mask; }

static void grow(void) {
  size_t ncap = cap ? cap * 2 : 256;
  uint64_t *nk = calloc(ncap, sizeof *nk);
  const char **nt = calloc(ncap, sizeof *nt);
  if (!nk || !nt) abort();
  for (size_t i = 0; i < cap; i++) {
    if (!texts[i]) continue;
    size_t j = slot_of(keys[i], ncap - 1);
    while (nt[j]) j = (j + 1) & (ncap - 1);
    nk[j] = keys[i];
    nt[j] = texts[i];
  }
  free(keys);
  free(texts);
  keys = nk;
  texts = nt;
  cap = ncap;
}

const char *stamp_text(uint64_t v) {
  char t[STAMP_LEN];
  pthread_mutex_lock(&mu);
  const char *found = NULL;
  if (cap) {
    for (size_t j = slot_of(v, cap - 1); texts[j]; j = (j + 1) & (cap - 1))
      if (keys[j] == v) { found = texts[j]; break; }
  }
  if (!found && stamp_format(v, t)) {
    if ((used + 1) * 4 > cap * 3) grow();
    if (chunk_left < STAMP_LEN) {
      chunk_left = 4096 * STAMP_LEN;
      chunk = malloc(chunk_left);
      if (!chunk) abort();
    }
    memcpy(chunk, t, STAMP_LEN);
    found = chunk;
    chunk += STAMP_LEN;
    chunk_left -= STAMP_LEN;
    size_t j = slot_of(v, cap - 1);
    while (texts[j]) j = (j + 1) & (cap - 1);
    keys[j] = v;
    texts[j] = found;
    used++;
  }
  pthread_mutex_unlock(&mu);
  return found;
}
