/* idset.c — the ids of a collection in an open-addressing hash set, for ref
 * checks. See idset.h. */
#include "idset.h"
#include <stdlib.h>
#include <string.h>

static unsigned hash_str(const char *s, size_t n) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static int slot_is(const idset *s, const idslot *sl, const char *id, size_t n) {
  if (sl->len != 0xFF) return sl->len == n && !memcmp(sl->id, id, n);
  uint32_t at;
  memcpy(&at, sl->id, 4);
  const bulk_entry *e = &s->arena.e[at];
  return e->klen == n && !memcmp(e->p, id, n);
}

/* h: hash_str of the id */
static int has_hashed(const idset *s, const char *id, size_t n, unsigned h) {
  if (!s->cap) return 0;
  h |= 1; /* never 0 */
  for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    const idslot *sl = &s->slot[i];
    if (!sl->hash) return 0;
    if (sl->hash == h && slot_is(s, sl, id, n)) return 1;
  }
}

int idset_has(const idset *s, const char *id, size_t n) { return has_hashed(s, id, n, hash_str(id, n)); }

void idset_prefetch(const idset *s, const char *id, size_t n) {
  if (s->cap) __builtin_prefetch(&s->slot[(hash_str(id, n) | 1) & (s->cap - 1)]);
}

void idset_add(idset *s, const char *id, size_t n) {
  unsigned h = hash_str(id, n) | 1;
  if (has_hashed(s, id, n, h)) return;
  if ((s->n + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    idslot *slot = calloc(cap, sizeof *slot);
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slot[i].hash) continue;
      size_t j = s->slot[i].hash & (cap - 1);
      while (slot[j].hash) j = (j + 1) & (cap - 1);
      slot[j] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
  }
  size_t j = h & (s->cap - 1);
  while (s->slot[j].hash) j = (j + 1) & (s->cap - 1);
  idslot *sl = &s->slot[j];
  sl->hash = h;
  if (n <= sizeof sl->id) {
    sl->len = (uint8_t)n;
    memcpy(sl->id, id, n);
  } else { /* its number in the arena takes the place of the text */
    uint32_t at = (uint32_t)s->arena.n;
    bulk_list_add(&s->arena, (const uint8_t *)id, n, NULL, 0);
    sl->len = 0xFF;
    memcpy(sl->id, &at, 4);
  }
  s->n++;
}

void idset_load(idset *s, MDB_txn *txn, MDB_dbi dbi) {
  MDB_cursor *cur;
  MDB_val k, d;
  s->loaded = 1;
  if (!mdb_cursor_open(txn, dbi, &cur)) {
    for (int op = MDB_FIRST; !mdb_cursor_get(cur, &k, &d, op); op = MDB_NEXT)
      idset_add(s, k.mv_data, k.mv_size);
    mdb_cursor_close(cur);
  }
}

void idset_free(idset *s) {
  free(s->slot);
  bulk_list_free(&s->arena);
  memset(s, 0, sizeof *s);
}
