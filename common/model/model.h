/* pmemcut — the persistence model of the emulated device.
 *
 * A pure module: no nbdkit, no I/O, no locking.  The caller owns the
 * persisted image P (a memory region, in the plugin an mmap of the image
 * file) and serialises calls, with one exception: reads, writes, zeroes and
 * trims may run concurrently with each other when
 *   - calls that overlap in time touch disjoint chunks (the PM_CHUNK-byte
 *     aligned blocks of the device: off >> PM_CHUNK_SHIFT),
 *   - no after-writes trigger is armed (its count must see the writes one
 *     by one), and
 *   - every other call is serialised against them (in the plugin: they hold
 *     a rwlock shared, everything else holds it exclusive).
 * The counters they share are updated atomically.
 *
 * Every operation that changes state takes an optional commit hook.  The
 * model first computes the whole effect of the operation (which lines get
 * dirty, which are persisted, the fates of a cut), then calls the hook with
 * it, and only if the hook returns 0 does it change anything.  The plugin's
 * hook writes the audit record: a record that cannot be written means the
 * request fails and the model is exactly as before.
 *
 * Return values: 0 on success, or a negative code from enum pm_err.
 */
#ifndef PMEMCUT_MODEL_H
#define PMEMCUT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pm_err {
    PM_OK = 0,
    PM_EOFF = -1,    /* device is powered off: the request is rejected */
    PM_ERANGE = -2,  /* offset/length outside the device */
    PM_EINVAL = -3,  /* bad argument */
    PM_ECOMMIT = -4, /* the commit hook refused: nothing changed */
    PM_ENOMEM = -5,
    PM_ESTATE = -6, /* not allowed in this state (power-on while on ...) */
};

/* Line classes.  Every line has one; counts are kept per class. */
enum pm_class { PM_UNKNOWN = 0, PM_META = 1, PM_DATA = 2 };
#define PM_NCLASS 3

struct pm_counts {
    uint64_t c[PM_NCLASS]; /* indexed by enum pm_class */
};

/* Seeds stay below 2^53 so that every JSON reader (jq, JavaScript, jansson)
 * keeps them exact. */
#define PM_SEED_MAX ((1ULL << 53) - 1)

enum pm_policy { PM_LOSE_ALL, PM_KEEP_ALL, PM_RANDOM, PM_TORN, PM_PREFIX };

/* Parameters of a cut: the policy, its probability (random only) and seed. */
struct pm_cut_params {
    enum pm_policy policy;
    double p;      /* random: probability that a dirty line is kept */
    uint64_t seed; /* fates are a pure function of (dirty lines, seed) */
};

/* The longest mark text (and at-mark= text), in bytes.  The plugin refuses
 * longer ones; the model's trigger texts ("at-mark=TEXT") are sized for it,
 * so a cut record names its mark whole. */
#define PM_MARK_MAX 1024

enum pm_trigger_kind { PM_TRIG_NONE, PM_TRIG_AFTER_WRITES, PM_TRIG_BEFORE_FLUSH, PM_TRIG_AT_MARK };

struct pm_trigger {
    enum pm_trigger_kind kind;
    uint64_t n;    /* after-writes / before-flush: fires at the n-th from arming */
    char *mark;    /* at-mark: the exact text (owned by the model once armed) */
    uint64_t seen; /* writes or flushes counted since arming */
    struct pm_cut_params cut;
};

/* A byte range of lines (coalesced) with one fate; class per range is not
 * kept here (ranges may span classes); counts carry the class split. */
struct pm_range {
    uint64_t off, len;
};

struct pm_rangelist {
    struct pm_range *r;
    size_t n, cap;
};

/* The fates of one cut. */
struct pm_cut_result {
    struct pm_cut_params params;
    const char *trigger; /* "manual", "after-writes=3", "restart" ... */
    struct pm_counts lost, kept, torn;
    struct pm_rangelist lost_r, kept_r, torn_r;
};

enum pm_op {
    PM_OP_WRITE,
    PM_OP_ZERO,
    PM_OP_TRIM,
    PM_OP_FLUSH,
    PM_OP_CUT,
    PM_OP_POWER_ON,
    PM_OP_MARK,
    PM_OP_CLASSIFY,
    PM_OP_FAULT,
    PM_OP_ARM,
    PM_OP_DISARM,
};

/* What an operation is about to do, handed to the commit hook. */
struct pm_effect {
    enum pm_op op;
    uint64_t off, len;
    bool fua;
    bool ignored;     /* flush/FUA acknowledged but not honoured (lying device) */
    const void *data; /* write payload (PM_OP_WRITE only) */
    struct pm_counts dirtied, cleaned, persisted;
    const struct pm_cut_result *cut;  /* PM_OP_CUT */
    const char *text;                 /* mark text; fault setting */
    enum pm_class cls;                /* classify */
    uint64_t lines;                   /* classify: lines relabelled */
    const struct pm_trigger *trigger; /* arm */
    /* Out, writes only: the hook may store a number that places this write
     * among all operations (the plugin stores its audit seq; any increasing
     * numbering will do).  Dirty lines keep it as the stamp that orders
     * them for the prefix policy.  Left 0, the model counts writes itself;
     * a model must get numbers from its hook for every write or for none. */
    uint64_t *order;
};

