/* pool.h — small blocks for the Lua heap.
 *
 * Lua allocates and frees a great many small objects (tables, closures,
 * strings, entities); size-class free lists carved from 64 KiB slabs serve
 * them in a few instructions where malloc walks its bins. Blocks up to
 * POOL_MAX bytes come from here; freed ones are kept for reuse, not handed
 * back, so the process keeps its peak of small blocks until pool_release.
 * Not thread-safe: only the thread that runs Lua uses it. */
#ifndef KAM_POOL_H
#define KAM_POOL_H
#include <stddef.h>

#define POOL_MAX 1024

/* realloc with the block's old size (0 for a new one): the contract of
 * lua_Alloc, minus the memory cap. nsize 0 frees and returns NULL. */
void *pool_realloc(void *ptr, size_t osize, size_t nsize);
/* Frees every slab (after lua_close). */
void pool_release(void);

#endif
