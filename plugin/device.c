/* pmemcut — the device: model + image file + audit log. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/format.h"
#include "device.h"

/* Stripes: a chunk's stripe is its index modulo NSTRIPES (see device.h). */
#define NSTRIPES 256

static struct {
    struct pm_config cfg;
    int fd;
    uint8_t *map;
    uint64_t size;
    struct pm_model *m;
    struct pm_audit audit;
    pthread_rwlock_t lock; /* guards m (see device.h) */
    pthread_mutex_t stripes[NSTRIPES];

    pthread_mutex_t power_mu; /* guards off, cut_gen, cut_record, stopping */
    pthread_cond_t power_cv;
    bool off;
    bool stopping;
    uint64_t cut_gen;
    char *cut_record; /* the last cut's audit record, for wait-off */
} d = {
    .fd = -1,
    /* A waiting exclusive locker (a flush) goes before new shared ones, so a
     * steady stream of writes cannot hold a flush off. */
    .lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP,
    .stripes = {[0 ... NSTRIPES - 1] = PTHREAD_MUTEX_INITIALIZER},
    .power_mu = PTHREAD_MUTEX_INITIALIZER,
    .power_cv = PTHREAD_COND_INITIALIZER,
};

/* --- audit records ---------------------------------------------------------- */

/* What the commit hook needs from its caller, and what it hands back. */
struct hook_ctx {
    uint64_t seq;    /* seq of the last record written by this request */
    int err;         /* errno of a failed record */
    char *cut_reply; /* a cut's record, for the control reply */
};

static int hook_record(struct hook_ctx *ctx, const struct pm_effect *e, struct jbuf *b)
{
    pm_audit_format_effect(b, e);
    bool sync = pm_audit_syncs(pm_audit_kind_of_op(e->op), e->fua);
    if (!jb_ok(b)) {
        ctx->err = ENOMEM;
        return -1;
    }
    int r = e->op == PM_OP_WRITE
                ? pm_audit_append_write(&d.audit, b->s, e->data, e->off, e->len, sync, &ctx->seq)
                : pm_audit_append(&d.audit, b->s, sync, &ctx->seq);
    if (r == -1) {
        ctx->err = errno;
        return -1;
    }
    if (e->order)
        *e->order = ctx->seq;
    if (e->op == PM_OP_CUT) {
        struct jbuf rec;
        jb_init(&rec);
        jb_printf(&rec, "{\"seq\":%llu,%s}", (unsigned long long)ctx->seq, b->s);
        char *s = jb_take(&rec);
        /* The model applies a committed cut unconditionally: publish it. */
        pthread_mutex_lock(&d.power_mu);
        free(d.cut_record);
        d.cut_record = s ? strdup(s) : NULL;
        d.off = true;
        d.cut_gen++;
        pthread_cond_broadcast(&d.power_cv);
        pthread_mutex_unlock(&d.power_mu);
        free(ctx->cut_reply);
        ctx->cut_reply = s;
    } else if (e->op == PM_OP_POWER_ON) {
        pthread_mutex_lock(&d.power_mu);
        d.off = false;
        pthread_mutex_unlock(&d.power_mu);
    }
    return 0;
}

/* Writes the audit record of e.  Writes may run it concurrently (see
 * device.h), so the record is built in a buffer of its own. */
static int hook(void *vctx, const struct pm_effect *e)
{
    struct hook_ctx *ctx = vctx;
    struct jbuf b;
    jb_init(&b);
    int r = hook_record(ctx, e, &b);
    jb_free(&b);
    return r;
}

static void log_rejected(const char *op, uint64_t off, uint64_t len)
{
    struct pm_audit_rec rec = {.ev = PM_AUDIT_REJECTED, .op = op, .off = off, .len = len};
    struct jbuf b;
    jb_init(&b);
    pm_audit_format(&b, &rec);
    if (jb_ok(&b))
        pm_audit_append(&d.audit, b.s, pm_audit_syncs(rec.ev, false), NULL);
    jb_free(&b);
}

/* --- life -------------------------------------------------------------------- */

