/* pmemcut — the persistence model.
 *
 * Why it is built this way:
 *
 * 1. P, the persisted image, is the image file itself (mmapped by the
 *    caller).  Persisting a line is a memcpy into it, so a clean device costs
 *    no memory beyond the file's page cache.
 *
 * 2. V, the current image, is P plus an overlay of 4 KiB chunks.  A chunk
 *    exists exactly while at least one of its lines is dirty; it holds the
 *    whole 4 KiB of V for its range (clean lines in it equal P), so a read
 *    is one memcpy per 4 KiB from either the chunk or P.
 *
 * 3. "Dirty" means V and P differ on the line, nothing else: every write
 *    compares each touched line with P.  Rewriting the bytes P already holds
 *    cleans the line; a 4 KiB writeback that changed 64 bytes dirties one.
 *
 * 4. Each dirty line keeps the stamp of the request that last wrote it, for
 *    the prefix policy (lines kept in the order they were last written).
 *
 * 5. Every state change is computed first and committed second (see the
 *    commit hook in model.h), so a refused audit record changes nothing.
 *
 * 6. Comparing with P means reading P, a cache miss per line on random
 *    writes.  A one-byte print of each line of P, learned on first compare
 *    and kept up to date wherever P changes, answers "differs" for most
 *    new data without that read (line_differs).
 *
 *   chunk table (one pointer per 4 KiB of device)
 *   +-----+-----+-----+-----+-----+
 *   |  0  |  *  |  0  |  0  |  *  | ...
 *   +-----+--|--+-----+-----+--|--+
 *            v                 v
 *        +--------------------------+
 *        | ndirty, one stamp for    |
 *        | all, dirty bitmap (1/line)|
 *        | v[4096]  V for the range |
 *        | stamp[lines per chunk]   |
 *        +--------------------------+
 *
 *   class[]: one byte per line (meta/data/unknown), always allocated.
 *   print[]: one byte per line of 64 bytes or more, 0 until learned.
 *
 * With the default 64-byte line a dirty chunk costs about 4.6 KiB, so a
 * 1 GiB device with every line dirty needs about 1.15 GiB of overlay, and
 * 16 MiB of prints once every line was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "model.h"
#include "pool.h"
#include "utils/vec.h"

#define CHUNK       PM_CHUNK
#define CHUNK_SHIFT PM_CHUNK_SHIFT

/* Chunks come from a pool of 2 MiB regions (pool.h: huge pages, so a
 * write's random chunk is not a TLB miss), 64-byte aligned, so v starts on
 * a cache line.  The
 * first cache line holds what every write to the chunk reads and
 * updates: the dirty count, the dirty bitmap (when it fits: lines of 16
 * bytes or more), and the stamp of a chunk whose dirty lines were all
 * written by one request (the usual case, a 4 KiB write), which spares
 * the per-line stamps. */
#define HBITS 6

struct chunk {
    uint64_t ndirty;
    uint64_t ustamp; /* nonzero: the stamp of every dirty line; stamp[] unused */
    uint64_t hbits[HBITS];
    _Alignas(64) uint8_t v[CHUNK];
    /* followed by: uint64_t bits[words] if words > HBITS; uint64_t stamp[lpc]; */
};

/* Copies a write into an overlay chunk.  The chunk is rarely in the CPU's
 * cache (writes land anywhere on the device), so whole 16-byte units go
 * with streaming stores: no read of the old bytes first, no eviction of
 * what is hot.  This was worth about 0.05 of the write-throughput ratio. */
static void copy_into_chunk(uint8_t *dst, const uint8_t *src, uint64_t n)
{
#ifdef __SSE2__
    if (((uintptr_t)dst & 15) == 0 && n % 16 == 0) {
        for (uint64_t i = 0; i < n; i += 16)
            _mm_stream_si128((__m128i *)(dst + i), _mm_loadu_si128((const __m128i *)(src + i)));
        _mm_sfence(); /* ordered before whatever follows, as a memcpy is */
        return;
    }
#endif
    memcpy(dst, src, n);
}

struct pm_model {
    uint8_t *p; /* persisted image, owned by the caller */
    uint64_t size;
    uint32_t line;
    uint32_t shift; /* log2(line) */
    uint32_t lpc;   /* lines per chunk */
    uint32_t words; /* bitmap words per chunk */
    uint64_t nlines;
    uint64_t nchunks;
    struct chunk **chunks;
    struct pm_pool *pool; /* where chunks come from */
    uint8_t *cls;         /* class per line */
    uint8_t *print;       /* per line: 0 not known, else line_print of P's line;
                           * NULL for lines under 64 bytes, cheaper to compare */
    void *print_mem;      /* what print points into */
    bool any_class;       /* some line was ever classified other than unknown */

    bool on;
    bool lying;
    struct pm_counts dirty;
    uint64_t writes, flushes, cuts;
    uint64_t stamp; /* last stamp handed out */
    uint64_t nalloc;

    struct pm_trigger trig;
    struct pm_cut_result last_cut;
    bool have_cut;
    char last_trigger[sizeof "at-mark=" + PM_MARK_MAX];
};

static const uint8_t zeroes[CHUNK];

