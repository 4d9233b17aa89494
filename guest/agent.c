/* guest/agent.c — pmemcut-agent: command-line front end.
 *
 *   pmemcut-agent caps [--dir DIR]
 *   pmemcut-agent prepare --dev DEV --fs ext4|xfs --mnt DIR [--mkfs] [--namespace]
 *                         [--handshake]
 *   pmemcut-agent run --dir DIR --workload W --sync S [--records N] [--record-size B]
 *                     [--slots K] [--pause-ms MS] [--epoch N] [--ack-to channel|-|PATH
 * [--ack-wait]]
 *                     [--inject no-sync|ack-early|no-flush|no-fence]
 *   pmemcut-agent verify --dir DIR --acks channel|-|PATH [--ask] [--dev DEV --fs T]
 *                        [--record-size B] [--slots K] [--expect durable|none]
 *   pmemcut-agent extents --dir DIR
 *   pmemcut-agent ack TEXT...
 *   pmemcut-agent job
 *   pmemcut-agent digest --dev DEV [--bytes N]
 *   pmemcut-agent check --dir DIR --acks channel|-|PATH [--ask] [--dev DEV --fs T] [--expect E]
 *                       [--timeout S] -- CMD [ARGS...]
 *
 * Every command prints one JSON object on one line on stdout.  Exit codes:
 * 0 success (verify: PASS), 1 verify FAIL, 2 usage or environment error,
 * 3 the system refused the requested sync method.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "run.h"
#include "sys.h"
#include "exec.h"
#include "job.h"
#include "verify.h"

#include "utils/error.h"
#include "utils/exitcode.h"
#include "utils/parse.h"
#include "verify/acks.h"
#include "verify/record.h"

static const char usage_text[] =
    "usage: pmemcut-agent COMMAND [OPTIONS]\n"
    "  caps [--dir DIR]\n"
    "  prepare --dev DEV --fs ext4|xfs --mnt DIR [--mkfs] [--namespace] [--handshake]\n"
    "  run --dir DIR --workload append|overwrite|create|mmap\n"
    "      --sync none|fsync|fdatasync|msync|odsync|map-sync|prealloc-flush|prewrite-flush\n"
    "      [--records N] [--record-size B] [--slots K] [--pause-ms MS] [--epoch N]\n"
    "      [--ack-to channel|-|PATH [--ack-wait]] [--inject no-sync|ack-early|no-flush|no-fence]\n"
    "  verify --dir DIR --acks channel|-|PATH [--ask] [--dev DEV --fs ext4|xfs]\n"
    "      [--record-size B] [--slots K] [--expect durable|none]\n"
    "  extents --dir DIR\n"
    "  ack TEXT...\n"
    "  job\n"
    "  digest --dev DEV [--bytes N]\n"
    "  check --dir DIR --acks channel|-|PATH [--ask] [--dev DEV --fs ext4|xfs]\n"
    "      [--expect durable|none] [--timeout S] -- CMD [ARGS...]\n";

enum {
    O_DIR = 256,
    O_DEV,
    O_FS,
    O_MNT,
    O_MKFS,
    O_NAMESPACE,
    O_HANDSHAKE,
    O_WORKLOAD,
    O_SYNC,
    O_RECORDS,
    O_EPOCH,
    O_RECORD_SIZE,
    O_SLOTS,
    O_PAUSE,
    O_ACK_TO,
    O_ACK_WAIT,
    O_ACKS,
    O_EXPECT,
    O_INJECT,
    O_TIMEOUT,
    O_BYTES,
    O_ASK,
    O_HELP,
};

static const struct option longopts[] = {
    {"dir", required_argument, NULL, O_DIR},
    {"dev", required_argument, NULL, O_DEV},
    {"fs", required_argument, NULL, O_FS},
    {"mnt", required_argument, NULL, O_MNT},
    {"mkfs", no_argument, NULL, O_MKFS},
    {"namespace", no_argument, NULL, O_NAMESPACE},
    {"handshake", no_argument, NULL, O_HANDSHAKE},
    {"workload", required_argument, NULL, O_WORKLOAD},
    {"sync", required_argument, NULL, O_SYNC},
    {"records", required_argument, NULL, O_RECORDS},
    {"epoch", required_argument, NULL, O_EPOCH},
    {"record-size", required_argument, NULL, O_RECORD_SIZE},
    {"slots", required_argument, NULL, O_SLOTS},
    {"pause-ms", required_argument, NULL, O_PAUSE},
    {"ack-to", required_argument, NULL, O_ACK_TO},
    {"ack-wait", no_argument, NULL, O_ACK_WAIT},
    {"acks", required_argument, NULL, O_ACKS},
    {"expect", required_argument, NULL, O_EXPECT},
    {"inject", required_argument, NULL, O_INJECT},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"bytes", required_argument, NULL, O_BYTES},
    {"ask", no_argument, NULL, O_ASK},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Everything any command takes; each command checks what it needs. */