int pm_dev_open(const struct pm_config *cfg, char *err, size_t errlen)
{
    d.cfg = *cfg;
    bool created = false;
    d.fd = open(cfg->file, O_RDWR | O_CLOEXEC);
    if (d.fd == -1 && errno == ENOENT) {
        if (cfg->size == 0) {
            snprintf(err, errlen, "file=%s does not exist and size= is not given", cfg->file);
            return -1;
        }
        d.fd = open(cfg->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (d.fd != -1 && ftruncate(d.fd, (off_t)cfg->size) == -1) {
            snprintf(err, errlen, "file=%s: cannot set size: %s", cfg->file, strerror(errno));
            unlink(cfg->file);
            return -1;
        }
        created = true;
    }
    if (d.fd == -1) {
        snprintf(err, errlen, "file=%s: %s", cfg->file, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(d.fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "file=%s: not a regular file", cfg->file);
        return -1;
    }
    d.size = (uint64_t)st.st_size;
    if (cfg->size && cfg->size != d.size) {
        snprintf(err, errlen, "size=%llu disagrees with file=%s, which has %llu bytes",
                 (unsigned long long)cfg->size, cfg->file, (unsigned long long)d.size);
        return -1;
    }
    if (d.size == 0 || d.size % cfg->line) {
        snprintf(err, errlen, "file=%s: size %llu is not a positive multiple of line=%u", cfg->file,
                 (unsigned long long)d.size, cfg->line);
        return -1;
    }
    d.map = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, d.fd, 0);
    if (d.map == MAP_FAILED) {
        d.map = NULL;
        snprintf(err, errlen, "file=%s: mmap: %s", cfg->file, strerror(errno));
        return -1;
    }
    d.m = pm_model_new(d.map, d.size, cfg->line);
    if (!d.m) {
        snprintf(err, errlen, "file=%s: out of memory for the line state", cfg->file);
        return -1;
    }
    if (pm_audit_open(&d.audit, cfg->audit, cfg->dlog, err, errlen) == -1)
        return -1;

    /* A restart is a power cut with lose-all: whatever the previous process
     * held only in V is gone, and the image is P. */
    struct pm_audit_rec rec = {
        .ev = PM_AUDIT_OPEN,
        .file = cfg->file,
        .size = d.size,
        .line = cfg->line,
        .created = created,
        .implied_cut = !created,
        .cut = cfg->cut,
        .data_log = cfg->dlog,
    };
    struct jbuf b;
    jb_init(&b);
    pm_audit_format(&b, &rec);
    int r = jb_ok(&b) ? pm_audit_append(&d.audit, b.s, pm_audit_syncs(rec.ev, false), NULL) : -1;
    jb_free(&b);
    if (r == -1) {
        snprintf(err, errlen, "audit=%s: cannot write: %s", cfg->audit, strerror(errno));
        return -1;
    }
    return 0;
}

void pm_dev_close(void)
{
    if (d.m) {
        struct pm_stats st;
        pm_model_stats(d.m, &st);
        /* Unpersisted lines die with the process. */
        struct pm_audit_rec rec = {
            .ev = PM_AUDIT_CLOSE, .power_on = pm_model_is_on(d.m), .lost = st.dirty};
        struct jbuf b;
        jb_init(&b);
        pm_audit_format(&b, &rec);
        if (jb_ok(&b))
            pm_audit_append(&d.audit, b.s, pm_audit_syncs(rec.ev, false), NULL);
        jb_free(&b);
        pm_model_free(d.m);
        d.m = NULL;
    }
    if (d.map) {
        msync(d.map, d.size, MS_SYNC);
        munmap(d.map, d.size);
        d.map = NULL;
    }
    if (d.fd >= 0)
        close(d.fd);
    d.fd = -1;
    pm_audit_close(&d.audit);
    free(d.cut_record);
    d.cut_record = NULL;
}

uint64_t pm_dev_size(void)
{
    return d.size;
}

/* The caller holds the lock. */
static void default_cut_locked(struct pm_cut_params *cp)
{
    struct pm_stats st;
    pm_model_stats(d.m, &st);
    *cp = d.cfg.cut;
    /* Each cut without an explicit seed gets its own, derived from seed=
     * and the cut's number, and logged. */
    uint64_t s = d.cfg.cut.seed + st.cuts + 1;
    cp->seed = pm_rng_next(&s) & PM_SEED_MAX;
}

void pm_dev_default_cut(struct pm_cut_params *cp)
{
    pthread_rwlock_wrlock(&d.lock);
    default_cut_locked(cp);
    pthread_rwlock_unlock(&d.lock);
}

/* --- block requests ---------------------------------------------------------- */

static int io_error(int r, const struct hook_ctx *ctx, const char **why)
{
    switch (r) {
    case PM_EOFF:
        *why = "device is powered off";
        return EIO;
    case PM_ECOMMIT:
        *why = "audit log cannot be written";
        return ctx->err == ENOMEM ? ENOMEM : EIO;
    case PM_ERANGE:
        *why = "request beyond the end of the device";
        return EINVAL;
    case PM_ENOMEM:
        *why = "out of memory";
        return ENOMEM;
    default:
        *why = "internal error";
        return EIO;
    }
}

/* The stripes a request needs: one bit per stripe. */
struct span {
    uint64_t bits[NSTRIPES / 64];
    bool shared; /* taken with the rwlock shared; else exclusive, no stripes */
};

static void span_lock(struct span *s, uint64_t off, uint64_t len)
{
    memset(s->bits, 0, sizeof s->bits);
    s->shared = true;
    if (len == 0)
        return;
    uint64_t first = off >> PM_CHUNK_SHIFT, last = (off + len - 1) >> PM_CHUNK_SHIFT;
    if (last - first >= NSTRIPES || last < first) /* many chunks, or a wrap: all */
        memset(s->bits, 0xff, sizeof s->bits);
    else
        for (uint64_t ci = first; ci <= last; ci++)
            s->bits[ci % NSTRIPES / 64] |= 1ULL << (ci % 64);
    /* In ascending order, so that two requests never wait for each other. */
    for (unsigned w = 0; w < NSTRIPES / 64; w++)
        for (uint64_t b = s->bits[w]; b; b &= b - 1)
            pthread_mutex_lock(&d.stripes[w * 64 + (unsigned)__builtin_ctzll(b)]);
}

static void span_unlock(const struct span *s)
{
    if (!s->shared)
        return;
    for (unsigned w = 0; w < NSTRIPES / 64; w++)
        for (uint64_t b = s->bits[w]; b; b &= b - 1)
            pthread_mutex_unlock(&d.stripes[w * 64 + (unsigned)__builtin_ctzll(b)]);
}

/* Locks for a write, zero or trim: shared with stripes, unless an
 * after-writes trigger is armed, which must count writes one at a time. */
static void lock_for_write(struct span *s, uint64_t off, uint64_t len)
{
    pthread_rwlock_rdlock(&d.lock);
    const struct pm_trigger *t = pm_model_armed(d.m);
    if (!t || t->kind != PM_TRIG_AFTER_WRITES) {
        span_lock(s, off, len);
        return;
    }
    pthread_rwlock_unlock(&d.lock);
    pthread_rwlock_wrlock(&d.lock);
    s->shared = false;
}

int pm_dev_read(void *buf, uint32_t count, uint64_t off, const char **why)
{
    struct span s;
    pthread_rwlock_rdlock(&d.lock);
    span_lock(&s, off, count);
    int r = pm_model_read(d.m, buf, count, off);
    span_unlock(&s);
    if (r == PM_EOFF)
        log_rejected("read", off, count);
    pthread_rwlock_unlock(&d.lock);
    struct hook_ctx ctx = {0};
    return r ? io_error(r, &ctx, why) : 0;
}

static int finish(int r, struct hook_ctx *ctx, const struct span *s, const char *op, uint64_t off,
                  uint64_t len, const char **why)
{
    if (s)
        span_unlock(s);
    if (r == PM_EOFF)
        log_rejected(op, off, len);
    pthread_rwlock_unlock(&d.lock);
    free(ctx->cut_reply);
    return r ? io_error(r, ctx, why) : 0;
}

int pm_dev_write(const void *buf, uint32_t count, uint64_t off, bool fua, const char **why)
{
    struct hook_ctx ctx = {0};
    struct span s;
    lock_for_write(&s, off, count);
    int r = pm_model_write(d.m, buf, count, off, fua, hook, &ctx);
    return finish(r, &ctx, &s, "write", off, count, why);
}

int pm_dev_zero(enum pm_op op, uint32_t count, uint64_t off, bool fua, const char **why)
{
    struct hook_ctx ctx = {0};
    struct span s;
    lock_for_write(&s, off, count);
    int r = pm_model_zero(d.m, op, count, off, fua, hook, &ctx);
    return finish(r, &ctx, &s, pm_audit_kind_name(pm_audit_kind_of_op(op)), off, count, why);
}

int pm_dev_flush(const char **why)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    int r = pm_model_flush(d.m, hook, &ctx);
    return finish(r, &ctx, NULL, "flush", 0, 0, why);
}