/* --- chunk helpers ------------------------------------------------------ */

static uint64_t *chunk_bits(const struct pm_model *m, const struct chunk *c)
{
    return m->words <= HBITS ? (uint64_t *)c->hbits
                             : (uint64_t *)((uint8_t *)c + sizeof(struct chunk));
}

static uint64_t *chunk_stamps(const struct pm_model *m, const struct chunk *c)
{
    return (uint64_t *)((uint8_t *)c + sizeof(struct chunk)) + (m->words > HBITS ? m->words : 0);
}

static size_t chunk_bytes(const struct pm_model *m)
{
    return sizeof(struct chunk) + (m->words > HBITS ? (size_t)m->words * 8 : 0) +
           (size_t)m->lpc * 8;
}

/* The stamp of dirty line j of c. */
static uint64_t stamp_of(const struct pm_model *m, const struct chunk *c, uint32_t j)
{
    return c->ustamp ? c->ustamp : chunk_stamps(m, c)[j];
}

static uint64_t chunk_len(const struct pm_model *m, uint64_t ci)
{
    uint64_t start = ci * CHUNK;
    return m->size - start < CHUNK ? m->size - start : CHUNK;
}

/* Block c from the pool becomes the chunk for ci.  With fill, V starts as
 * P; without, the caller overwrites every byte of the chunk before anything
 * reads it. */
static struct chunk *chunk_take(struct pm_model *m, uint64_t ci, struct chunk *c, bool fill)
{
    c->ndirty = 0;
    c->ustamp = 0;
    memset(chunk_bits(m, c), 0, (size_t)m->words * 8); /* stamps are read only when dirty */
    if (fill)
        memcpy(c->v, m->p + ci * CHUNK, chunk_len(m, ci));
    m->chunks[ci] = c;
    __atomic_fetch_add(&m->nalloc, 1, __ATOMIC_RELAXED);
    return c;
}

/* A line's print: 1..255, a function of its bytes alone.  Lines whose
 * prints differ differ, so a write learns that a line turns dirty without
 * reading P's line (a cache miss per line: about a quarter of a random
 * 4 KiB write's time); equal prints prove nothing, and P is read.  The sum
 * of the line's words, mixed by one multiply: a few cycles on data already
 * in cache. */
static inline __attribute__((always_inline)) uint8_t bytes_print(const uint8_t *a, uint32_t n)
{
    uint64_t s = 0;
    for (uint32_t i = 0; i < n; i += 8) {
        uint64_t x;
        memcpy(&x, a + i, 8);
        s += x;
    }
    uint8_t f = (uint8_t)((s * 0x9e3779b97f4a7c15ull) >> 56);
    return f + (f == 0);
}

static inline uint8_t line_print(const uint8_t *a, uint32_t n)
{
    return n == 64 ? bytes_print(a, 64) : bytes_print(a, n);
}

/* Whether two lines hold the same bytes: no early exit, so the compiler can
 * vectorise it (lines are short and usually differ nowhere or everywhere). */
static inline __attribute__((always_inline)) bool bytes_equal(const uint8_t *a, const uint8_t *b,
                                                              uint32_t n)
{
    uint64_t acc = 0;
    for (uint32_t i = 0; i < n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        acc |= x ^ y;
    }
    return acc == 0;
}

/* The default line gets a copy with a constant length, unrolled. */
static inline bool line_equal(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    return n == 64 ? bytes_equal(a, b, 64) : bytes_equal(a, b, n);
}

/* Line li's new bytes reach P; its print follows. */
static void p_store(struct pm_model *m, uint64_t li, const uint8_t *src)
{
    memcpy(m->p + (li << m->shift), src, m->line);
    if (m->print)
        m->print[li] = line_print(src, m->line);
}

/* Whether new line nl differs from P's line li.  Learns P's print on the
 * way: the print array is a cache of P, not model state, so filling it in
 * before a commit changes nothing anyone can observe. */
static inline bool line_differs(struct pm_model *m, uint64_t li, const uint8_t *nl)
{
    const uint8_t *pl = m->p + (li << m->shift);
    if (!m->print)
        return !line_equal(nl, pl, m->line);
    uint8_t np = line_print(nl, m->line), pp = m->print[li];
    if (pp && pp != np)
        return true;
    bool differs = !line_equal(nl, pl, m->line);
    if (!pp)
        m->print[li] = differs ? line_print(pl, m->line) : np;
    return differs;
}

static void chunk_drop(struct pm_model *m, uint64_t ci)
{
    pm_pool_put(m->pool, m->chunks[ci]);
    m->chunks[ci] = NULL;
    __atomic_fetch_sub(&m->nalloc, 1, __ATOMIC_RELAXED);
}

bool pm_model_line_dirty(const struct pm_model *m, uint64_t li)
{
    if (li >= m->nlines)
        return false;
    const struct chunk *c = m->chunks[li >> (CHUNK_SHIFT - m->shift)];
    if (!c)
        return false;
    uint32_t j = (uint32_t)(li & (m->lpc - 1));
    return chunk_bits(m, c)[j / 64] >> (j % 64) & 1;
}

