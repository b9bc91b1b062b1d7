/* pool.c — see pool.h. */
#include "pool.h"
#include <stdlib.h>
#include <string.h>

/* Under AddressSanitizer every block goes to malloc, so that it still sees
 * each use after free and each overflow. */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_OFF 1
#endif
#endif

#define CLASS 16
#define NCLASS (POOL_MAX / CLASS + 1)
#define SLAB (64 * 1024)

typedef struct slab { struct slab *next; } slab;

#ifndef POOL_OFF

static void *free_list[NCLASS];
static char *cur, *cur_end;
static slab *slabs;

static void *pool_get(size_t n) {
  size_t c = (n + CLASS - 1) / CLASS;
  void *p = free_list[c];
  if (p) { free_list[c] = *(void **)p; return p; }
  size_t sz = c * CLASS;
  if ((size_t)(cur_end - cur) < sz) {
    slab *s = malloc(SLAB);
    if (!s) return NULL;
    s->next = slabs;
    slabs = s;
    cur = (char *)s + CLASS; /* the link, padded to keep blocks aligned */
    cur_end = (char *)s + SLAB;
  }
  p = cur;
  cur += sz;
  return p;
}

static void pool_put(void *p, size_t n) {
  size_t c = (n + CLASS - 1) / CLASS;
  *(void **)p = free_list[c];
  free_list[c] = p;
}

#endif

void *pool_realloc(void *ptr, size_t osize, size_t nsize) {
#ifdef POOL_OFF
  if (!nsize) { free(ptr); return NULL; }
  (void)osize;
  return realloc(ptr, nsize);
#else
  if (!ptr) osize = 0;
  int small_old = ptr && osize <= POOL_MAX, small_new = nsize && nsize <= POOL_MAX;
  if (!nsize) {
    if (small_old) pool_put(ptr, osize);
    else free(ptr);
    return NULL;
  }
  if (ptr && !small_old && !small_new) return realloc(ptr, nsize);
  if (small_old && small_new && (osize + CLASS - 1) / CLASS == (nsize + CLASS - 1) / CLASS) return ptr;
  void *p = small_new ? pool_get(nsize) : malloc(nsize);
  if (!p) {
    /* Lua counts on a shrink never failing: keep the block, it is big enough
     * (freed later as the smaller size, it only wastes its tail) */
    return ptr && nsize <= osize ? ptr : NULL;
  }
  if (ptr) {
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    if (small_old) pool_put(ptr, osize);
    else free(ptr);
  }
  return p;
#endif
}

void pool_release(void) {
#ifndef POOL_OFF
  while (slabs) {
    slab *s = slabs;
    slabs = s->next;
    free(s);
  }
  memset(free_list, 0, sizeof free_list);
  cur = cur_end = NULL;
#endif
}
