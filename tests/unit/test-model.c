/* Unit tests of the persistence model (plugin/model.c).
 *
 * The centre is a differential test: a deliberately simple reference model
 * (two byte arrays, "dirty" recomputed by memcmp on every question) runs the
 * same random operation sequences as the real one, and after every step the
 * two must agree on V, P, every line's dirty bit, the counts, the power
 * state and the fates of every cut.
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

/* --- reference model ------------------------------------------------------ */

struct ref {
    uint64_t size;
    uint32_t line;
    uint64_t nlines;
    uint8_t *v, *p, *cls;
    uint64_t *stamp, clock;
    bool on, lying;
    struct pm_trigger trig;
    char mark[64];
    uint64_t writes, flushes, cuts;
};

static void ref_init(struct ref *r, uint64_t size, uint32_t line)
{
    memset(r, 0, sizeof *r);
    r->size = size;
    r->line = line;
    r->nlines = size / line;
    r->v = calloc(size, 1);
    r->p = calloc(size, 1);
    r->cls = calloc(r->nlines, 1);
    r->stamp = calloc(r->nlines, sizeof *r->stamp);
    r->on = true;
}

static void ref_free(struct ref *r)
{
    free(r->v);
    free(r->p);
    free(r->cls);
    free(r->stamp);
}

static bool ref_dirty(const struct ref *r, uint64_t li)
{
    return memcmp(r->v + li * r->line, r->p + li * r->line, r->line) != 0;
}

static uint64_t ref_ndirty(const struct ref *r, int cls)
{
    uint64_t n = 0;
    for (uint64_t li = 0; li < r->nlines; li++)
        n += ref_dirty(r, li) && (cls < 0 || r->cls[li] == cls);
    return n;
}

static void ref_cut(struct ref *r, const struct pm_cut_params *cp)
{
    uint64_t n = 0, *lines = malloc((r->nlines + 1) * sizeof *lines);
    for (uint64_t li = 0; li < r->nlines; li++)
        if (ref_dirty(r, li))
            lines[n++] = li;
    uint64_t rng = cp->seed;
    uint32_t units = r->line / 8;
    if (cp->policy == PM_PREFIX) {
        uint64_t upto = n ? pm_rng_next(&rng) % (n + 1) : 0;
        /* selection by (stamp, line), upto times: simple and slow */
        bool *kept = calloc(n + 1, 1);
        for (uint64_t k = 0; k < upto; k++) {
            uint64_t best = n;
            for (uint64_t i = 0; i < n; i++)
                if (!kept[i] && (best == n || r->stamp[lines[i]] < r->stamp[lines[best]]))
                    best = i;
            kept[best] = true;
        }
        for (uint64_t i = 0; i < n; i++)
            if (kept[i])
                memcpy(r->p + lines[i] * r->line, r->v + lines[i] * r->line, r->line);
        free(kept);
    } else {
        for (uint64_t i = 0; i < n; i++) {
            uint64_t o = lines[i] * r->line;
            if (cp->policy == PM_KEEP_ALL || (cp->policy == PM_RANDOM && pm_rng_keep(&rng, cp->p)))
                memcpy(r->p + o, r->v + o, r->line);
            if (cp->policy == PM_TORN) {
                uint64_t bits = 0;
                for (uint32_t u = 0; u < units; u++) {
                    if (u % 64 == 0)
                        bits = pm_rng_next(&rng);
                    if (bits >> (u % 64) & 1)
                        memcpy(r->p + o + u * 8, r->v + o + u * 8, 8);
                }
            }
        }
    }
    memcpy(r->v, r->p, r->size);
    r->on = false;
    r->cuts++;
    r->trig.kind = PM_TRIG_NONE;
    free(lines);
}

static void ref_flush_op(struct ref *r)
{
    if (!r->lying)
        memcpy(r->p, r->v, r->size);
    r->flushes++;
}

/* Returns false when the request is rejected (device off). */
static bool ref_write(struct ref *r, const uint8_t *data, uint64_t len, uint64_t off, bool fua)
{
    if (!r->on)
        return false;
    if (data)
        memcpy(r->v + off, data, len);
    else
        memset(r->v + off, 0, len);
    if (len) {
        r->clock++;
        for (uint64_t li = off / r->line; li <= (off + len - 1) / r->line; li++) {
            if (fua && !r->lying)
                memcpy(r->p + li * r->line, r->v + li * r->line, r->line);
            if (ref_dirty(r, li))
                r->stamp[li] = r->clock;
        }
    }
    r->writes++;
    if (r->trig.kind == PM_TRIG_AFTER_WRITES && ++r->trig.seen == r->trig.n)
        ref_cut(r, &r->trig.cut);
    return true;
}

static bool ref_flush(struct ref *r)
{
    if (!r->on)
        return false;
    if (r->trig.kind == PM_TRIG_BEFORE_FLUSH && ++r->trig.seen == r->trig.n) {
        ref_cut(r, &r->trig.cut);
        return false;
    }
    ref_flush_op(r);
    return true;
}