enum pm_class pm_model_line_class(const struct pm_model *m, uint64_t li)
{
    return li < m->nlines ? (enum pm_class)m->cls[li] : PM_UNKNOWN;
}

/* V's bytes for line li. */
static const uint8_t *line_v(const struct pm_model *m, uint64_t li)
{
    uint64_t off = li << m->shift;
    const struct chunk *c = m->chunks[off / CHUNK];
    return c ? c->v + off % CHUNK : m->p + off;
}

/* --- life ---------------------------------------------------------------- */

struct pm_model *pm_model_new(uint8_t *persisted, uint64_t size, uint32_t line)
{
    if (!persisted || line < 8 || line > CHUNK || (line & (line - 1)) || size == 0 || size % line)
        return NULL;
    struct pm_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->p = persisted;
    m->size = size;
    m->line = line;
    m->shift = (uint32_t)__builtin_ctz(line);
    m->lpc = CHUNK / line;
    m->words = (m->lpc + 63) / 64;
    m->nlines = size / line;
    m->nchunks = (size + CHUNK - 1) / CHUNK;
    m->chunks = calloc(m->nchunks, sizeof *m->chunks);
    m->cls = calloc(m->nlines, 1);
    /* Aligned, so that one chunk's prints (64 of 64-byte lines) share no
     * cache line with another chunk's, written by another thread. */
    if (line >= 64 && (m->print_mem = calloc(m->nlines + 63, 1)))
        m->print = (uint8_t *)(((uintptr_t)m->print_mem + 63) & ~(uintptr_t)63);
    m->pool = pm_pool_new(chunk_bytes(m), m->nchunks);
    m->on = true;
    if (!m->chunks || !m->cls || !m->pool || (line >= 64 && !m->print)) {
        pm_model_free(m);
        return NULL;
    }
    return m;
}

static void cut_result_clear(struct pm_cut_result *r)
{
    free(r->lost_r.r);
    free(r->kept_r.r);
    free(r->torn_r.r);
    memset(r, 0, sizeof *r);
}

void pm_model_free(struct pm_model *m)
{
    if (!m)
        return;
    pm_pool_free(m->pool); /* every chunk with it */
    free(m->chunks);
    free(m->cls);
    free(m->print_mem);
    free(m->trig.mark);
    cut_result_clear(&m->last_cut);
    free(m);
}

static int commit(pm_commit_fn hook, void *ctx, const struct pm_effect *e)
{
    return hook && hook(ctx, e) != 0 ? PM_ECOMMIT : PM_OK;
}

static bool in_range(const struct pm_model *m, uint64_t len, uint64_t off)
{
    return off <= m->size && len <= m->size - off;
}

/* --- reads ----------------------------------------------------------------- */

int pm_model_read(const struct pm_model *m, void *buf, uint64_t len, uint64_t off)
{
    if (!m->on)
        return PM_EOFF;
    if (!in_range(m, len, off))
        return PM_ERANGE;
    uint8_t *out = buf;
    while (len > 0) {
        uint64_t ci = off / CHUNK, in = off % CHUNK;
        uint64_t n = CHUNK - in < len ? CHUNK - in : len;
        const struct chunk *c = m->chunks[ci];
        memcpy(out, c ? c->v + in : m->p + off, n);
        out += n;
        off += n;
        len -= n;
    }
    return PM_OK;
}

/* --- writes ------------------------------------------------------------------ */

/* The new content of line li after writing [off, off+len) from data (NULL:
 * zeroes).  Returns a pointer either into data or into tmp. */
static inline const uint8_t *new_line(const struct pm_model *m, uint64_t li, const uint8_t *data,
                                      uint64_t len, uint64_t off, uint8_t *tmp)
{
    uint64_t lo = li << m->shift, hi = lo + m->line;
    uint64_t a = off > lo ? off : lo;
    uint64_t b = off + len < hi ? off + len : hi;
    if (a == lo && b == hi)
        return data ? data + (lo - off) : zeroes;
    memcpy(tmp, line_v(m, li), m->line);
    if (data)
        memcpy(tmp + (a - lo), data + (a - off), b - a);
    else
        memset(tmp + (a - lo), 0, b - a);
    return tmp;
}

static inline bool bit_at(const uint64_t *bits, uint64_t k)
{
    return bits[k / 64] >> (k % 64) & 1;
}

/* Line li's class; a device nobody classified never reads cls[]. */
static inline uint8_t class_of(const struct pm_model *m, uint64_t li)
{
    return m->any_class ? m->cls[li] : PM_UNKNOWN;
}

/* The last line of chunk ci (cs: line index -> chunk index shift), or last
 * if that comes first. */
static inline uint64_t chunk_last(uint64_t ci, uint32_t cs, uint64_t last)
{
    uint64_t end = ((ci + 1) << cs) - 1;
    return end < last ? end : last;
}

static void maybe_fire_after_write(struct pm_model *m, pm_commit_fn hook, void *ctx);

/* Stamps the lines in w (bitmaps of chunk c) with stamp; old is the dirty
 * bitmap before the write, now after it.  When every line dirty now was
 * stamped by this write the chunk keeps one stamp for all; otherwise the
 * per-line stamps are used, filled in first from the single stamp if the
 * chunk had one. */
