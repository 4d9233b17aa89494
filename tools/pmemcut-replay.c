/* pmemcut-replay — the device image at any point of its history, crash
 * states explored offline, and the history exported for dm-log-writes tools.
 *
 *   pmemcut-replay replay --audit LOG --data DLOG [--to SEQ]
 *                  [--policy P [--p F] [--seed N]] [--base IMG] -o OUT.img
 *   pmemcut-replay explore --audit LOG --data DLOG --fs ext4|xfs --out DIR
 *                  [--points flush|mark|write] [--states-per-point N]
 *                  [--policies lose-all,keep-all,random,torn,prefix] [--jobs N]
 *                  [--acks FILE|audit [--verify-dir DIR] [--record-size B]
 *                  [--expect durable|none]]
 *   pmemcut-replay export --format dm-log-writes --audit LOG --data DLOG -o FILE
 *
 * Exit: 0 done, 1 usage or I/O error, 2 damaged or inconsistent logs (the
 * message names the seq or byte offset), 3 explore found failing states.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/dmlog.h"
#include "engines/explore.h"
#include "engines/replay.h"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: pmemcut-replay replay --audit LOG --data DLOG [--to SEQ]\n"
           "                      [--policy P [--p F] [--seed N]] [--base IMG] -o OUT.img\n"
           "       pmemcut-replay explore --audit LOG --data DLOG --fs ext4|xfs --out DIR\n"
           "                      [--points flush|mark|write] [--states-per-point N]\n"
           "                      [--policies lose-all,keep-all,random,torn,prefix]\n"
           "                      [--jobs N] [--base IMG] [--fresh-images]\n"
           "                      [--acks FILE|audit [--verify-dir DIR] [--record-size B]\n"
           "                      [--expect durable|none]]\n"
           "       pmemcut-replay export --format dm-log-writes --audit LOG --data DLOG -o FILE\n");
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        fprintf(stderr, "pmemcut-replay: %s: not a number: %s\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --- replay ---------------------------------------------------------------------- */

static int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"audit", required_argument, 0, 'a'},
        {"data", required_argument, 0, 'd'},
        {"to", required_argument, 0, 't'},
        {"policy", required_argument, 0, 'P'},
        {"p", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},
        {"base", required_argument, 0, 'b'},
        {"output", required_argument, 0, 'o'},
        {0, 0, 0, 0},
    };
    const char *audit = NULL, *data = NULL, *base = NULL, *out = NULL;
    uint64_t to = UINT64_MAX;
    bool have_policy = false;
    struct pm_cut_params cp = {.policy = PM_LOSE_ALL, .p = 0.5};
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            audit = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'b':
            base = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 't':
            if (parse_u64("--to", optarg, &to))
                return 1;
            break;
        case 's':
            if (parse_u64("--seed", optarg, &cp.seed))
                return 1;
            break;
        case 'p': {
            char *end;
            cp.p = strtod(optarg, &end);
            if (*end || end == optarg || !(cp.p >= 0 && cp.p <= 1)) {
                fprintf(stderr, "pmemcut-replay: --p: not a probability: %s\n", optarg);
                return 1;
            }
            break;
        }
        case 'P':
            if (pm_policy_parse(optarg, &cp.policy) == -1) {
                fprintf(stderr, "pmemcut-replay: --policy: unknown policy %s\n", optarg);
                return 1;
            }
            have_policy = true;
            break;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (!audit || !out || optind != argc) {
        usage(stderr);
        return 1;
    }
    struct pt_replay r;
    int rc = 0;
    if (pt_replay_open(&r, audit, data, base) == -1) {
        fprintf(stderr, "pmemcut-replay: %s\n", r.err);
        pt_replay_close(&r);
        return 2;
    }
    int n;
    while ((n = pt_replay_next(&r)) == 1) {
        if (r.rec.seq > to)
            break;
        if (pt_replay_apply(&r) == -1) {
            n = -1;
            break;
        }
    }
    if (n < 0) {
        fprintf(stderr, "pmemcut-replay: %s\n", r.err);
        rc = 2;
    } else if (!r.m) {
        fprintf(stderr, "pmemcut-replay: %s: no \"open\" record up to the chosen seq\n", audit);
        rc = 2;
    } else if (to != UINT64_MAX && r.applied < to && n == 0) {
        fprintf(stderr, "pmemcut-replay: %s: the log ends at seq %llu, before --to %llu\n", audit,
                (unsigned long long)r.applied, (unsigned long long)to);
        rc = 2;
    }
    if (rc == 0) {
        uint8_t *img = r.p;
        if (have_policy) {
            if (pt_replay_cut(&r, &cp, "replay") == -1) {
                fprintf(stderr, "pmemcut-replay: %s\n", r.err);
                rc = 2;
            }
        } else if (pt_replay_is_on(&r)) {
            img = malloc(r.size);
            if (!img) {
                fprintf(stderr, "pmemcut-replay: out of memory for a %llu-byte image\n",
                        (unsigned long long)r.size);
                rc = 1;
            } else {
                pt_replay_read(&r, img, r.size, 0);
            }
        }
        char err[600];
        if (rc == 0 && pt_write_image(img, r.size, out, err, sizeof err) == -1) {
            fprintf(stderr, "pmemcut-replay: %s\n", err);
            rc = 1;
        }
        if (img != r.p)
            free(img);
    }
    pt_replay_close(&r);
    return rc;
}

