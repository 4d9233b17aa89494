/* pmemcut — a pool of equal-sized blocks: the model's overlay chunks.
 *
 * Why not malloc:
 *   1. A random write touches one chunk anywhere in a GiB or more of
 *      overlay.  With 4 KiB pages every such touch is a TLB miss, which in a
 *      virtual machine costs a two-level page walk.  The pool carves blocks
 *      from 2 MiB regions that the kernel may back with one huge page each;
 *      on a 2-core guest this took about 0.7 us off every 4 KiB write.
 *   2. Blocks are 64-byte aligned and packed: a 4672-byte chunk costs 4672
 *      bytes, not a malloc header and a rounding.
 *   3. A region whose blocks are all free goes back to the kernel, beyond
 *      a few spares (8 MiB), so a device that is flushed clean gives its
 *      memory back.  A region with one live block keeps its 2 MiB: the
 *      model frees chunks mostly at flushes and cuts, which free them all.
 *
 * Thread-safe (one mutex guards the regions and their lists): the model
 * gets and puts chunks from concurrent writes.  In a sanitizer build free
 * blocks are poisoned, so a use after put is caught as it would be with
 * malloc.
 */
#ifndef PMEMCUT_POOL_H
#define PMEMCUT_POOL_H

#include <stddef.h>
#include <stdint.h>

/* Defined when free blocks are poisoned: built with the address sanitizer
 * (gcc says so with __SANITIZE_ADDRESS__, clang with __has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define PM_POOL_POISONS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PM_POOL_POISONS 1
#endif
#endif

struct pm_pool;

/* A pool of blocks of size bytes (rounded up to 64), of which at most
 * max_blocks are ever live at once (regions are sized down for small
 * pools).  NULL if out of memory or size is 0 or over 1 MiB. */
struct pm_pool *pm_pool_new(size_t size, uint64_t max_blocks);

/* Unmaps every region: all blocks are gone. */
void pm_pool_free(struct pm_pool *p);

/* A 64-byte aligned block with undefined contents, or NULL. */
void *pm_pool_get(struct pm_pool *p);

/* Gives a block from pm_pool_get back. */
void pm_pool_put(struct pm_pool *p, void *block);

/* Blocks handed out and not put back. */
uint64_t pm_pool_live(struct pm_pool *p);

/* Bytes of regions in use or kept as spares: what the pool may hold in
 * memory now. */
uint64_t pm_pool_resident(struct pm_pool *p);

#endif
