/* pmemcut — explore: which crash states to check (see explore.h).
 *
 * A point is a record of the history (a flush or cut before it is applied,
 * a mark or write after); at a point every policy asked for is tried, the
 * random ones with --states-per-point seeds derived from the point, so
 * that a resumed run asks for the same states and skips those already in
 * states.jsonl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "utils/error.h"
#include "utils/rng.h"
#include "explore-int.h"

uint64_t pt_explore_mix(uint64_t x)
{
    return pm_splitmix64(&x) | 1; /* never 0 */
}

/* A fence point replays to the record before its batch: the same at as a
 * write point at that record, another state (the batch is in it). */
#define FENCE_SALT 0x66656e6365ull /* "fence" */

uint64_t pt_explore_state_key(uint64_t at, enum pm_policy pol, uint64_t seed, bool fence)
{
    return pt_explore_mix(at * 1000003u ^ pt_explore_mix(seed) ^ ((uint64_t)pol << 56) ^
                          (fence ? FENCE_SALT : 0));
}

static int done_add(struct pt_done_set *s, uint64_t k)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *h = calloc(cap, sizeof *h);
        if (!h)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->h[i])
                for (size_t j = s->h[i] & (cap - 1);; j = (j + 1) & (cap - 1))
                    if (!h[j]) {
                        h[j] = s->h[i];
                        break;
                    }
        free(s->h);
        s->h = h;
        s->cap = cap;
    }
    for (size_t j = k & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->h[j] == k)
            return 0;
        if (!s->h[j]) {
            s->h[j] = k;
            s->n++;
            return 0;
        }
    }
}

static bool done_has(const struct pt_done_set *s, uint64_t k)
{
    if (!s->cap)
        return false;
    for (size_t j = k & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->h[j] == k)
            return true;
        if (!s->h[j])
            return false;
    }
}

/* Reads DIR/states.jsonl: every complete line into the done set.  A torn
 * last line (the run was killed while a child wrote it) is cut off. */
int pt_explore_load_done(const char *path, struct pt_done_set *done, uint64_t *nstates)
{
    FILE *f = fopen(path, "r+");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    off_t good = 0;
    struct jr_doc d;
    jr_init(&d);
    uint64_t lineno = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        struct pt_state_result res;
        if (line[n - 1] != '\n' || pt_explore_parse_result(&d, line, (size_t)n - 1, &res) == -1) {
            fprintf(stderr,
                    "explore: %s: line %llu (byte offset %lld) is damaged; "
                    "it and what follows are redone\n",
                    path, (unsigned long long)lineno, (long long)good);
            break;
        }
        good += n;
        done_add(done, pt_explore_state_key(res.at, res.policy, res.seed, res.fence));
        (*nstates)++;
    }
    free(line);
    jr_free(&d);
    int r = ftruncate(fileno(f), good);
    fclose(f);
    return r;
}

const char *pt_explore_point_kind(const struct pm_audit_rec *rec, unsigned want, bool before)
{
    if (before && (want & PT_POINT_FLUSH) && rec->ev == PM_AUDIT_FLUSH)
        return "flush";
    if (before && (want & PT_POINT_FLUSH) && rec->ev == PM_AUDIT_CUT)
        return "cut";
    if (!before && (want & PT_POINT_MARK) && rec->ev == PM_AUDIT_MARK)
        return "mark";
    if (!before && (want & PT_POINT_WRITE) &&
        (rec->ev == PM_AUDIT_WRITE || rec->ev == PM_AUDIT_ZERO || rec->ev == PM_AUDIT_TRIM))
        return "write";
    return NULL;
}

/* All states of one point: the policies in order, seeds derived from the
 * point so that a resumed run asks for the same ones. */