typedef int (*pm_commit_fn)(void *ctx, const struct pm_effect *e);

struct pm_model;

/* The unit of the overlay, and of concurrency (see the top of this file). */
#define PM_CHUNK_SHIFT 12
#define PM_CHUNK       (1u << PM_CHUNK_SHIFT)

/* P must stay valid for the model's lifetime; it is the persisted image and
 * is written only when lines are persisted.  line: power of two, 8..4096,
 * and size a multiple of it. */
struct pm_model *pm_model_new(uint8_t *persisted, uint64_t size, uint32_t line);
void pm_model_free(struct pm_model *m);

/* Requests from the block device. */
int pm_model_read(const struct pm_model *m, void *buf, uint64_t len, uint64_t off);
int pm_model_write(struct pm_model *m, const void *buf, uint64_t len, uint64_t off, bool fua,
                   pm_commit_fn hook, void *ctx);
/* op is PM_OP_ZERO or PM_OP_TRIM: both write zeroes (volatile). */
int pm_model_zero(struct pm_model *m, enum pm_op op, uint64_t len, uint64_t off, bool fua,
                  pm_commit_fn hook, void *ctx);
int pm_model_flush(struct pm_model *m, pm_commit_fn hook, void *ctx);

/* Power. */
int pm_model_cut(struct pm_model *m, const struct pm_cut_params *cp, const char *trigger,
                 pm_commit_fn hook, void *ctx);
int pm_model_power_on(struct pm_model *m, pm_commit_fn hook, void *ctx);
bool pm_model_is_on(const struct pm_model *m);

/* Triggers.  At most one is armed; arming replaces the previous one.  The
 * model copies t (and t->mark). */
int pm_model_arm(struct pm_model *m, const struct pm_trigger *t, pm_commit_fn hook, void *ctx);
int pm_model_disarm(struct pm_model *m, pm_commit_fn hook, void *ctx);
const struct pm_trigger *pm_model_armed(const struct pm_model *m); /* NULL if none */
/* A mark: logged, and fires an at-mark trigger with the same text. */
int pm_model_mark(struct pm_model *m, const char *text, pm_commit_fn hook, void *ctx);

/* After an operation returned, whether it made a trigger fire (and so cut):
 * the cut's result, valid until the next cut.  NULL if no cut yet. */
const struct pm_cut_result *pm_model_last_cut(const struct pm_model *m);

/* Labels and faults. */
int pm_model_classify(struct pm_model *m, enum pm_class cls, uint64_t off, uint64_t len,
                      pm_commit_fn hook, void *ctx);
int pm_model_set_lying(struct pm_model *m, bool lying, pm_commit_fn hook, void *ctx);
bool pm_model_is_lying(const struct pm_model *m);

/* Introspection. */
struct pm_stats {
    uint64_t size;
    uint32_t line;
    uint64_t nlines;
    struct pm_counts dirty; /* dirty lines by class */
    uint64_t writes, flushes, cuts;
    uint64_t chunks; /* allocated 4 KiB overlay chunks */
    uint64_t blocks; /* chunk-sized blocks taken from the pool: equals chunks
                      * between requests, or some were lost */
};
void pm_model_stats(const struct pm_model *m, struct pm_stats *st);
bool pm_model_line_dirty(const struct pm_model *m, uint64_t line_index);
enum pm_class pm_model_line_class(const struct pm_model *m, uint64_t line_index);

/* Dirty ranges: consecutive dirty lines of one class, in offset order.
 * Calls fn for each, at most max ranges (0: no limit).  Returns the number
 * of ranges reported. */
typedef void (*pm_range_fn)(void *ctx, uint64_t off, uint64_t len, enum pm_class cls);
size_t pm_model_dirty_ranges(const struct pm_model *m, size_t max, pm_range_fn fn, void *ctx);

/* Names.  (The names of the operations are the audit log's: audit/schema.h.) */
const char *pm_policy_name(enum pm_policy p);
int pm_policy_parse(const char *s, enum pm_policy *out); /* 0 or -1 */
const char *pm_class_name(enum pm_class c);
int pm_class_parse(const char *s, enum pm_class *out);
uint64_t pm_counts_total(const struct pm_counts *c);

/* The generator behind every random fate (splitmix64): exposed so that tests
 * and replay tools can reason about it. */
static inline uint64_t pm_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fate of one dirty line under random: kept when the draw is below p. */
static inline bool pm_rng_keep(uint64_t *state, double p)
{
    return (double)(pm_rng_next(state) >> 11) * 0x1.0p-53 < p;
}

#endif
