/* plan.c — see plan.h. */
#include "plan.h"
#include "util.h"

#include <inttypes.h>
#include <string.h>

#include "audit/auditlog.h"
#include "utils/error.h"
#include "utils/rng.h"

uint64_t ph_plan_count(uint64_t w, uint64_t f)
{
    return w + f + 1;
}

struct ph_boundary ph_plan_boundary(uint64_t w, uint64_t f, uint64_t b)
{
    b %= ph_plan_count(w, f);
    if (b < w)
        return (struct ph_boundary){PH_CUT_AFTER_WRITE, b + 1};
    if (b < w + f)
        return (struct ph_boundary){PH_CUT_BEFORE_FLUSH, b - w + 1};
    return (struct ph_boundary){PH_CUT_AT_ACK, 0};
}

uint64_t ph_plan_pick(uint64_t run_seed, uint64_t cycle, uint64_t w, uint64_t f)
{
    uint64_t s = run_seed ^ 0x5bd1e9955bd1e995ULL;
    uint64_t first = pm_splitmix64(&s) % ph_plan_count(w, f);
    return (first + cycle - 1) % ph_plan_count(w, f);
}

char *ph_boundary_trigger(const struct ph_boundary *b, const char *mark)
{
    switch (b->at) {
    case PH_CUT_AFTER_WRITE:
        return ph_strf("after-writes=%" PRIu64, b->n);
    case PH_CUT_BEFORE_FLUSH:
        return ph_strf("before-flush=%" PRIu64, b->n);
    case PH_CUT_AT_ACK:
        break;
    }
    return ph_strf("at-mark=%s", mark);
}

char *ph_boundary_name(const struct ph_boundary *b, uint64_t w, uint64_t f)
{
    switch (b->at) {
    case PH_CUT_AFTER_WRITE:
        return ph_strf("after write %" PRIu64 " of %" PRIu64, b->n, w);
    case PH_CUT_BEFORE_FLUSH:
        return ph_strf("before flush %" PRIu64 " of %" PRIu64, b->n, f);
    case PH_CUT_AT_ACK:
        break;
    }
    return ph_strf("at the ack");
}

json_t *ph_landing(const char *audit, const char *from, uint64_t *resume)
{
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    if (pm_audit_reader_open(&r, audit) == -1) {
        pm_set_error("%s", r.err);
        pm_audit_reader_close(&r);
        return NULL;
    }
    /* The reader checks seq from the first record it reads on, and a
     * record's range against the device's size only once it has seen one. */
    if (*resume && (*resume > INT64_MAX || fseeko(r.f, (off_t)*resume, SEEK_SET) != 0)) {
        pm_set_error("%s: cannot seek to byte %" PRIu64, audit, *resume);
        pm_audit_reader_close(&r);
        return NULL;
    }
    r.next_off = *resume;
    /* Requests of a record are few; a long run of them (no cut after the
     * mark) is cut short in the string, not in the counts. */
    char req[257];
    size_t n = 0;
    uint64_t writes = 0, flushes = 0;
    bool open = false;
    json_t *out = NULL;
    int rc;
    while ((rc = pm_audit_reader_next(&r, &rec)) == 1) {
        if (rec.ev == PM_AUDIT_MARK && strcmp(rec.text, from) == 0) {
            open = true;
            n = 0;
            writes = flushes = 0;
            continue;
        }
        if (!open)
            continue;
        char kind = 0;
        if (rec.ev == PM_AUDIT_WRITE || rec.ev == PM_AUDIT_ZERO || rec.ev == PM_AUDIT_TRIM)
            kind = 'W', writes++;
        else if (rec.ev == PM_AUDIT_FLUSH)
            kind = 'F', flushes++;
        if (kind && n < sizeof req - 1)
            req[n++] = kind;
        if (rec.ev == PM_AUDIT_CUT) {
            req[n] = '\0';
            out = json_pack("{s:s, s:I, s:I, s:I}", "requests", req, "writes", (json_int_t)writes,
                            "flushes", (json_int_t)flushes, "cut_seq", (json_int_t)rec.seq);
            *resume = r.next_off;
            break;
        }
    }
    if (!out && rc == -1)
        pm_set_error("%s", r.err); /* it names the file */
    else if (!out)
        pm_set_error("%s: %s", audit, open ? "no cut after the record's mark" : "no such mark");
    pm_audit_reader_close(&r);
    return out;
}
