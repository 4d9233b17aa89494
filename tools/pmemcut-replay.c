/* pmemcut-replay — the device image at any point of its history, crash
 * states explored offline, and the history exported for dm-log-writes tools.
 *
 *   pmemcut-replay replay --audit LOG --data DLOG [--to SEQ] [--unfence SEQ]
 *                  [--policy P [--p F] [--seed N]] [--base IMG] -o OUT.img
 *   pmemcut-replay explore --audit LOG --data DLOG --fs ext4|xfs --out DIR
 *                  [--points flush|mark|write|fence] [--states-per-point N]
 *                  [--policies lose-all,keep-all,random,torn,prefix] [--jobs N]
 *                  [--check-timeout SECONDS] [--offset BYTES]
 *                  [--acks FILE|audit [--verify-dir DIR] [--record-size B]
 *                  [--expect durable|none]]
 *   pmemcut-replay export --format dm-log-writes --audit LOG --data DLOG -o FILE
 *
 * Exit (the table of every pmemcut program): 0 done, 1 explore found
 * failing states (or states whose checker timed out), 2 a usage or I/O error or damaged or
 * inconsistent logs (the message names the seq or byte offset).  The engines are in tools/engines/;
 * this file only reads the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/error.h"
#include "utils/parse.h"
#include "utils/exitcode.h"
#include "engines/explore.h"
#include "engines/export.h"
#include "engines/replay.h"
#include "verify/record.h"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: pmemcut-replay replay --audit LOG --data DLOG [--to SEQ] [--unfence SEQ]\n"
           "                      [--policy P [--p F] [--seed N]] [--base IMG] -o OUT.img\n"
           "       pmemcut-replay explore --audit LOG --data DLOG --fs ext4|xfs --out DIR\n"
           "                      [--points flush|mark|write|fence] [--states-per-point N]\n"
           "                      [--policies lose-all,keep-all,random,torn,prefix]\n"
           "                      [--jobs N] [--base IMG] [--fresh-images] [--check-timeout S]\n"
           "                      [--acks FILE|audit [--verify-dir DIR] [--record-size B]\n"
           "                      [--expect durable|none]] [--shard K/N] [--offset BYTES]\n"
           "       pmemcut-replay explore --merge --audit LOG --data DLOG --out DIR SHARD-DIR...\n"
           "       pmemcut-replay export --format dm-log-writes --audit LOG --data DLOG -o FILE\n");
}

/* A usage error: one line, with what was wrong (getopt's own messages
 * are off: opterr = 0). */
static int bad_usage(const char *cmd, const char *what)
{
    fprintf(stderr, "pmemcut-replay: %s: %s (see pmemcut-replay --help)\n", cmd, what);
    return PM_EXIT_USAGE;
}

/* getopt's '?': the option it stopped at, unknown or without its value. */
static int bad_option(const char *cmd, char **argv)
{
    fprintf(stderr,
            "pmemcut-replay: %s: unknown or incomplete option '%s' (see pmemcut-replay --help)\n",
            cmd, argv[optind - 1]);
    return PM_EXIT_USAGE;
}

/* Option numbers, strict (common/utils/parse.h): 0, or -1 after the
 * message. */
static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    if (pm_parse_u64(s, max, out) == -1) {
        fprintf(stderr, "pmemcut-replay: %s: %s\n", opt, pm_get_error());
        return -1;
    }
    return 0;
}

static int parse_p(const char *s, double *out)
{
    if (pm_parse_double(s, 0, 1, out) == -1) {
        fprintf(stderr, "pmemcut-replay: --p: not a probability: %s\n", s);
        return -1;
    }
    return 0;
}

/* --- replay ---------------------------------------------------------------------- */