static void stamp_lines(const struct pm_model *m, struct chunk *c, const uint64_t *old,
                        const uint64_t *now, const uint64_t *w, uint64_t stamp)
{
    bool all = true;
    for (uint32_t k = 0; k < m->words; k++)
        all &= now[k] == w[k];
    if (all) {
        c->ustamp = stamp;
        return;
    }
    uint64_t *st = chunk_stamps(m, c);
    if (c->ustamp) {
        for (uint32_t j = 0; j < m->lpc; j++)
            if (bit_at(old, j))
                st[j] = c->ustamp;
        c->ustamp = 0;
    }
    for (uint32_t j = 0; j < m->lpc; j++)
        if (bit_at(w, j))
            st[j] = stamp;
}

/* The two passes of a write over lines first..last (see do_write). */
static int write_passes(struct pm_model *m, const struct pm_effect *e0, uint64_t first,
                        uint64_t last, bool persist, uint64_t *nd_bits, struct chunk **fresh,
                        pm_commit_fn hook, void *ctx)
{
    struct pm_effect e = *e0;
    const uint8_t *data = e.data;
    const uint64_t off = e.off, len = e.len;
    uint8_t tmp[CHUNK];
    const uint32_t cs = CHUNK_SHIFT - m->shift; /* line index -> chunk index */
    const uint64_t lmask = m->lpc - 1;

    /* Pass 1: the effect, nothing changed; each line's new dirty bit goes
     * to nd_bits for pass 2, and each chunk that must come into being is
     * taken from the pool now, so that nothing can fail after the commit
     * (a write in the log is a write on the device). */
    const uint64_t fci = first >> cs;
    int r = PM_OK;
    for (uint64_t li = first; li <= last;) {
        uint64_t ci = li >> cs;
        uint64_t clast = chunk_last(ci, cs, last);
        const struct chunk *c = m->chunks[ci];
        /* The chunk's header is rarely in cache: it is fetched while the
         * lines are compared, and read only after. */
        if (c)
            __builtin_prefetch(c);
        uint64_t cfirst = li;
        for (; li <= clast; li++)
            if (line_differs(m, li, new_line(m, li, data, len, off, tmp)))
                nd_bits[(li - first) / 64] |= 1ULL << ((li - first) % 64);
        const uint64_t *bits = c ? chunk_bits(m, c) : NULL;
        bool need = false;
        for (uint64_t k = cfirst; k <= clast; k++) {
            bool nd = bit_at(nd_bits, k - first);
            bool od = bits && bit_at(bits, k & lmask);
            uint8_t cl = class_of(m, k);
            need |= nd;
            e.dirtied.c[cl] += nd && !od;
            e.cleaned.c[cl] += !nd && od;
            e.persisted.c[cl] += nd && persist;
        }
        if (!c && need && !persist && !(fresh[ci - fci] = pm_pool_get(m->pool))) {
            r = PM_ENOMEM;
            break;
        }
    }
    uint64_t order = 0;
    e.order = &order;
    if (r == PM_OK)
        r = commit(hook, ctx, &e);
    if (r) {
        for (uint64_t ci = fci; ci <= last >> cs; ci++)
            pm_pool_put(m->pool, fresh[ci - fci]);
        return r;
    }

    /* Pass 2: apply, chunk by chunk.  The stamp orders this write among all
     * others for the prefix policy: the hook's order if it gave one. */
    uint64_t stamp = order ? order : __atomic_add_fetch(&m->stamp, 1, __ATOMIC_RELAXED);
    int64_t delta[PM_NCLASS] = {0};
    for (uint64_t li = first; li <= last;) {
        uint64_t ci = li >> cs;
        uint64_t cfirst = li, clast = chunk_last(ci, cs, last);
        uint64_t cstart = ci * CHUNK, cend = cstart + chunk_len(m, ci);
        uint64_t a = off > cstart ? off : cstart, b = off + len < cend ? off + len : cend;
        struct chunk *c = m->chunks[ci];
        if (persist) {
            /* Before V changes: the partial end lines are built from it. */
            for (uint64_t k = cfirst; k <= clast; k++)
                if (bit_at(nd_bits, k - first))
                    p_store(m, k, new_line(m, k, data, len, off, tmp));
        } else if (!c && fresh[ci - fci]) {
            /* A write that covers the whole chunk overwrites all of V
             * there: no need to start from P. */
            c = chunk_take(m, ci, fresh[ci - fci], !(a == cstart && b == cend));
        }
        li = clast + 1;
        if (!c)
            continue;
        if (data)
            copy_into_chunk(c->v + (a - cstart), data + (a - off), b - a);
        else
            memset(c->v + (a - cstart), 0, b - a);
        /* The new bitmap, and the lines this write stamps (w). */
        uint64_t *bits = chunk_bits(m, c), nb[CHUNK / 8 / 64], w[CHUNK / 8 / 64] = {0};
        memcpy(nb, bits, (size_t)m->words * 8);
        for (uint64_t k = cfirst; k <= clast; k++) {
            bool nd = bit_at(nd_bits, k - first) && !persist;
            uint64_t j = k & lmask, bit = 1ULL << (j % 64);
            bool od = nb[j / 64] & bit;
            if (nd)
                w[j / 64] |= bit;
            if (nd == od)
                continue;
            nb[j / 64] ^= bit;
            c->ndirty += nd ? 1 : -1;
            delta[class_of(m, k)] += nd ? 1 : -1;
        }
        if (c->ndirty == 0) {
            chunk_drop(m, ci);
            continue;
        }
        stamp_lines(m, c, bits, nb, w, stamp);
        memcpy(bits, nb, (size_t)m->words * 8);
    }
    for (int k = 0; k < PM_NCLASS; k++)
        if (delta[k])
            __atomic_fetch_add(&m->dirty.c[k], (uint64_t)delta[k], __ATOMIC_RELAXED);
    return r;
}

