/* pmemcut — whether an audit record fits its device (see recfit.h). */
#include "recfit.h"

#include <stdbool.h>
#include <stddef.h>

#include "utils/error.h"

/* [off, off+len) inside [0, size), without a sum that wraps. */
static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

int pt_rec_check_fits(const char *log, const struct pm_audit_rec *rec, uint64_t size)
{
    if (!size)
        return 0;
    switch (rec->ev) {
    case PM_AUDIT_WRITE:
    case PM_AUDIT_ZERO:
    case PM_AUDIT_TRIM:
    case PM_AUDIT_CLASSIFY:
        if (!fits(rec->off, rec->len, size)) {
            pm_set_error("%s: seq %llu: %s off %llu len %llu runs past the end of the device "
                         "(%llu bytes)",
                         log, (unsigned long long)rec->seq, pm_audit_kind_name(rec->ev),
                         (unsigned long long)rec->off, (unsigned long long)rec->len,
                         (unsigned long long)size);
            return -1;
        }
        return 0;
    case PM_AUDIT_CUT: {
        static const char *const names[] = {"lost_ranges", "kept_ranges", "torn_ranges"};
        const struct pm_rangelist *ls[] = {&rec->lost_r, &rec->kept_r, &rec->torn_r};
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < ls[k]->n; i++)
                if (!fits(ls[k]->r[i].off, ls[k]->r[i].len, size)) {
                    pm_set_error("%s: seq %llu: %s [%llu,%llu] runs past the end of the "
                                 "device (%llu bytes)",
                                 log, (unsigned long long)rec->seq, names[k],
                                 (unsigned long long)ls[k]->r[i].off,
                                 (unsigned long long)ls[k]->r[i].len, (unsigned long long)size);
                    return -1;
                }
        return 0;
    }
    default:
        return 0;
    }
}