/* --- comparing ---------------------------------------------------------------- */

static int mismatches;

static void compare(const struct pm_model *m, const struct ref *r, uint8_t *mp)
{
    CU_ASSERT_EQUAL_FATAL(pm_model_is_on(m), r->on);
    CU_ASSERT_EQUAL(pm_model_is_lying(m), r->lying);
    if (memcmp(mp, r->p, r->size) != 0) {
        mismatches++;
        CU_FAIL("P differs from the reference");
    }
    struct pm_stats st;
    pm_model_stats(m, &st);
    for (int c = 0; c < PM_NCLASS; c++)
        CU_ASSERT_EQUAL(st.dirty.c[c], ref_ndirty(r, c));
    CU_ASSERT_EQUAL(st.cuts, r->cuts);
    for (uint64_t li = 0; li < r->nlines; li++)
        if (pm_model_line_dirty(m, li) != ref_dirty(r, li)) {
            mismatches++;
            CU_FAIL("a line's dirty bit differs from the reference");
            break;
        }
    if (r->on) {
        uint8_t *buf = malloc(r->size);
        CU_ASSERT_EQUAL(pm_model_read(m, buf, r->size, 0), PM_OK);
        if (memcmp(buf, r->v, r->size) != 0) {
            mismatches++;
            CU_FAIL("V differs from the reference");
        }
        free(buf);
    }
}

/* Data drawn from a small alphabet, so that rewriting what P already holds
 * (which must clean a line) happens often. */
static void fill(uint64_t *rng, uint8_t *buf, uint64_t len)
{
    uint8_t a = (uint8_t)(pm_rng_next(rng) % 3);
    for (uint64_t i = 0; i < len; i++) {
        if (pm_rng_next(rng) % 16 == 0)
            a = (uint8_t)(pm_rng_next(rng) % 3);
        buf[i] = a;
    }
}

/* Counting hook: checks that the reported effect matches the change. */
struct count_ctx {
    int calls;
    bool refuse;
    struct pm_effect last;
};

static int count_hook(void *vctx, const struct pm_effect *e)
{
    struct count_ctx *c = vctx;
    c->calls++;
    c->last = *e;
    return c->refuse ? -1 : 0;
}

static const uint32_t lines_choice[] = {8, 16, 64, 64, 64, 256, 4096};
static const uint64_t extra_choice[] = {0, 0, 4096, 64 * 3, 8192 + 512};