/* --- control ------------------------------------------------------------------- */

static int ctl_error(int r, const struct hook_ctx *ctx, struct jbuf *out)
{
    jb_reset(out);
    switch (r) {
    case PM_ECOMMIT:
        jb_printf(out, "audit log cannot be written: %s", strerror(ctx->err));
        break;
    case PM_ERANGE:
        jb_printf(out, "range is outside the device (size %llu)", (unsigned long long)d.size);
        break;
    case PM_EINVAL:
        jb_printf(out, "invalid argument");
        break;
    case PM_ENOMEM:
        jb_printf(out, "out of memory");
        break;
    case PM_EOFF:
    case PM_ESTATE:
        jb_printf(out, "device is %s", pm_model_is_on(d.m) ? "already on" : "off");
        break;
    default:
        jb_printf(out, "internal error %d", r);
    }
    return -1;
}

static void armed_json(struct jbuf *b, const struct pm_trigger *t)
{
    if (!t) {
        jb_printf(b, "null");
        return;
    }
    struct jbuf s;
    jb_init(&s);
    pm_audit_trigger_text(&s, t);
    jb_printf(b, "{\"trigger\":");
    jb_str(b, s.s ? s.s : "");
    jb_free(&s);
    if (t->kind != PM_TRIG_AT_MARK)
        jb_printf(b, ",\"seen\":%llu", (unsigned long long)t->seen);
    pm_audit_put_cut_params(b, &t->cut);
    jb_printf(b, "}");
}

