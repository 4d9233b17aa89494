/* pmemcut — a pool of equal-sized blocks (see pool.h).
 *
 *   region (rsize bytes, aligned to rsize, so a block finds its region by
 *   masking its address)
 *   +--------+---------+---------+---------+-----     -+
 *   | header | block 0 | block 1 | block 2 |  ...      |
 *   +--------+---------+---------+---------+-----     -+
 *    links, free list (through the blocks' first word),
 *    blocks in use, blocks carved so far
 *
 * Blocks are carved from the front of a region on first use, so a region
 * touches only the pages it has handed out (until huge pages back it).
 * Regions with a free block are on the avail list, partly used ones first.
 * Up to SPARES empty regions stay mapped, at the tail, so that a device
 * whose dirty set grows and shrinks by a few MiB between flushes does not
 * map, fault in and unmap regions every time (faulting in a fresh huge
 * page costs up to 5 us per 4 KiB in a guest whose free memory is
 * reported to its host); any further region that empties is unmapped.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pool.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(a, n)   ASAN_POISON_MEMORY_REGION(a, n)
#define UNPOISON(a, n) ASAN_UNPOISON_MEMORY_REGION(a, n)
#else
#define POISON(a, n)   ((void)(a), (void)(n))
#define UNPOISON(a, n) ((void)(a), (void)(n))
#endif

#define REGION_MAX ((size_t)2 << 20) /* one x86-64 huge page */
#define HEADER     64
#define SPARES     4 /* empty regions kept mapped: 8 MiB at most */

struct region {
    struct region *prev, *next;   /* avail list: regions with a free block */
    struct region *aprev, *anext; /* every region, for pm_pool_free */
    void *free;                   /* put blocks, linked through their first word */
    uint32_t used;                /* blocks handed out */
    uint32_t carved;              /* blocks carved from the front so far */
};
_Static_assert(sizeof(struct region) <= HEADER, "region header fits its cache line");

struct pm_pool {
    pthread_mutex_t lock;       /* guards everything below and every region header */
    size_t size;                /* block size, a multiple of 64 */
    size_t rsize;               /* region size, a power of two */
    uint32_t per;               /* blocks per region */
    struct region *head, *tail; /* avail list */
    struct region *all;
    unsigned spares; /* empty regions on the avail list, all at its tail */
    uint64_t mapped;
};

static uint8_t *block_at(struct region *r, const struct pm_pool *p, uint32_t i)
{
    return (uint8_t *)r + HEADER + (size_t)i * p->size;
}

static void avail_unlink(struct pm_pool *p, struct region *r)
{
    *(r->prev ? &r->prev->next : &p->head) = r->next;
    *(r->next ? &r->next->prev : &p->tail) = r->prev;
    r->prev = r->next = NULL;
}

static void avail_push(struct pm_pool *p, struct region *r, bool at_tail)
{
    if (at_tail) {
        r->prev = p->tail;
        r->next = NULL;
        *(p->tail ? &p->tail->next : &p->head) = r;
        p->tail = r;
    } else {
        r->next = p->head;
        r->prev = NULL;
        *(p->head ? &p->head->prev : &p->tail) = r;
        p->head = r;
    }
}

/* A new empty region, aligned to its size, on the avail list. */
static struct region *region_new(struct pm_pool *p)
{
    /* Map twice the size and trim, to get the alignment. */
    uint8_t *m =
        mmap(NULL, 2 * p->rsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *base = (uint8_t *)(((uintptr_t)m + p->rsize - 1) & ~(uintptr_t)(p->rsize - 1));
    if (base > m)
        munmap(m, (size_t)(base - m));
    munmap(base + p->rsize, p->rsize - (size_t)(base - m));
    if (p->rsize == REGION_MAX)
        madvise(base, p->rsize, MADV_HUGEPAGE); /* advice: without it, 4 KiB pages */
    struct region *r = (struct region *)base;
    memset(r, 0, sizeof *r);
    POISON(block_at(r, p, 0), (size_t)p->per * p->size);
    r->anext = p->all;
    if (p->all)
        p->all->aprev = r;
    p->all = r;
    avail_push(p, r, false);
    p->mapped += p->rsize;
    return r;
}

static void region_unmap(struct pm_pool *p, struct region *r)
{
    *(r->aprev ? &r->aprev->anext : &p->all) = r->anext;
    if (r->anext)
        r->anext->aprev = r->aprev;
    p->mapped -= p->rsize;
    /* The shadow outlives the mapping: clear it for whoever maps here next. */
    UNPOISON(r, p->rsize);
    munmap(r, p->rsize);
}

struct pm_pool *pm_pool_new(size_t size, uint64_t max_blocks)
{
    if (size == 0 || size > REGION_MAX / 2)
        return NULL;
    struct pm_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->size = (size + 63) & ~(size_t)63;
    /* The smallest power of two that holds them all, from a page to a huge
     * page: a small device does not map 2 MiB. */
    uint64_t need = HEADER + (max_blocks ? max_blocks : 1) * (uint64_t)p->size;
    p->rsize = 4096;
    while (p->rsize < need && p->rsize < REGION_MAX)
        p->rsize *= 2;
    while (p->rsize < HEADER + p->size)
        p->rsize *= 2;
    p->per = (uint32_t)((p->rsize - HEADER) / p->size);
    return p;
}

void pm_pool_free(struct pm_pool *p)
{
    if (!p)
        return;
    while (p->all)
        region_unmap(p, p->all);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void *pm_pool_get(struct pm_pool *p)
{
    pthread_mutex_lock(&p->lock);
    struct region *r = p->head;
    if (!r && !(r = region_new(p))) {
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    if (r->used == 0 && p->spares > 0 && r->carved > 0)
        p->spares--; /* a spare (a new region has carved nothing) */
    uint8_t *b;
    if (r->free) {
        b = r->free;
        UNPOISON(b, p->size);
        memcpy(&r->free, b, sizeof r->free);
    } else {
        b = block_at(r, p, r->carved++);
        UNPOISON(b, p->size);
    }
    if (++r->used == p->per)
        avail_unlink(p, r);
    pthread_mutex_unlock(&p->lock);
    return b;
}

void pm_pool_put(struct pm_pool *p, void *block)
{
    if (!block)
        return;
    struct region *r = (struct region *)((uintptr_t)block & ~(uintptr_t)(p->rsize - 1));
    pthread_mutex_lock(&p->lock);
    memcpy(block, &r->free, sizeof r->free);
    POISON(block, p->size);
    r->free = block;
    bool was_full = r->used-- == p->per;
    if (r->used == 0) {
        if (!was_full)
            avail_unlink(p, r);
        if (p->spares == SPARES) {
            region_unmap(p, r);
        } else {
            avail_push(p, r, true);
            p->spares++;
        }
    } else if (was_full) {
        avail_push(p, r, false);
    }
    pthread_mutex_unlock(&p->lock);
}

uint64_t pm_pool_mapped(struct pm_pool *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->mapped;
    pthread_mutex_unlock(&p->lock);
    return n;
}
