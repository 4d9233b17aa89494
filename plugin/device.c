/* pmemcut — the device: model + image file + audit log (see device.h).
 * This file holds its life, its commit hook and the block requests; the
 * control commands are in commands.c. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/format.h"
#include "device.h"
#include "utils/error.h"

struct pd_device pd_dev = {
    .fd = -1,
    /* A waiting exclusive locker (a flush) goes before new shared ones, so a
     * steady stream of writes cannot hold a flush off. */
    .lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP,
    .stripes = {[0 ... PD_NSTRIPES - 1] = PTHREAD_MUTEX_INITIALIZER},
    .power_mu = PTHREAD_MUTEX_INITIALIZER,
    .power_cv = PTHREAD_COND_INITIALIZER,
};

/* --- audit records ---------------------------------------------------------- */

static int hook_record(struct pd_hook_ctx *ctx, const struct pm_effect *e, struct jbuf *b)
{
    pm_audit_format_effect(b, e, ctx->cpu - 1, ctx->fence);
    bool sync = pm_audit_syncs(pm_audit_kind_of_op(e->op), e->fua);
    if (!jb_ok(b)) {
        ctx->err = ENOMEM;
        return -1;
    }
    int r = e->op == PM_OP_WRITE ? pm_audit_append_write(&pd_dev.audit, b->s, e->data, e->off,
                                                         e->len, sync, &ctx->seq)
                                 : pm_audit_append(&pd_dev.audit, b->s, sync, &ctx->seq);
    if (r == -1) {
        ctx->err = errno;
        return -1;
    }
    if (!ctx->first_seq)
        ctx->first_seq = ctx->seq;
    if (e->order)
        *e->order = ctx->seq;
    if (e->op == PM_OP_CUT) {
        struct jbuf rec;
        jb_init(&rec);
        jb_printf(&rec, "{\"seq\":%llu,%s}", (unsigned long long)ctx->seq, b->s);
        char *s = jb_take(&rec);
        /* The model applies a committed cut unconditionally: publish it. */
        pthread_mutex_lock(&pd_dev.power_mu);
        free(pd_dev.cut_record);
        pd_dev.cut_record = s ? strdup(s) : NULL;
        pd_dev.off = true;
        pthread_cond_broadcast(&pd_dev.power_cv);
        pthread_mutex_unlock(&pd_dev.power_mu);
        free(ctx->cut_reply);
        ctx->cut_reply = s;
    } else if (e->op == PM_OP_POWER_ON) {
        pthread_mutex_lock(&pd_dev.power_mu);
        pd_dev.off = false;
        pthread_mutex_unlock(&pd_dev.power_mu);
    }
    return 0;
}

/* Writes the audit record of e.  Writes may run it concurrently (see
 * device.h), so the record is built in a buffer of its own. */
int pd_hook(void *vctx, const struct pm_effect *e)
{
    struct pd_hook_ctx *ctx = vctx;
    struct jbuf b;
    jb_init(&b);
    int r = hook_record(ctx, e, &b);
    jb_free(&b);
    return r;
}

static void log_rejected(const char *op, uint64_t off, uint64_t len)
{
    struct pm_audit_rec rec = {.ev = PM_AUDIT_REJECTED, .op = op, .off = off, .len = len};
    pm_audit_append_rec(&pd_dev.audit, &rec, NULL);
}

/* --- life -------------------------------------------------------------------- */

/* What a failed start must remove, so that it creates nothing: the files
 * pd_dev_open made, and the header it wrote into an empty data log. */