int pm_dev_status(struct jbuf *out)
{
    pthread_rwlock_wrlock(&d.lock); /* no write half done: counts agree with the log */
    struct pm_stats st;
    pm_model_stats(d.m, &st);
    jb_printf(out,
              "{\"power\":\"%s\",\"size\":%llu,\"line\":%u,\"dirty_lines\":%llu,"
              "\"dirty_meta_lines\":%llu",
              pm_model_is_on(d.m) ? "on" : "off", (unsigned long long)st.size, st.line,
              (unsigned long long)pm_counts_total(&st.dirty),
              (unsigned long long)st.dirty.c[PM_META]);
    pm_audit_put_counts(out, "dirty", &st.dirty);
    jb_printf(out, ",\"writes\":%llu,\"flushes\":%llu,\"cuts\":%llu,\"armed\":",
              (unsigned long long)st.writes, (unsigned long long)st.flushes,
              (unsigned long long)st.cuts);
    armed_json(out, pm_model_armed(d.m));
    /* Read seq under the audit writer's own mutex, as everywhere. */
    pthread_mutex_lock(&d.audit.lock);
    uint64_t seq = d.audit.seq;
    pthread_mutex_unlock(&d.audit.lock);
    jb_printf(out, ",\"flush_mode\":\"%s\",\"policy\":\"%s\",\"audit_seq\":%llu}",
              pm_model_is_lying(d.m) ? "ignore" : "honor", pm_policy_name(d.cfg.cut.policy),
              (unsigned long long)seq);
    pthread_rwlock_unlock(&d.lock);
    return 0;
}

int pm_dev_cut(const struct pm_cut_params *cp, struct jbuf *out)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    int r = pm_model_cut(d.m, cp, "manual", hook, &ctx);
    if (r == 0)
        jb_printf(out, "%s", ctx.cut_reply ? ctx.cut_reply : "{}");
    else
        ctl_error(r, &ctx, out);
    pthread_rwlock_unlock(&d.lock);
    free(ctx.cut_reply);
    return r ? -1 : 0;
}

int pm_dev_arm(struct pm_trigger *t, bool have_seed, struct jbuf *out)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    if (!have_seed) {
        struct pm_cut_params cp;
        default_cut_locked(&cp);
        t->cut.seed = cp.seed;
    }
    int r = pm_model_arm(d.m, t, hook, &ctx);
    if (r == 0) {
        jb_printf(out, "{\"seq\":%llu,\"armed\":", (unsigned long long)ctx.seq);
        armed_json(out, pm_model_armed(d.m));
        jb_printf(out, "}");
    } else {
        ctl_error(r, &ctx, out);
    }
    pthread_rwlock_unlock(&d.lock);
    return r ? -1 : 0;
}

int pm_dev_disarm(struct jbuf *out)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    bool was = pm_model_armed(d.m) != NULL;
    int r = pm_model_disarm(d.m, hook, &ctx);
    if (r == 0)
        jb_printf(out, "{\"seq\":%llu,\"was_armed\":%s}", (unsigned long long)ctx.seq,
                  was ? "true" : "false");
    else
        ctl_error(r, &ctx, out);
    pthread_rwlock_unlock(&d.lock);
    return r ? -1 : 0;
}