/* A write (or zero/trim: data NULL) runs in two passes over the chunks it
 * touches.  Pass 1 compares each touched line's new bytes with P and counts
 * the effect; pass 2, after the commit, copies the write into the chunk's V
 * in one piece and updates the dirty bits.  Lines are independent, so the
 * partial lines at either end get the same bytes in both passes. */
static int do_write(struct pm_model *m, enum pm_op op, const uint8_t *data, uint64_t len,
                    uint64_t off, bool fua, pm_commit_fn hook, void *ctx)
{
    if (!m->on)
        return PM_EOFF;
    if (!in_range(m, len, off))
        return PM_ERANGE;

    struct pm_effect e = {.op = op, .off = off, .len = len, .fua = fua, .data = data};
    e.ignored = fua && m->lying;
    bool persist = fua && !m->lying;

    if (len == 0) {
        int r = commit(hook, ctx, &e);
        if (r)
            return r;
        goto done;
    }
    uint64_t first = off >> m->shift, last = (off + len - 1) >> m->shift;
    size_t words = (size_t)((last - first) / 64 + 1);
    /* Each touched line's new dirty bit, from pass 1 to pass 2; on the
     * stack for requests up to 64 chunks of 64-byte lines. */
    uint64_t local[64], *nd_bits = local;
    if (words > sizeof local / sizeof local[0] && !(nd_bits = malloc(words * 8)))
        return PM_ENOMEM;
    memset(nd_bits, 0, words * 8);
    /* The chunks pass 1 takes for pass 2, one slot per chunk touched. */
    size_t nch = (size_t)(((off + len - 1) >> CHUNK_SHIFT) - (off >> CHUNK_SHIFT) + 1);
    struct chunk *flocal[64], **fresh = flocal;
    if (nch > sizeof flocal / sizeof flocal[0] && !(fresh = malloc(nch * sizeof *fresh))) {
        if (nd_bits != local)
            free(nd_bits);
        return PM_ENOMEM;
    }
    memset(fresh, 0, nch * sizeof *fresh);
    int r = write_passes(m, &e, first, last, persist, nd_bits, fresh, hook, ctx);
    if (nd_bits != local)
        free(nd_bits);
    if (fresh != flocal)
        free(fresh);
    if (r)
        return r;
done:
    __atomic_fetch_add(&m->writes, 1, __ATOMIC_RELAXED);
    maybe_fire_after_write(m, hook, ctx);
    return PM_OK;
}

int pm_model_write(struct pm_model *m, const void *buf, uint64_t len, uint64_t off, bool fua,
                   pm_commit_fn hook, void *ctx)
{
    if (!buf && len)
        return PM_EINVAL;
    return do_write(m, PM_OP_WRITE, buf, len, off, fua, hook, ctx);
}

int pm_model_zero(struct pm_model *m, enum pm_op op, uint64_t len, uint64_t off, bool fua,
                  pm_commit_fn hook, void *ctx)
{
    if (op != PM_OP_ZERO && op != PM_OP_TRIM)
        return PM_EINVAL;
    return do_write(m, op, NULL, len, off, fua, hook, ctx);
}

/* --- flush ------------------------------------------------------------------- */

static void persist_all(struct pm_model *m)
{
    for (uint64_t ci = 0; ci < m->nchunks; ci++) {
        struct chunk *c = m->chunks[ci];
        if (!c)
            continue;
        const uint64_t *bits = chunk_bits(m, c);
        for (uint32_t j = 0; j < m->lpc; j++)
            if (bits[j / 64] >> (j % 64) & 1)
                p_store(m, (ci << (CHUNK_SHIFT - m->shift)) + j, c->v + (uint64_t)j * m->line);
        chunk_drop(m, ci);
    }
    memset(&m->dirty, 0, sizeof m->dirty);
}

static int cut_internal(struct pm_model *m, const struct pm_cut_params *cp, const char *trigger,
                        pm_commit_fn hook, void *ctx);