struct made {
    bool image, audit, dlog, dlog_header;
};

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static bool is_empty(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

/* Undoes a pd_dev_open that failed; the message stays as it was set. */
static void open_failed(const struct pd_config *cfg, const struct made *made)
{
    if (pd_dev.m)
        pm_model_free(pd_dev.m);
    pd_dev.m = NULL;
    if (pd_dev.map)
        munmap(pd_dev.map, pd_dev.size);
    pd_dev.map = NULL;
    if (pd_dev.fd >= 0)
        close(pd_dev.fd);
    pd_dev.fd = -1;
    pm_audit_close(&pd_dev.audit); /* closes what pm_audit_open opened, if anything */
    if (made->image)
        unlink(cfg->file);
    if (made->audit)
        unlink(cfg->audit);
    if (made->dlog)
        unlink(cfg->dlog);
    else if (made->dlog_header && truncate(cfg->dlog, 0) == -1) {
        /* nothing better to do: the message names the first failure */
    }
}

static int open_device(const struct pd_config *cfg, struct made *made)
{
    pd_dev.fd = open(cfg->file, O_RDWR | O_CLOEXEC);
    if (pd_dev.fd == -1 && errno == ENOENT) {
        if (cfg->size == 0) {
            pm_set_error("file=%s does not exist and size= is not given", cfg->file);
            return -1;
        }
        pd_dev.fd = open(cfg->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        made->image = pd_dev.fd != -1;
        if (pd_dev.fd != -1 && ftruncate(pd_dev.fd, (off_t)cfg->size) == -1) {
            pm_set_error("file=%s: cannot set size: %s", cfg->file, strerror(errno));
            return -1;
        }
    }
    if (pd_dev.fd == -1) {
        pm_set_error("file=%s: %s", cfg->file, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(pd_dev.fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        pm_set_error("file=%s: not a regular file", cfg->file);
        return -1;
    }
    pd_dev.size = (uint64_t)st.st_size;
    if (cfg->size && cfg->size != pd_dev.size) {
        pm_set_error("size=%llu disagrees with file=%s, which has %llu bytes",
                     (unsigned long long)cfg->size, cfg->file, (unsigned long long)pd_dev.size);
        return -1;
    }
    if (pd_dev.size == 0 || pd_dev.size % cfg->line) {
        pm_set_error("file=%s: size %llu is not a positive multiple of line=%u", cfg->file,
                     (unsigned long long)pd_dev.size, cfg->line);
        return -1;
    }
    pd_dev.map = mmap(NULL, pd_dev.size, PROT_READ | PROT_WRITE, MAP_SHARED, pd_dev.fd, 0);
    if (pd_dev.map == MAP_FAILED) {
        pd_dev.map = NULL;
        pm_set_error("file=%s: mmap: %s", cfg->file, strerror(errno));
        return -1;
    }
    pd_dev.m = pm_model_new(pd_dev.map, pd_dev.size, cfg->line);
    if (!pd_dev.m) {
        pm_set_error("file=%s: out of memory for the line state", cfg->file);
        return -1;
    }
    made->audit = !exists(cfg->audit);
    if (cfg->dlog) {
        made->dlog = !exists(cfg->dlog);
        made->dlog_header = is_empty(cfg->dlog);
    }
    if (pm_audit_open(&pd_dev.audit, cfg->audit, cfg->dlog) == -1)
        return -1;

    /* A restart is a power cut with lose-all: whatever the previous process
     * held only in V is gone, and the image is P. */
    struct pm_audit_rec rec = {
        .ev = PM_AUDIT_OPEN,
        .file = cfg->file,
        .size = pd_dev.size,
        .line = cfg->line,
        .created = made->image,
        .implied_cut = !made->image,
        .cut = cfg->cut,
        .data_log = cfg->dlog,
    };
    /* A failed append leaves the log as it was (audit.h). */
    if (pm_audit_append_rec(&pd_dev.audit, &rec, NULL) == -1) {
        pm_set_error("audit=%s: cannot write: %s", cfg->audit, strerror(errno));
        return -1;
    }
    return 0;
}

/* A start that fails creates nothing and leaves existing files as they
 * were: a failed nbdkit start must not leave an image or a log with an
 * open record that no process served. */
int pd_dev_open(const struct pd_config *cfg)
{
    pd_dev.cfg = *cfg;
    pd_dev.audit.fd = pd_dev.audit.dfd = -1;
    pd_dev.cpu_fence = 1;
    struct made made = {0};
    if (open_device(cfg, &made) == -1) {
        open_failed(cfg, &made);
        return -1;
    }
    return 0;
}

void pd_dev_close(void)
{
    if (pd_dev.m) {
        struct pm_stats st;
        pm_model_stats(pd_dev.m, &st);
        /* Unpersisted lines die with the process. */
        struct pm_audit_rec rec = {
            .ev = PM_AUDIT_CLOSE, .power_on = pm_model_is_on(pd_dev.m), .lost = st.dirty};
        pm_audit_append_rec(&pd_dev.audit, &rec, NULL);
        pm_model_free(pd_dev.m);
        pd_dev.m = NULL;
    }
    if (pd_dev.map) {
        msync(pd_dev.map, pd_dev.size, MS_SYNC);
        munmap(pd_dev.map, pd_dev.size);
        pd_dev.map = NULL;
    }
    if (pd_dev.fd >= 0)
        close(pd_dev.fd);
    pd_dev.fd = -1;
    pm_audit_close(&pd_dev.audit);
    free(pd_dev.cut_record);
    pd_dev.cut_record = NULL;
}

void pd_dev_end_fence(void)
{
    __atomic_add_fetch(&pd_dev.cpu_fence, 1, __ATOMIC_SEQ_CST);
}

uint64_t pd_dev_size(void)
{
    return pd_dev.size;
}

/* --- block requests ---------------------------------------------------------- */

static int io_error(int r, const struct pd_hook_ctx *ctx, const char **why)
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
    uint64_t bits[PD_NSTRIPES / 64];
    bool shared; /* taken with the rwlock shared; else exclusive, no stripes */
};

static void span_lock(struct span *s, uint64_t off, uint64_t len)
{
    memset(s->bits, 0, sizeof s->bits);
    s->shared = true;
    if (len == 0)
        return;
    uint64_t first = off >> PM_CHUNK_SHIFT, last = (off + len - 1) >> PM_CHUNK_SHIFT;
    if (last - first >= PD_NSTRIPES || last < first) /* many chunks, or a wrap: all */
        memset(s->bits, 0xff, sizeof s->bits);
    else
        for (uint64_t ci = first; ci <= last; ci++)
            s->bits[ci % PD_NSTRIPES / 64] |= 1ULL << (ci % 64);
    /* In ascending order, so that two requests never wait for each other. */
    for (unsigned w = 0; w < PD_NSTRIPES / 64; w++)
        for (uint64_t b = s->bits[w]; b; b &= b - 1)
            pthread_mutex_lock(&pd_dev.stripes[w * 64 + (unsigned)__builtin_ctzll(b)]);
}

static void span_unlock(const struct span *s)
{
    if (!s->shared)
        return;
    for (unsigned w = 0; w < PD_NSTRIPES / 64; w++)
        for (uint64_t b = s->bits[w]; b; b &= b - 1)
            pthread_mutex_unlock(&pd_dev.stripes[w * 64 + (unsigned)__builtin_ctzll(b)]);
}

/* Locks for a write, zero or trim: shared with stripes, unless an
 * after-writes trigger is armed, which must count writes one at a time. */
static void lock_for_write(struct span *s, uint64_t off, uint64_t len)
{
    pthread_rwlock_rdlock(&pd_dev.lock);
    const struct pm_trigger *t = pm_model_armed(pd_dev.m);
    if (!t || t->kind != PM_TRIG_AFTER_WRITES) {
        span_lock(s, off, len);
        return;
    }
    pthread_rwlock_unlock(&pd_dev.lock);
    pthread_rwlock_wrlock(&pd_dev.lock);
    s->shared = false;
}

int pd_dev_read(void *buf, uint32_t count, uint64_t off, const char **why)
{
    struct span s;
    pthread_rwlock_rdlock(&pd_dev.lock);
    span_lock(&s, off, count);
    int r = pm_model_read(pd_dev.m, buf, count, off);
    span_unlock(&s);
    if (r == PM_EOFF)
        log_rejected("read", off, count);
    pthread_rwlock_unlock(&pd_dev.lock);
    struct pd_hook_ctx ctx = {0};
    return r ? io_error(r, &ctx, why) : 0;
}

static int finish(int r, struct pd_hook_ctx *ctx, const struct span *s, const char *op,
                  uint64_t off, uint64_t len, const char **why)
{
    if (s)
        span_unlock(s);
    if (r == PM_EOFF)
        log_rejected(op, off, len);
    pthread_rwlock_unlock(&pd_dev.lock);
    free(ctx->cut_reply);
    return r ? io_error(r, ctx, why) : 0;
}

int pd_dev_write(const void *buf, uint32_t count, uint64_t off, bool fua, const char **why)
{
    return pd_dev_write_cpu(buf, count, off, fua, -1, why);
}

int pd_dev_write_cpu(const void *buf, uint32_t count, uint64_t off, bool fua, int cpu_insn,
                     const char **why)
{
    /* a CPU's write is of the batch open now (cpu.h); the batch ends at the
     * tracer's cache request, which it sends only after this reply */
    struct pd_hook_ctx ctx = {
        .cpu = cpu_insn + 1,
        .fence = cpu_insn >= 0 ? __atomic_load_n(&pd_dev.cpu_fence, __ATOMIC_SEQ_CST) : 0,
    };
    struct span s;
    lock_for_write(&s, off, count);
    int r = pm_model_write(pd_dev.m, buf, count, off, fua, pd_hook, &ctx);
    return finish(r, &ctx, &s, "write", off, count, why);
}

int pd_dev_zero(enum pm_op op, uint32_t count, uint64_t off, bool fua, const char **why)
{
    struct pd_hook_ctx ctx = {0};
    struct span s;
    lock_for_write(&s, off, count);
    int r = pm_model_zero(pd_dev.m, op, count, off, fua, pd_hook, &ctx);
    return finish(r, &ctx, &s, pm_audit_kind_name(pm_audit_kind_of_op(op)), off, count, why);
}

int pd_dev_flush(const char **why)
{
    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    int r = pm_model_flush(pd_dev.m, pd_hook, &ctx);
    return finish(r, &ctx, NULL, "flush", 0, 0, why);
}