/* --- export ----------------------------------------------------------------------- */

struct dirty_list {
    struct pm_range *r;
    size_t n, cap;
};

static void collect(void *ctx, uint64_t off, uint64_t len, enum pm_class cls)
{
    (void)cls;
    struct dirty_list *l = ctx;
    if (l->n && l->r[l->n - 1].off + l->r[l->n - 1].len == off) {
        l->r[l->n - 1].len += len;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct pm_range *nr = realloc(l->r, cap * sizeof *nr);
        if (!nr) {
            l->n = SIZE_MAX; /* marks the failure */
            return;
        }
        l->r = nr;
        l->cap = cap;
    }
    if (l->n != SIZE_MAX)
        l->r[l->n++] = (struct pm_range){off, len};
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
            if (!b)
                return -1;
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
    const struct au_rec *rec = &r->rec;
    char text[64];
    bool resets = rec->ev == AU_CUT || (rec->ev == AU_OPEN && r->m);
    dl->n = 0;
    if (resets && r->m) {
        pm_model_dirty_ranges(r->m, 0, collect, dl);
        if (dl->n == SIZE_MAX)
            return -1;
    }
    if (pt_replay_apply(r) == -1)
        return -2;
    switch (rec->ev) {
    case AU_WRITE:
    case AU_ZERO:
    case AU_TRIM: {
        uint64_t flags = rec->fua && !rec->ignored ? DMLOG_FUA : 0;
        if (any_meta(r, rec->off, rec->len))
            flags |= DMLOG_METADATA;
        if (rec->ev == AU_TRIM && rec->off % DMLOG_SECTOR == 0 && rec->len % DMLOG_SECTOR == 0)
            return pt_dmlog_entry(&x->w, rec->off / DMLOG_SECTOR, rec->len / DMLOG_SECTOR,
                                  flags | DMLOG_DISCARD, NULL);
        if (rec->len == 0)
            return 0;
        return export_range(x, rec->off, rec->len, flags);
    }
    case AU_FLUSH:
        return rec->ignored ? 0 : pt_dmlog_entry(&x->w, 0, 0, DMLOG_FLUSH, NULL);
    case AU_MARK:
        return pt_dmlog_mark(&x->w, rec->text);
    case AU_CUT:
    case AU_OPEN:
        if (!resets)
            return 0;
        snprintf(text, sizeof text, "pmemcut-%s:%llu", rec->ev == AU_CUT ? "cut" : "restart",
                 (unsigned long long)rec->seq);
        if (pt_dmlog_mark(&x->w, text) == -1)
            return -1;
        for (size_t i = 0; i < dl->n; i++)
            if (export_range(x, dl->r[i].off, dl->r[i].len, 0) == -1)
                return -1;
        return pt_dmlog_entry(&x->w, 0, 0, DMLOG_FLUSH, NULL);
    default:
        return 0;
    }
}

static int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"audit", required_argument, 0, 'a'},  {"data", required_argument, 0, 'd'},
        {"format", required_argument, 0, 'f'}, {"base", required_argument, 0, 'b'},
        {"output", required_argument, 0, 'o'}, {0, 0, 0, 0},
    };
    const char *audit = NULL, *data = NULL, *base = NULL, *out = NULL, *format = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            audit = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'b':
            base = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (!audit || !out || !format || optind != argc) {
        usage(stderr);
        return 1;
    }
    if (strcmp(format, "dm-log-writes") != 0) {
        fprintf(stderr, "pmemcut-replay: --format: only dm-log-writes is known, not %s\n", format);
        return 1;
    }
    struct pt_replay r;
    if (pt_replay_open(&r, audit, data, base) == -1) {
        fprintf(stderr, "pmemcut-replay: %s\n", r.err);
        pt_replay_close(&r);
        return 2;
    }
    struct exporter x = {.r = &r};
    struct dirty_list dl = {0};
    int rc = 0;
    if (pt_dmlog_create(&x.w, out) == -1) {
        fprintf(stderr, "pmemcut-replay: %s\n", x.w.err);
        pt_replay_close(&r);
        return 1;
    }
    int n;
    while ((n = pt_replay_next(&r)) == 1) {
        int e = export_one(&x, &dl);
        if (e == -2) {
            n = -1;
            break;
        }
        if (e == -1) {
            fprintf(stderr, "pmemcut-replay: %s\n", x.w.err[0] ? x.w.err : "out of memory");
            rc = 1;
            break;
        }
    }
    if (n < 0) {
        /* what came before the damage is exported; the error still counts */
        fprintf(stderr, "pmemcut-replay: %s\n", r.err);
        rc = 2;
    }
    if (pt_dmlog_finish(&x.w) == -1) {
        fprintf(stderr, "pmemcut-replay: %s\n", x.w.err);
        rc = rc ? rc : 1;
    }
    if (rc != 1)
        printf("exported %llu entries (seq 1..%llu) to %s\n", (unsigned long long)x.w.entries,
               (unsigned long long)r.applied, out);
    free(dl.r);
    free(x.buf);
    pt_replay_close(&r);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    argv++;
    argc--;
    if (strcmp(cmd, "replay") == 0)
        return cmd_replay(argc, argv);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc, argv);
    if (strcmp(cmd, "explore") == 0)
        return pt_explore_main(argc, argv);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "pmemcut-replay: unknown command %s\n", cmd);
    usage(stderr);
    return 1;
}