int pm_dev_wait_off(double timeout, struct jbuf *out)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout >= 0) {
        double s = (double)until.tv_sec + until.tv_nsec / 1e9 + timeout;
        until.tv_sec = (time_t)s;
        until.tv_nsec = (long)((s - (double)until.tv_sec) * 1e9);
    }
    pthread_mutex_lock(&d.power_mu);
    int r = 0;
    while (!d.off && !d.stopping && r != ETIMEDOUT)
        r = timeout < 0 ? pthread_cond_wait(&d.power_cv, &d.power_mu)
                        : pthread_cond_timedwait(&d.power_cv, &d.power_mu, &until);
    int ret = 0;
    if (d.off)
        jb_printf(out, "%s", d.cut_record ? d.cut_record : "{}");
    else {
        jb_printf(out, d.stopping ? "plugin is shutting down" : "timeout");
        ret = -1;
    }
    pthread_mutex_unlock(&d.power_mu);
    return ret;
}

void pm_dev_wake_all(void)
{
    pthread_mutex_lock(&d.power_mu);
    d.stopping = true;
    pthread_cond_broadcast(&d.power_cv);
    pthread_mutex_unlock(&d.power_mu);
}

int pm_dev_power_on(struct jbuf *out)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    int r = pm_model_power_on(d.m, hook, &ctx);
    if (r == 0)
        jb_printf(out, "{\"seq\":%llu,\"power\":\"on\"}", (unsigned long long)ctx.seq);
    else
        ctl_error(r, &ctx, out);
    pthread_rwlock_unlock(&d.lock);
    return r ? -1 : 0;
}

int pm_dev_mark(const char *text, struct jbuf *out)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    uint64_t cuts_before, cuts_after;
    struct pm_stats st;
    pm_model_stats(d.m, &st);
    cuts_before = st.cuts;
    int r = pm_model_mark(d.m, text, hook, &ctx);
    uint64_t mark_seq = ctx.seq;
    pm_model_stats(d.m, &st);
    cuts_after = st.cuts;
    if (r == 0) {
        jb_printf(out, "{\"seq\":%llu,\"cut\":", (unsigned long long)mark_seq);
        if (cuts_after != cuts_before && ctx.cut_reply)
            jb_printf(out, "%s}", ctx.cut_reply);
        else
            jb_printf(out, "null}");
    } else {
        ctl_error(r, &ctx, out);
    }
    pthread_rwlock_unlock(&d.lock);
    free(ctx.cut_reply);
    return r ? -1 : 0;
}

int pm_dev_classify(enum pm_class cls, uint64_t off, uint64_t len, struct jbuf *out)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    int r = pm_model_classify(d.m, cls, off, len, hook, &ctx);
    if (r == 0) {
        uint64_t lines = (off + len - 1) / d.cfg.line - off / d.cfg.line + 1;
        jb_printf(out, "{\"seq\":%llu,\"class\":\"%s\",\"lines\":%llu}",
                  (unsigned long long)ctx.seq, pm_class_name(cls), (unsigned long long)lines);
    } else {
        ctl_error(r, &ctx, out);
    }
    pthread_rwlock_unlock(&d.lock);
    return r ? -1 : 0;
}

struct dirty_ctx {
    struct jbuf *out;
    size_t n;
};

static void dirty_one(void *vctx, uint64_t off, uint64_t len, enum pm_class cls)
{
    struct dirty_ctx *c = vctx;
    jb_printf(c->out, "%s[%llu,%llu,\"%s\"]", c->n++ ? "," : "", (unsigned long long)off,
              (unsigned long long)len, pm_class_name(cls));
}

int pm_dev_dirty(uint64_t max, struct jbuf *out)
{
    pthread_rwlock_wrlock(&d.lock);
    struct dirty_ctx c = {out, 0};
    struct pm_stats st;
    pm_model_stats(d.m, &st);
    jb_printf(out, "{\"dirty_lines\":%llu,\"ranges\":[",
              (unsigned long long)pm_counts_total(&st.dirty));
    pm_model_dirty_ranges(d.m, (size_t)max, dirty_one, &c);
    jb_printf(out, "]}");
    pthread_rwlock_unlock(&d.lock);
    return 0;
}

int pm_dev_fault(bool lying, struct jbuf *out)
{
    struct hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&d.lock);
    int r = pm_model_set_lying(d.m, lying, hook, &ctx);
    if (r == 0)
        jb_printf(out, "{\"seq\":%llu,\"flush_mode\":\"%s\"}", (unsigned long long)ctx.seq,
                  lying ? "ignore" : "honor");
    else
        ctl_error(r, &ctx, out);
    pthread_rwlock_unlock(&d.lock);
    return r ? -1 : 0;
}