static void run_sequence(uint64_t seed)
{
    uint64_t rng = seed;
    uint32_t line = lines_choice[pm_rng_next(&rng) % 7];
    uint64_t size = 8192 + extra_choice[pm_rng_next(&rng) % 5];
    size -= size % line;
    if (size == 0)
        size = line;
    uint8_t *mp = calloc(size, 1);
    struct pm_model *m = pm_model_new(mp, size, line);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    struct ref r;
    ref_init(&r, size, line);
    uint8_t *buf = malloc(size);
    int steps = 20 + (int)(pm_rng_next(&rng) % 20);

    for (int s = 0; s < steps; s++) {
        uint64_t off = pm_rng_next(&rng) % size;
        uint64_t len = pm_rng_next(&rng) % (size - off + 1);
        if (pm_rng_next(&rng) % 2)
            len = len % (2 * line + 1); /* many small requests */
        bool fua = pm_rng_next(&rng) % 5 == 0;
        struct count_ctx cc = {0};
        int op = (int)(pm_rng_next(&rng) % 100);
        uint64_t before_dirty = ref_ndirty(&r, -1), cuts_before = r.cuts;

        if (op < 40) {
            fill(&rng, buf, len);
            int rc = pm_model_write(m, buf, len, off, fua, count_hook, &cc);
            bool ok = ref_write(&r, buf, len, off, fua);
            CU_ASSERT_EQUAL(rc == PM_OK, ok);
            /* The effect the hook saw is the change the reference sees
             * (unless a trigger fired and wiped everything). */
            if (ok && r.cuts == cuts_before && cc.calls == 1) {
                uint64_t after = ref_ndirty(&r, -1);
                CU_ASSERT_EQUAL(after + pm_counts_total(&cc.last.cleaned) +
                                    pm_counts_total(&cc.last.persisted),
                                before_dirty + pm_counts_total(&cc.last.dirtied));
            }
        } else if (op < 50) {
            enum pm_op zop = pm_rng_next(&rng) % 2 ? PM_OP_ZERO : PM_OP_TRIM;
            int rc = pm_model_zero(m, zop, len, off, fua, count_hook, &cc);
            bool ok = ref_write(&r, NULL, len, off, fua);
            CU_ASSERT_EQUAL(rc == PM_OK, ok);
        } else if (op < 62) {
            int rc = pm_model_flush(m, count_hook, &cc);
            bool ok = ref_flush(&r);
            CU_ASSERT_EQUAL(rc == PM_OK, ok);
        } else if (op < 72) {
            struct pm_cut_params cp = {.policy = (enum pm_policy)(pm_rng_next(&rng) % 5),
                                       .p = (double)(pm_rng_next(&rng) % 101) / 100,
                                       .seed = pm_rng_next(&rng)};
            int rc = pm_model_cut(m, &cp, NULL, count_hook, &cc);
            if (r.on) {
                CU_ASSERT_EQUAL(rc, PM_OK);
                ref_cut(&r, &cp);
            } else {
                CU_ASSERT_EQUAL(rc, PM_ESTATE);
            }
        } else if (op < 82) {
            int rc = pm_model_power_on(m, count_hook, &cc);
            CU_ASSERT_EQUAL(rc, r.on ? PM_ESTATE : PM_OK);
            r.on = true;
        } else if (op < 90) {
            struct pm_trigger t = {.kind = (enum pm_trigger_kind)(1 + pm_rng_next(&rng) % 3),
                                   .n = 1 + pm_rng_next(&rng) % 4,
                                   .cut = {.policy = (enum pm_policy)(pm_rng_next(&rng) % 5),
                                           .p = 0.5,
                                           .seed = pm_rng_next(&rng)}};
            snprintf(r.mark, sizeof r.mark, "m%d", (int)(pm_rng_next(&rng) % 3));
            t.mark = r.mark;
            CU_ASSERT_EQUAL(pm_model_arm(m, &t, count_hook, &cc), PM_OK);
            r.trig = t;
            r.trig.seen = 0;
        } else if (op < 95) {
            char text[8];
            snprintf(text, sizeof text, "m%d", (int)(pm_rng_next(&rng) % 3));
            CU_ASSERT_EQUAL(pm_model_mark(m, text, count_hook, &cc), PM_OK);
            if (r.on && r.trig.kind == PM_TRIG_AT_MARK && strcmp(r.mark, text) == 0)
                ref_cut(&r, &r.trig.cut);
        } else if (op < 97) {
            bool lying = pm_rng_next(&rng) % 2;
            CU_ASSERT_EQUAL(pm_model_set_lying(m, lying, count_hook, &cc), PM_OK);
            r.lying = lying;
        } else {
            enum pm_class c = (enum pm_class)(pm_rng_next(&rng) % PM_NCLASS);
            if (len == 0)
                len = 1;
            if (off + len > size)
                off = size - len;
            CU_ASSERT_EQUAL(pm_model_classify(m, c, off, len, count_hook, &cc), PM_OK);
            for (uint64_t li = off / line; li <= (off + len - 1) / line; li++)
                r.cls[li] = (uint8_t)c;
        }
        compare(m, &r, mp);
        if (mismatches > 5)
            break;
    }
    free(buf);
    ref_free(&r);
    pm_model_free(m);
    free(mp);
}

static void test_differential(void)
{
    for (uint64_t seed = 1; seed <= 10000 && mismatches <= 5; seed++)
        run_sequence(seed * 7919);
    CU_ASSERT_EQUAL(mismatches, 0);
}

/* --- focused tests ------------------------------------------------------------ */

static struct pm_model *fresh(uint8_t **p, uint64_t size, uint32_t line)
{
    *p = calloc(size, 1);
    return pm_model_new(*p, size, line);
}

static void test_one_line_of_a_page(void)
{
    uint8_t *p, page[4096];
    struct pm_model *m = fresh(&p, 65536, 64);
    memset(page, 0, sizeof page);
    memset(page + 128, 0xab, 64);
    struct count_ctx cc = {0};
    CU_ASSERT_EQUAL(pm_model_write(m, page, 4096, 8192, false, count_hook, &cc), PM_OK);
    struct pm_stats st;
    pm_model_stats(m, &st);
    CU_ASSERT_EQUAL(pm_counts_total(&st.dirty), 1);
    CU_ASSERT_EQUAL(pm_counts_total(&cc.last.dirtied), 1);
    CU_ASSERT(pm_model_line_dirty(m, (8192 + 128) / 64));
    /* Writing back what P holds cleans it. */
    memset(page + 128, 0, 64);
    CU_ASSERT_EQUAL(pm_model_write(m, page, 4096, 8192, false, count_hook, &cc), PM_OK);
    pm_model_stats(m, &st);
    CU_ASSERT_EQUAL(pm_counts_total(&st.dirty), 0);
    CU_ASSERT_EQUAL(pm_counts_total(&cc.last.cleaned), 1);
    CU_ASSERT_EQUAL(st.chunks, 0);
    pm_model_free(m);
    free(p);
}

/* The model skips reading P for a line whose print differs from P's; a
 * print left stale by any way into P would call a clean line dirty.  For
 * each way, a line whose old P was read is persisted, then written with
 * exactly what P now holds: it must stay clean. */