int pm_model_flush(struct pm_model *m, pm_commit_fn hook, void *ctx)
{
    if (!m->on)
        return PM_EOFF;
    if (m->trig.kind == PM_TRIG_BEFORE_FLUSH && m->trig.seen + 1 == m->trig.n) {
        char t[64];
        snprintf(t, sizeof t, "before-flush=%llu", (unsigned long long)m->trig.n);
        struct pm_cut_params cp = m->trig.cut;
        int r = cut_internal(m, &cp, t, hook, ctx);
        if (r)
            return r; /* not cut, flush not done: nothing changed */
        return PM_EOFF;
    }
    struct pm_effect e = {.op = PM_OP_FLUSH, .ignored = m->lying};
    if (!m->lying)
        e.persisted = m->dirty;
    int r = commit(hook, ctx, &e);
    if (r)
        return r;
    if (m->trig.kind == PM_TRIG_BEFORE_FLUSH)
        m->trig.seen++;
    if (!m->lying)
        persist_all(m);
    m->flushes++;
    return PM_OK;
}

/* --- cut --------------------------------------------------------------------- */

enum fate { F_LOST, F_KEPT, F_TORN };

struct dline {
    uint64_t li, stamp;
};

static int by_stamp(const void *a, const void *b)
{
    const struct dline *x = a, *y = b;
    if (x->stamp != y->stamp)
        return x->stamp < y->stamp ? -1 : 1;
    return x->li < y->li ? -1 : x->li > y->li;
}

static int rl_add(struct pm_rangelist *l, uint64_t off, uint64_t len)
{
    if (l->n && l->r[l->n - 1].off + l->r[l->n - 1].len == off) {
        l->r[l->n - 1].len += len;
        return 0;
    }
    if (pm_vec_reserve_((void **)&l->r, &l->cap, l->n + 1, sizeof *l->r) < 0)
        return -1;
    l->r[l->n++] = (struct pm_range){off, len};
    return 0;
}

/* Torn: each 8-byte unit of the line kept with probability 1/2.  Draws one
 * 64-bit word per 64 units, in unit order.  Writes the keep mask into mask
 * (line/8 bits) and returns the number of units kept. */
static uint32_t torn_mask(uint64_t *rng, uint32_t units, uint64_t *mask)
{
    uint32_t kept = 0;
    for (uint32_t w = 0; w < (units + 63) / 64; w++) {
        uint64_t bits = pm_rng_next(rng);
        uint32_t in = units - w * 64 < 64 ? units - w * 64 : 64;
        if (in < 64)
            bits &= (1ULL << in) - 1;
        mask[w] = bits;
        kept += (uint32_t)__builtin_popcountll(bits);
    }
    return kept;
}

static int cut_internal(struct pm_model *m, const struct pm_cut_params *cp, const char *trigger,
                        pm_commit_fn hook, void *ctx)
{
    if (cp->policy == PM_RANDOM && !(cp->p >= 0.0 && cp->p <= 1.0))
        return PM_EINVAL;

    /* The dirty lines in offset order. */
    uint64_t n = pm_counts_total(&m->dirty), k = 0;
    struct dline *dl = malloc((n ? n : 1) * sizeof *dl);
    uint8_t *fate = malloc(n ? n : 1);
    if (!dl || !fate) {
        free(dl);
        free(fate);
        return PM_ENOMEM;
    }
    for (uint64_t ci = 0; ci < m->nchunks && k < n; ci++) {
        const struct chunk *c = m->chunks[ci];
        if (!c)
            continue;
        const uint64_t *bits = chunk_bits(m, c);
        for (uint32_t j = 0; j < m->lpc; j++)
            if (bits[j / 64] >> (j % 64) & 1)
                dl[k++] = (struct dline){ci * m->lpc + j, stamp_of(m, c, j)};
    }

    /* Fates.  The generator is consumed in a fixed order (offset order;
     * prefix: one draw), so the same seed gives the same fates. */
    uint64_t rng = cp->seed;
    uint32_t units = m->line / 8;
    uint64_t mask[CHUNK / 8 / 64];
    switch (cp->policy) {
    case PM_LOSE_ALL:
        memset(fate, F_LOST, n);
        break;
    case PM_KEEP_ALL:
        memset(fate, F_KEPT, n);
        break;
    case PM_RANDOM:
        for (uint64_t i = 0; i < n; i++)
            fate[i] = pm_rng_keep(&rng, cp->p) ? F_KEPT : F_LOST;
        break;
    case PM_TORN:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t kept = torn_mask(&rng, units, mask);
            fate[i] = kept == units ? F_KEPT : kept == 0 ? F_LOST : F_TORN;
        }
        break;
    case PM_PREFIX: {
        uint64_t upto = n ? pm_rng_next(&rng) % (n + 1) : 0;
        struct dline *order = malloc((n ? n : 1) * sizeof *order);
        if (!order) {
            free(dl);
            free(fate);
            return PM_ENOMEM;
        }
        memcpy(order, dl, n * sizeof *order);
        qsort(order, n, sizeof *order, by_stamp);
        /* The first `upto` in write order are kept; mark them by stamp
         * rank, then map back to offset order (dl is sorted by li). */
        memset(fate, F_LOST, n);
        for (uint64_t i = 0; i < upto; i++) {
            /* binary search order[i].li in dl */
            uint64_t lo = 0, hi = n;
            while (lo < hi) {
                uint64_t mid = (lo + hi) / 2;
                if (dl[mid].li < order[i].li)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            fate[lo] = F_KEPT;
        }
        free(order);
        break;
    }
    }

    struct pm_cut_result res = {.params = *cp};
    snprintf(m->last_trigger, sizeof m->last_trigger, "%s", trigger ? trigger : "manual");
    res.trigger = m->last_trigger;
    int err = 0;
    for (uint64_t i = 0; i < n && !err; i++) {
        uint64_t off = dl[i].li * m->line;
        uint8_t c = m->cls[dl[i].li];
        switch (fate[i]) {
        case F_LOST:
            res.lost.c[c]++;
            err = rl_add(&res.lost_r, off, m->line);
            break;
        case F_KEPT:
            res.kept.c[c]++;
            err = rl_add(&res.kept_r, off, m->line);
            break;
        default:
            res.torn.c[c]++;
            err = rl_add(&res.torn_r, off, m->line);
            break;
        }
    }
    struct pm_effect e = {.op = PM_OP_CUT, .cut = &res};
    int r = err ? PM_ENOMEM : commit(hook, ctx, &e);
    if (r) {
        free(dl);
        free(fate);
        cut_result_clear(&res);
        return r;
    }

    /* Apply: kept lines and kept units of torn lines reach P. */
    rng = cp->seed;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off = dl[i].li * m->line;
        const uint8_t *v = line_v(m, dl[i].li);
        if (cp->policy == PM_TORN) {
            torn_mask(&rng, units, mask);
            for (uint32_t u = 0; u < units; u++)
                if (mask[u / 64] >> (u % 64) & 1)
                    memcpy(m->p + off + u * 8, v + u * 8, 8);
            if (m->print)
                m->print[dl[i].li] = line_print(m->p + off, m->line);
        } else if (fate[i] == F_KEPT) {
            p_store(m, dl[i].li, v);
        }
    }
    for (uint64_t ci = 0; ci < m->nchunks; ci++)
        if (m->chunks[ci])
            chunk_drop(m, ci);
    memset(&m->dirty, 0, sizeof m->dirty);
    free(dl);
    free(fate);

    m->on = false;
    m->cuts++;
    free(m->trig.mark);
    memset(&m->trig, 0, sizeof m->trig);
    cut_result_clear(&m->last_cut);
    m->last_cut = res;
    m->have_cut = true;
    return PM_OK;
}

