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
 * Regions are cut from arenas: one mapping of up to ARENA regions, so that
 * a large overlay is a few hundred mappings, not one per region (the
 * kernel allows about 65,000 per process).  Blocks are carved from the
 * front of a region on first use, so a region touches only the pages it
 * has handed out (until huge pages back it).
 *
 * Regions with a free block are on the avail list, partly used ones first.
 * Up to SPARES empty regions stay there, at the tail, so that a device
 * whose dirty set grows and shrinks by a few MiB between flushes does not
 * fault regions in and give them back every time (faulting in a fresh huge
 * page costs up to 5 us per 4 KiB in a guest whose free memory is
 * reported to its host).  Any further region that empties is released:
 * its memory goes back to the kernel (MADV_DONTNEED) and its address range
 * waits on the released stack for reuse.  Arenas are unmapped only with
 * the pool.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pool.h"

#ifdef PM_POOL_POISONS
#include <sanitizer/asan_interface.h>
#define POISON(a, n)   ASAN_POISON_MEMORY_REGION(a, n)
#define UNPOISON(a, n) ASAN_UNPOISON_MEMORY_REGION(a, n)
#else
#define POISON(a, n)   ((void)(a), (void)(n))
#define UNPOISON(a, n) ((void)(a), (void)(n))
#endif

#define REGION_MAX ((size_t)2 << 20) /* one x86-64 huge page */
#define HEADER     64
#define SPARES     4  /* empty regions kept: 8 MiB at most */
#define ARENA      32 /* regions per mapping: 64 MiB of 2 MiB regions */

struct region {
    struct region *prev, *next; /* avail list: regions with a free block */
    void *free;                 /* put blocks, linked through their first word */
    uint32_t used;              /* blocks handed out */
    uint32_t carved;            /* blocks carved from the front so far */
};
_Static_assert(sizeof(struct region) <= HEADER, "region header fits its cache line");

struct pm_pool {
    pthread_mutex_t lock;       /* guards everything below and every region header */
    size_t size;                /* block size, a multiple of 64 */
    size_t rsize;               /* region size, a power of two */
    uint32_t per;               /* blocks per region */
    uint32_t arena;             /* regions per arena */
    struct region *head, *tail; /* avail list */
    unsigned spares;            /* empty regions on the avail list, all at its tail */
    struct arena *arenas;       /* every mapping, for pm_pool_free */
    uint8_t *fresh;             /* the newest arena's next unused region */
    uint32_t nfresh;            /* unused regions left there */
    struct region **released;   /* released regions, room for every region */
    size_t nreleased, nregions;
    uint64_t resident; /* bytes of regions in use or spare */
    uint64_t live;     /* blocks handed out */
};

struct arena {
    struct arena *next;
    uint8_t *base;
    size_t len;
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

/* A new arena: p->arena regions, aligned to the region size. */
static int arena_new(struct pm_pool *p)
{
    size_t len = (size_t)p->arena * p->rsize;
    /* Room for every region in the released stack, so a release never
     * has to allocate. */
    struct region **rel = realloc(p->released, (p->nregions + p->arena) * sizeof *rel);
    if (!rel)
        return -1;
    p->released = rel;
    struct arena *a = malloc(sizeof *a);
    if (!a)
        return -1;
    /* Map one region more and trim, to get the alignment. */
    uint8_t *m =
        mmap(NULL, len + p->rsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        free(a);
        return -1;
    }
    uint8_t *base = (uint8_t *)(((uintptr_t)m + p->rsize - 1) & ~(uintptr_t)(p->rsize - 1));
    if (base > m)
        munmap(m, (size_t)(base - m));
    munmap(base + len, p->rsize - (size_t)(base - m));
    if (p->rsize == REGION_MAX)
        madvise(base, len, MADV_HUGEPAGE); /* advice: without it, 4 KiB pages */
    *a = (struct arena){.next = p->arenas, .base = base, .len = len};
    p->arenas = a;
    p->fresh = base;
    p->nfresh = p->arena;
    p->nregions += p->arena;
    return 0;
}

/* A new empty region on the avail list: a released one, else a fresh one. */
static struct region *region_new(struct pm_pool *p)
{
    uint8_t *base;
    if (p->nreleased) {
        base = (uint8_t *)p->released[--p->nreleased];
    } else {
        if (!p->nfresh && arena_new(p) == -1)
            return NULL;
        base = p->fresh;
        p->fresh += p->rsize;
        p->nfresh--;
    }
    struct region *r = (struct region *)base;
    memset(r, 0, sizeof *r);
    POISON(block_at(r, p, 0), (size_t)p->per * p->size);
    avail_push(p, r, false);
    p->resident += p->rsize;
    return r;
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
    /* A small pool does not reserve address space it can never use. */
    uint64_t regions = ((max_blocks ? max_blocks : 1) + p->per - 1) / p->per;
    p->arena = regions < ARENA ? (uint32_t)regions : ARENA;
    return p;
}

void pm_pool_free(struct pm_pool *p)
{
    if (!p)
        return;
    while (p->arenas) {
        struct arena *a = p->arenas;
        p->arenas = a->next;
        /* The shadow outlives the mapping: clear it for whoever maps here next. */
        UNPOISON(a->base, a->len);
        munmap(a->base, a->len);
        free(a);
    }
    free(p->released);
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
    p->live++;
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
    p->live--;
    bool was_full = r->used-- == p->per, release = false;
    if (r->used == 0) {
        if (!was_full)
            avail_unlink(p, r);
        if (p->spares == SPARES) {
            release = true;
            p->resident -= p->rsize;
        } else {
            avail_push(p, r, true);
            p->spares++;
        }
    } else if (was_full) {
        avail_push(p, r, false);
    }
    pthread_mutex_unlock(&p->lock);
    if (!release)
        return;
    /* Outside the lock: the region is on no list, nobody else can reach
     * it, and giving a huge page back is not free. */
    madvise(r, p->rsize, MADV_DONTNEED);
    pthread_mutex_lock(&p->lock);
    p->released[p->nreleased++] = r;
    pthread_mutex_unlock(&p->lock);
}

uint64_t pm_pool_live(struct pm_pool *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->live;
    pthread_mutex_unlock(&p->lock);
    return n;
}

uint64_t pm_pool_resident(struct pm_pool *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t n = p->resident;
    pthread_mutex_unlock(&p->lock);
    return n;
}
