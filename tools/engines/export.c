/* pmemcut — dm-log-writes export of a replayed history (see export.h). */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmlog.h"
#include "utils/error.h"
#include "replay.h"
#include "utils/vec.h"

/* The dirty ranges before a cut or restart, adjacent ones merged. */
struct dirty_list {
    PM_VEC(struct pm_range) r;
    bool failed; /* out of memory */
};

static void collect(void *ctx, uint64_t off, uint64_t len, enum pm_class cls)
{
    (void)cls;
    struct dirty_list *l = ctx;
    if (l->failed)
        return;
    struct pm_range *last = l->r.len ? &l->r.v[l->r.len - 1] : NULL;
    if (last && last->off + last->len == off) {
        last->len += len;
        return;
    }
    if (PM_VEC_PUSH(&l->r, ((struct pm_range){off, len})) == -1)
        l->failed = true;
}

struct exporter {
    struct pt_replay *r;
    struct pt_dmlog_writer w;
    uint8_t *buf;
    size_t cap;
};

/* Writes the device's current content of [off, off+len), widened to whole
 * sectors, as one entry (or several, for long ranges). */
static int export_range(struct exporter *x, uint64_t off, uint64_t len, uint64_t flags)
{
    const uint64_t S = DMLOG_SECTOR, chunk = 8u << 20;
    uint64_t s0 = off / S, s1 = (off + len + S - 1) / S;
    while (s0 < s1) {
        uint64_t n = s1 - s0 < chunk / S ? s1 - s0 : chunk / S;
        if (n * S > x->cap) {
            uint8_t *b = realloc(x->buf, n * S);
            if (!b) {
                pm_set_error("out of memory");
                return -1;
            }
            x->buf = b;
            x->cap = n * S;
        }
        /* the device's size is a multiple of its line, so of 8 bytes only:
         * a last partial sector is padded with zeroes */
        uint64_t lo = s0 * S, hi = (s0 + n) * S;
        if (hi > x->r->size) {
            memset(x->buf, 0, n * S);
            hi = x->r->size;
        }
        pt_replay_read(x->r, x->buf, hi - lo, lo);
        if (pt_dmlog_entry(&x->w, s0, n, flags, x->buf) == -1)
            return -1;
        s0 += n;
    }
    return 0;
}

static bool any_meta(const struct pt_replay *r, uint64_t off, uint64_t len)
{
    if (!len)
        return false;
    for (uint64_t li = off / r->line; li <= (off + len - 1) / r->line; li++)
        if (pm_model_line_class(r->m, li) == PM_META)
            return true;
    return false;
}

static int export_one(struct exporter *x, struct dirty_list *dl)
{
    struct pt_replay *r = x->r;
    const struct pm_audit_rec *rec = &r->rec;
    char text[64];
    bool resets = rec->ev == PM_AUDIT_CUT || (rec->ev == PM_AUDIT_OPEN && r->m);
    PM_VEC_RESET(&dl->r);
    dl->failed = false;
    if (resets && r->m) {
        pm_model_dirty_ranges(r->m, 0, collect, dl);
        if (dl->failed) {
            pm_set_error("out of memory");
            return -1;
        }
    }
    if (pt_replay_apply(r) == -1)
        return -2;
    switch (rec->ev) {
    case PM_AUDIT_WRITE:
    case PM_AUDIT_ZERO:
    case PM_AUDIT_TRIM: {
        uint64_t flags = rec->fua && !rec->ignored ? DMLOG_FUA : 0;
        if (any_meta(r, rec->off, rec->len))
            flags |= DMLOG_METADATA;
        if (rec->ev == PM_AUDIT_TRIM && rec->off % DMLOG_SECTOR == 0 &&
            rec->len % DMLOG_SECTOR == 0)
            return pt_dmlog_entry(&x->w, rec->off / DMLOG_SECTOR, rec->len / DMLOG_SECTOR,
                                  flags | DMLOG_DISCARD, NULL);
        if (rec->len == 0)
            return 0;
        return export_range(x, rec->off, rec->len, flags);
    }
    case PM_AUDIT_FLUSH:
        return rec->ignored ? 0 : pt_dmlog_entry(&x->w, 0, 0, DMLOG_FLUSH, NULL);
    case PM_AUDIT_MARK:
        return pt_dmlog_mark(&x->w, rec->text);
    case PM_AUDIT_CUT:
    case PM_AUDIT_OPEN:
        if (!resets)
            return 0;
        snprintf(text, sizeof text, "pmemcut-%s:%llu", rec->ev == PM_AUDIT_CUT ? "cut" : "restart",
                 (unsigned long long)rec->seq);
        if (pt_dmlog_mark(&x->w, text) == -1)
            return -1;
        for (size_t i = 0; i < dl->r.len; i++)
            if (export_range(x, dl->r.v[i].off, dl->r.v[i].len, 0) == -1)
                return -1;
        return pt_dmlog_entry(&x->w, 0, 0, DMLOG_FLUSH, NULL);
    default:
        return 0;
    }
}

int pt_export_dmlog(const char *audit, const char *dlog, const char *base, const char *out,
                    struct pt_export_result *res)
{
    memset(res, 0, sizeof *res);
    struct pt_replay r;
    if (pt_replay_open(&r, audit, dlog, base) == -1) {
        pt_replay_close(&r);
        return -1;
    }
    struct exporter x = {.r = &r};
    struct dirty_list dl = {0};
    int rc = 0;
    if (pt_dmlog_create(&x.w, out) == -1) {
        pt_replay_close(&r);
        return -1;
    }
    int n;
    while ((n = pt_replay_next(&r)) == 1) {
        int e = export_one(&x, &dl);
        if (e == -2) {
            n = -1;
            break;
        }
        if (e == -1) {
            rc = -1;
            break;
        }
    }
    if (n < 0) {
        /* what came before the damage is exported; the error still counts */
        res->damaged = true;
        rc = -1;
    }
    /* the first error is the one to report */
    bool failed = rc == -1;
    char first[1024];
    snprintf(first, sizeof first, "%s", pm_get_error());
    if (pt_dmlog_finish(&x.w) == -1)
        rc = -1;
    if (failed)
        pm_set_error("%s", first);
    res->entries = x.w.entries;
    res->applied = r.applied;
    PM_VEC_FREE(&dl.r);
    free(x.buf);
    pt_replay_close(&r);
    return rc;
}
