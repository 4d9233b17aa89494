/* pmemcut — re-running a device history through the persistence model
 * (see replay.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"

#include "utils/error.h"
#include "utils/io.h"

/* The largest payload one write may carry (NBD's own limit is 32 MiB). */
#define MAX_WRITE (256u << 20)

/* --- engine -------------------------------------------------------------------- */

/* Leaves the message for pm_get_error; -1. */
__attribute__((format(printf, 1, 2))) static int replay_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pm_set_verror(fmt, ap);
    va_end(ap);
    return -1;
}

int pt_replay_open(struct pt_replay *r, const char *audit, const char *dlog, const char *base)
{
    memset(r, 0, sizeof *r);
    r->dl.fd = -1;
    r->base = base;
    if (pm_audit_reader_open(&r->au, audit) == -1)
        return replay_fail("%s", r->au.err);
    if (dlog) {
        if (pm_dlog_open(&r->dl, dlog) == -1)
            return -1;
        r->have_dlog = true;
    }
    return 0;
}

void pt_replay_close(struct pt_replay *r)
{
    pm_audit_reader_close(&r->au);
    pm_dlog_close(&r->dl);
    pm_model_free(r->m);
    r->m = NULL;
    if (r->p)
        munmap(r->p, r->size);
    r->p = NULL;
    free(r->buf);
    r->buf = NULL;
}

int pt_replay_next(struct pt_replay *r)
{
    int n = pm_audit_reader_next(&r->au, &r->rec);
    if (n < 0)
        replay_fail("%s", r->au.err);
    return n;
}

/* --- checking the model against the log ------------------------------------- */

static bool counts_eq(const struct pm_counts *a, const struct pm_counts *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static bool ranges_eq(const struct pm_rangelist *a, const struct pm_rangelist *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->r[i].off != b->r[i].off || a->r[i].len != b->r[i].len)
            return false;
    return true;
}

static void counts_text(char *out, size_t n, const struct pm_counts *c)
{
    snprintf(out, n, "meta %llu data %llu unknown %llu", (unsigned long long)c->c[PM_META],
             (unsigned long long)c->c[PM_DATA], (unsigned long long)c->c[PM_UNKNOWN]);
}

static void differ(struct pt_replay *r, const char *what, const struct pm_counts *model,
                   const struct pm_counts *log)
{
    char a[100], b[100];
    counts_text(a, sizeof a, model);
    counts_text(b, sizeof b, log);
    r->mismatch = true;
    replay_fail("seq %llu (%s): the replayed model disagrees with the log: %s is %s in the model, "
                "%s in the log (wrong data log, or a log that does not start on this image?)",
                (unsigned long long)r->rec.seq, pm_audit_kind_name(r->rec.ev), what, a, b);
}

/* Commit hook: compares the model's effect with the record being applied. */
static int check_hook(void *ctx, const struct pm_effect *e)
{
    struct pt_replay *r = ctx;
    const struct pm_audit_rec *rec = &r->rec;
    if (r->mismatch)
        return 0;
    switch (e->op) {
    case PM_OP_WRITE:
    case PM_OP_ZERO:
    case PM_OP_TRIM:
        if (!counts_eq(&e->dirtied, &rec->dirtied))
            differ(r, "dirtied", &e->dirtied, &rec->dirtied);
        else if (!counts_eq(&e->cleaned, &rec->cleaned))
            differ(r, "cleaned", &e->cleaned, &rec->cleaned);
        else if (!counts_eq(&e->persisted, &rec->persisted))
            differ(r, "persisted", &e->persisted, &rec->persisted);
        break;
    case PM_OP_FLUSH:
        if (!counts_eq(&e->persisted, &rec->persisted))
            differ(r, "persisted", &e->persisted, &rec->persisted);
        break;
    case PM_OP_CUT:
        if (rec->ev != PM_AUDIT_CUT)
            break;
        if (!counts_eq(&e->cut->lost, &rec->lost))
            differ(r, "lost", &e->cut->lost, &rec->lost);
        else if (!counts_eq(&e->cut->kept, &rec->kept))
            differ(r, "kept", &e->cut->kept, &rec->kept);
        else if (!counts_eq(&e->cut->torn, &rec->torn))
            differ(r, "torn", &e->cut->torn, &rec->torn);
        else if (!ranges_eq(&e->cut->lost_r, &rec->lost_r) ||
                 !ranges_eq(&e->cut->kept_r, &rec->kept_r) ||
                 !ranges_eq(&e->cut->torn_r, &rec->torn_r)) {
            r->mismatch = true;
            replay_fail("seq %llu (cut): the replayed cut's line ranges differ from the log's",
                        (unsigned long long)rec->seq);
        }
        break;
    default:
        break;
    }
    return 0;
}