struct args {
    const char *dir, *dev, *fs, *mnt, *ack_to, *acks;
    int mkfs, namespace, handshake, ack_wait, ask;
    int workload, method, expect, inject;
    uint64_t records, size, slots, pause_ms, bytes, epoch;
    int slots_given;
    double timeout;
    int rest; /* argv index after the options (and a "--") */
};

/* A number option up to max; -1 after printing the error. */
static int parse_u64(const char *cmd, const char *opt, const char *s, uint64_t max, uint64_t *v)
{
    if (pm_parse_u64(s, max, v) < 0) {
        ga_error(cmd, "--%s: %s", opt, pm_get_error());
        return -1;
    }
    return 0;
}

static int parse_args(const char *cmd, int argc, char **argv, struct args *a)
{
    int c;

    memset(a, 0, sizeof *a);
    a->workload = a->method = -1;
    a->records = GA_RUN_DEFAULT_RECORDS;
    a->size = PM_REC_DEFAULT_SIZE;
    a->slots = GA_RUN_DEFAULT_SLOTS;
    a->expect = PM_EXPECT_DURABLE;
    a->bytes = GA_DIGEST_DEFAULT_BYTES;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_DIR:
            a->dir = optarg;
            break;
        case O_DEV:
            a->dev = optarg;
            break;
        case O_FS:
            a->fs = optarg;
            break;
        case O_MNT:
            a->mnt = optarg;
            break;
        case O_MKFS:
            a->mkfs = 1;
            break;
        case O_NAMESPACE:
            a->namespace = 1;
            break;
        case O_HANDSHAKE:
            a->handshake = 1;
            break;
        case O_WORKLOAD:
            if ((a->workload = pm_workload_parse(optarg)) < 0)
                return ga_error(cmd, "unknown workload '%s'", optarg);
            break;
        case O_SYNC:
            if ((a->method = pm_method_parse(optarg)) < 0)
                return ga_error(cmd, "unknown sync method '%s'", optarg);
            break;
        case O_RECORDS:
            if (parse_u64(cmd, "records", optarg, 1ull << 32, &a->records) < 0)
                return PM_EXIT_USAGE;
            break;
        case O_EPOCH:
            if (parse_u64(cmd, "epoch", optarg, PM_CYCLE_MAX, &a->epoch) < 0)
                return PM_EXIT_USAGE;
            break;
        case O_RECORD_SIZE:
            if (parse_u64(cmd, "record-size", optarg, PM_REC_MAX_SIZE, &a->size) < 0)
                return PM_EXIT_USAGE;
            if (pm_rec_size_ok(a->size) < 0)
                return ga_error(cmd, "--record-size must be a multiple of 8 in %u..%u",
                                PM_REC_MIN_SIZE, PM_REC_MAX_SIZE);
            break;
        case O_SLOTS:
            if (parse_u64(cmd, "slots", optarg, 1u << 20, &a->slots) < 0)
                return PM_EXIT_USAGE;
            if (a->slots == 0)
                return ga_error(cmd, "--slots must be at least 1");
            a->slots_given = 1;
            break;
        case O_PAUSE:
            if (parse_u64(cmd, "pause-ms", optarg, 60000, &a->pause_ms) < 0)
                return PM_EXIT_USAGE;
            break;
        case O_ACK_TO:
            a->ack_to = optarg;
            break;
        case O_ACK_WAIT:
            a->ack_wait = 1;
            break;
        case O_ACKS:
            a->acks = optarg;
            break;
        case O_EXPECT:
            if ((a->expect = pm_expect_parse(optarg)) < 0)
                return ga_error(cmd, "--expect: durable or none, not '%s'", optarg);
            break;
        case O_INJECT:
            if ((a->inject = ga_inject_parse(optarg)) < 0)
                return ga_error(cmd, "--inject: no-sync, ack-early, no-flush or no-fence, not '%s'",
                                optarg);
            break;
        case O_TIMEOUT:
            if (pm_parse_double(optarg, 0.001, 86400, &a->timeout) < 0)
                return ga_error(cmd, "--timeout: seconds in 0.001..86400, not '%s'", optarg);
            break;
        case O_BYTES:
            if (parse_u64(cmd, "bytes", optarg, 1ull << 40, &a->bytes) < 0)
                return PM_EXIT_USAGE;
            if (a->bytes == 0)
                return ga_error(cmd, "--bytes must be at least 1");
            break;
        case O_ASK:
            a->ask = 1;
            break;
        case O_HELP:
            fputs(usage_text, stdout);
            exit(0);
        default:
            return ga_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    a->rest = optind;
    /* check takes its checker after "--" */
    if (optind < argc && strcmp(cmd, "check") != 0)
        return ga_error(cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static int cmd_run(const struct args *a)
{
    if (!a->dir || a->workload < 0 || a->method < 0)
        return ga_error("run", "needs --dir, --workload and --sync");
    if (a->records == 0)
        return ga_error("run", "--records must be at least 1");
    if (a->ack_wait && a->ack_to && strcmp(a->ack_to, "channel") != 0)
        return ga_error("run", "--ack-wait waits for the host's 'go' on the channel: it needs "
                               "--ack-to channel");
    /* The file (and mapping) size: the ring is reused, the others grow. */
    uint64_t span = a->workload == PM_WL_OVERWRITE ? a->slots : a->records;
    if (span * a->size > (1ull << 30))
        return ga_error("run", "the workload file would exceed 1 GiB (records or slots x "
                               "record-size)");
    struct ga_run_opts o = {
        .dir = a->dir,
        .workload = a->workload,
        .method = a->method,
        .records = a->records,
        .epoch = (uint32_t)a->epoch,
        .size = (uint32_t)a->size,
        .slots = (uint32_t)a->slots,
        .pause_ms = (unsigned)a->pause_ms,
        .ack_to = a->ack_to,
        .ack_wait = a->ack_wait,
        .inject = (enum ga_inject)a->inject,
    };
    return ga_cmd_run(&o);
}

static int cmd_verify(const struct args *a)
{
    if (!a->dir || !a->acks)
        return ga_error("verify", "needs --dir and --acks");
    struct ga_verify_opts o = {
        .dir = a->dir,
        .acks = a->acks,
        .dev = a->dev,
        .fs = a->fs,
        .size = (uint32_t)a->size,
        .slots = a->slots_given ? (uint32_t)a->slots : 0,
        .expect = a->expect,
        .ask = a->ask,
    };
    return ga_cmd_verify(&o);
}

int main(int argc, char **argv)
{
    struct args a;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? PM_EXIT_USAGE : 0;
    }
    const char *cmd = argv[1];
    /* ack's words are the promise, whatever they look like */
    if (strcmp(cmd, "ack") == 0)
        return ga_cmd_ack(argc - 2, argv + 2);
    if ((rc = parse_args(cmd, argc - 1, argv + 1, &a)))
        return rc;
    if (strcmp(cmd, "caps") == 0)
        return ga_cmd_caps(a.dir);
    if (strcmp(cmd, "prepare") == 0) {
        if (!a.dev || !a.fs || !a.mnt)
            return ga_error("prepare", "needs --dev, --fs and --mnt");
        struct ga_prepare_opts o = {a.dev, a.fs, a.mnt, a.mkfs, a.namespace, a.handshake};
        return ga_cmd_prepare(&o);
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(&a);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(&a);
    if (strcmp(cmd, "check") == 0) {
        if (!a.dir || !a.acks)
            return ga_error("check", "needs --dir and --acks");
        struct ga_check_opts o = {
            .dir = a.dir,
            .acks = a.acks,
            .dev = a.dev,
            .fs = a.fs,
            .expect = a.expect,
            .ask = a.ask,
            .timeout = a.timeout > 0 ? a.timeout : 600,
            .argv = argv + 1 + a.rest,
        };
        return ga_cmd_check(&o);
    }
    if (strcmp(cmd, "job") == 0)
        return ga_cmd_job();
    if (strcmp(cmd, "digest") == 0) {
        if (!a.dev)
            return ga_error("digest", "needs --dev");
        return ga_cmd_digest(a.dev, a.bytes);
    }
    if (strcmp(cmd, "extents") == 0) {
        if (!a.dir)
            return ga_error("extents", "needs --dir");
        return ga_cmd_extents(a.dir);
    }
    return ga_error(
        cmd, "unknown command (caps, prepare, run, verify, extents, ack, check, job, digest)");
}
