/* report.c — see report.h; also `pmemcut-host report`. */
#include "report.h"
#include "host.h"
#include "util.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "utils/vec.h"

struct row {
    char *key; /* mode fs workload sync policy (+ lying) */
    const char *mode, *fs, *workload, *sync, *policy, *expected;
    bool lying;
    int cycles;
    long long acked, lost, lost_lines;
    int pass, fail, allowed, refused, error;
};

/* The row's verdict: any FAIL wins, then a checker's error (never a PASS),
 * then refused, then allowed-loss. */
static const char *row_verdict(const struct row *r)
{
    return r->fail      ? "FAIL"
           : r->error   ? "error"
           : r->refused ? "refused"
           : r->allowed ? "allowed-loss"
                        : "PASS";
}

static long long count(json_t *v)
{
    if (json_is_array(v))
        return (long long)json_array_size(v);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* The counts come from a file: they add up without overflowing. */
static long long sum(long long a, long long b)
{
    long long s;
    return __builtin_add_overflow(a, b, &s) ? (b > 0 ? LLONG_MAX : LLONG_MIN) : s;
}

static long long lines_by_class(json_t *o)
{
    if (!json_is_object(o))
        return 0;
    long long n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        n = sum(n, json_is_integer(v) ? json_integer_value(v) : 0);
    }
    return n;
}

char *ph_cut_lines(json_t *cut)
{
    const char *kinds[2] = {"lost", "torn"};
    long long n[2][3];
    for (int k = 0; k < 2; k++) {
        json_t *o = json_object_get(cut, kinds[k]);
        const char *classes[3] = {"meta", "data", "unknown"};
        for (int c = 0; c < 3; c++) {
            json_t *v = json_object_get(o, classes[c]);
            n[k][c] = json_is_integer(v) ? json_integer_value(v) : 0;
        }
    }
    return ph_strf("lost %lld meta, %lld data, %lld other lines; torn %lld meta, %lld data, "
                   "%lld other lines",
                   n[0][0], n[0][1], n[0][2], n[1][0], n[1][1], n[1][2]);
}

/* The cycle's policy: the run's (results since the policy column), else
 * the one its cut record names. */
static const char *row_policy(json_t *o)
{
    const char *p = json_string_value(json_object_get(o, "policy"));
    if (!p)
        p = json_string_value(json_object_get(json_object_get(o, "cut"), "policy"));
    return p ? p : "-";
}

int ph_report_print(FILE *f, const char *const paths[])
{
    PM_VEC(struct row) rows = {0};
    json_t *keep = json_array(); /* owns the parsed rows while we print */
    int fails = 0;
    char *path = NULL;
    for (int p = 0; paths[p]; p++) {
        struct stat st;
        path = stat(paths[p], &st) == 0 && S_ISDIR(st.st_mode)
                   ? ph_strf("%s/results.jsonl", paths[p])
                   : ph_strf("%s", paths[p]);
        char *text = ph_read_file(path, NULL);
        if (!text)
            goto fail;
        /* Every line is one cycle's row; a file without one, or with a line
         * that is not one, is damaged input, not an empty table. */
        int lineno = 0, found = 0;
        for (char *line = text, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            lineno++;
            json_t *o = json_loads(line, 0, NULL);
            if (!json_is_object(o)) {
                json_decref(o);
                pm_set_error("report: %s:%d: not a result row (one JSON object per line)", path,
                             lineno);
                free(text);
                goto fail;
            }
            json_array_append_new(keep, o);
            const char *mode = json_string_value(json_object_get(o, "mode"));
            const char *fs = json_string_value(json_object_get(o, "fs"));
            const char *wl = json_string_value(json_object_get(o, "workload"));
            const char *sy = json_string_value(json_object_get(o, "sync"));
            const char *ex = json_string_value(json_object_get(o, "expected"));
            const char *vd = json_string_value(json_object_get(o, "verdict"));
            bool lying = json_is_true(json_object_get(o, "lying_device"));
            const char *policy = row_policy(o);
            if (!mode || !fs || !wl || !sy || !vd) {
                pm_set_error("report: %s:%d: a row without mode, fs, workload, sync and verdict",
                             path, lineno);
                free(text);
                goto fail;
            }
            found++;
            char *key = ph_strf("%s %s %s %s %s %d", mode, fs, wl, sy, policy, lying);
            struct row *r = NULL;
            for (size_t i = 0; i < rows.len; i++)
                if (strcmp(rows.v[i].key, key) == 0)
                    r = &rows.v[i];
            if (!r) {
                if (PM_VEC_RESERVE(&rows, 1) < 0)
                    abort();
                r = &rows.v[rows.len++];
                *r = (struct row){.key = key,
                                  .mode = mode,
                                  .fs = fs,
                                  .workload = wl,
                                  .sync = sy,
                                  .policy = policy,
                                  .expected = ex ? ex : "?",
                                  .lying = lying};
            } else {
                free(key);
            }
            r->cycles++;
            r->acked = sum(r->acked, count(json_object_get(o, "acked")));
            r->lost = sum(r->lost, sum(count(json_object_get(o, "missing")),
                                       count(json_object_get(o, "corrupt"))));
            json_t *cut = json_object_get(o, "cut");
            r->lost_lines = sum(r->lost_lines, sum(lines_by_class(json_object_get(cut, "lost")),
                                                   lines_by_class(json_object_get(cut, "torn"))));
            if (strcmp(vd, "FAIL") == 0)
                r->fail++;
            else if (strcmp(vd, "refused") == 0)
                r->refused++;
            else if (strcmp(vd, "allowed-loss") == 0)
                r->allowed++;
            else if (strcmp(vd, "PASS") == 0)
                r->pass++;
            else
                r->error++; /* "error": the checker could not say */
        }
        free(text);
        if (!found) {
            pm_set_error("report: %s: no results (an empty file)", path);
            goto fail;
        }
        free(path);
        path = NULL;
    }
    fprintf(f, "%-12s %-5s %-9s %-15s %-8s %-8s %6s %6s %10s %10s  %s\n", "mode", "fs", "workload",
            "sync", "policy", "expected", "cycles", "acked", "acked-lost", "lines-lost", "verdict");
    for (size_t i = 0; i < rows.len; i++) {
        struct row *r = &rows.v[i];
        char *sync = r->lying ? ph_strf("%s (lying)", r->sync) : ph_strf("%s", r->sync);
        fprintf(f, "%-12s %-5s %-9s %-15s %-8s %-8s %6d %6lld %10lld %10lld  %s\n", r->mode, r->fs,
                r->workload, sync, r->policy, r->expected, r->cycles, r->acked, r->lost,
                r->lost_lines, row_verdict(r));
        free(sync);
        fails += r->fail > 0;
        free(r->key);
    }
    PM_VEC_FREE(&rows);
    json_decref(keep);
    return fails;
fail:
    free(path);
    for (size_t i = 0; i < rows.len; i++)
        free(rows.v[i].key);
    PM_VEC_FREE(&rows);
    json_decref(keep);
    return -1;
}

int ph_cmd_report(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        if (argc < 2) {
            pm_set_error("report: give one or more results.jsonl files or run directories");
            return PM_EXIT_USAGE;
        }
        printf("usage: pmemcut-host report RESULTS.jsonl|DIR...\n");
        return 0;
    }
    int r = ph_report_print(stdout, (const char *const *)argv + 1);
    if (r < 0)
        return PM_EXIT_USAGE;
    return r ? PM_EXIT_FAIL : PM_EXIT_OK;
}