static void test_prints_follow_p(void)
{
    for (int way = 0; way < 4; way++) {
        uint8_t *p, x[64], y[64];
        struct pm_model *m = fresh(&p, 8192, 64);
        memset(x, 0x5a, sizeof x);
        x[5] = (uint8_t)way;
        memset(y, 0xc3, sizeof y);
        struct count_ctx cc = {0};
        /* P's print (zeroes) is learned here. */
        CU_ASSERT_EQUAL(pm_model_write(m, x, 64, 640, way == 0, count_hook, &cc), PM_OK);
        struct pm_cut_params keep = {.policy = PM_KEEP_ALL}, torn = {.policy = PM_TORN, .seed = 9};
        if (way == 1)
            CU_ASSERT_EQUAL(pm_model_flush(m, NULL, NULL), PM_OK);
        if (way >= 2) {
            CU_ASSERT_EQUAL(pm_model_cut(m, way == 2 ? &keep : &torn, NULL, NULL, NULL), PM_OK);
            CU_ASSERT_EQUAL(pm_model_power_on(m, NULL, NULL), PM_OK);
        }
        uint8_t now[64];
        memcpy(now, p + 640, 64);
        if (way < 3)
            CU_ASSERT_EQUAL(memcmp(now, x, 64), 0);
        CU_ASSERT_EQUAL(pm_model_write(m, now, 64, 640, false, count_hook, &cc), PM_OK);
        CU_ASSERT_EQUAL(pm_counts_total(&cc.last.dirtied), 0);
        CU_ASSERT_FALSE(pm_model_line_dirty(m, 10));
        CU_ASSERT_EQUAL(pm_model_write(m, y, 64, 640, false, count_hook, &cc), PM_OK);
        CU_ASSERT(pm_model_line_dirty(m, 10));
        CU_ASSERT_EQUAL(pm_model_write(m, now, 64, 640, false, count_hook, &cc), PM_OK);
        CU_ASSERT_EQUAL(pm_counts_total(&cc.last.cleaned), 1);
        CU_ASSERT_FALSE(pm_model_line_dirty(m, 10));
        pm_model_free(m);
        free(p);
    }
}

