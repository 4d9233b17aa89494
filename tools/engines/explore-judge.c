/* pmemcut — explore: the acknowledged records promised before a state (in
 * its cycle, see ackverify.h), judged on its image as the journal replay left it (what a mount
 * would show), with the agent's own verification code (see explore.h). */
#include <stdio.h>
#include <string.h>

#include "explore-int.h"
#include "utils/error.h"

int pt_explore_judge(FILE *f, const struct pt_explore_opts *o, const char *img, uint64_t at,
                     size_t nacks)
{
    /* libext2fs reads the files: other filesystems are not judged */
    if (!o->acks || strcmp(o->fs, "ext4") != 0) {
        fputs(",\"verify\":null", f);
        return 0;
    }
    /* the set is a function of at alone: the caller's (nacks of them, for
     * the state's key) is made again here rather than carried through the
     * checker */
    pt_ack_set as = {0};
    struct pm_verdict v;
    pm_verdict_init(&v, o->expect);
    int r = pt_ackverify_at(&o->al, at, &as);
    if (r == 0 && as.len != nacks) {
        pm_set_error("%zu acks apply, not %zu", as.len, nacks);
        r = -1;
    }
    if (r == 0 && img) {
        r = pt_ackverify_ext4(&v, img, o->verify_dir, &o->al, &as, o->record_size);
    } else if (r == 0) {
        /* not mounted: every record promised is missing, as the agent's
         * verify reports it (its list sorted, duplicates dropped) */
        struct pm_ack_list l = {0};
        for (size_t i = 0; r == 0 && i < as.len; i++)
            if (pm_acks_add(&l, &o->al.acks.v[as.v[i]].a) == -1)
                r = -1, pm_set_error("out of memory");
        pm_acks_sort(&l);
        for (size_t i = 0; r == 0 && i < l.len; i++)
            pm_verdict_missing(&v, &l.v[i], "filesystem did not mount");
        pm_acks_free(&l);
    }
    PM_VEC_FREE(&as);
    if (r == -1) {
        fprintf(stderr, "explore: verify at seq %llu: %s\n", (unsigned long long)at,
                pm_get_error());
        fputs(",\"verify\":\"error\"", f);
        pm_verdict_free(&v);
        return -1;
    }
    char vsig[PT_SIG_MAX];
    pt_ackverify_signature(&v, vsig, sizeof vsig);
    bool vfail = !pm_verdict_pass(&v);
    fprintf(f,
            ",\"verify\":\"%s\",\"verify_signature\":\"%s\",\"acked\":%llu,\"present\":%llu,"
            "\"superseded\":%llu,\"missing\":%zu,\"corrupt\":%zu,\"unacked_present\":%llu",
            vfail ? "FAIL" : "PASS", vsig, (unsigned long long)v.acked,
            (unsigned long long)v.present, (unsigned long long)v.superseded, v.missing.n,
            v.corrupt.n, (unsigned long long)v.unacked_present);
    pm_verdict_free(&v);
    return vfail;
}
