/* report.c — see report.h; also `pmemcut-host report`. */
#include "report.h"
#include "host.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "utils/vec.h"

struct row {
    char *key; /* mode fs workload sync (+ lying) */
    const char *mode, *fs, *workload, *sync, *expected;
    bool lying;
    int cycles;
    long long acked, lost, lost_lines;
    int pass, fail, allowed, refused;
};

/* The row's verdict: any FAIL wins, then refused, then allowed-loss. */
static const char *row_verdict(const struct row *r)
{
    return r->fail ? "FAIL" : r->refused ? "refused" : r->allowed ? "allowed-loss" : "PASS";
}

static long long count(json_t *v)
{
    if (json_is_array(v))
        return (long long)json_array_size(v);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static long long lines_by_class(json_t *o)
{
    long long n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        n += json_is_integer(v) ? json_integer_value(v) : 0;
    }
    return n;
}

int ph_report_print(FILE *f, const char *const paths[])
{
    PM_VEC(struct row) rows = {0};
    json_t *keep = json_array(); /* owns the parsed rows while we print */
    int fails = 0;
    for (int p = 0; paths[p]; p++) {
        struct stat st;
        char *path = stat(paths[p], &st) == 0 && S_ISDIR(st.st_mode)
                         ? ph_strf("%s/results.jsonl", paths[p])
                         : ph_strf("%s", paths[p]);
        char *text = ph_read_file(path, NULL);
        free(path);
        if (!text) {
            json_decref(keep);
            PM_VEC_FREE(&rows);
            return -1;
        }
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            json_t *o = json_loads(line, 0, NULL);
            if (!json_is_object(o)) {
                json_decref(o);
                continue;
            }
            json_array_append_new(keep, o);
            const char *mode = json_string_value(json_object_get(o, "mode"));
            const char *fs = json_string_value(json_object_get(o, "fs"));
            const char *wl = json_string_value(json_object_get(o, "workload"));
            const char *sy = json_string_value(json_object_get(o, "sync"));
            const char *ex = json_string_value(json_object_get(o, "expected"));
            const char *vd = json_string_value(json_object_get(o, "verdict"));
            bool lying = json_is_true(json_object_get(o, "lying_device"));
            if (!mode || !fs || !wl || !sy || !vd)
                continue;
            char *key = ph_strf("%s %s %s %s %d", mode, fs, wl, sy, lying);
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
                                  .expected = ex ? ex : "?",
                                  .lying = lying};
            } else {
                free(key);
            }
            r->cycles++;
            r->acked += count(json_object_get(o, "acked"));
            r->lost += count(json_object_get(o, "missing")) + count(json_object_get(o, "corrupt"));
            json_t *cut = json_object_get(o, "cut");
            r->lost_lines += lines_by_class(json_object_get(cut, "lost")) +
                             lines_by_class(json_object_get(cut, "torn"));
            if (strcmp(vd, "FAIL") == 0)
                r->fail++;
            else if (strcmp(vd, "refused") == 0)
                r->refused++;
            else if (strcmp(vd, "allowed-loss") == 0)
                r->allowed++;
            else
                r->pass++;
        }
        free(text);
    }
    fprintf(f, "%-12s %-5s %-9s %-15s %-8s %6s %6s %10s %10s  %s\n", "mode", "fs", "workload",
            "sync", "expected", "cycles", "acked", "acked-lost", "lines-lost", "verdict");
    for (size_t i = 0; i < rows.len; i++) {
        struct row *r = &rows.v[i];
        char *sync = r->lying ? ph_strf("%s (lying)", r->sync) : ph_strf("%s", r->sync);
        fprintf(f, "%-12s %-5s %-9s %-15s %-8s %6d %6lld %10lld %10lld  %s\n", r->mode, r->fs,
                r->workload, sync, r->expected, r->cycles, r->acked, r->lost, r->lost_lines,
                row_verdict(r));
        free(sync);
        fails += r->fail > 0;
        free(r->key);
    }
    PM_VEC_FREE(&rows);
    json_decref(keep);
    return fails;
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
