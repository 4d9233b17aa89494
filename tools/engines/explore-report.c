/* pmemcut — explore: states.jsonl read back, and the summary of distinct
 * failures with the smallest state that shows each (see explore.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explore-int.h"
#include "utils/vec.h"

/* Parses one states.jsonl line.  0 or -1. */
int pt_explore_parse_result(struct jr_doc *d, const char *line, size_t len,
                            struct pt_state_result *res)
{
    if (jr_parse(d, line, len) == -1)
        return -1;
    memset(res, 0, sizeof *res);
    const char *pol = jr_get_str(d, 0, "policy");
    const char *fsck = jr_get_str(d, 0, "fsck");
    const char *sig = jr_get_str(d, 0, "signature");
    const char *ver = jr_get_str(d, 0, "verify");
    const char *vsig = jr_get_str(d, 0, "verify_signature");
    uint64_t lost = 0, torn = 0;
    int l = jr_get(d, 0, "lost"), t = jr_get(d, 0, "torn");
    static const char *const cls[] = {"meta", "data", "unknown"};
    for (int i = 0; i < 3; i++) {
        uint64_t v;
        if (jr_get_u64(d, l, cls[i], &v) == 0)
            lost += v;
        if (jr_get_u64(d, t, cls[i], &v) == 0)
            torn += v;
    }
    if (!pol || pm_policy_parse(pol, &res->policy) == -1 || !fsck ||
        jr_get_u64(d, 0, "replay_to", &res->at) == -1 ||
        jr_get_u64(d, 0, "point", &res->point) == -1 || jr_get_u64(d, 0, "seed", &res->seed) == -1)
        return -1;
    res->lost = lost + torn;
    snprintf(res->fsck, sizeof res->fsck, "%s", fsck);
    snprintf(res->sig, sizeof res->sig, "%s", sig ? sig : "");
    snprintf(res->verify, sizeof res->verify, "%s", ver ? ver : "");
    jr_get_bool(d, 0, "dup", &res->dup);
    const char *ev = jr_get_str(d, 0, "ev");
    res->fence = ev && strcmp(ev, "fence") == 0;
    snprintf(res->vsig, sizeof res->vsig, "%s", vsig ? vsig : "");
    return 0;
}

struct failure {
    char sig[PT_SIG_MAX];
    uint64_t count;
    struct pt_state_result smallest;
};
typedef PM_VEC(struct failure) failure_vec;

/* Adds res to the group of its signature (or starts one), keeping the
 * smallest state: fewest lines lost or torn, then the earliest. */
static int group_add(failure_vec *fl, const char *sig, const struct pt_state_result *res)
{
    size_t i;
    for (i = 0; i < fl->len; i++)
        if (strcmp(fl->v[i].sig, sig) == 0)
            break;
    if (i == fl->len) {
        struct failure ng = {.smallest = *res};
        snprintf(ng.sig, sizeof ng.sig, "%s", sig);
        if (PM_VEC_PUSH(fl, ng) == -1)
            return -1;
    }
    struct failure *g = &fl->v[i];
    g->count++;
    /* the smallest state, ties broken by the state itself: the same
     * whatever order the states were checked in (workers, shards) */
    const struct pt_state_result *m = &g->smallest;
    if (res->lost != m->lost       ? res->lost < m->lost
        : res->at != m->at         ? res->at < m->at
        : res->policy != m->policy ? res->policy < m->policy
                                   : res->seed < m->seed)
        g->smallest = *res;
    return 0;
}

/* Groups in history order (their smallest state's point), then by message. */
static int by_point(const void *x, const void *y)
{
    const struct failure *a = x, *b = y;
    if (a->smallest.point != b->smallest.point)
        return a->smallest.point < b->smallest.point ? -1 : 1;
    return strcmp(a->sig, b->sig);
}

/* The rebuild command of state s. */
static void print_rebuild(const struct pt_explore_opts *o, FILE *out,
                          const struct pt_state_result *s)
{
    /* a fence point's state has its batch dirty, not persistent */
    char unfence[48] = "";
    if (s->fence)
        snprintf(unfence, sizeof unfence, " --unfence %llu", (unsigned long long)s->point);
    fprintf(out,
            "      rebuild:  pmemcut-replay replay --audit %s --data %s --to %llu%s "
            "--policy %s --seed %llu -o state.img\n",
            o->audit, o->data ? o->data : "DLOG", (unsigned long long)s->at, unfence,
            pm_policy_name(s->policy), (unsigned long long)s->seed);
}

#define MAX_TIMEOUTS_LISTED 20

static void print_groups(const struct pt_explore_opts *o, FILE *out, failure_vec *fv)
{
    if (fv->len)
        qsort(fv->v, fv->len, sizeof *fv->v, by_point);
    const struct failure *fl = fv->v;
    for (size_t i = 0; i < fv->len; i++) {
        const struct pt_state_result *s = &fl[i].smallest;
        fprintf(out, "  [%zu] %llu states: %s\n", i + 1, (unsigned long long)fl[i].count,
                fl[i].sig[0] ? fl[i].sig : "(no message)");
        fprintf(out, "      smallest: point seq %llu, %s seed %llu, %llu lines lost or torn\n",
                (unsigned long long)s->point, pm_policy_name(s->policy),
                (unsigned long long)s->seed, (unsigned long long)s->lost);
        print_rebuild(o, out, s);
    }
}