/* --- applying records ------------------------------------------------------------ */

static int start(struct pt_replay *r, const struct pm_audit_rec *rec)
{
    r->size = rec->size;
    r->line = rec->line;
    void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return replay_fail("seq %llu: cannot map %llu bytes for the image: %s",
                           (unsigned long long)rec->seq, (unsigned long long)r->size,
                           strerror(errno));
    r->p = p;
    if (!rec->created) {
        if (!r->base)
            return replay_fail(
                "seq %llu: the history starts on an image that already existed "
                "(\"created\":false); pass --base IMAGE with its content at that point",
                (unsigned long long)rec->seq);
        FILE *f = fopen(r->base, "rb");
        struct stat st;
        if (!f || fstat(fileno(f), &st) == -1) {
            int e = errno;
            if (f)
                fclose(f);
            return replay_fail("%s: %s", r->base, strerror(e));
        }
        if ((uint64_t)st.st_size != r->size) {
            fclose(f);
            return replay_fail("%s: %llu bytes, the log's device has %llu", r->base,
                               (unsigned long long)st.st_size, (unsigned long long)r->size);
        }
        /* fread loops over short reads */
        size_t got = fread(r->p, 1, r->size, f);
        fclose(f);
        if (got != r->size)
            return replay_fail("%s: cannot read it", r->base);
    }
    return 0;
}

static int model_error(struct pt_replay *r, int code)
{
    if (r->mismatch)
        return -1;
    const char *why = code == PM_EOFF     ? "the device is off in the replay"
                      : code == PM_ERANGE ? "range outside the device"
                      : code == PM_ESTATE ? "not possible in the replayed power state"
                      : code == PM_ENOMEM ? "out of memory"
                                          : "invalid";
    return replay_fail("seq %llu (%s): cannot be replayed: %s", (unsigned long long)r->rec.seq,
                       pm_audit_kind_name(r->rec.ev), why);
}

static int do_write(struct pt_replay *r)
{
    const struct pm_audit_rec *rec = &r->rec;
    if (!r->have_dlog)
        return replay_fail("seq %llu: a write, and no data log was given (--data)",
                           (unsigned long long)rec->seq);
    if (!rec->has_dlog)
        return replay_fail("seq %llu: write without a data-log frame (was nbdkit started with "
                           "data-log=?)",
                           (unsigned long long)rec->seq);
    if (rec->len > MAX_WRITE || rec->off > r->size || rec->len > r->size - rec->off)
        return replay_fail("seq %llu: write of %llu bytes at %llu does not fit the device",
                           (unsigned long long)rec->seq, (unsigned long long)rec->len,
                           (unsigned long long)rec->off);
    if (rec->len > r->bufcap) {
        void *b = realloc(r->buf, rec->len);
        if (!b)
            return replay_fail("out of memory");
        r->buf = b;
        r->bufcap = rec->len;
    }
    if (pm_dlog_read(&r->dl, rec->dlog, rec->seq, rec->off, rec->len, r->buf) == -1)
        return -1;
    int e = pm_model_write(r->m, r->buf, rec->len, rec->off, rec->fua, check_hook, r);
    return e ? model_error(r, e) : 0;
}

int pt_replay_write_dirty(struct pt_replay *r, uint64_t seq, uint64_t dlog, uint64_t off,
                          uint64_t len)
{
    if (!r->have_dlog || !r->m)
        return replay_fail("seq %llu: a write, and no data log was given (--data)",
                           (unsigned long long)seq);
    if (len > MAX_WRITE || off > r->size || len > r->size - off)
        return replay_fail("seq %llu: write of %llu bytes at %llu does not fit the device",
                           (unsigned long long)seq, (unsigned long long)len,
                           (unsigned long long)off);
    if (len > r->bufcap) {
        void *b = realloc(r->buf, len);
        if (!b)
            return replay_fail("out of memory");
        r->buf = b;
        r->bufcap = len;
    }
    if (pm_dlog_read(&r->dl, dlog, seq, off, len, r->buf) == -1)
        return -1;
    int e = pm_model_write(r->m, r->buf, len, off, false, NULL, NULL);
    return e ? replay_fail("seq %llu: cannot be made dirty (model code %d)",
                           (unsigned long long)seq, e)
             : 0;
}

static void tell_change(void *ctx, uint64_t off, uint64_t len, enum pm_class cls)
{
    (void)cls;
    struct pt_replay *r = ctx;
    r->p_change(r->p_change_ctx, off, len);
}