static int cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"audit", required_argument, 0, 'a'},   {"data", required_argument, 0, 'd'},
        {"to", required_argument, 0, 't'},      {"policy", required_argument, 0, 'P'},
        {"p", required_argument, 0, 'p'},       {"seed", required_argument, 0, 's'},
        {"base", required_argument, 0, 'b'},    {"output", required_argument, 0, 'o'},
        {"unfence", required_argument, 0, 'U'}, {0, 0, 0, 0},
    };
    const char *audit = NULL, *data = NULL, *base = NULL, *out = NULL;
    uint64_t to = UINT64_MAX, unfence = 0;
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
            if (parse_u64("--to", optarg, UINT64_MAX, &to))
                return PM_EXIT_USAGE;
            break;
        case 'U':
            if (parse_u64("--unfence", optarg, UINT64_MAX, &unfence) || !unfence)
                return unfence ? PM_EXIT_USAGE : bad_usage("replay", "--unfence: a seq, not 0");
            break;
        case 's':
            if (parse_u64("--seed", optarg, UINT64_MAX, &cp.seed))
                return PM_EXIT_USAGE;
            break;
        case 'p':
            if (parse_p(optarg, &cp.p))
                return PM_EXIT_USAGE;
            break;
        case 'P':
            if (pm_policy_parse(optarg, &cp.policy) == -1) {
                fprintf(stderr, "pmemcut-replay: --policy: unknown policy %s\n", optarg);
                return PM_EXIT_USAGE;
            }
            have_policy = true;
            break;
        default:
            return bad_option("replay", argv);
        }
    }
    if (optind != argc)
        return bad_usage("replay", "unexpected arguments");
    if (!audit || !out)
        return bad_usage("replay", "--audit LOG and -o OUT.img are required");
    /* a fence point's state: the replay to just before the batch */
    if (unfence && to == UINT64_MAX)
        to = unfence - 1;
    if (unfence && to != unfence - 1)
        return bad_usage("replay", "--unfence SEQ replays to SEQ - 1 (--to SEQ-1 or no --to)");
    struct pt_replay r;
    int rc = 0;
    if (pt_replay_open(&r, audit, data, base) == -1) {
        fprintf(stderr, "pmemcut-replay: %s\n", pm_get_error());
        pt_replay_close(&r);
        return PM_EXIT_USAGE;
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
        fprintf(stderr, "pmemcut-replay: %s\n", pm_get_error());
        rc = PM_EXIT_USAGE;
    } else if (!r.m) {
        fprintf(stderr, "pmemcut-replay: %s: no \"open\" record up to the chosen seq\n", audit);
        rc = PM_EXIT_USAGE;
    } else if (to != UINT64_MAX && r.applied < to && n == 0) {
        fprintf(stderr, "pmemcut-replay: %s: the log ends at seq %llu, before --to %llu\n", audit,
                (unsigned long long)r.applied, (unsigned long long)to);
        rc = PM_EXIT_USAGE;
    }
    if (rc == 0 && unfence && pt_explore_unfence(&r, audit, unfence) == -1) {
        fprintf(stderr, "pmemcut-replay: %s\n", pm_get_error());
        rc = PM_EXIT_USAGE;
    }
    if (rc == 0) {
        uint8_t *img = r.p;
        if (have_policy) {
            if (pt_replay_cut(&r, &cp, "replay") == -1) {
                fprintf(stderr, "pmemcut-replay: %s\n", pm_get_error());
                rc = PM_EXIT_USAGE;
            }
        } else if (pt_replay_is_on(&r)) {
            img = malloc(r.size);
            if (!img) {
                fprintf(stderr, "pmemcut-replay: out of memory for a %llu-byte image\n",
                        (unsigned long long)r.size);
                rc = PM_EXIT_USAGE;
            } else {
                pt_replay_read(&r, img, r.size, 0);
            }
        }
        if (rc == 0 && pt_write_image(img, r.size, out) == -1) {
            fprintf(stderr, "pmemcut-replay: %s\n", pm_get_error());
            rc = PM_EXIT_USAGE;
        }
        if (img != r.p)
            free(img);
    }
    pt_replay_close(&r);
    return rc;
}

/* --- export ----------------------------------------------------------------------- */

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
            return bad_option("export", argv);
        }
    }
    if (optind != argc)
        return bad_usage("export", "unexpected arguments");
    if (!audit || !out || !format)
        return bad_usage("export", "--format, --audit LOG and -o FILE are required");
    if (strcmp(format, "dm-log-writes") != 0) {
        fprintf(stderr, "pmemcut-replay: --format: only dm-log-writes is known, not %s\n", format);
        return PM_EXIT_USAGE;
    }
    struct pt_export_result res;
    int r = pt_export_dmlog(audit, data, base, out, &res);
    if (r == -1)
        fprintf(stderr, "pmemcut-replay: %s\n", pm_get_error());
    /* a damaged log: what came before the damage is exported */
    if (r == 0 || res.damaged)
        printf("exported %llu entries (seq 1..%llu) to %s\n", (unsigned long long)res.entries,
               (unsigned long long)res.applied, out);
    return r == 0 ? PM_EXIT_OK : PM_EXIT_USAGE;
}

