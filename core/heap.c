/* heap.c — the process heap made ready for a bulk load. See heap.h. */
#include "heap.h"
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)
/* glibc's largest threshold for serving a block by mmap instead of the heap */
#define MMAP_THRESHOLD_MAX (32 << 20)

size_t heap_prepare_bulk(size_t bytes) {
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && psize > 0 && bytes > (size_t)pages * (size_t)psize / 2)
    bytes = (size_t)pages * (size_t)psize / 2; /* never ask for more than half the memory */
  if (bytes < 8 * HUGE_PAGE) return 0;
  /* Blocks up to 32 MiB (the bulk loader's chunks) come from the heap, and a
   * free never hands the heap back (-1: never trim): the pages stay huge and
   * mapped. */
  if (!mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) || !mallopt(M_TRIM_THRESHOLD, -1))
    return 0; /* not glibc's allocator */
  /* One block of `bytes` taken from the heap, not from a mapping of its own
   * (M_MMAP_MAX 0 for the while), grows the heap by that much at once; freed,
   * it is the heap's free top. (M_TOP_PAD, an int, could only ask for 2 GiB:
   * a 10M-invoice load needs more.) */
  if (!mallopt(M_MMAP_MAX, 0)) return 0;
  uintptr_t lo = (uintptr_t)sbrk(0);
  void *p = malloc(bytes);
  uintptr_t hi = (uintptr_t)sbrk(0);
  free(p);
  mallopt(M_MMAP_MAX, 65536); /* glibc's default: large blocks mapped again */
  uintptr_t a = (lo + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1), b = hi & ~(HUGE_PAGE - 1);
  if (!p || hi <= lo || b <= a || madvise((void *)a, b - a, MADV_HUGEPAGE)) return 0;
  return b - a;
}