int pt_replay_apply(struct pt_replay *r)
{
    const struct pm_audit_rec *rec = &r->rec;
    int e = 0;
    if (!r->m && rec->ev != PM_AUDIT_OPEN)
        return replay_fail("seq %llu: the log does not start with an \"open\" record",
                           (unsigned long long)rec->seq);
    r->mismatch = false;
    if (r->p_change && r->m) {
        if ((rec->ev == PM_AUDIT_WRITE || rec->ev == PM_AUDIT_ZERO || rec->ev == PM_AUDIT_TRIM) &&
            rec->fua)
            r->p_change(r->p_change_ctx, rec->off, rec->len);
        else if (rec->ev == PM_AUDIT_FLUSH || rec->ev == PM_AUDIT_CUT)
            pm_model_dirty_ranges(r->m, 0, tell_change, r);
    }
    switch (rec->ev) {
    case PM_AUDIT_OPEN:
        if (!r->m) {
            if (start(r, rec) == -1)
                return -1;
        } else if (rec->size != r->size || rec->line != r->line) {
            return replay_fail("seq %llu: reopened with size %llu line %u, was %llu line %u",
                               (unsigned long long)rec->seq, (unsigned long long)rec->size,
                               rec->line, (unsigned long long)r->size, r->line);
        }
        /* A new process: a fresh model on P; what was only in V is gone. */
        pm_model_free(r->m);
        r->m = pm_model_new(r->p, r->size, r->line);
        if (!r->m)
            return replay_fail("out of memory for the model");
        break;
    case PM_AUDIT_WRITE:
        if (do_write(r) == -1)
            return -1;
        break;
    case PM_AUDIT_ZERO:
    case PM_AUDIT_TRIM:
        e = pm_model_zero(r->m, rec->ev == PM_AUDIT_ZERO ? PM_OP_ZERO : PM_OP_TRIM, rec->len,
                          rec->off, rec->fua, check_hook, r);
        break;
    case PM_AUDIT_FLUSH:
        e = pm_model_flush(r->m, check_hook, r);
        break;
    case PM_AUDIT_CUT:
        e = pm_model_cut(r->m, &rec->cut, rec->trigger, check_hook, r);
        break;
    case PM_AUDIT_POWER_ON:
        e = pm_model_power_on(r->m, NULL, NULL);
        break;
    case PM_AUDIT_CLASSIFY:
        e = pm_model_classify(r->m, rec->cls, rec->off, rec->len, NULL, NULL);
        break;
    case PM_AUDIT_FAULT:
        e = pm_model_set_lying(r->m, strcmp(rec->text, "ignore") == 0, NULL, NULL);
        break;
    case PM_AUDIT_CLOSE: {
        struct pm_stats st;
        pm_model_stats(r->m, &st);
        if (!counts_eq(&st.dirty, &rec->lost))
            differ(r, "unpersisted at close", &st.dirty, &rec->lost);
        break;
    }
    /* Marks fire no trigger here: the cut they caused has its own record,
     * as have cuts by after-writes and before-flush triggers. */
    case PM_AUDIT_MARK:
    case PM_AUDIT_ARM:
    case PM_AUDIT_DISARM:
    case PM_AUDIT_REJECTED:
    case PM_AUDIT_NKINDS:
        break;
    }
    if (e)
        return model_error(r, e);
    if (r->mismatch)
        return -1;
    r->applied = rec->seq;
    return 0;
}

bool pt_replay_is_on(const struct pt_replay *r)
{
    return r->m && pm_model_is_on(r->m);
}

void pt_replay_read(const struct pt_replay *r, void *buf, uint64_t len, uint64_t off)
{
    if (pt_replay_is_on(r))
        pm_model_read(r->m, buf, len, off);
    else
        memcpy(buf, r->p + off, len);
}

int pt_replay_cut(struct pt_replay *r, const struct pm_cut_params *cp, const char *why)
{
    if (!pt_replay_is_on(r))
        return 0;
    int e = pm_model_cut(r->m, cp, why, NULL, NULL);
    if (e)
        return replay_fail("cut at seq %llu failed (code %d)", (unsigned long long)r->applied, e);
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    static const uint8_t z[4096];
    for (size_t i = 0; i < n; i += sizeof z) {
        size_t k = n - i < sizeof z ? n - i : sizeof z;
        if (memcmp(p + i, z, k) != 0)
            return false;
    }
    return true;
}

int pt_write_image(const uint8_t *img, uint64_t size, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1 || ftruncate(fd, (off_t)size) == -1) {
        pm_set_error("%s: %s", path, strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    const uint64_t blk = 65536;
    for (uint64_t off = 0; off < size; off += blk) {
        size_t n = (size_t)(size - off < blk ? size - off : blk);
        if (all_zero(img + off, n))
            continue;
        if (pm_pwrite_all(fd, img + off, n, (off_t)off) == -1) {
            pm_set_error("%s: write: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
    }
    if (close(fd) == -1) {
        pm_set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