/* --- explore ---------------------------------------------------------------------- */

static bool explore_merge; /* --merge: the rest of the arguments are shard directories */

/* --shard K/N: 1 <= K <= N <= 10000. */
static int parse_shard(const char *s, struct pt_explore_opts *o)
{
    unsigned k, n;
    char end;
    if (sscanf(s, "%u/%u%c", &k, &n, &end) != 2 || k < 1 || n < 1 || k > n || n > 10000 ||
        s[0] == '+' || strchr(s, ' ')) {
        fprintf(stderr, "pmemcut-replay: --shard: K/N with 1 <= K <= N <= 10000, not %s\n", s);
        return -1;
    }
    o->shard_k = k;
    o->shard_n = n;
    return 0;
}

static int parse_explore(int argc, char **argv, struct pt_explore_opts *o)
{
    static const struct option lopts[] = {
        {"audit", required_argument, 0, 'a'},
        {"data", required_argument, 0, 'd'},
        {"base", required_argument, 0, 'b'},
        {"out", required_argument, 0, 'o'},
        {"fs", required_argument, 0, 'f'},
        {"points", required_argument, 0, 'P'},
        {"states-per-point", required_argument, 0, 'n'},
        {"policies", required_argument, 0, 'y'},
        {"p", required_argument, 0, 'p'},
        {"jobs", required_argument, 0, 'j'},
        {"from", required_argument, 0, 'F'},
        {"to", required_argument, 0, 'T'},
        {"acks", required_argument, 0, 'A'},
        {"verify-dir", required_argument, 0, 'D'},
        {"record-size", required_argument, 0, 'R'},
        {"expect", required_argument, 0, 'E'},
        {"fresh-images", no_argument, 0, 'W'},
        {"check-timeout", required_argument, 0, 'C'},
        {"shard", required_argument, 0, 'S'},
        {"merge", no_argument, 0, 'M'},
        {"offset", required_argument, 0, 'O'},
        {0, 0, 0, 0},
    };
    pt_explore_defaults(o);
    const char *pols = "lose-all,keep-all,random,torn,prefix";
    int c;
    while ((c = getopt_long(argc, argv, "o:j:", lopts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case 'a':
            o->audit = optarg;
            break;
        case 'd':
            o->data = optarg;
            break;
        case 'b':
            o->base = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'f':
            o->fs = optarg;
            break;
        case 'y':
            pols = optarg;
            break;
        case 'P': {
            o->points = 0;
            char *s = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "flush") == 0)
                    o->points |= PT_POINT_FLUSH;
                else if (strcmp(t, "mark") == 0)
                    o->points |= PT_POINT_MARK;
                else if (strcmp(t, "write") == 0)
                    o->points |= PT_POINT_WRITE;
                else if (strcmp(t, "fence") == 0)
                    o->points |= PT_POINT_FENCE;
                else {
                    fprintf(stderr,
                            "pmemcut-replay: --points: unknown kind %s (flush, mark, write, "
                            "fence)\n",
                            t);
                    free(s);
                    return -1;
                }
            }
            free(s);
            break;
        }
        case 'n':
            if (parse_u64("--states-per-point", optarg, 100000, &v))
                return -1;
            o->per_point = (unsigned)v;
            break;
        case 'p':
            if (parse_p(optarg, &o->p))
                return -1;
            break;
        case 'j':
            if (parse_u64("--jobs", optarg, 1024, &v))
                return -1;
            if (v < 1) {
                fprintf(stderr, "pmemcut-replay: --jobs: bad number %s\n", optarg);
                return -1;
            }
            o->jobs = (int)v;
            break;
        case 'F':
            if (parse_u64("--from", optarg, UINT64_MAX, &o->from))
                return -1;
            break;
        case 'T':
            if (parse_u64("--to", optarg, UINT64_MAX, &o->to))
                return -1;
            break;
        case 'A':
            o->acks = optarg;
            break;
        case 'W':
            o->fresh = true;
            break;
        case 'C':
            if (pm_parse_double(optarg, PT_CHECK_TIMEOUT_MIN, PT_CHECK_TIMEOUT_MAX,
                                &o->check_timeout) == -1) {
                fprintf(stderr, "pmemcut-replay: --check-timeout: %s (seconds)\n", pm_get_error());
                return -1;
            }
            break;
        case 'D':
            o->verify_dir = optarg;
            break;
        case 'R': {
            if (pm_parse_u64(optarg, UINT32_MAX, &v) == -1 || pm_rec_size_ok(v) == -1) {
                fprintf(stderr, "pmemcut-replay: --record-size: not a record size: %s\n", optarg);
                return -1;
            }
            o->record_size = (uint32_t)v;
            break;
        }
        case 'E': {
            int e = pm_expect_parse(optarg);
            if (e == -1) {
                fprintf(stderr, "pmemcut-replay: --expect: durable or none, not %s\n", optarg);
                return -1;
            }
            o->expect = (enum pm_expect)e;
            break;
        }
        case 'S':
            if (parse_shard(optarg, o) == -1)
                return -1;
            break;
        case 'M':
            explore_merge = true;
            break;
        case 'O':
            if (parse_u64("--offset", optarg, UINT64_MAX, &o->fs_offset))
                return -1;
            if (o->fs_offset % 4096) {
                fprintf(stderr, "pmemcut-replay: --offset: not a multiple of 4096: %s\n", optarg);
                return -1;
            }
            break;
        default:
            bad_option("explore", argv);
            return -1;
        }
    }
    char *s = strdup(pols), *save = NULL;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->npolicies == PT_EXPLORE_MAX_POLICIES ||
            pm_policy_parse(t, &o->policies[o->npolicies]) == -1) {
            fprintf(stderr, "pmemcut-replay: --policies: unknown or repeated policy %s\n", t);
            free(s);
            return -1;
        }
        o->npolicies++;
    }
    free(s);
    if (explore_merge) {
        if (optind == argc || !o->out || !o->audit) {
            bad_usage("explore",
                      "--merge needs --audit LOG, --out DIR and the shards' directories");
            return -1;
        }
        if (o->shard_n) {
            bad_usage("explore", "--merge and --shard go to different runs");
            return -1;
        }
        return 0;
    }
    if (optind != argc) {
        bad_usage("explore", "unexpected arguments");
        return -1;
    }
    if (!o->audit || !o->out || !o->fs) {
        fprintf(stderr, "pmemcut-replay: --audit, --fs and --out are required\n");
        return -1;
    }
    if (strcmp(o->fs, "ext4") != 0 && strcmp(o->fs, "xfs") != 0) {
        fprintf(stderr, "pmemcut-replay: --fs: ext4 or xfs, not %s\n", o->fs);
        return -1;
    }
    return 0;
}

static int cmd_explore(int argc, char **argv)
{
    struct pt_explore_opts o;
    if (parse_explore(argc, argv, &o) == -1)
        return PM_EXIT_USAGE;
    uint64_t failed;
    int r = explore_merge ? pt_explore_merge(&o, argv + optind, argc - optind, &failed)
                          : pt_explore_run(&o, &failed);
    if (r == -1) {
        fprintf(stderr, "pmemcut-replay: %s\n", pm_get_error());
        return PM_EXIT_USAGE;
    }
    return failed ? PM_EXIT_FAIL : PM_EXIT_OK;
}

int main(int argc, char **argv)
{
    opterr = 0; /* one line per usage error, ours */
    if (argc < 2) {
        fprintf(stderr, "pmemcut-replay: no command (replay, explore, export; see --help)\n");
        return PM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    argv++;
    argc--;
    if (strcmp(cmd, "replay") == 0)
        return cmd_replay(argc, argv);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc, argv);
    if (strcmp(cmd, "explore") == 0)
        return cmd_explore(argc, argv);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return PM_EXIT_OK;
    }
    fprintf(stderr, "pmemcut-replay: unknown command '%s' (replay, explore, export; see --help)\n",
            cmd);
    return PM_EXIT_USAGE;
}