int pm_model_cut(struct pm_model *m, const struct pm_cut_params *cp, const char *trigger,
                 pm_commit_fn hook, void *ctx)
{
    if (!m->on)
        return PM_ESTATE;
    return cut_internal(m, cp, trigger ? trigger : "manual", hook, ctx);
}

static void maybe_fire_after_write(struct pm_model *m, pm_commit_fn hook, void *ctx)
{
    if (m->trig.kind != PM_TRIG_AFTER_WRITES)
        return;
    m->trig.seen++;
    if (m->trig.seen < m->trig.n)
        return;
    char t[64];
    snprintf(t, sizeof t, "after-writes=%llu", (unsigned long long)m->trig.n);
    struct pm_cut_params cp = m->trig.cut;
    /* If the cut cannot be committed, stay on and fire at the next write. */
    if (cut_internal(m, &cp, t, hook, ctx) != PM_OK)
        m->trig.seen--;
}

const struct pm_cut_result *pm_model_last_cut(const struct pm_model *m)
{
    return m->have_cut ? &m->last_cut : NULL;
}

int pm_model_power_on(struct pm_model *m, pm_commit_fn hook, void *ctx)
{
    if (m->on)
        return PM_ESTATE;
    struct pm_effect e = {.op = PM_OP_POWER_ON};
    int r = commit(hook, ctx, &e);
    if (r)
        return r;
    m->on = true;
    return PM_OK;
}

bool pm_model_is_on(const struct pm_model *m)
{
    return m->on;
}

/* --- triggers and marks --------------------------------------------------- */

int pm_model_arm(struct pm_model *m, const struct pm_trigger *t, pm_commit_fn hook, void *ctx)
{
    if (t->kind == PM_TRIG_NONE)
        return PM_EINVAL;
    if ((t->kind == PM_TRIG_AFTER_WRITES || t->kind == PM_TRIG_BEFORE_FLUSH) && t->n == 0)
        return PM_EINVAL;
    if (t->kind == PM_TRIG_AT_MARK && (!t->mark || !*t->mark))
        return PM_EINVAL;
    if (t->cut.policy == PM_RANDOM && !(t->cut.p >= 0.0 && t->cut.p <= 1.0))
        return PM_EINVAL;
    char *mark = NULL;
    if (t->kind == PM_TRIG_AT_MARK && !(mark = strdup(t->mark)))
        return PM_ENOMEM;
    struct pm_effect e = {.op = PM_OP_ARM, .trigger = t};
    int r = commit(hook, ctx, &e);
    if (r) {
        free(mark);
        return r;
    }
    free(m->trig.mark);
    m->trig = *t;
    m->trig.mark = mark;
    m->trig.seen = 0;
    return PM_OK;
}

int pm_model_disarm(struct pm_model *m, pm_commit_fn hook, void *ctx)
{
    struct pm_effect e = {.op = PM_OP_DISARM};
    int r = commit(hook, ctx, &e);
    if (r)
        return r;
    free(m->trig.mark);
    memset(&m->trig, 0, sizeof m->trig);
    return PM_OK;
}

