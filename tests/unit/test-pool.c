/* Unit tests of the chunk pool (plugin/pool.c).
 *
 * Built with the sanitizer like every unit test: there a block given back
 * must read as poisoned, so a use after put is caught.
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "model/pool.h"

#ifdef PM_POOL_POISONS
#include <sanitizer/asan_interface.h>
#endif

#define CHUNK_SIZE 4672 /* a 4 KiB chunk with 64-byte lines: header, V, stamps */
#define REGION     ((uint64_t)2 << 20)
#define SPARES     4 /* empty regions the pool keeps (pool.c) */

static void fill(uint8_t *b, size_t n, uint8_t tag)
{
    memset(b, tag, n);
}

static bool all(const uint8_t *b, size_t n, uint8_t tag)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != tag)
            return false;
    return true;
}

static void test_bad_sizes(void)
{
    CU_ASSERT_PTR_NULL(pm_pool_new(0, 10));
    CU_ASSERT_PTR_NULL(pm_pool_new(REGION / 2 + 1, 10));
    struct pm_pool *p = pm_pool_new(REGION / 2, 1); /* the largest block */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    uint8_t *b = pm_pool_get(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    fill(b, REGION / 2, 7);
    pm_pool_put(p, b);
    pm_pool_free(p);
}

/* Blocks from several regions: aligned, whole, and apart. */
static void test_blocks_aligned_and_apart(void)
{
    enum { N = 1500 }; /* over three 2 MiB regions */
    struct pm_pool *p = pm_pool_new(CHUNK_SIZE, 1 << 18);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(pm_pool_resident(p), 0);
    static uint8_t *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = pm_pool_get(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i]);
        CU_ASSERT_EQUAL((uintptr_t)b[i] % 64, 0);
        fill(b[i], CHUNK_SIZE, (uint8_t)i);
    }
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += !all(b[i], CHUNK_SIZE, (uint8_t)i);
    CU_ASSERT_EQUAL(bad, 0);
    uint64_t mapped = pm_pool_resident(p);
    CU_ASSERT(mapped >= (uint64_t)N * CHUNK_SIZE);
    CU_ASSERT(mapped <= (uint64_t)N * CHUNK_SIZE + REGION); /* packed: no block wasted */
    pm_pool_free(p);
}

static int mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Bytes of the 2 MiB regions holding blocks b[0..n) that are in memory. */
static uint64_t in_memory(uint8_t **b, int n)
{
    uint64_t bytes = 0;
    uintptr_t last = 0;
    unsigned char vec[REGION / 4096];
    for (int i = 0; i < n; i++) {
        uintptr_t base = (uintptr_t)b[i] & ~(uintptr_t)(REGION - 1);
        if (base == last) /* blocks of a region come one after another */
            continue;
        last = base;
        if (mincore((void *)base, REGION, vec) == -1)
            return UINT64_MAX;
        for (size_t k = 0; k < sizeof vec; k++)
            bytes += (vec[k] & 1) * 4096u;
    }
    return bytes;
}

/* Putting every block back gives all but SPARES regions back; getting
 * again uses the spares first, and they are spares again once empty. */
static void test_memory_goes_back(void)
{
    enum { N = 448 * 20 }; /* twenty full regions */
    struct pm_pool *p = pm_pool_new(CHUNK_SIZE, 1 << 18);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    uint8_t **b = calloc(N, sizeof *b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int i = 0; i < N; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i] = pm_pool_get(p));
        fill(b[i], CHUNK_SIZE, 1);
    }
    CU_ASSERT_EQUAL(pm_pool_resident(p), 20 * REGION);
    CU_ASSERT(in_memory(b, N) >= 20 * REGION * 9 / 10);
    uint8_t **was = calloc(N, sizeof *was); /* where the blocks were */
    CU_ASSERT_PTR_NOT_NULL_FATAL(was);
    memcpy(was, b, N * sizeof *b);
    /* Every other block first: no region empties, nothing goes back. */
    for (int i = 0; i < N; i += 2)
        pm_pool_put(p, b[i]);
    CU_ASSERT_EQUAL(pm_pool_resident(p), 20 * REGION);
    for (int i = 1; i < N; i += 2)
        pm_pool_put(p, b[i]);
    CU_ASSERT_EQUAL(pm_pool_resident(p), SPARES * REGION);
    CU_ASSERT(in_memory(was, N) <= SPARES * REGION); /* really given back */
    free(was);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < SPARES * 448; i++)
            CU_ASSERT_PTR_NOT_NULL_FATAL(b[i] = pm_pool_get(p));
        CU_ASSERT_EQUAL(pm_pool_resident(p), SPARES * REGION); /* the spares, nothing new */
        for (int i = 0; i < SPARES * 448; i++)
            pm_pool_put(p, b[i]);
        CU_ASSERT_EQUAL(pm_pool_resident(p), SPARES * REGION);
    }
    /* Released regions come back into use: no new mapping. */
    int maps = mappings();
    for (int i = 0; i < N; i++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i] = pm_pool_get(p));
    CU_ASSERT_EQUAL(pm_pool_resident(p), 20 * REGION);
    CU_ASSERT_EQUAL(mappings(), maps);
    pm_pool_free(p);
    free(b);
}

