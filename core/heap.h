/* heap.h — the process heap made ready for a bulk load.
 *
 * An import holds everything it writes in memory until its one commit:
 * LMDB's dirty pages (malloc'd one page at a time) and the index entries
 * waiting to be sorted. Faulting that memory in 4 KiB at a time took a
 * quarter of an import's time; in 2 MiB pages it takes a fraction. */
#ifndef KAM_HEAP_H
#define KAM_HEAP_H

#include <stddef.h>

/* Grows the heap by about `bytes` at once (address space only: nothing is
 * touched), asks the kernel for transparent huge pages there, and keeps the
 * heap from shrinking for the rest of the process. Meant for a process that
 * ends after its bulk load. Does nothing where it cannot (another allocator,
 * as under ASan or valgrind; no room), and never fails: the load then runs
 * as it would have. Returns the bytes made ready (0 when nothing was done). */
size_t heap_prepare_bulk(size_t bytes);

#endif