const struct pm_trigger *pm_model_armed(const struct pm_model *m)
{
    return m->trig.kind == PM_TRIG_NONE ? NULL : &m->trig;
}

int pm_model_mark(struct pm_model *m, const char *text, pm_commit_fn hook, void *ctx)
{
    struct pm_effect e = {.op = PM_OP_MARK, .text = text};
    int r = commit(hook, ctx, &e);
    if (r)
        return r;
    if (m->on && m->trig.kind == PM_TRIG_AT_MARK && strcmp(m->trig.mark, text) == 0) {
        char t[sizeof "at-mark=" + PM_MARK_MAX];
        snprintf(t, sizeof t, "at-mark=%s", text);
        struct pm_cut_params cp = m->trig.cut;
        cut_internal(m, &cp, t, hook, ctx);
    }
    return PM_OK;
}

/* --- labels and faults -------------------------------------------------------- */

int pm_model_classify(struct pm_model *m, enum pm_class cls, uint64_t off, uint64_t len,
                      pm_commit_fn hook, void *ctx)
{
    if ((unsigned)cls >= PM_NCLASS)
        return PM_EINVAL;
    if (!in_range(m, len, off) || len == 0)
        return PM_ERANGE;
    uint64_t first = off / m->line, last = (off + len - 1) / m->line;
    struct pm_effect e = {.op = PM_OP_CLASSIFY, .off = off, .len = len, .cls = cls};
    e.lines = last - first + 1;
    int r = commit(hook, ctx, &e);
    if (r)
        return r;
    for (uint64_t li = first; li <= last; li++) {
        if (m->cls[li] == cls)
            continue;
        if (pm_model_line_dirty(m, li)) {
            m->dirty.c[m->cls[li]]--;
            m->dirty.c[cls]++;
        }
        m->cls[li] = (uint8_t)cls;
    }
    m->any_class |= cls != PM_UNKNOWN;
    return PM_OK;
}

int pm_model_set_lying(struct pm_model *m, bool lying, pm_commit_fn hook, void *ctx)
{
    struct pm_effect e = {.op = PM_OP_FAULT, .text = lying ? "ignore" : "honor"};
    int r = commit(hook, ctx, &e);
    if (r)
        return r;
    m->lying = lying;
    return PM_OK;
}

bool pm_model_is_lying(const struct pm_model *m)
{
    return m->lying;
}

/* --- introspection ------------------------------------------------------------ */

void pm_model_stats(const struct pm_model *m, struct pm_stats *st)
{
    *st = (struct pm_stats){
        .size = m->size,
        .line = m->line,
        .nlines = m->nlines,
        .dirty = m->dirty,
        .writes = m->writes,
        .flushes = m->flushes,
        .cuts = m->cuts,
        .chunks = m->nalloc,
        .blocks = pm_pool_live(m->pool),
    };
}

size_t pm_model_dirty_ranges(const struct pm_model *m, size_t max, pm_range_fn fn, void *ctx)
{
    size_t count = 0;
    uint64_t start = 0, len = 0;
    enum pm_class cls = PM_UNKNOWN;
    for (uint64_t ci = 0; ci < m->nchunks; ci++) {
        if (!m->chunks[ci])
            continue;
        for (uint64_t li = ci * m->lpc; li < (ci + 1) * m->lpc && li < m->nlines; li++) {
            if (!pm_model_line_dirty(m, li))
                continue;
            uint64_t off = li * m->line;
            if (len && start + len == off && m->cls[li] == cls) {
                len += m->line;
                continue;
            }
            if (len) {
                if (max && count == max)
                    return count;
                fn(ctx, start, len, cls);
                count++;
            }
            start = off;
            len = m->line;
            cls = (enum pm_class)m->cls[li];
        }
    }
    if (len && (!max || count < max)) {
        fn(ctx, start, len, cls);
        count++;
    }
    return count;
}

/* --- names -------------------------------------------------------------------- */

static const char *const policy_names[] = {"lose-all", "keep-all", "random", "torn", "prefix"};
static const char *const class_names[] = {"unknown", "meta", "data"};

const char *pm_policy_name(enum pm_policy p)
{
    return (unsigned)p < 5 ? policy_names[p] : "?";
}

int pm_policy_parse(const char *s, enum pm_policy *out)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, policy_names[i]) == 0) {
            *out = (enum pm_policy)i;
            return 0;
        }
    return -1;
}

const char *pm_class_name(enum pm_class c)
{
    return (unsigned)c < PM_NCLASS ? class_names[c] : "?";
}

int pm_class_parse(const char *s, enum pm_class *out)
{
    for (int i = 0; i < PM_NCLASS; i++)
        if (strcmp(s, class_names[i]) == 0) {
            *out = (enum pm_class)i;
            return 0;
        }
    return -1;
}

uint64_t pm_counts_total(const struct pm_counts *c)
{
    uint64_t t = 0;
    for (int i = 0; i < PM_NCLASS; i++)
        t += c->c[i];
    return t;
}