/* Regions come from arenas: a large overlay is a few mappings, not one per
 * region, and giving regions back does not split them. */
static void test_few_mappings(void)
{
    enum { N = 448 * 64 }; /* 64 regions, 128 MiB */
    struct pm_pool *p = pm_pool_new(CHUNK_SIZE, 1 << 18);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    uint8_t **b = calloc(N, sizeof *b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    int before = mappings();
    for (int i = 0; i < N; i++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i] = pm_pool_get(p));
    int grown = mappings() - before;
    CU_ASSERT(grown >= 1 && grown <= 4); /* two arenas of 32 regions */
    for (int i = 0; i < N; i++)
        pm_pool_put(p, b[i]);
    CU_ASSERT(mappings() - before <= 4);
    pm_pool_free(p);
    CU_ASSERT(mappings() - before <= 0);
    free(b);
}

/* A pool for a small device maps a small region. */
static void test_small_pool_small_region(void)
{
    struct pm_pool *p = pm_pool_new(CHUNK_SIZE, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    void *b[3];
    for (int i = 0; i < 3; i++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[i] = pm_pool_get(p));
    CU_ASSERT_EQUAL(pm_pool_resident(p), 16384); /* 64 + 3 * 4672 rounded to a power of two */
    for (int i = 0; i < 3; i++)
        pm_pool_put(p, b[i]);
    pm_pool_free(p);
}

static void test_put_poisons(void)
{
#ifdef PM_POOL_POISONS
    struct pm_pool *p = pm_pool_new(CHUNK_SIZE, 100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    uint8_t *b = pm_pool_get(p), *c = pm_pool_get(p);
    CU_ASSERT_FALSE(__asan_region_is_poisoned(b, CHUNK_SIZE) != NULL);
    CU_ASSERT(__asan_address_is_poisoned(c + CHUNK_SIZE + 64 + 1)); /* never handed out */
    pm_pool_put(p, b);
    CU_ASSERT(__asan_address_is_poisoned(b + 64));
    CU_ASSERT(__asan_address_is_poisoned(b + CHUNK_SIZE - 1));
    uint8_t *again = pm_pool_get(p);
    CU_ASSERT_PTR_EQUAL(again, b);
    CU_ASSERT_FALSE(__asan_region_is_poisoned(again, CHUNK_SIZE) != NULL);
    pm_pool_free(p);
#else
    CU_FAIL("built without the address sanitizer: this test cannot check poisoning");
#endif
}

/* Four threads get, fill, check and put at random: no block is handed to
 * two owners at once. */
struct worker {
    struct pm_pool *p;
    int id;
    int clobbered;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    enum { HELD = 600 };
    uint8_t *held[HELD] = {0};
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
    for (int step = 0; step < 40000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = (int)(x % HELD);
        if (held[k]) {
            w->clobbered += !all(held[k], CHUNK_SIZE, (uint8_t)(w->id * 16 + k % 16));
            pm_pool_put(w->p, held[k]);
            held[k] = NULL;
        } else if ((held[k] = pm_pool_get(w->p))) {
            fill(held[k], CHUNK_SIZE, (uint8_t)(w->id * 16 + k % 16));
        }
    }
    for (int k = 0; k < HELD; k++)
        if (held[k]) {
            w->clobbered += !all(held[k], CHUNK_SIZE, (uint8_t)(w->id * 16 + k % 16));
            pm_pool_put(w->p, held[k]);
        }
    return NULL;
}

static void test_concurrent(void)
{
    struct pm_pool *p = pm_pool_new(CHUNK_SIZE, 1 << 18);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.p = p, .id = i};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(w[i].clobbered, 0);
    }
    CU_ASSERT(pm_pool_resident(p) <= SPARES * REGION); /* all put back: spares at most */
    pm_pool_free(p);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("pool", NULL, NULL);
    CU_add_test(s, "sizes out of range are refused", test_bad_sizes);
    CU_add_test(s, "blocks are aligned, whole and apart", test_blocks_aligned_and_apart);
    CU_add_test(s, "emptied regions go back, spares are reused", test_memory_goes_back);
    CU_add_test(s, "regions come from a few mappings", test_few_mappings);
    CU_add_test(s, "a small pool maps a small region", test_small_pool_small_region);
    CU_add_test(s, "a block put back is poisoned", test_put_poisons);
    CU_add_test(s, "four threads never share a block", test_concurrent);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