int pt_explore_point(struct pt_explore_workers *u, struct pt_replay *r, struct pt_done_set *done,
                     uint64_t point, const char *kind, uint64_t at)
{
    const struct pt_explore_opts *o = u->o;
    u->points_seen++;
    if (pt_explore_track_ready(&pt_explore_track) == -1) {
        pm_set_error("out of memory");
        return -1;
    }
    /* Nothing dirty: every policy and seed gives the same state, P. */
    struct pm_stats st;
    pm_model_stats(r->m, &st);
    bool clean = pm_counts_total(&st.dirty) == 0 && strcmp(kind, "fence") != 0;
    for (int k = 0; k < (clean ? 1 : o->npolicies); k++) {
        enum pm_policy pol = clean ? PM_LOSE_ALL : o->policies[k];
        unsigned n = pol == PM_LOSE_ALL || pol == PM_KEEP_ALL ? 1 : o->per_point;
        for (unsigned i = 0; i < n; i++) {
            struct pm_cut_params cp = {.policy = pol, .p = o->p};
            uint64_t s = at * 131u + (uint64_t)pol * 7919u + i;
            /* below 2^53, as the device's own (JSON readers keep them exact) */
            cp.seed = n == 1 ? 0 : pm_splitmix64(&s) & PM_SEED_MAX;
            uint64_t key = pt_explore_state_key(at, pol, cp.seed, strcmp(kind, "fence") == 0);
            /* a shard's share: by the state's key, so that the states and
             * their seeds are the same whatever the number of shards */
            if (o->shard_n > 1 && (key >> 1) % o->shard_n != o->shard_k - 1) /* keys are odd */
                continue;
            if (done_has(done, key))
                continue;
            done_add(done, key);
            if (pt_explore_spawn(u, r, point, kind, at, &cp) == -1)
                return -1;
        }
    }
    pt_explore_reap(u, false);
    pt_explore_draw(u, false);
    return 0;
}

/* Counts the points in the log first, for the progress line. */
uint64_t pt_explore_count_points(const struct pt_explore_opts *o)
{
    struct pm_audit_reader a;
    struct pm_audit_rec rec;
    uint64_t n = 0;
    if (pm_audit_reader_open(&a, o->audit) == -1)
        return 0;
    while (pm_audit_reader_next(&a, &rec) == 1)
        if (rec.seq >= o->from && rec.seq <= o->to &&
            (pt_explore_point_kind(&rec, o->points, true) ||
             pt_explore_point_kind(&rec, o->points, false)))
            n++;
    pm_audit_reader_close(&a);
    return n;
}

int pt_explore_merge(struct pt_explore_opts *o, char *const *dirs, int ndirs, uint64_t *failed)
{
    char path[4200];
    *failed = 0;
    if (mkdir(o->out, 0755) == -1 && errno != EEXIST) {
        pm_set_error("%s: %s", o->out, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%.4000s/states.jsonl", o->out);
    /* the merge's own states count first: merging twice adds nothing */
    struct pt_done_set done = {0};
    uint64_t had = 0;
    if (pt_explore_load_done(path, &done, &had) == -1) {
        pm_set_error("%s: %s", path, strerror(errno));
        free(done.h);
        return -1;
    }
    FILE *out = fopen(path, "a");
    if (!out) {
        pm_set_error("%s: %s", path, strerror(errno));
        free(done.h);
        return -1;
    }
    struct jr_doc d;
    jr_init(&d);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    uint64_t added = 0, same = 0;
    for (int i = 0; rc == 0 && i < ndirs; i++) {
        char in_path[4200];
        snprintf(in_path, sizeof in_path, "%.4000s/states.jsonl", dirs[i]);
        FILE *in = fopen(in_path, "r");
        if (!in) {
            pm_set_error("--merge %s: %s", in_path, strerror(errno));
            rc = -1;
            break;
        }
        ssize_t n;
        uint64_t lineno = 0;
        while ((n = getline(&line, &cap, in)) > 0) {
            lineno++;
            struct pt_state_result res;
            if (line[n - 1] != '\n' ||
                pt_explore_parse_result(&d, line, (size_t)n - 1, &res) == -1) {
                pm_set_error("--merge %s: line %llu is not a state's result", in_path,
                             (unsigned long long)lineno);
                rc = -1;
                break;
            }
            uint64_t key = pt_explore_state_key(res.at, res.policy, res.seed, res.fence);
            if (done_has(&done, key)) {
                same++;
                continue;
            }
            if (done_add(&done, key) == -1 || fwrite(line, 1, (size_t)n, out) != (size_t)n) {
                pm_set_error("%s: %s", path, errno ? strerror(errno) : "out of memory");
                rc = -1;
                break;
            }
            added++;
        }
        fclose(in);
    }
    free(line);
    jr_free(&d);
    if (fclose(out) != 0 && rc == 0) {
        pm_set_error("%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(done.h);
    if (rc == -1)
        return -1;
    printf("explore: merged %llu states from %d shards (%llu already there, %llu in more than "
           "one)\n",
           (unsigned long long)added, ndirs, (unsigned long long)had, (unsigned long long)same);
    snprintf(path, sizeof path, "%.4000s/summary.txt", o->out);
    FILE *sf = fopen(path, "w");
    if (sf) {
        pt_explore_write_summary(o, sf);
        fclose(sf);
    }
    int f = pt_explore_write_summary(o, stdout);
    if (f < 0) {
        pm_set_error("%s/states.jsonl: %s", o->out, strerror(errno));
        return -1;
    }
    *failed = (uint64_t)f;
    return 0;
}
