/* pmemcut — explore: the CPU's fence batches as points (ADR histories; see
 * explore.h, --points fence, and common/audit/cpu.h).
 *
 * The tracer sends each fence's persisted runs back to back, then ends the
 * batch; the device numbers the batches ("fence").  Just before a batch,
 * the lines it is about to persist have been written back (clwb,
 * clflushopt, non-temporal stores) but are not yet fenced: a crash there
 * may keep any subset of them, and of the lines then dirty.  The child of
 * a fence point makes the batch's writes dirty (their bytes from the data
 * log) and cuts with its policy; the parent replays them as they were,
 * persistent.  The dirty lines are those the device holds dirty: what the
 * guest's page cache had written back by then (the view's writebacks), so
 * lines stored and never written back reach a state only when the host
 * wrote them back before.  Batches of another vCPU pending at the same
 * moment come later in the log and are not in the state (one vCPU, as
 * pmemcut-host runs, has none). */
#include <stdlib.h>
#include <string.h>

#include "utils/error.h"
#include "explore-int.h"

const struct pt_batch_write *pt_explore_batch;
size_t pt_explore_batch_len;

int pt_explore_load_batches(const struct pt_explore_opts *o, struct pt_batches *b)
{
    memset(b, 0, sizeof *b);
    struct pm_audit_reader a;
    struct pm_audit_rec rec;
    if (pm_audit_reader_open(&a, o->audit) == -1) {
        pm_set_error("%s", a.err);
        pm_audit_reader_close(&a);
        return -1;
    }
    uint64_t last = 0; /* the fence of the batch open now, 0: none */
    bool skip = false; /* the batch open now began before --from */
    int n, rc = 0;
    while ((n = pm_audit_reader_next(&a, &rec)) == 1) {
        if (rec.seq > o->to)
            break;
        /* a new process, a cut or a power-on ends any batch (the device
         * numbers them again; the tracer behind a cut is another) */
        if (rec.ev == PM_AUDIT_OPEN || rec.ev == PM_AUDIT_CUT || rec.ev == PM_AUDIT_POWER_ON)
            last = 0;
        if (rec.ev != PM_AUDIT_WRITE || !rec.src)
            continue;
        bool starts = rec.fence != last;
        last = rec.fence;
        if (starts)
            skip = rec.seq < o->from; /* its point is outside the range */
        if (skip)
            continue;
        if (!rec.has_dlog) {
            pm_set_error("%s: seq %llu: a cpu write without a data-log frame", o->audit,
                         (unsigned long long)rec.seq);
            rc = -1;
            break;
        }
        if ((starts && PM_VEC_PUSH(&b->first, b->w.len) == -1) ||
            PM_VEC_PUSH(&b->w, ((struct pt_batch_write){rec.seq, rec.off, rec.len, rec.dlog})) ==
                -1) {
            pm_set_error("out of memory");
            rc = -1;
            break;
        }
    }
    if (n < 0 && rc == 0) {
        pm_set_error("%s", a.err);
        rc = -1;
    }
    pm_audit_reader_close(&a);
    if (rc == 0 && PM_VEC_PUSH(&b->first, b->w.len) == -1) {
        pm_set_error("out of memory");
        rc = -1;
    }
    if (rc == -1)
        pt_explore_free_batches(b);
    return rc;
}

void pt_explore_free_batches(struct pt_batches *b)
{
    PM_VEC_FREE(&b->w);
    PM_VEC_FREE(&b->first);
    b->next = 0;
}

const struct pt_batch_write *pt_explore_batch_at(struct pt_batches *b,
                                                 const struct pm_audit_rec *rec, size_t *n)
{
    if (rec->ev != PM_AUDIT_WRITE || !rec->src || b->next + 1 >= b->first.len)
        return NULL;
    const struct pt_batch_write *w = &b->w.v[b->first.v[b->next]];
    if (w->seq != rec->seq)
        return NULL;
    *n = b->first.v[b->next + 1] - b->first.v[b->next];
    b->next++;
    return w;
}

int pt_explore_unfence(struct pt_replay *r, const char *audit, uint64_t seq)
{
    struct pt_explore_opts o;
    pt_explore_defaults(&o);
    o.audit = audit;
    o.from = seq;
    struct pt_batches b;
    if (pt_explore_load_batches(&o, &b) == -1)
        return -1;
    int rc = 0;
    if (b.first.len < 2 || b.w.v[0].seq != seq) {
        pm_set_error(
            "%s: seq %llu is not the first write of a batch of the CPU's (\"src\":\"cpu\")", audit,
            (unsigned long long)seq);
        rc = -1;
    } else if (r->applied + 1 != seq) {
        pm_set_error("--unfence %llu: the replay is at seq %llu, not just before the batch",
                     (unsigned long long)seq, (unsigned long long)r->applied);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < b.first.v[1]; i++) {
        const struct pt_batch_write *w = &b.w.v[i];
        rc = pt_replay_write_dirty(r, w->seq, w->dlog, w->off, w->len);
    }
    pt_explore_free_batches(&b);
    return rc;
}