int pt_explore_write_summary(const struct pt_explore_opts *o, FILE *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/states.jsonl", o->out);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    failure_vec fl = {0}, vfl = {0};
    PM_VEC(struct pt_state_result) tl = {0}; /* the first timed-out states */
    uint64_t timeouts = 0;
    uint64_t total = 0, pass = 0, fail = 0, other = 0, vpass = 0, vfail = 0, verr = 0, dups = 0;
    uint64_t unmounted = 0; /* failing states the kernel would not mount */
    uint64_t failing = 0;   /* states that fail fsck or verify, or time out */
    uint64_t by_pol[PT_EXPLORE_MAX_POLICIES][2] = {{0}};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct jr_doc d;
    jr_init(&d);
    uint64_t last_point = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        struct pt_state_result res;
        if (n < 2 || pt_explore_parse_result(&d, line, (size_t)n - 1, &res) == -1)
            continue;
        total++;
        dups += res.dup;
        if (res.point > last_point)
            last_point = res.point;
        bool refused = strcmp(res.fsck, "did not mount") == 0;
        bool failed = refused || strcmp(res.fsck, "fail") == 0 || strcmp(res.fsck, "error") == 0;
        unmounted += refused;
        if (strcmp(res.fsck, "pass") == 0)
            pass++;
        else if (strcmp(res.fsck, "timeout") == 0) {
            /* a checker that hangs on a crash state: a finding of its own */
            if (timeouts++ < MAX_TIMEOUTS_LISTED && PM_VEC_PUSH(&tl, res) == -1)
                break;
        } else if (failed)
            fail++;
        else
            other++;
        bool vfailed = strcmp(res.verify, "FAIL") == 0;
        vpass += strcmp(res.verify, "PASS") == 0;
        vfail += vfailed;
        verr += strcmp(res.verify, "error") == 0;
        by_pol[res.policy][failed || vfailed]++;
        failing += failed || vfailed || strcmp(res.fsck, "timeout") == 0;
        if ((failed && group_add(&fl, res.sig, &res) == -1) ||
            (vfailed && group_add(&vfl, res.vsig, &res) == -1))
            break;
    }
    free(line);
    jr_free(&d);
    fclose(f);
    fprintf(out,
            "states: %llu checked, %llu pass, %llu fail, %llu timeout, %llu other (dirty log)\n",
            (unsigned long long)total, (unsigned long long)pass, (unsigned long long)fail,
            (unsigned long long)timeouts, (unsigned long long)other);
    if (unmounted)
        fprintf(out, "  %llu of the failing states would not mount (\"fsck\":\"did not mount\")\n",
                (unsigned long long)unmounted);
    if (dups)
        fprintf(out,
                "  %llu of them the same image as a state checked before (not checked again)\n",
                (unsigned long long)dups);
    for (int k = 0; k < PT_EXPLORE_MAX_POLICIES; k++)
        if (by_pol[k][0] + by_pol[k][1])
            fprintf(out, "  %-8s %6llu states, %6llu failing\n", pm_policy_name((enum pm_policy)k),
                    (unsigned long long)(by_pol[k][0] + by_pol[k][1]),
                    (unsigned long long)by_pol[k][1]);
    fprintf(out, "distinct failures: %zu\n", fl.len);
    print_groups(o, out, &fl);
    if (timeouts) {
        fprintf(out, "checker timed out: %llu states\n", (unsigned long long)timeouts);
        for (size_t i = 0; i < tl.len; i++) {
            fprintf(out, "  point seq %llu, %s seed %llu, %llu lines lost or torn: %s\n",
                    (unsigned long long)tl.v[i].point, pm_policy_name(tl.v[i].policy),
                    (unsigned long long)tl.v[i].seed, (unsigned long long)tl.v[i].lost,
                    tl.v[i].sig);
            print_rebuild(o, out, &tl.v[i]);
        }
        if (timeouts > tl.len)
            fprintf(out, "  ... and %llu more (\"fsck\":\"timeout\" in states.jsonl)\n",
                    (unsigned long long)(timeouts - tl.len));
    }
    if (vpass + vfail + verr) {
        fprintf(out, "verify (acknowledged records): %llu PASS, %llu FAIL, %llu not judged\n",
                (unsigned long long)vpass, (unsigned long long)vfail, (unsigned long long)verr);
        fprintf(out, "distinct verify failures: %zu\n", vfl.len);
        print_groups(o, out, &vfl);
    }
    PM_VEC_FREE(&fl);
    PM_VEC_FREE(&vfl);
    PM_VEC_FREE(&tl);
    return failing > INT32_MAX ? INT32_MAX : (int)failing;
}