static void test_fua_and_flush(void)
{
    uint8_t *p, b[100];
    struct pm_model *m = fresh(&p, 8192, 64);
    memset(b, 7, sizeof b);
    CU_ASSERT_EQUAL(pm_model_write(m, b, 100, 10, true, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(memcmp(p + 10, b, 100), 0);
    CU_ASSERT_FALSE(pm_model_line_dirty(m, 0));
    CU_ASSERT_EQUAL(pm_model_write(m, b, 100, 1000, false, NULL, NULL), PM_OK);
    CU_ASSERT_NOT_EQUAL(p[1000], 7);
    CU_ASSERT_EQUAL(pm_model_flush(m, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(p[1000], 7);
    pm_model_free(m);
    free(p);
}

static void test_refused_commit_changes_nothing(void)
{
    uint8_t *p, b[512];
    struct pm_model *m = fresh(&p, 8192, 64);
    memset(b, 1, sizeof b);
    CU_ASSERT_EQUAL(pm_model_write(m, b, 512, 0, false, NULL, NULL), PM_OK);
    struct count_ctx no = {.refuse = true};
    uint8_t v[8192], v2[8192];
    CU_ASSERT_EQUAL(pm_model_read(m, v, 8192, 0), PM_OK);
    memset(b, 2, sizeof b);
    CU_ASSERT_EQUAL(pm_model_write(m, b, 512, 256, true, count_hook, &no), PM_ECOMMIT);
    /* Not FUA, over both chunks: the write takes a chunk for the second
     * before its commit, and must give it back. */
    uint8_t big[8192];
    memset(big, 3, sizeof big);
    CU_ASSERT_EQUAL(pm_model_write(m, big, 8192, 0, false, count_hook, &no), PM_ECOMMIT);
    struct pm_stats st;
    pm_model_stats(m, &st);
    CU_ASSERT_EQUAL(st.chunks, 1);
    CU_ASSERT_EQUAL(st.blocks, st.chunks);
    CU_ASSERT_EQUAL(pm_model_flush(m, count_hook, &no), PM_ECOMMIT);
    struct pm_cut_params cp = {.policy = PM_KEEP_ALL};
    CU_ASSERT_EQUAL(pm_model_cut(m, &cp, NULL, count_hook, &no), PM_ECOMMIT);
    CU_ASSERT_EQUAL(pm_model_classify(m, PM_META, 0, 64, count_hook, &no), PM_ECOMMIT);
    CU_ASSERT(pm_model_is_on(m));
    CU_ASSERT_EQUAL(pm_model_read(m, v2, 8192, 0), PM_OK);
    CU_ASSERT_EQUAL(memcmp(v, v2, 8192), 0);
    for (int i = 0; i < 8192; i++)
        if (p[i] != 0) {
            CU_FAIL("P changed by a refused request");
            break;
        }
    CU_ASSERT_EQUAL(pm_model_line_class(m, 0), PM_UNKNOWN);
    pm_model_free(m);
    free(p);
}

static void test_torn_units_whole(void)
{
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint8_t *p, old[4096], neu[4096];
        struct pm_model *m = fresh(&p, 4096, 64);
        for (int i = 0; i < 4096; i++) {
            old[i] = (uint8_t)(i * 7 + 1);
            neu[i] = (uint8_t)~old[i];
        }
        memcpy(p, old, 4096);
        CU_ASSERT_EQUAL(pm_model_write(m, neu, 4096, 0, false, NULL, NULL), PM_OK);
        struct pm_cut_params cp = {.policy = PM_TORN, .seed = seed};
        CU_ASSERT_EQUAL(pm_model_cut(m, &cp, NULL, NULL, NULL), PM_OK);
        int mixed = 0;
        for (int u = 0; u < 512; u++) {
            bool is_old = memcmp(p + u * 8, old + u * 8, 8) == 0;
            bool is_new = memcmp(p + u * 8, neu + u * 8, 8) == 0;
            CU_ASSERT(is_old || is_new);
            mixed += is_new;
        }
        CU_ASSERT(mixed > 0 && mixed < 512);
        const struct pm_cut_result *res = pm_model_last_cut(m);
        CU_ASSERT_EQUAL(pm_counts_total(&res->torn) + pm_counts_total(&res->kept) +
                            pm_counts_total(&res->lost),
                        64);
        pm_model_free(m);
        free(p);
    }
}

static void cut_with(enum pm_policy pol, uint64_t seed, uint8_t *out)
{
    uint8_t *p, b[4096];
    struct pm_model *m = fresh(&p, 65536, 64);
    for (int k = 0; k < 16; k++) {
        memset(b, k + 1, sizeof b);
        pm_model_write(m, b, 4096, (uint64_t)k * 4096, false, NULL, NULL);
    }
    struct pm_cut_params cp = {.policy = pol, .p = 0.3, .seed = seed};
    CU_ASSERT_EQUAL(pm_model_cut(m, &cp, NULL, NULL, NULL), PM_OK);
    memcpy(out, p, 65536);
    pm_model_free(m);
    free(p);
}

static void test_same_seed_same_fates(void)
{
    static uint8_t a[65536], b[65536], c[65536];
    for (enum pm_policy pol = PM_RANDOM; pol <= PM_PREFIX; pol++) {
        cut_with(pol, 42, a);
        cut_with(pol, 42, b);
        cut_with(pol, 43, c);
        CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
        CU_ASSERT_NOT_EQUAL(memcmp(a, c, sizeof a), 0);
    }
}

static void test_prefix_keeps_write_order(void)
{
    for (uint64_t seed = 1; seed <= 50; seed++) {
        uint8_t *p, b[64];
        struct pm_model *m = fresh(&p, 64 * 64, 64);
        /* write lines in the order 63, 62, ..., 0 */
        for (int k = 63; k >= 0; k--) {
            memset(b, 1, sizeof b);
            pm_model_write(m, b, 64, (uint64_t)k * 64, false, NULL, NULL);
        }
        struct pm_cut_params cp = {.policy = PM_PREFIX, .seed = seed};
        pm_model_cut(m, &cp, NULL, NULL, NULL);
        /* kept lines must be a suffix in offset order */
        bool seen_kept = false;
        for (int k = 0; k < 64; k++) {
            bool kept = p[k * 64] == 1;
            if (seen_kept)
                CU_ASSERT(kept);
            seen_kept |= kept;
        }
        pm_model_free(m);
        free(p);
    }
}

static void test_triggers_exact(void)
{
    uint8_t *p, b[64];
    struct pm_model *m = fresh(&p, 8192, 64);
    memset(b, 9, sizeof b);
    struct pm_trigger t = {.kind = PM_TRIG_AFTER_WRITES, .n = 3};
    CU_ASSERT_EQUAL(pm_model_arm(m, &t, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(pm_model_write(m, b, 64, 0, false, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(pm_model_write(m, b, 64, 64, false, NULL, NULL), PM_OK);
    CU_ASSERT(pm_model_is_on(m));
    CU_ASSERT_EQUAL(pm_model_write(m, b, 64, 128, false, NULL, NULL), PM_OK);
    CU_ASSERT_FALSE(pm_model_is_on(m));
    CU_ASSERT_STRING_EQUAL(pm_model_last_cut(m)->trigger, "after-writes=3");
    CU_ASSERT_EQUAL(pm_counts_total(&pm_model_last_cut(m)->lost), 3);
    CU_ASSERT_PTR_NULL(pm_model_armed(m));
    CU_ASSERT_EQUAL(pm_model_write(m, b, 64, 0, false, NULL, NULL), PM_EOFF);
    CU_ASSERT_EQUAL(pm_model_read(m, b, 64, 0), PM_EOFF);
    CU_ASSERT_EQUAL(pm_model_power_on(m, NULL, NULL), PM_OK);

    t = (struct pm_trigger){.kind = PM_TRIG_BEFORE_FLUSH, .n = 2};
    CU_ASSERT_EQUAL(pm_model_arm(m, &t, NULL, NULL), PM_OK);
    pm_model_write(m, b, 64, 0, false, NULL, NULL);
    CU_ASSERT_EQUAL(pm_model_flush(m, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(p[0], 9);
    pm_model_write(m, b, 64, 64, false, NULL, NULL);
    CU_ASSERT_EQUAL(pm_model_flush(m, NULL, NULL), PM_EOFF);
    CU_ASSERT_EQUAL(p[64], 0);
    CU_ASSERT_STRING_EQUAL(pm_model_last_cut(m)->trigger, "before-flush=2");
    CU_ASSERT_EQUAL(pm_model_power_on(m, NULL, NULL), PM_OK);

    t = (struct pm_trigger){.kind = PM_TRIG_AT_MARK, .mark = "ack f 3 fsync"};
    CU_ASSERT_EQUAL(pm_model_arm(m, &t, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(pm_model_mark(m, "ack f 2 fsync", NULL, NULL), PM_OK);
    CU_ASSERT(pm_model_is_on(m));
    CU_ASSERT_EQUAL(pm_model_mark(m, "ack f 3 fsync", NULL, NULL), PM_OK);
    CU_ASSERT_FALSE(pm_model_is_on(m));
    pm_model_free(m);
    free(p);
}

static void test_lying_device(void)
{
    uint8_t *p, b[64];
    struct pm_model *m = fresh(&p, 8192, 64);
    memset(b, 5, sizeof b);
    CU_ASSERT_EQUAL(pm_model_set_lying(m, true, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(pm_model_write(m, b, 64, 0, true, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(pm_model_flush(m, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(p[0], 0);
    CU_ASSERT(pm_model_line_dirty(m, 0));
    pm_model_free(m);
    free(p);
}

static void test_bad_arguments(void)
{
    uint8_t *p;
    static uint8_t small[100];
    CU_ASSERT_PTR_NULL(pm_model_new(small, 100, 64)); /* size not a multiple of line */
    CU_ASSERT_PTR_NULL(pm_model_new(small, 96, 48));  /* line not a power of two */
    struct pm_model *m = fresh(&p, 8192, 64);
    uint8_t b[16];
    CU_ASSERT_EQUAL(pm_model_write(m, b, 16, 8190, false, NULL, NULL), PM_ERANGE);
    CU_ASSERT_EQUAL(pm_model_classify(m, PM_META, 8192, 1, NULL, NULL), PM_ERANGE);
    struct pm_cut_params cp = {.policy = PM_RANDOM, .p = 1.5};
    CU_ASSERT_EQUAL(pm_model_cut(m, &cp, NULL, NULL, NULL), PM_EINVAL);
    CU_ASSERT(pm_model_is_on(m));
    struct pm_trigger t = {.kind = PM_TRIG_AFTER_WRITES, .n = 0};
    CU_ASSERT_EQUAL(pm_model_arm(m, &t, NULL, NULL), PM_EINVAL);
    CU_ASSERT_EQUAL(pm_model_power_on(m, NULL, NULL), PM_ESTATE);
    enum pm_policy pol;
    CU_ASSERT_EQUAL(pm_policy_parse("torn", &pol), 0);
    CU_ASSERT_EQUAL(pol, PM_TORN);
    CU_ASSERT_EQUAL(pm_policy_parse("most", &pol), -1);
    pm_model_free(m);
    free(p);
}

/* --- concurrent writes ------------------------------------------------------ */

/* Threads write to disjoint chunks of one model at once (as the plugin
 * lets them, under its stripes).  The hook logs each write and numbers it; the
 * log replayed one write at a time into a second model must give the same
 * effects, the same P, V and dirty lines, and the same prefix cut. */
#define CC_THREADS 4
#define CC_CHUNKS  32   /* per thread */
#define CC_OPS     2000 /* per thread */

struct cc_op {
    enum pm_op op;
    uint64_t off, len;
    bool fua;
    uint8_t *data;
    struct pm_counts dirtied, cleaned, persisted;
};

struct cc_log {
    pthread_mutex_t mu;
    struct cc_op *ops;
    size_t n;
};

static int cc_hook(void *vctx, const struct pm_effect *e)
{
    struct cc_log *l = vctx;
    pthread_mutex_lock(&l->mu);
    struct cc_op *o = &l->ops[l->n++];
    *o = (struct cc_op){e->op, e->off, e->len, e->fua, NULL, e->dirtied, e->cleaned, e->persisted};
    if (e->data) {
        o->data = malloc(e->len);
        memcpy(o->data, e->data, e->len);
    }
    if (e->order)
        *e->order = l->n;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

struct cc_thread {
    struct pm_model *m;
    struct cc_log *log;
    int t;
    int failures;
};

static void *cc_run(void *arg)
{
    struct cc_thread *th = arg;
    uint64_t rng = 1000 + (uint64_t)th->t;
    uint8_t buf[2 * PM_CHUNK];
    for (int k = 0; k < CC_OPS; k++) {
        /* Thread t owns chunks [t * CC_CHUNKS, (t + 1) * CC_CHUNKS). */
        uint64_t base = (uint64_t)th->t * CC_CHUNKS * PM_CHUNK, end = base + CC_CHUNKS * PM_CHUNK;
        uint64_t lo = base + pm_rng_next(&rng) % CC_CHUNKS * PM_CHUNK, off, len;
        switch (pm_rng_next(&rng) % 8) {
        case 0: /* over two chunks */
            off = lo + pm_rng_next(&rng) % PM_CHUNK;
            len = 1 + pm_rng_next(&rng) % (2 * PM_CHUNK);
            len = off + len > end ? end - off : len;
            break;
        case 1:
        case 2: /* a whole chunk */
            off = lo;
            len = PM_CHUNK;
            break;
        default:
            off = lo + pm_rng_next(&rng) % PM_CHUNK;
            len = 1 + pm_rng_next(&rng) % (lo + PM_CHUNK - off);
        }
        bool fua = pm_rng_next(&rng) % 10 == 0;
        unsigned kind = (unsigned)(pm_rng_next(&rng) % 20);
        int r;
        if (kind < 17) {
            fill(&rng, buf, len);
            r = pm_model_write(th->m, buf, len, off, fua, cc_hook, th->log);
        } else {
            r = pm_model_zero(th->m, kind < 19 ? PM_OP_ZERO : PM_OP_TRIM, len, off, fua, cc_hook,
                              th->log);
        }
        th->failures += r != PM_OK;
    }
    return NULL;
}

static int cc_check_hook(void *vctx, const struct pm_effect *e)
{
    const struct cc_op *o = vctx;
    bool same = e->op == o->op && e->off == o->off && e->len == o->len && e->fua == o->fua &&
                !memcmp(&e->dirtied, &o->dirtied, sizeof o->dirtied) &&
                !memcmp(&e->cleaned, &o->cleaned, sizeof o->cleaned) &&
                !memcmp(&e->persisted, &o->persisted, sizeof o->persisted);
    CU_ASSERT(same);
    return 0;
}

static void test_concurrent_writes(void)
{
    const uint64_t size = (uint64_t)CC_THREADS * CC_CHUNKS * PM_CHUNK;
    uint8_t *pa = malloc(size), *pb = malloc(size);
    uint64_t rng = 7;
    fill(&rng, pa, size);
    memcpy(pb, pa, size);
    struct pm_model *a = pm_model_new(pa, size, 64), *b = pm_model_new(pb, size, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (uint64_t off = 0; off < size; off += 3 * PM_CHUNK) {
        enum pm_class c = off / (3 * PM_CHUNK) % 3 == 0 ? PM_META : PM_DATA;
        pm_model_classify(a, c, off, PM_CHUNK + 640, NULL, NULL);
        pm_model_classify(b, c, off, PM_CHUNK + 640, NULL, NULL);
    }
    struct cc_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    log.ops = calloc(CC_THREADS * CC_OPS, sizeof *log.ops);
    struct cc_thread th[CC_THREADS];
    pthread_t tid[CC_THREADS];
    for (int t = 0; t < CC_THREADS; t++) {
        th[t] = (struct cc_thread){a, &log, t, 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[t], NULL, cc_run, &th[t]), 0);
    }
    for (int t = 0; t < CC_THREADS; t++) {
        pthread_join(tid[t], NULL);
        CU_ASSERT_EQUAL(th[t].failures, 0);
    }
    CU_ASSERT_EQUAL_FATAL(log.n, (size_t)CC_THREADS * CC_OPS);

    /* One at a time, in the hook's order, with the model's own numbering. */
    for (size_t i = 0; i < log.n; i++) {
        const struct cc_op *o = &log.ops[i];
        int r = o->op == PM_OP_WRITE
                    ? pm_model_write(b, o->data, o->len, o->off, o->fua, cc_check_hook, (void *)o)
                    : pm_model_zero(b, o->op, o->len, o->off, o->fua, cc_check_hook, (void *)o);
        CU_ASSERT_EQUAL(r, PM_OK);
        free(o->data);
    }
    struct pm_stats sa, sb;
    pm_model_stats(a, &sa);
    pm_model_stats(b, &sb);
    for (int c = 0; c < PM_NCLASS; c++)
        CU_ASSERT_EQUAL(sa.dirty.c[c], sb.dirty.c[c]);
    CU_ASSERT_EQUAL(sa.writes, sb.writes);
    CU_ASSERT_EQUAL(sa.chunks, sb.chunks);
    CU_ASSERT(pm_counts_total(&sa.dirty) > 1000); /* the cut below has lines to order */
    CU_ASSERT_EQUAL(memcmp(pa, pb, size), 0);
    uint8_t *va = malloc(size), *vb = malloc(size);
    pm_model_read(a, va, size, 0);
    pm_model_read(b, vb, size, 0);
    CU_ASSERT_EQUAL(memcmp(va, vb, size), 0);
    int differ = 0;
    for (uint64_t li = 0; li < size / 64; li++)
        differ += pm_model_line_dirty(a, li) != pm_model_line_dirty(b, li);
    CU_ASSERT_EQUAL(differ, 0);
    struct pm_cut_params cp = {.policy = PM_PREFIX, .seed = 99};
    CU_ASSERT_EQUAL(pm_model_cut(a, &cp, NULL, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(pm_model_cut(b, &cp, NULL, NULL, NULL), PM_OK);
    CU_ASSERT_EQUAL(memcmp(pa, pb, size), 0);
    free(va);
    free(vb);
    free(log.ops);
    pm_model_free(a);
    pm_model_free(b);
    free(pa);
    free(pb);
}

/* Two writes on different chunks whose records are numbered 1 then 2 but
 * land 2 then 1: the prefix policy must follow the numbers. */
struct late {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stage; /* 1: first write numbered; 2: second write applied */
};

static int late_hook(void *vctx, const struct pm_effect *e)
{
    struct late *l = vctx;
    pthread_mutex_lock(&l->mu);
    if (l->stage == 0) {
        *e->order = 1;
        l->stage = 1;
        pthread_cond_broadcast(&l->cv);
        while (l->stage != 2)
            pthread_cond_wait(&l->cv, &l->mu);
    } else {
        *e->order = 2;
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

struct late_arg {
    struct pm_model *m;
    struct late *l;
};

static void *late_first(void *arg)
{
    struct late_arg *a = arg;
    uint8_t b[PM_CHUNK];
    memset(b, 1, sizeof b);
    pm_model_write(a->m, b, PM_CHUNK, 0, false, late_hook, a->l);
    return NULL;
}

static void test_hook_numbers_order_prefix(void)
{
    int differ_from_landing = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint8_t *p, b[PM_CHUNK];
        struct pm_model *m = fresh(&p, 2 * PM_CHUNK, 64);
        struct late l = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
        struct late_arg a = {m, &l};
        pthread_t t;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, late_first, &a), 0);
        pthread_mutex_lock(&l.mu);
        while (l.stage != 1)
            pthread_cond_wait(&l.cv, &l.mu);
        pthread_mutex_unlock(&l.mu);
        memset(b, 2, sizeof b);
        pm_model_write(m, b, PM_CHUNK, PM_CHUNK, false, late_hook,
                       &l); /* numbered 2, lands first */
        pthread_mutex_lock(&l.mu);
        l.stage = 2;
        pthread_cond_broadcast(&l.cv);
        pthread_mutex_unlock(&l.mu);
        pthread_join(t, NULL);
        struct pm_cut_params cp = {.policy = PM_PREFIX, .seed = seed};
        CU_ASSERT_EQUAL(pm_model_cut(m, &cp, NULL, NULL, NULL), PM_OK);
        /* Kept lines are a prefix in numbered order: chunk 0's first. */
        int kept0 = 0, kept1 = 0;
        for (int k = 0; k < 64; k++) {
            kept0 += p[k * 64] == 1;
            kept1 += p[PM_CHUNK + k * 64] == 2;
        }
        CU_ASSERT(kept1 == 0 || kept0 == 64);
        differ_from_landing += kept0 > 0 && kept0 < 64;
        pm_model_free(m);
        free(p);
    }
    CU_ASSERT(differ_from_landing > 0); /* some cut fell inside chunk 0 */
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("model", NULL, NULL);
    CU_add_test(s, "4 KiB write changing 64 bytes dirties one line", test_one_line_of_a_page);
    CU_add_test(s, "FUA persists at once, flush persists the rest", test_fua_and_flush);
    CU_add_test(s, "a line written with what P holds is clean, however P got it",
                test_prints_follow_p);
    CU_add_test(s, "a refused commit changes nothing", test_refused_commit_changes_nothing);
    CU_add_test(s, "torn cut keeps 8-byte units whole", test_torn_units_whole);
    CU_add_test(s, "same seed, same fates", test_same_seed_same_fates);
    CU_add_test(s, "prefix keeps lines in write order", test_prefix_keeps_write_order);
    CU_add_test(s, "triggers fire at their exact point", test_triggers_exact);
    CU_add_test(s, "lying device persists nothing", test_lying_device);
    CU_add_test(s, "bad arguments change nothing", test_bad_arguments);
    CU_add_test(s, "differential vs reference, 10000 sequences", test_differential);
    CU_add_test(s, "the hook's numbers order lines for prefix", test_hook_numbers_order_prefix);
    CU_add_test(s, "concurrent writes on disjoint chunks equal one at a time",
                test_concurrent_writes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
