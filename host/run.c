/* run.c — `pmemcut-host run`: power-cut cycles on a real VM.
 *
 * One cycle, and who does what:
 *
 *   host                              device (nbdkit+plugin)      guest (/init + agent)
 *   arm a trigger (seeded) ---------> armed
 *   start VM (workload boot) -------------------------------------> prepare, run workload
 *   ack line  <---------------------------------------------------- ack FILE SEQ METHOD
 *   mark "ack ..." ----------------->  (audit: mark)
 *   wait-off reply  <---------------- cut (trigger fired)
 *   destroy VM at once
 *   unmount + remount the FUSE view   (the old view's page cache held V, not P)
 *   power-on ----------------------->  on
 *   start VM (verify boot), send acks + end ----------------------> fsck, mount, verify
 *   verdict JSON <------------------------------------------------- {"verdict": ...}
 *
 * In nvdimm mode no flush reaches the device, so the host models a platform
 * whose CPU caches are persistent (eADR): at the k-th ack it suspends the VM,
 * fsyncs the FUSE view (every guest store reaches the device, then a FLUSH)
 * and cuts. What is lost is what the guest kept only in its own RAM. */
#include "ctl.h"
#include "guest.h"
#include "guestadd.h"
#include "jobs.h"
#include "plan.h"
#include "host.h"
#include "proc.h"
#include "report.h"
#include "snapshot.h"
#include "util.h"
#include "virt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/parse.h"
#include "utils/rng.h"
#include "utils/unixsock.h"

/* Longest a boot may take before we call the guest stuck. */
#define BOOT_TIMEOUT 600.0

/* How a cycle cuts: at a boundary of one record's requests (plan.h), as
 * the k-th ack arrives (a seeded bug), or the eADR cut at the k-th ack. */
enum trig_kind { TRIG_PLANNED, TRIG_AT_MARK, TRIG_EADR };
static const char *const trig_names[] = {"planned", "at-mark", "eadr"};

struct run {
    /* Options. */
    enum ph_mode mode;
    const char *fs, *workload, *sync, *policy, *connect, *out;
    uint64_t records, cycles, seed;
    int64_t size;
    bool lying;
    bool force;         /* --out may hold an earlier run: replace it */
    bool no_data_log;   /* --no-data-log: no pmem.dlog, so no replay */
    const char *inject; /* a seeded bug (--inject no-sync|ack-early|no-flush|no-fence), or NULL */
    const char *p;      /* --p: random's keep probability, as given, or NULL */
    /* nvdimm: eadr (the host flushes every store at the cut) or adr (the
     * tracer in QEMU persists what the guest's CPU makes persistent) */
    const char *cache_model;
    char *tracer;
    /* --exec CMD --check CMD [--guest-add PATH]... [--expect E]: a workload
     * of the user's own (guestadd.h); exec_cmd NULL for the agent's. */
    const char *exec_cmd, *check_cmd, *expect_opt;
    struct ph_guest_add ga;
    bool cut_fixed; /* --cut-at: every planned cut at this boundary */
    struct ph_boundary cut_at;

    /* Derived. */
    char *outdir, *kernel, *initrd, *rundir, *results_path;
    char *audit_tool;     /* pmemcut-audit, for classify */
    const char *expected; /* durable, none or refused */
    struct ph_device dev;
    struct pm_ctl ctl;    /* commands */
    struct pm_ctl waiter; /* wait-off, polled */
    bool waiting;         /* a wait-off is outstanding on waiter */
    struct ph_virt virt;
    virDomainPtr dom;
    char *dom_name;
    FILE *results;
    int violations;
    bool remake; /* the last verify boot found no filesystem that mounts: make a new one */
    /* --shard K/N: this run does cycles K, K+N, K+2N, ... of --cycles (their
     * seeds and plans as in one run); first_cycle makes the filesystem */
    uint64_t shard_k, shard_n, first_cycle;
    /* --boot saved: every boot restores one saved state (snapshot.h) */
    bool boot_saved, boot_given;
    struct ph_saved saved;
    /* --jobs J: chains at once (jobs.h), each shard (K + (j-1)N)/(NJ) of
     * the shard K/N above; 0 until parsed (the default) */
    uint64_t jobs;
    bool broke;            /* this run stopped at an error before its last cycle */
    uint64_t audit_resume; /* ph_landing's place in the audit log: after the last cut read */
};

struct cycle {
    int n;
    uint64_t seed, rng;
    json_t *acks; /* array of "ack FILE SEQ METHOD" strings */
    FILE *acks_f;
    enum trig_kind kind;
    uint64_t k;      /* planned: the record cut; at-mark, eadr: the ack cut at */
    char *trigger;   /* the trigger as armed, for results */
    bool armed;      /* a device trigger is pending */
    json_t *cut;     /* the cut's audit record */
    bool cut_at_end; /* the trigger did not fire; the host cut at the end */
    json_t *run_result, *verify_result;
    /* The device's counters at the last ack, and what the record before
     * it made (the prediction for the record cut). */
    long long writes_prev, flushes_prev;
    long long rec_writes, rec_flushes;
    bool planned;             /* the boundary is chosen and armed */
    struct ph_boundary bound; /* planned: where in record k */
    long long pred_writes, pred_flushes;
    bool fallback;   /* record k made fewer requests than predicted: cut at its ack */
    char *rec_mark;  /* the mark that opened the record cut ("cycle N" or an ack's) */
    char *last_mark; /* the text of the last ack's mark */
    char *mkfs_why;  /* this cycle made a new filesystem after a failed mount */
    json_t *landing;
    long long acks_after_cut; /* acks that came when the device was already off */
    long long stale_bytes;
    /* Labels given to the device this cycle: the static metadata (after
     * prepare, cycle 1), and the data extents the agent sent. */
    bool meta_labelled;
    long long meta_offset;             /* where the filesystem starts (dev_offset) */
    long long meta_bytes, meta_ranges; /* what classify labelled meta */
    long long data_extents, label_errors;
    double t_label;
    /* Seconds: t_boot from VM start to the guest's first line; t_work the
     * whole workload boot; t_verdict from the verify boot's start to its
     * verdict; t_verify the whole verify boot. */
    double t_boot, t_work, t_remount, t_verdict, t_verify;
    /* --boot saved: the base boot and save (the first cycle only), and
     * each boot's restore (restore, hot-plug, resume, job sent) */
    double t_save, t_restore, t_restore_verify;
    /* and what each restored guest read of the device's start (crc32c),
     * against what the device held ([0] workload, [1] verify boot) */
    bool digested[2];
    uint32_t digest_guest[2], digest_device[2];
    json_t *tracer_prepared; /* ADR: the tracer's counts at prepared (mkfs, mount) */
};

static struct run R; /* one run per process; teardown() reaches it */

/* --- teardown: every exit goes through here --------------------------------- */

static void teardown(void)
{
    ph_vm_destroy(&R.dom);
    ph_saved_free(&R.saved);
    pm_ctl_close(&R.waiter);
    pm_ctl_close(&R.ctl);
    ph_device_stop(&R.dev);
    ph_virt_close(&R.virt);
    if (R.results)
        fclose(R.results);
    R.results = NULL;
    if (R.rundir)
        ph_remove_tree(R.rundir);
}

/* --- options ---------------------------------------------------------------- */

static const char *const workloads[] = {"append", "overwrite", "create", "mmap", NULL};
static const char *const syncs[] = {"none",           "fsync",          "fdatasync",
                                    "msync",          "odsync",         "map-sync",
                                    "prealloc-flush", "prewrite-flush", NULL};
static const char *const policies[] = {"lose-all", "keep-all", "random", "torn", "prefix", NULL};

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static char *join(const char *const *list)
{
    char *s = ph_strf("%s", *list);
    for (list++; *list; list++) {
        char *t = ph_strf("%s, %s", s, *list);
        free(s);
        s = t;
    }
    return s;
}

/* The durability table of DESIGN.md: what method S promises on device M.
 * Both presized methods are expected durable on an nvdimm: that is what
 * they are used for. prealloc-flush (fallocate) does not keep that promise
 * on ext4 and the verdict says so; prewrite-flush (the file written out in
 * full before the fsync) is the form that should. */
static const char *expectation(enum ph_mode m, const char *sync)
{
    if (strcmp(sync, "none") == 0)
        return "none";
    if (strcmp(sync, "map-sync") == 0)
        return m == PH_MODE_NVDIMM ? "durable" : "refused";
    if (strcmp(sync, "prealloc-flush") == 0 || strcmp(sync, "prewrite-flush") == 0)
        return m == PH_MODE_NVDIMM ? "durable" : "none";
    return "durable";
}

static void run_usage(void)
{
    printf(
        "usage: pmemcut-host run --mode virtio-pmem|nvdimm --fs ext4|xfs --workload W --sync S\n"
        "         [--records N] [--cycles C] [--shard K/N] [--policy P] [--seed N] [--size SIZE]\n"
        "         [--cache-model adr|eadr] [--p F] [--cut-at B] [--lying-device]\n"
        "         [--inject BUG] [--no-data-log] [--boot cold|saved]\n"
        "         [--jobs J] [--connect URI]\n"
        "         --out DIR [--force]\n"
        "       pmemcut-host run --mode M --fs F --exec CMD --check CMD [--guest-add PATH]...\n"
        "         [--expect durable|none] [the options above but --workload, --sync, --inject]\n"
        "  --workload  append, overwrite, create, mmap\n"
        "  --sync      none, fsync, fdatasync, msync, odsync, map-sync, prealloc-flush,\n"
        "              prewrite-flush\n"
        "  --records   records the workload writes per cycle (default 32); with --exec,\n"
        "              the promises it makes, over which the cut is planned\n"
        "  --exec      your workload: a shell command run in the guest in the mounted\n"
        "              DAX filesystem (PMEMCUT_DIR); it promises with 'pmemcut-agent ack TEXT'\n"
        "  --check     your checker, run after the cut and reboot with the promises in\n"
        "              the file PMEMCUT_ACKS: exit 0 PASS, 1 FAIL, else an error\n"
        "  --guest-add a file (program, script, data) put into the guest at the same\n"
        "              path, with the shared libraries it needs (repeatable)\n"
        "  --expect    with --exec: durable (default), or none (losses allowed)\n"
        "  --cycles    cut/reboot/verify cycles (default 1)\n"
        "  --jobs      J chains of cycles at once, each with a device and a VM of its own,\n"
        "              in DIR/chain-1..J, their results merged in DIR (default: the CPUs\n"
        "              this process may use, at most one per cycle; 1 with --shard);\n"
        "              chain K of J does cycles K, K+J, ...: what --shard K/J does alone\n"
        "  --shard     K/N: only cycles K, K+N, ... of --cycles, on a device of its own\n"
        "              (merge the shards' results with pmemcut-host report DIR...);\n"
        "              with --jobs J, in J chains: chain j is --shard (K+(j-1)N)/(NJ)\n"
        "  --policy    fate of unpersisted lines at a cut: lose-all (default), keep-all,\n"
        "              random, torn, prefix\n"
        "  --cache-model  nvdimm: adr (default; the guest's own cache-line write-backs and\n"
        "              fences decide, traced in QEMU) or eadr (the caches are persistent)\n"
        "  --p         random: the probability that a dirty line survives (default 0.5)\n"
        "  --cut-at    pin the boundary of the planned cuts: after-write=N,\n"
        "              before-flush=N or ack (default: consecutive cycles take each)\n"
        "  --seed      every random choice derives from it (default: from the clock)\n"
        "  --size      device size (default 256M for ext4, 512M for xfs)\n"
        "  --lying-device  the device acknowledges flushes without persisting\n"
        "  --inject    a seeded bug in the guest: no-sync, ack-early, no-flush, no-fence\n"
        "              (the last two: the cache-line methods' write-back or fence left out)\n"
        "  --no-data-log  keep no pmem.dlog (the payload of every write, which\n"
        "              pmemcut-replay needs to replay, explore or export the run)\n"
        "  --boot      saved (the default on virtio-pmem): boot once, save, restore for\n"
        "              every boot, the device hot-plugged; cold (the default, and the\n"
        "              only one, on nvdimm): every boot from the kernel\n"
        "  --connect   libvirt URI (default: embedded QEMU driver, no daemon)\n"
        "  --out       results.jsonl, acks-N.txt, console-N.log, image, data and audit log;\n"
        "              a new or empty directory, or an earlier run's with --force\n"
        "  --force     replace the earlier run in --out DIR (its files only)\n");
}

/* --exec and --check go together and replace --workload and --sync;
 * --guest-add and --expect belong to them. */
static int parse_exec_options(void)
{
    if (!R.exec_cmd && !R.check_cmd) {
        if (R.ga.n || R.expect_opt) {
            pm_set_error("run: --guest-add and --expect apply to --exec (a workload of your own)");
            return -1;
        }
        return 0;
    }
    if (!R.exec_cmd || !R.check_cmd) {
        pm_set_error("run: --exec CMD and --check CMD go together: the workload and the checker "
                     "that judges it after the cut");
        return -1;
    }
    if (!*R.exec_cmd || !*R.check_cmd || strchr(R.exec_cmd, '\n') || strchr(R.check_cmd, '\n')) {
        pm_set_error("run: --exec and --check take one non-empty command line each");
        return -1;
    }
    if (R.workload || R.sync || R.inject) {
        pm_set_error("run: --exec runs your own workload: no --workload, --sync or --inject");
        return -1;
    }
    R.workload = "exec";
    R.sync = "own";
    R.ga.exec_cmd = R.exec_cmd;
    R.ga.check_cmd = R.check_cmd;
    return 0;
}

/* --cut-at after-write=N | before-flush=N | ack */
static int parse_cut_at(const char *s)
{
    uint64_t n = 0;
    const char *v = NULL;
    if (strncmp(s, "after-write=", 12) == 0)
        R.cut_at.at = PH_CUT_AFTER_WRITE, v = s + 12;
    else if (strncmp(s, "before-flush=", 13) == 0)
        R.cut_at.at = PH_CUT_BEFORE_FLUSH, v = s + 13;
    else if (strcmp(s, "ack") == 0)
        R.cut_at.at = PH_CUT_AT_ACK;
    else
        v = "";
    if (v && (pm_parse_u64(v, 1000, &n) < 0 || n == 0)) {
        pm_set_error("run: --cut-at must be after-write=N, before-flush=N (N 1..1000) or ack, "
                     "not '%s'",
                     s);
        return -1;
    }
    R.cut_at.n = n;
    R.cut_fixed = true;
    return 0;
}

static int parse_run_options(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"fs", required_argument, NULL, 'f'},
        {"workload", required_argument, NULL, 'w'},
        {"sync", required_argument, NULL, 's'},
        {"records", required_argument, NULL, 'n'},
        {"cycles", required_argument, NULL, 'c'},
        {"policy", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 'S'},
        {"size", required_argument, NULL, 'z'},
        {"lying-device", no_argument, NULL, 'L'},
        {"connect", required_argument, NULL, 'C'},
        {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'F'},
        {"inject", required_argument, NULL, 'i'},
        {"no-data-log", no_argument, NULL, 'D'},
        {"p", required_argument, NULL, 'P'},
        {"cut-at", required_argument, NULL, 'A'},
        {"exec", required_argument, NULL, 'X'},
        {"cache-model", required_argument, NULL, 'M'},
        {"shard", required_argument, NULL, 'H'},
        {"jobs", required_argument, NULL, 'J'},
        {"check", required_argument, NULL, 'K'},
        {"guest-add", required_argument, NULL, 'G'},
        {"expect", required_argument, NULL, 'E'},
        {"boot", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *mode = NULL, *size = NULL;
    bool have_seed = false;
    R.records = 32;
    R.cycles = 1;
    R.policy = "lose-all";
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            mode = optarg;
            break;
        case 'f':
            R.fs = optarg;
            break;
        case 'w':
            R.workload = optarg;
            break;
        case 's':
            R.sync = optarg;
            break;
        case 'n':
            if (ph_parse_uint("--records", optarg, 100000, &R.records) < 0)
                return -1;
            break;
        case 'c':
            if (ph_parse_uint("--cycles", optarg, 10000, &R.cycles) < 0)
                return -1;
            break;
        case 'p':
            R.policy = optarg;
            break;
        case 'S':
            if (ph_parse_uint("--seed", optarg, UINT64_MAX, &R.seed) < 0)
                return -1;
            have_seed = true;
            break;
        case 'z':
            size = optarg;
            break;
        case 'L':
            R.lying = true;
            break;
        case 'F':
            R.force = true;
            break;
        case 'D':
            R.no_data_log = true;
            break;
        case 'P': {
            double pv;
            if (pm_parse_double(optarg, 0.0, 1.0, &pv) < 0) {
                pm_set_error("run: --p must be a probability in 0..1, not '%s'", optarg);
                return -1;
            }
            R.p = optarg;
            break;
        }
        case 'A':
            if (parse_cut_at(optarg) < 0)
                return -1;
            break;
        case 'X':
            R.exec_cmd = optarg;
            break;
        case 'H': {
            unsigned k, n;
            char end;
            if (sscanf(optarg, "%u/%u%c", &k, &n, &end) != 2 || k < 1 || k > n || n > 10000 ||
                !isdigit((unsigned char)optarg[0])) {
                pm_set_error("run: --shard must be K/N with 1 <= K <= N <= 10000, not '%s'",
                             optarg);
                return -1;
            }
            R.shard_k = k;
            R.shard_n = n;
            break;
        }
        case 'J': {
            /* More chains than CPUs only queue for them (TCG keeps a CPU
             * busy per VM); a bound keeps a typo from starting 1000 VMs. */
            uint64_t max = 4 * (uint64_t)ph_jobs_cpus();
            if (pm_parse_u64(optarg, UINT64_MAX, &R.jobs) < 0 || R.jobs < 1 || R.jobs > max) {
                pm_set_error("run: --jobs must be 1..%" PRIu64 " (4 per CPU this process may use), "
                             "not '%s'",
                             max, optarg);
                return -1;
            }
            break;
        }
        case 'M':
            if (strcmp(optarg, "adr") != 0 && strcmp(optarg, "eadr") != 0) {
                pm_set_error("run: --cache-model must be adr or eadr");
                return -1;
            }
            R.cache_model = optarg;
            break;
        case 'K':
            R.check_cmd = optarg;
            break;
        case 'B':
            if (strcmp(optarg, "cold") != 0 && strcmp(optarg, "saved") != 0) {
                pm_set_error("run: --boot must be cold or saved");
                return -1;
            }
            R.boot_saved = strcmp(optarg, "saved") == 0;
            R.boot_given = true;
            break;
        case 'E':
            if (strcmp(optarg, "durable") != 0 && strcmp(optarg, "none") != 0) {
                pm_set_error("run: --expect must be durable or none");
                return -1;
            }
            R.expect_opt = optarg;
            break;
        case 'G':
            if (R.ga.n == PH_GUEST_ADD_MAX) {
                pm_set_error("run: at most %d --guest-add files", PH_GUEST_ADD_MAX);
                return -1;
            }
            if (!(R.ga.paths[R.ga.n] = ph_abspath(optarg)))
                return -1;
            R.ga.n++;
            break;
        case 'i':
            if (strcmp(optarg, "no-sync") != 0 && strcmp(optarg, "ack-early") != 0 &&
                strcmp(optarg, "no-flush") != 0 && strcmp(optarg, "no-fence") != 0) {
                pm_set_error("run: --inject must be no-sync, ack-early, no-flush or no-fence");
                return -1;
            }
            R.inject = optarg;
            break;
        case 'C':
            R.connect = optarg;
            break;
        case 'o':
            R.out = optarg;
            break;
        case 'h':
            run_usage();
            exit(0);
        default:
            pm_set_error("run: unknown or incomplete option '%s' (see run --help)",
                         argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        pm_set_error("run: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    char *list = NULL;
    if (parse_exec_options() < 0)
        return -1;
    if (!mode || ph_mode_parse(mode, &R.mode) < 0) {
        pm_set_error("run: --mode must be virtio-pmem or nvdimm");
        return -1;
    }
    if (!R.fs || (strcmp(R.fs, "ext4") != 0 && strcmp(R.fs, "xfs") != 0)) {
        pm_set_error("run: --fs must be ext4 or xfs");
        return -1;
    }
    if (!R.exec_cmd && (!R.workload || !one_of(R.workload, workloads))) {
        pm_set_error("run: --workload must be one of: %s", list = join(workloads));
        free(list);
        return -1;
    }
    if (!R.exec_cmd && (!R.sync || !one_of(R.sync, syncs))) {
        pm_set_error("run: --sync must be one of: %s", list = join(syncs));
        free(list);
        return -1;
    }
    if (!one_of(R.policy, policies)) {
        pm_set_error("run: --policy must be one of: %s", list = join(policies));
        free(list);
        return -1;
    }
    /* What the agent refuses only after a boot (guest/run.c, check_method). */
    if (strcmp(R.workload, "mmap") == 0 && strcmp(R.sync, "odsync") == 0) {
        pm_set_error("run: --sync odsync applies to write(2); --workload mmap stores through a "
                     "mapping (any other --sync)");
        return -1;
    }
    if (R.cache_model && R.mode != PH_MODE_NVDIMM) {
        pm_set_error("run: --cache-model applies to --mode nvdimm (virtio-pmem persists at its "
                     "flushes)");
        return -1;
    }
    if (R.boot_saved && R.mode == PH_MODE_NVDIMM) {
        pm_set_error("run: --boot saved applies to --mode virtio-pmem (nvdimm boots cold)");
        return -1;
    }
    /* saved where it is proven the same as cold (tests/host-saved.sh) */
    if (!R.boot_given)
        R.boot_saved = R.mode == PH_MODE_VIRTIO_PMEM;
    /* adr is the rigorous model: a program that leaves out a write-back or a
     * fence fails under it, and passes under eadr. */
    if (R.mode == PH_MODE_NVDIMM && !R.cache_model)
        R.cache_model = "adr";
    if (R.p && strcmp(R.policy, "random") != 0) {
        pm_set_error("run: --p applies to --policy random");
        return -1;
    }
    if (R.cut_fixed && (R.mode == PH_MODE_NVDIMM || R.inject || R.records < 3)) {
        pm_set_error("run: --cut-at pins virtio-pmem's planned cuts, which need --records 3 or "
                     "more and no --inject (nvdimm cuts at an ack)");
        return -1;
    }
    /* A shard is one chain unless told otherwise: its scheduler decided
     * what runs where (and chain K of --jobs N is --shard K/N, as it is). */
    if (!R.jobs)
        R.jobs = R.shard_n ? 1 : (uint64_t)ph_jobs_cpus();
    if (!R.shard_n)
        R.shard_k = R.shard_n = 1;
    R.first_cycle = R.shard_k;
    if (R.records < 1 || R.cycles < 1) {
        pm_set_error("run: --records and --cycles must be at least 1");
        return -1;
    }
    /* No chain without a cycle to do. */
    uint64_t share = R.cycles >= R.shard_k ? (R.cycles - R.shard_k) / R.shard_n + 1 : 1;
    if (R.jobs > share)
        R.jobs = share;
    if (!R.out) {
        pm_set_error("run: --out DIR is required");
        return -1;
    }
    /* mkfs.xfs refuses devices under 300 MB; DAX on ext4 needs 4 KiB blocks,
     * which mke2fs picks only with -b 4096 on small devices (the agent does). */
    R.size = strcmp(R.fs, "xfs") == 0 ? 512 << 20 : 256 << 20;
    if (size) {
        uint64_t bytes;
        if (pm_parse_size(size, INT64_MAX, &bytes) < 0 || bytes == 0) {
            pm_set_error("run: --size: '%s' is not a size (like 256M or 1G)", size);
            return -1;
        }
        R.size = (int64_t)bytes;
    }
    if (R.size % 4096 || R.size < (16 << 20)) {
        pm_set_error("run: --size must be a multiple of 4 KiB and at least 16M");
        return -1;
    }
    if (strcmp(R.fs, "xfs") == 0 && R.size < (320 << 20)) {
        pm_set_error("run: --size: xfs needs a device of at least 320M (mkfs.xfs refuses smaller)");
        return -1;
    }
    /* The workload's files must fit, with room for the filesystem's own
     * metadata and journal (half the device): else the guest fails with
     * ENOSPC, a boot later. A record is 256 bytes (the ring of overwrite
     * holds 8); create keeps a file, a 4 KiB block at least, per record. */
    uint64_t per = strcmp(R.workload, "create") == 0 ? 4096 : 256;
    uint64_t need = (strcmp(R.workload, "overwrite") == 0 ? 8 : R.records) * per;
    if (!R.exec_cmd && need > (uint64_t)R.size / 2) {
        pm_set_error("run: --size: %" PRIu64 " records of --workload %s need a device of at least "
                     "%" PRIu64 "M",
                     R.records, R.workload, (2 * need + (1 << 20) - 1) >> 20);
        return -1;
    }
    if (!have_seed) {
        uint64_t t = (uint64_t)(pm_now() * 1e9) ^ ((uint64_t)getpid() << 32);
        R.seed = pm_splitmix64(&t) % 1000000000;
    }
    R.expected =
        R.exec_cmd ? (R.expect_opt ? R.expect_opt : "durable") : expectation(R.mode, R.sync);
    /* The files for the guest exist and their libraries resolve: said now,
     * before anything boots. */
    if (R.exec_cmd && ph_guest_add_check(&R.ga) < 0) {
        char *m = ph_strf("run: %s", pm_get_error());
        pm_set_error("%s", m);
        free(m);
        return -1;
    }
    return 0;
}

/* --- set-up ------------------------------------------------------------------ */

static int check_readable(const char *what, const char *path, const char *hint)
{
    if (!path || access(path, R_OK) != 0) {
        pm_set_error("%s %s not found%s", what, path ? path : "", hint);
        return -1;
    }
    return 0;
}

/* --- the output directory ------------------------------------------------------ */

/* PREFIX, decimal digits, then one of SUFFIXES: acks-3.txt, console-2-verify.log. */
static bool numbered(const char *name, const char *prefix, const char *const *suffixes)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !isdigit((unsigned char)name[n]))
        return false;
    const char *p = name + n;
    while (isdigit((unsigned char)*p))
        p++;
    return one_of(p, suffixes);
}

/* The names a run writes into its --out DIR (README, "pmemcut-host run"). */
static bool is_run_file(const char *name)
{
    static const char *const fixed[] = {"pmem.img",      "pmem.dlog",    "audit.jsonl",
                                        "results.jsonl", "nbdkit.log",   "nbdfuse.log",
                                        "libvirt.log",   "classify.log", NULL};
    static const char *const txt[] = {".txt", NULL}, *const logs[] = {".log", "-verify.log", NULL};
    static const char *const counts[] = {".json", "-verify.json", NULL};
    return one_of(name, fixed) || numbered(name, "acks-", txt) ||
           numbered(name, "console-", logs) || numbered(name, "qemu-", logs) ||
           numbered(name, "tracer-", counts);
}

/* chain-K: a directory of run --jobs. */
static bool is_chain_name(const char *name)
{
    static const char *const none[] = {"", NULL};
    return numbered(name, "chain-", none);
}

/* A chain's directory (chain-K of a run --jobs) is ours when it holds
 * nothing but a run's files: 1, else 0. With remove, they go, then the
 * directory: 1, or -1 with pm_set_error. */
static int chain_dir(int dfd, const char *name, bool remove)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int ours = 1;
    struct dirent *e;
    while (ours == 1 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            !is_run_file(e->d_name))
            ours = 0;
        else if (remove && unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
            ours = -1;
    }
    closedir(d);
    if (remove && ours == 1 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
        ours = -1;
    if (ours == -1)
        pm_set_error("run: --out: cannot remove the earlier run's %s: %s", name, strerror(errno));
    return ours;
}

/* Calls fn for each entry of DIR (not . and ..); a regular file with a
 * run's name, or a chain's directory of such files, is "ours".  Stops at
 * fn's non-zero return and returns it; -1 with pm_set_error when DIR
 * cannot be read. */
static int each_entry(const char *dir, int (*fn)(int dfd, const char *name, bool ours, void *arg),
                      void *arg)
{
    DIR *d = opendir(dir);
    if (!d) {
        pm_set_error("run: --out %s: %s", dir, strerror(errno));
        return -1;
    }
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        bool ours = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    ((S_ISREG(st.st_mode) && is_run_file(e->d_name)) ||
                     (S_ISDIR(st.st_mode) && is_chain_name(e->d_name) &&
                      chain_dir(dirfd(d), e->d_name, false) == 1));
        r = fn(dirfd(d), e->d_name, ours, arg);
    }
    closedir(d);
    return r;
}

struct outdir_scan {
    int ours;
    char *foreign; /* the first entry that is not a run's */
};

static int scan_entry(int dfd, const char *name, bool ours, void *arg)
{
    (void)dfd;
    struct outdir_scan *s = arg;
    if (ours)
        s->ours++;
    else if (!s->foreign)
        s->foreign = ph_strf("%s", name);
    return 0;
}

/* --out DIR must be new, empty, or an earlier run's (replaced only with
 * --force): anything else there is someone's, and a run would delete or
 * mix with it. Checked before anything starts; touches nothing. */
static int check_outdir(void)
{
    struct stat st;
    if (stat(R.out, &st) < 0) {
        if (errno == ENOENT)
            return 0; /* setup makes it */
        pm_set_error("run: --out %s: %s", R.out, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        pm_set_error("run: --out %s: not a directory", R.out);
        return -1;
    }
    struct outdir_scan s = {0};
    if (each_entry(R.out, scan_entry, &s) < 0)
        return -1;
    if (s.foreign) {
        pm_set_error("run: --out %s is not empty and not an earlier pmemcut run ('%s' is not a "
                     "run's file): give a new or empty directory",
                     R.out, s.foreign);
        free(s.foreign);
        return -1;
    }
    if (s.ours && !R.force) {
        pm_set_error("run: --out %s holds an earlier run (%d files): give --force to replace it, "
                     "or another directory",
                     R.out, s.ours);
        return -1;
    }
    return 0;
}

static int remove_entry(int dfd, const char *name, bool ours, void *arg)
{
    (void)arg;
    if (ours && is_chain_name(name))
        return chain_dir(dfd, name, true) < 0 ? -1 : 0;
    if (ours && unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
        pm_set_error("run: --out: cannot remove the earlier run's %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* --force: the earlier run's files go, so that they do not mix with ours
 * (check_outdir made sure there is nothing else). */
static int clear_outdir(void)
{
    return each_entry(R.outdir, remove_entry, NULL);
}

/* The parts a run needs (kernel, image, plugin, tracer) are there: said
 * once, before anything starts (or any chain of --jobs is forked). */
static int find_parts(void)
{
    if (R.kernel)
        return 0; /* found before the chains were forked */
    R.initrd = ph_find_initrd();
    R.audit_tool = ph_find_audit_tool();
    R.kernel = ph_find_kernel(R.initrd);
    R.dev.plugin = ph_find_plugin();
    R.tracer = R.cache_model && strcmp(R.cache_model, "adr") == 0 ? ph_find_tracer() : NULL;
    if (R.tracer &&
        check_readable("ADR tracer", R.tracer, " (build it: make; or --cache-model eadr)") < 0)
        return -1;
    if (check_readable("kernel", R.kernel, " (install linux-image-amd64: make deps)") < 0 ||
        check_readable("guest image", R.initrd, " (build it: make image)") < 0 ||
        check_readable("device plugin", R.dev.plugin, " (build it: make)") < 0)
        return -1;
    return 0;
}

static int setup(void)
{
    if (find_parts() < 0)
        return -1;
    if (ph_mkdirs(R.out, 0755) < 0)
        return -1;
    R.outdir = realpath(R.out, NULL);
    if (!R.outdir) {
        pm_set_error("--out %s: %s", R.out, strerror(errno));
        return -1;
    }
    R.rundir = ph_make_rundir();
    /* two boots a cycle, and a few more (saved states) */
    if (!R.rundir || (!R.connect && ph_virt_check_rundir(R.rundir, 2 * R.cycles + 8) < 0))
        return -1;
    if (clear_outdir() < 0)
        return -1;
    /* A workload of the user's own: the base image and, appended, its
     * files and commands; made once per content, kept in the cache. */
    if (R.exec_cmd) {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        char *cache = xdg && *xdg     ? ph_strf("%s/pmemcut", xdg)
                      : home && *home ? ph_strf("%s/.cache/pmemcut", home)
                                      : ph_strf("%s/cache", R.rundir);
        char *initrd = ph_guest_add_initrd(R.initrd, &R.ga, cache);
        free(cache);
        if (!initrd)
            return -1;
        free(R.initrd);
        R.initrd = initrd;
    }
    /* A libvirtd's QEMU may run as another user: let it reach the view and
     * create the channel socket. */
    if (R.connect) {
        chmod(R.rundir, 01777);
        /* Its QEMU must also read the kernel and the image, which may sit
         * under a directory only we can enter (a clone in a private
         * folder): give it copies in the run directory. */
        const char *names[2] = {"vmlinux", "initrd"};
        char **paths[2] = {&R.kernel, &R.initrd};
        for (int i = 0; i < 2; i++) {
            char *copy = ph_strf("%s/%s", R.rundir, names[i]);
            if (ph_copy_file(*paths[i], copy) < 0) {
                pm_set_error("cannot copy %s to %s: %s", *paths[i], copy, strerror(errno));
                free(copy);
                return -1;
            }
            chmod(copy, 0644);
            free(*paths[i]);
            *paths[i] = copy;
        }
    }
    R.dev.image = ph_strf("%s/pmem.img", R.outdir);
    R.dev.audit = ph_strf("%s/audit.jsonl", R.outdir);
    R.dev.data_log = R.no_data_log ? NULL : ph_strf("%s/pmem.dlog", R.outdir);
    R.dev.size = ph_pmem_backing_size(R.mode, R.size);
    R.dev.control = ph_strf("%s/ctl.sock", R.rundir);
    R.dev.nbd_sock = ph_strf("%s/nbd.sock", R.rundir);
    R.dev.mnt = ph_strf("%s/view", R.rundir);
    R.dev.logdir = R.outdir;
    R.dev.policy = (char *)R.policy;
    R.dev.p = (char *)R.p;
    R.dev.seed = R.seed;
    R.dev.have_seed = true;
    R.results_path = ph_strf("%s/results.jsonl", R.outdir);
    R.results = fopen(R.results_path, "we");
    if (!R.results) {
        pm_set_error("%s: %s", R.results_path, strerror(errno));
        return -1;
    }

    ph_progress("device: %s, %lld MiB, audit %s", ph_mode_name(R.mode), (long long)(R.size >> 20),
                R.dev.audit);
    if (ph_device_start(&R.dev) < 0)
        return -1;
    if (ph_ctl_open(&R.ctl, R.dev.control) < 0 || ph_ctl_open(&R.waiter, R.dev.control) < 0)
        return -1;
    char *vlog = ph_strf("%s/libvirt.log", R.outdir);
    int vr = ph_virt_open(&R.virt, R.connect, R.rundir, vlog);
    free(vlog);
    if (vr < 0)
        return -1;
    ph_progress("libvirt: %s", R.virt.uri);
    return 0;
}

/* --- the VM ------------------------------------------------------------------ */

static char *out_path(const char *fmt, int n)
{
    char *name = ph_strf(fmt, n);
    char *p = ph_strf("%s/%s", R.outdir, name);
    free(name);
    return p;
}

/* --- labels: which lines of the device are metadata, which are data ------------
 *
 * The device counts lines by class only where it was told the class
 * (`classify meta|data OFFSET LENGTH`). Two sources:
 *
 * - Static ext4 metadata (superblocks, group descriptors, bitmaps, inode
 *   tables, the journal, directory and extent blocks), read from the
 *   persisted image by `pmemcut-audit classify`. That reader needs an image
 *   that holds the whole filesystem and does not change while it reads. The
 *   moment for it is between prepare and the workload of the boot that made
 *   the filesystem: there the agent (prepare --handshake) has synced the
 *   filesystem, so mkfs's and the mount's writes are flushed into the
 *   persisted image, and it waits for our `go` before writing anything
 *   more, so no flush can change the image under the reader. Later boots
 *   do not move static metadata, so once per run is enough. Earlier is
 *   impossible (no filesystem yet); later, at a cut, would leave the
 *   cycle-1 cut uncounted and read an image the cut may have damaged.
 *   On an nvdimm the guest's syncfs only reaches the host's page cache of
 *   the FUSE view: the host fsyncs the view first (as at an eADR cut), and
 *   the filesystem starts at the namespace's data offset (the agent's
 *   dev_offset), given to the tool as --offset. xfs is not read block by
 *   block: the whole filesystem is labelled meta, and the agent's extents
 *   (below) relabel the file data.
 * - File data: the agent sends `extents <json>` (FIEMAP) for its workload
 *   file when it is created and whenever a record lands outside the
 *   extents it sent last; each extent becomes `classify data`, at
 *   dev_offset + physical in the backing file. */

/* What classify said it labelled: "classified B bytes as meta (N ranges), ...". */
static void read_classify_log(struct cycle *c, const char *log)
{
    char *text = ph_read_file(log, NULL);
    const char *p = text ? strstr(text, "classified ") : NULL;
    if (!p || sscanf(p, "classified %lld bytes as meta (%lld ranges)", &c->meta_bytes,
                     &c->meta_ranges) != 2)
        c->meta_bytes = c->meta_ranges = 0;
    free(text);
}

/* Labels the filesystem the guest has just prepared (see above); -1 when
 * the tool could not be run or said no. */
static int classify_meta(struct cycle *c, const char *log)
{
    char off[32];
    snprintf(off, sizeof off, "%lld", c->meta_offset);
    /* xfs: an extents report with no files, so that the tool's xfs path
     * labels the whole filesystem meta; the agent's reports add the data. */
    char *ext = NULL;
    if (strcmp(R.fs, "xfs") == 0) {
        ext = ph_strf("%s/prepared-extents.json", R.rundir);
        char *json =
            ph_strf("{\"command\":\"extents\",\"dev_offset\":%lld,\"files\":[]}\n", c->meta_offset);
        FILE *f = fopen(ext, "we");
        bool ok = f && fputs(json, f) >= 0;
        if (f && fclose(f) != 0)
            ok = false;
        free(json);
        if (!ok) {
            pm_set_error("%s: %s", ext, strerror(errno));
            free(ext);
            return -1;
        }
    }
    char *argv[] = {R.audit_tool,
                    "classify",
                    "--image",
                    R.dev.image,
                    "--socket",
                    R.dev.control,
                    "--fs",
                    (char *)R.fs,
                    "--offset",
                    off,
                    ext ? "--extents" : NULL,
                    ext,
                    NULL};
    int st = ph_run_wait(log, argv);
    if (ext)
        unlink(ext);
    free(ext);
    if (st != 0) {
        ph_progress("cycle %d: %s classify failed (%d), see %s", c->n, R.audit_tool, st, log);
        return -1;
    }
    return 0;
}

/* ADR: the nvdimm's label area (namespace labels, at the end of the
 * backing file) is written by QEMU for the guest's label DSM calls, not by
 * the guest's CPU, so no traced instruction persists it; on a real NVDIMM
 * the firmware has it durable when the call returns.  Made persistent as
 * the view reads now, before the cut's policy can meet it. */
static int persist_labels(void)
{
    return ph_device_persist(&R.dev, R.dev.size - PH_NVDIMM_LABEL, PH_NVDIMM_LABEL);
}

/* The guest waits (prepare --handshake): classify, then let it go on. A
 * failed classify is reported in the results, not fatal: the counts then
 * stay "unknown", as before labels existed. */
static int on_prepared(struct cycle *c, json_t *prepared, struct pm_lines *chan)
{
    double t = pm_now();
    /* ADR: what the kernel persisted to make and mount the filesystem, the
     * tracer's counts now that the guest waits (exact: it rewrites them
     * after every batch) */
    if (R.tracer) {
        char *f = out_path("tracer-%d.json", c->n);
        json_decref(c->tracer_prepared);
        c->tracer_prepared = json_load_file(f, 0, NULL);
        free(f);
    }
    char *log = ph_strf("%s/classify.log", R.outdir);
    /* dev_offset is null when the agent could not tell: 0 on virtio-pmem. */
    c->meta_offset = ph_guest_dev_offset(prepared, R.dev.size);
    int r = 0;
    /* The guest's stores must reach the device for classify to read them:
     * under eADR flushed (the caches are persistent), under ADR written
     * back dirty, as at a cut, so that what the kernel did not make
     * persistent while it made and mounted the filesystem stays at risk. */
    if (R.mode == PH_MODE_NVDIMM &&
        (R.tracer ? ph_view_writeback(&R.dev) < 0 || persist_labels() < 0
                  : ph_view_fsync(&R.dev) < 0))
        r = -1; /* nothing to read */
    if (r == 0)
        r = classify_meta(c, log);
    c->meta_labelled = r == 0;
    if (r == 0) {
        read_classify_log(c, log);
        ph_progress("cycle %d: %s metadata labelled (%lld bytes from offset %lld) in %.2f s", c->n,
                    R.fs, c->meta_bytes, c->meta_offset, pm_now() - t);
    }
    c->t_label += pm_now() - t;
    free(log);
    return pm_send_all(chan->fd, "go\n", 3);
}

static int on_extents(struct cycle *c, json_t *ext)
{
    double t = pm_now();
    struct ph_range *rg = NULL;
    size_t n = ph_guest_extents(ext, R.dev.size, &rg);
    for (size_t i = 0; i < n; i++) {
        int r = ph_ctl_cmd(&R.ctl, NULL, 30, "classify data %lld %lld", (long long)rg[i].off,
                           (long long)rg[i].len);
        if (r == -1) {
            free(rg);
            return -1;
        }
        if (r == 0)
            c->data_extents++;
        else
            c->label_errors++;
    }
    free(rg);
    c->t_label += pm_now() - t;
    return 0;
}

/* The tracer's counts (tracer.c writes them twice a second and at exit), or
 * NULL when there are none yet. */
static json_t *tracer_counts(const char *path)
{
    return json_load_file(path, 0, NULL);
}

/* When QEMU did not start: the tracer's refusal ("refused": WHAT in its
 * counts) is the error to report. */
static void tracer_refusal(const char *counts)
{
    json_t *c = tracer_counts(counts);
    const char *why = ph_json_str(c, "refused", NULL);
    if (why)
        pm_set_error("the ADR tracer refused to run: %s", why);
    json_decref(c);
}

/* --boot saved, once per run: the base VM, booted without the device up to
 * where /init waits for its job, saved (snapshot.h). */
static int make_saved(struct cycle *c)
{
    char *cmdline = ph_guest_base_cmdline(R.mode, R.fs);
    char *console = out_path("console-%d.log", 0);
    char *chan_sock = ph_strf("%s/agent.sock", R.rundir);
    char *state = ph_strf("%s/saved.state", R.rundir);
    free(R.dom_name);
    R.dom_name = ph_strf("pmemcut-%d-saved", (int)getpid());
    struct ph_vm_spec spec = {
        .name = R.dom_name,
        .mode = R.mode,
        .kernel = R.kernel,
        .initrd = R.initrd,
        .cmdline = cmdline,
        .pmem_path = NULL, /* hot-plugged after each restore */
        .pmem_size = R.dev.size,
        .console_log = console,
        .chan_sock = chan_sock,
        .mem_mib = 512,
        .vcpus = 1,
    };
    ph_progress("saved boot: the base VM (no device) boots to its job wait, to be saved");
    int r = ph_saved_make(&R.virt, &R.saved, &spec, state, BOOT_TIMEOUT);
    if (r < 0) {
        char *why = ph_guest_console_result(console);
        char *m = ph_strf("the base boot of --boot saved: %s%s%s (see %s)", pm_get_error(),
                          why ? "; the guest: " : "", why ? why : "", console);
        pm_set_error("%s", m);
        free(m);
        free(why);
    } else {
        c->t_save = R.saved.seconds;
        ph_progress("saved boot: saved in %.2f s", c->t_save);
    }
    free(cmdline);
    free(console);
    free(chan_sock);
    free(state);
    return r;
}

/* The guest's `digest <json>` against what the host read of the device
 * before the restore. */
static int check_digest(struct cycle *c, bool verify, const char *json, uint32_t want)
{
    json_t *d = json_loads(json, 0, NULL);
    long long got = ph_json_int(d, "crc32c", -1), bytes = ph_json_int(d, "bytes", -1);
    const char *err = ph_json_str(d, "error", NULL);
    int r = 0;
    if (err || got < 0 || bytes != PH_SAVED_DIGEST_BYTES) {
        pm_set_error("cycle %d: the restored guest could not read the device: %s", c->n,
                     err ? err : json);
        r = -1;
    } else {
        c->digested[verify] = true;
        c->digest_guest[verify] = (uint32_t)got;
        c->digest_device[verify] = want;
    }
    if (r == 0 && (uint32_t)got != want) {
        pm_set_error("cycle %d: the restored guest reads the device's first %lld bytes with "
                     "crc32c %lld, the device holds %u: the restore brought back an old copy",
                     c->n, bytes, got, want);
        r = -1;
    }
    json_decref(d);
    return r;
}

/* One boot by a restore of the saved state (made at the first boot): the
 * device hot-plugged, the job sent over the channel, the guest's read of
 * the device checked; a verify boot then asks for the acks. */
static int boot_saved(struct cycle *c, bool verify, const struct ph_guest_job *job,
                      struct pm_lines *chan)
{
    if (!R.saved.path && make_saved(c) < 0)
        return -1;
    uint32_t want;
    if (ph_saved_digest(R.dev.view, PH_SAVED_DIGEST_BYTES, &want) < 0)
        return -1;
    char *console = out_path(verify ? "console-%d-verify.log" : "console-%d.log", c->n);
    char *params = ph_guest_job_params(job);
    double t = 0;
    R.dom = ph_saved_restore(&R.virt, &R.saved, console, R.dev.view, R.dev.size, params, chan, &t);
    *(verify ? &c->t_restore_verify : &c->t_restore) = t;
    char *digest = NULL;
    int r = R.dom ? 0 : -1;
    if (r == 0)
        r = ph_saved_expect(chan, R.dom, "digest", PH_SAVED_GUEST_LIMIT, &digest);
    if (r == 0)
        r = check_digest(c, verify, digest, want);
    if (r == 0 && verify)
        r = ph_saved_expect(chan, R.dom, "want-acks", PH_SAVED_GUEST_LIMIT, NULL);
    if (r < 0 && R.dom) {
        /* the guest's own word first, when it printed one */
        char *why = ph_guest_console_result(console);
        char *m = ph_strf("cycle %d: %s%s%s (see %s)", c->n, pm_get_error(),
                          why ? "; the guest: " : "", why ? why : "", console);
        pm_set_error("%s", m);
        free(m);
        free(why);
    }
    if (r < 0)
        pm_lines_close(chan);
    free(digest);
    free(params);
    free(console);
    return r;
}

/* Start the VM for one boot and connect to its agent channel. */
static int boot(struct cycle *c, bool verify, struct pm_lines *chan)
{
    struct ph_guest_job job = {
        .mode = R.mode,
        .fs = R.fs,
        .verify = verify,
        .mkfs = ((uint64_t)c->n == R.first_cycle || R.remake) && !verify,
        .workload = R.workload,
        .sync = R.sync,
        .records = (int)R.records,
        .cycle = c->n,
        /* After each ack the agent waits for our go: we arm, cut or
         * suspend at that exact point, without racing the guest. */
        .ack_wait = !verify,
        .inject = verify ? NULL : R.inject,
        .expect = strcmp(R.expected, "durable") == 0 ? "durable" : "none",
        .handshake = ((uint64_t)c->n == R.first_cycle || R.remake) && !verify,
        .exec = R.exec_cmd != NULL,
    };
    if (R.boot_saved)
        return boot_saved(c, verify, &job, chan);
    char *cmdline = ph_guest_cmdline(&job);
    char *console = out_path(verify ? "console-%d-verify.log" : "console-%d.log", c->n);
    char *chan_sock = ph_strf("%s/agent.sock", R.rundir);
    free(R.dom_name);
    R.dom_name = ph_strf("pmemcut-%d-c%d%s", (int)getpid(), c->n, verify ? "-verify" : "");
    struct ph_vm_spec spec = {
        .name = R.dom_name,
        .mode = R.mode,
        .kernel = R.kernel,
        .initrd = R.initrd,
        .cmdline = cmdline,
        .pmem_path = R.dev.view,
        .pmem_size = R.dev.size,
        .console_log = console,
        .chan_sock = chan_sock,
        .mem_mib = 512,
        .vcpus = 1,
    };
    /* ADR: the tracer in QEMU, writing what the CPU persists to the device
     * over NBD, its counts to tracer-N[-verify].json */
    char *counts =
        R.tracer ? out_path(verify ? "tracer-%d-verify.json" : "tracer-%d.json", c->n) : NULL;
    char *plugin = NULL;
    if (R.tracer) {
        plugin = ph_tracer_plugin_arg(R.tracer, R.dev.view, R.dev.nbd_sock, counts);
        unlink(counts);
    }
    spec.qemu_plugin = plugin;
    unlink(chan_sock);
    unlink(console);
    char *xml = ph_domain_xml(&spec);
    R.dom = ph_vm_start(&R.virt, xml);
    int r = -1;
    if (!R.dom && counts)
        tracer_refusal(counts); /* the tracer's own word, if it said one */
    if (R.dom) {
        int fd = pm_unix_connect(chan_sock, 30);
        if (fd >= 0) {
            pm_lines_init(chan, fd);
            pm_lines_set_interrupt(chan, &ph_interrupted);
            r = 0;
        }
    }
    free(xml);
    free(cmdline);
    free(console);
    free(chan_sock);
    free(counts);
    free(plugin);
    return r;
}

/* Keep the QEMU log of an embedded domain next to the console log. */
static void keep_qemu_log(struct cycle *c, bool verify)
{
    char *log = ph_vm_qemu_log(&R.virt, R.dom_name);
    if (!log)
        return;
    char *to = out_path(verify ? "qemu-%d-verify.log" : "qemu-%d.log", c->n);
    ph_copy_file(log, to);
    free(log);
    free(to);
}

static int check_nbdkit(struct cycle *c)
{
    if (ph_nbdkit_alive(&R.dev))
        return 0;
    char *log = ph_strf("%s/nbdkit.log", R.outdir);
    char *tail = ph_log_tail(log);
    char *how = ph_exit_text();
    pm_set_error("nbdkit exited during cycle %d (%s)%s%s", c->n, how, *tail ? ": " : "", tail);
    free(how);
    free(tail);
    free(log);
    return -1;
}

/* A device command that failed may have failed because nbdkit died (its
 * control socket closed first): then that is the error to report. */
static void explain_ctl_failure(struct cycle *c)
{
    for (int i = 0; i < 20; i++) {
        if (!ph_nbdkit_alive(&R.dev)) {
            check_nbdkit(c);
            return;
        }
        pm_sleep(0.05, &ph_interrupted);
    }
}

/* --- the workload boot ---------------------------------------------------- */

static int device_status(long long *writes, long long *flushes, bool *off)
{
    json_t *st = NULL;
    if (ph_ctl_cmd(&R.ctl, &st, 30, "status") < 0)
        return -1;
    *writes = ph_json_int(st, "writes", 0);
    *flushes = ph_json_int(st, "flushes", 0);
    if (off)
        *off = strcmp(ph_json_str(st, "power", "on"), "off") == 0;
    json_decref(st);
    return 0;
}

/* Choose this cycle's cut from its seed (plan.h).  Honest methods on
 * virtio-pmem: record k's requests, at a boundary chosen when ack k - 1
 * comes, from what record k - 1 made; record 1 makes the filesystem's
 * set-up too and record 2's prediction would come from it, so k starts at 3
 * (smaller runs cut at an ack). */
static void plan_cut(struct cycle *c)
{
    uint64_t n = R.records;
    if (R.mode == PH_MODE_NVDIMM) {
        c->kind = TRIG_EADR; /* or ADR: the same cut, without the flush */
        c->k = pm_rand_range(&c->rng, 1, n);
        return;
    }
    /* A seeded bug is exposed from its ack until the record's durability
     * point (ack-early: the store comes after the ack; no-sync: no point
     * at all): cut as the k-th ack arrives, while the agent waits there. */
    if (R.inject || n < 3) {
        c->kind = TRIG_AT_MARK;
        c->k = pm_rand_range(&c->rng, 1, n);
        return;
    }
    c->kind = TRIG_PLANNED;
    c->k = pm_rand_range(&c->rng, 3, n);
}

static int arm(struct cycle *c, const char *what)
{
    free(c->trigger);
    c->trigger = ph_strf("%s", what);
    /* at-mark= takes the rest of the line: the seed goes first. */
    int r = ph_ctl_cmd(&R.ctl, NULL, 30, "arm seed=%" PRIu64 "%s%s %s", c->seed, R.p ? " p=" : "",
                       R.p ? R.p : "", what);
    if (r == 0)
        c->armed = true;
    return r;
}

/* The host's side of the eADR model: the VM stops, every store it made
 * reaches the device and is flushed, then the cut. */
static int cut_eadr(struct cycle *c)
{
    if (virDomainSuspend(R.dom) < 0) {
        pm_set_error("libvirt: cannot suspend the VM: %s", ph_virt_error());
        return -1;
    }
    /* ADR: what the CPU made persistent is on the device already (the
     * tracer's writes); the rest of the guest's stores reach it dirty,
     * without a flush, and meet the cut's policy. eADR: all is flushed. */
    bool adr = R.tracer != NULL;
    if (adr ? ph_view_writeback(&R.dev) < 0 || persist_labels() < 0 : ph_view_fsync(&R.dev) < 0)
        return -1;
    free(c->trigger);
    c->trigger = ph_strf("%s at ack %" PRIu64, adr ? "adr" : "eadr", c->k);
    if (ph_ctl_cmd(&R.ctl, &c->cut, 60, "cut seed=%" PRIu64, c->seed) < 0)
        return -1;
    ph_vm_destroy(&R.dom);
    return 0;
}

/* The mark that makes an at-mark trigger fire: the one right after the
 * ack's own. */
static char *cut_mark(struct cycle *c)
{
    return ph_strf("pmemcut-cut-c%d", c->n);
}

/* At ack k - 1: choose record k's boundary from what record k - 1 made, and
 * arm it before the agent goes on. */
static int arm_planned(struct cycle *c)
{
    c->pred_writes = c->rec_writes;
    c->pred_flushes = c->rec_flushes;
    uint64_t w = (uint64_t)c->pred_writes, f = (uint64_t)c->pred_flushes;
    c->bound =
        R.cut_fixed ? R.cut_at : ph_plan_boundary(w, f, ph_plan_pick(R.seed, (uint64_t)c->n, w, f));
    c->planned = true;
    char *mark = cut_mark(c);
    char *what = ph_boundary_trigger(&c->bound, mark);
    int r = arm(c, what);
    free(what);
    free(mark);
    return r;
}

/* At ack k: cut there if that is the plan, or if record k made fewer
 * requests than the trigger waits for (disarm, then the same cut). */
static int cut_at_ack(struct cycle *c)
{
    if (c->kind == TRIG_PLANNED && c->bound.at != PH_CUT_AT_ACK) {
        if (ph_ctl_cmd(&R.ctl, NULL, 30, "disarm") < 0)
            return -1;
        c->armed = false;
        c->fallback = true;
    }
    char *mark = cut_mark(c);
    int r = 0;
    if (!c->armed) {
        char *what = ph_strf("at-mark=%s", mark);
        r = arm(c, what);
        free(what);
    }
    if (r == 0)
        r = ph_ctl_cmd(&R.ctl, NULL, 30, "mark %s", mark);
    free(mark);
    return r;
}

/* One ack: mark, record, then act if it is the planned one; then let the
 * agent go on, unless the cut came. */
static int on_ack(struct cycle *c, const char *line, bool user, struct pm_lines *chan)
{
    /* The mark and the acks file say which cycle the ack belongs to: the
     * tools match them exactly, and an ack applies until the next cycle.
     * A user's promise (user-ack TEXT) is marked `user-ack cycle=N TEXT`,
     * and acks-N.txt holds its TEXT, as the checker gets it. */
    long long w, f;
    bool off;
    if (device_status(&w, &f, &off) < 0)
        return -1;
    if (c->cut || off) {
        /* The power is already off: a real machine could not have made
         * this promise (a workload that ignores the failed flush, as
         * sync(1) does, still gets here before the VM is gone). It is no
         * promise, and the log says so. */
        c->acks_after_cut++;
        return ph_ctl_cmd(&R.ctl, NULL, 30, "mark after-cut cycle=%d %s", c->n, line) == -1 ? -1
                                                                                            : 0;
    }
    char *text =
        user ? ph_strf("user-ack cycle=%d %s", c->n, line + 9) : ph_strf("%s cycle=%d", line, c->n);
    int r = ph_ctl_cmd(&R.ctl, NULL, 30, "mark %s", text);
    if (r == -1) {
        free(text);
        return -1;
    }
    fprintf(c->acks_f, "%s\n", user ? line + 9 : text);
    fflush(c->acks_f);
    free(c->last_mark);
    c->last_mark = text;
    json_array_append_new(c->acks, json_string(line));
    uint64_t count = json_array_size(c->acks);
    /* The lying device lies from the first ack to the cut: the filesystem
     * made before stays, the promised records go. */
    if (R.lying && count == 1 && ph_ctl_cmd(&R.ctl, NULL, 30, "fault flush=ignore") < 0)
        return -1;
    /* What the record just acknowledged made: everything since the last
     * ack, the agent having waited there. */
    c->rec_writes = w - c->writes_prev;
    c->rec_flushes = f - c->flushes_prev;
    c->writes_prev = w;
    c->flushes_prev = f;
    if (count == c->k)
        return c->kind == TRIG_EADR ? cut_eadr(c) : cut_at_ack(c);
    if (count + 1 == c->k) {
        /* record k starts after this ack: its mark opens it */
        free(c->rec_mark);
        c->rec_mark = ph_strf("%s", c->last_mark);
        if (c->kind == TRIG_PLANNED && arm_planned(c) < 0)
            return -1;
    }
    return pm_send_all(chan->fd, "go\n", 3);
}

static void on_result(struct cycle *c, json_t *res)
{
    json_decref(c->run_result);
    c->run_result = res;
}

/* Read what the guest sends until the VM is gone; cut as planned. */
static int workload_boot(struct cycle *c)
{
    struct pm_lines chan;
    memset(&chan, 0, sizeof chan);
    chan.fd = -1;
    int ret = -1;
    plan_cut(c);
    /* The acks from here on are this cycle's: the offline tools let the
     * last cycle's promises end at this mark. */
    c->rec_mark = ph_strf("cycle %d", c->n);
    if (ph_ctl_cmd(&R.ctl, NULL, 30, "mark %s", c->rec_mark) < 0 ||
        device_status(&c->writes_prev, &c->flushes_prev, NULL) < 0)
        return -1;
    ph_progress("cycle %d: workload boot (%s/%s, %" PRIu64 " records, cut: %s %s %" PRIu64 ")",
                c->n, R.workload, R.sync, R.records,
                c->kind == TRIG_EADR ? R.cache_model : trig_names[c->kind],
                c->kind == TRIG_PLANNED ? "in record" : "at ack", c->k);
    double t0 = pm_now();
    if (boot(c, false, &chan) < 0)
        goto fail;

    double end = t0 + BOOT_TIMEOUT;
    while (R.dom || chan.fd >= 0) {
        if (ph_interrupted)
            goto out;
        if (check_nbdkit(c) < 0)
            goto out;
        /* The device went off: stop the VM before it does anything more. */
        if (R.waiting) {
            json_t *rec = NULL;
            int r = ph_ctl_reply(&R.waiter, &rec, 0);
            if (r == 0) {
                R.waiting = false;
                c->armed = false;
                if (!c->cut)
                    c->cut = rec;
                else
                    json_decref(rec);
                ph_vm_destroy(&R.dom);
            } else if (r == -2) {
                R.waiting = false; /* timeout: ask again */
            } else if (r == -1) {
                goto out;
            }
        }
        if (!R.waiting && !c->cut && R.dom) {
            if (pm_ctl_sendf(&R.waiter, "wait-off timeout=1") < 0)
                goto out;
            R.waiting = true;
        }
        if (chan.fd >= 0) {
            char *line = NULL;
            int r = pm_lines_read(&chan, &line, 0.05);
            if (r == 1) {
                if (c->t_boot == 0)
                    c->t_boot = pm_now() - t0;
                json_t *res = NULL;
                enum ph_guest_msg m = ph_guest_parse(line, &res);
                int e = 0;
                if (m == PH_MSG_ACK || (m == PH_MSG_USER_ACK && R.exec_cmd)) {
                    e = on_ack(c, line, m == PH_MSG_USER_ACK, &chan);
                } else if (m == PH_MSG_RESULT) {
                    on_result(c, res);
                    res = NULL;
                } else if (m == PH_MSG_PREPARED) {
                    e = on_prepared(c, res, &chan);
                } else if (m == PH_MSG_EXTENTS) {
                    e = on_extents(c, res);
                }
                json_decref(res);
                free(line);
                if (e < 0) {
                    explain_ctl_failure(c);
                    goto out;
                }
                continue;
            }
            if (r == -1)
                pm_lines_close(&chan); /* QEMU is gone, or closed the port */
        } else {
            pm_sleep(0.05, &ph_interrupted);
        }
        if (R.dom && !ph_vm_running(R.dom))
            ph_vm_destroy(&R.dom);
        if (pm_now() > end) {
            pm_set_error(
                "cycle %d: the workload boot did not end within %.0f s (see %s/console-%d.log)",
                c->n, BOOT_TIMEOUT, R.outdir, c->n);
            goto out;
        }
    }
    ret = 0;
out:
    pm_lines_close(&chan);
    keep_qemu_log(c, false);
fail:
    if (R.waiting && ret == 0) {
        /* Let the outstanding wait-off run out so that the next one is ours. */
        json_t *rec = NULL;
        if (ph_ctl_reply(&R.waiter, &rec, 5) == 0 && !c->cut)
            c->cut = rec;
        else
            json_decref(rec);
        R.waiting = false;
    }
    ph_vm_destroy(&R.dom);
    /* The trigger may have fired just as the guest ended: ask the device. */
    if (ret == 0 && !c->cut) {
        json_t *st = NULL;
        if (ph_ctl_cmd(&R.ctl, &st, 30, "status") < 0)
            return -1;
        bool off = strcmp(ph_json_str(st, "power", "on"), "off") == 0;
        json_decref(st);
        if (off && ph_ctl_cmd(&R.ctl, &c->cut, 30, "wait-off timeout=0") < 0)
            return -1;
        if (off)
            c->armed = false;
    }
    return ret;
}

static bool refused(struct cycle *c)
{
    return ph_guest_refused(c->run_result);
}

/* --- after the cut: the FUSE view and power-on ------------------------------ */

/* Compare what the new view shows of the lost and torn ranges with the
 * persisted image itself: any difference is stale pre-cut data. */
static long long stale_bytes(json_t *cut)
{
    const char *keys[] = {"lost_ranges", "torn_ranges"};
    long long stale = 0;
    int vfd = open(R.dev.view, O_RDONLY | O_CLOEXEC);
    int ifd = open(R.dev.image, O_RDONLY | O_CLOEXEC);
    if (vfd < 0 || ifd < 0) {
        stale = -1;
        goto out;
    }
    int checked = 0;
    for (int k = 0; k < 2; k++) {
        json_t *ranges = json_object_get(cut, keys[k]);
        size_t i;
        json_t *rg;
        json_array_foreach(ranges, i, rg)
        {
            if (checked++ >= 256)
                break;
            long long off = json_integer_value(json_array_get(rg, 0));
            long long len = json_integer_value(json_array_get(rg, 1));
            if (len > (1 << 20))
                len = 1 << 20;
            char *a = malloc(len), *b = malloc(len);
            if (!a || !b)
                abort();
            if (pread(vfd, a, len, off) != len || pread(ifd, b, len, off) != len)
                stale = -1;
            else
                for (long long j = 0; j < len; j++)
                    stale += a[j] != b[j];
            free(a);
            free(b);
            if (stale < 0)
                goto out;
        }
    }
out:
    if (vfd >= 0)
        close(vfd);
    if (ifd >= 0)
        close(ifd);
    return stale;
}

static int after_cut(struct cycle *c)
{
    if (R.lying && ph_ctl_cmd(&R.ctl, NULL, 30, "fault flush=honor") < 0)
        return -1;
    /* Anything the old view still holds must not reach the next boot. */
    if (ph_view_unmount(&R.dev) < 0 || ph_view_mount(&R.dev) < 0)
        return -1;
    if (ph_ctl_cmd(&R.ctl, NULL, 60, "power-on") < 0)
        return -1;
    c->stale_bytes = stale_bytes(c->cut);
    if (c->stale_bytes != 0) {
        pm_set_error("cycle %d: the remounted view %s the persisted image at the cut's lost lines",
                     c->n, c->stale_bytes < 0 ? "cannot be compared with" : "differs from");
        return -1;
    }
    return 0;
}

/* --- the verify boot -------------------------------------------------------- */

static int verify_boot(struct cycle *c)
{
    struct pm_lines chan;
    memset(&chan, 0, sizeof chan);
    chan.fd = -1;
    ph_progress("cycle %d: verify boot (%zu acks)", c->n, json_array_size(c->acks));
    double t0 = pm_now();
    if (boot(c, true, &chan) < 0)
        return -1;
    /* The host's copy of the acks, not anything the guest remembers. */
    size_t i;
    json_t *a;
    int ret = -1;
    json_array_foreach(c->acks, i, a)
    {
        /* the agent's acks with their cycle, as in acks-N.txt: the verify
         * then tells this cycle's records from an earlier cycle's */
        const char *t = json_string_value(a);
        char *l =
            strncmp(t, "ack ", 4) == 0 ? ph_strf("%s cycle=%d\n", t, c->n) : ph_strf("%s\n", t);
        int r = pm_send_all(chan.fd, l, strlen(l));
        free(l);
        if (r < 0)
            goto out;
    }
    if (pm_send_all(chan.fd, "end\n", 4) < 0)
        goto out;
    double end = t0 + BOOT_TIMEOUT;
    while (!c->verify_result) {
        if (ph_interrupted || check_nbdkit(c) < 0)
            goto out;
        char *line = NULL;
        int r = pm_lines_read(&chan, &line, 0.2);
        if (r == 1) {
            json_t *res = NULL;
            if (ph_guest_parse(line, &res) == PH_MSG_RESULT) {
                if (json_object_get(res, "verdict")) {
                    c->verify_result = res;
                    c->t_verdict = pm_now() - t0;
                } else
                    json_decref(res);
            }
            free(line);
            continue;
        }
        if (r < 0 || (R.dom && !ph_vm_running(R.dom)) || pm_now() > end) {
            char *console = out_path("console-%d-verify.log", c->n);
            char *why = ph_guest_console_result(console);
            pm_set_error("cycle %d: no verdict came back from the verify boot: %s (see %s)", c->n,
                         why ? why : "no result from the agent", console);
            free(why);
            free(console);
            goto out;
        }
    }
    /* The verdict is all we need: stop the VM now rather than wait for its
     * power-off (the next boot mounts a filesystem that was in use, which
     * a journal handles; nothing is cut in between). */
    ret = 0;
out:
    pm_lines_close(&chan);
    ph_vm_destroy(&R.dom);
    keep_qemu_log(c, true);
    return ret;
}

/* --- one cycle, and the run ------------------------------------------------- */

static long long list_len(json_t *o, const char *key)
{
    return ph_json_count(o, key);
}

/* Why the filesystem did not mount at the verify boot, from what the
 * guest's kernel said; NULL when it mounted. */
static const char *mount_cause(struct cycle *c)
{
    json_t *fsck = json_object_get(c->verify_result, "fsck");
    if (!json_is_false(json_object_get(fsck, "mounted")))
        return NULL;
    const char *k = ph_json_str(fsck, "kernel", "");
    if (strstr(k, "JBD2") || strstr(k, "error loading journal") || strstr(k, "log mount failed") ||
        strstr(k, "log recovery"))
        return "journal recovery failed";
    return "filesystem did not mount";
}

static const char *cycle_verdict(struct cycle *c)
{
    return ph_guest_verdict(R.expected, c->run_result, c->verify_result);
}

static json_t *cut_summary(struct cycle *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "trigger", json_string(c->trigger ? c->trigger : "none"));
    json_object_set_new(o, "fired", json_boolean(c->cut && !c->cut_at_end));
    if (c->cut) {
        json_object_set(o, "audit_seq", json_object_get(c->cut, "seq"));
        json_object_set(o, "device_trigger", json_object_get(c->cut, "trigger"));
        json_object_set(o, "policy", json_object_get(c->cut, "policy"));
        json_object_set(o, "seed", json_object_get(c->cut, "seed"));
        const char *k[] = {"lost", "kept", "torn"};
        for (int i = 0; i < 3; i++)
            json_object_set(o, k[i], json_object_get(c->cut, k[i]));
    }
    /* Where it was meant to land, and where it did (plan.h). */
    if (c->kind == TRIG_PLANNED && c->planned) {
        char *name =
            ph_boundary_name(&c->bound, (uint64_t)c->pred_writes, (uint64_t)c->pred_flushes);
        json_object_set_new(o, "plan",
                            json_pack("{s:I, s:s, s:I, s:I, s:b}", "record", (json_int_t)c->k,
                                      "boundary", name, "writes", (json_int_t)c->pred_writes,
                                      "flushes", (json_int_t)c->pred_flushes, "fallback",
                                      c->fallback));
        free(name);
    }
    if (c->landing) {
        json_t *l = json_deep_copy(c->landing);
        json_object_set_new(l, "record", json_integer((json_int_t)c->k));
        json_object_set_new(l, "after", json_string(c->rec_mark));
        /* the lines dirty at the cut, by class: what its policy decided */
        json_t *dirty = json_object();
        const char *cls[] = {"meta", "data", "unknown"};
        for (int i = 0; i < 3; i++) {
            json_int_t sum = 0;
            const char *k[] = {"lost", "kept", "torn"};
            for (int j = 0; j < 3; j++)
                sum += json_integer_value(json_object_get(json_object_get(c->cut, k[j]), cls[i]));
            json_object_set_new(dirty, cls[i], json_integer(sum));
        }
        json_object_set_new(l, "dirty", dirty);
        json_object_set_new(o, "landed", l);
    }
    return o;
}

static json_t *cycle_row(struct cycle *c, const char *verdict)
{
    json_t *o = json_object();
    json_object_set_new(o, "cycle", json_integer(c->n));
    /* A share of the cycles (--shard, a chain of --jobs): where to re-run it */
    if (R.shard_n > 1) {
        char *sh = ph_strf("%" PRIu64 "/%" PRIu64, R.shard_k, R.shard_n);
        json_object_set_new(o, "shard", json_string(sh));
        free(sh);
    }
    json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(o, "mode", json_string(ph_mode_name(R.mode)));
    json_object_set_new(o, "fs", json_string(R.fs));
    json_object_set_new(o, "workload", json_string(R.workload));
    json_object_set_new(o, "sync", json_string(R.sync));
    json_object_set_new(o, "records", json_integer((json_int_t)R.records));
    json_object_set_new(o, "policy", json_string(R.policy));
    if (R.p)
        json_object_set_new(o, "p", json_real(strtod(R.p, NULL)));
    json_object_set_new(o, "lying_device", json_boolean(R.lying));
    json_object_set_new(o, "inject", R.inject ? json_string(R.inject) : json_null());
    if (R.exec_cmd) {
        json_object_set_new(o, "exec", json_string(R.exec_cmd));
        json_object_set_new(o, "check", json_string(R.check_cmd));
        json_t *x = json_object_get(c->run_result, "exit");
        json_object_set(o, "exec_exit", x ? x : json_null());
        json_t *ck = json_object_get(c->verify_result, "checker");
        json_object_set(o, "checker", ck ? ck : json_null());
    }
    if (R.mode == PH_MODE_NVDIMM)
        json_object_set_new(o, "cache_model", json_string(R.cache_model));
    if (R.tracer) {
        /* what the tracer saw in the workload boot and the verify boot */
        json_t *t = json_object();
        const char *which[2] = {"workload", "verify"};
        for (int i = 0; i < 2; i++) {
            char *f = out_path(i ? "tracer-%d-verify.json" : "tracer-%d.json", c->n);
            json_t *v = tracer_counts(f);
            json_object_set_new(t, which[i], v ? v : json_null());
            free(f);
        }
        json_object_set(t, "prepared", c->tracer_prepared ? c->tracer_prepared : json_null());
        json_object_set_new(o, "tracer", t);
    }
    json_object_set_new(o, "expected", json_string(R.expected));
    json_object_set_new(o, "cut", c->cut || c->trigger ? cut_summary(c) : json_null());
    json_object_set_new(o, "acked", json_integer((json_int_t)json_array_size(c->acks)));
    json_object_set_new(o, "acks_after_cut", json_integer(c->acks_after_cut));
    json_t *missing = json_object_get(c->verify_result, "missing");
    json_t *corrupt = json_object_get(c->verify_result, "corrupt");
    json_object_set(o, "missing", missing ? missing : json_array());
    json_object_set(o, "corrupt", corrupt ? corrupt : json_array());
    if (!missing)
        json_decref(json_object_get(o, "missing"));
    if (!corrupt)
        json_decref(json_object_get(o, "corrupt"));
    json_t *fsck = json_object_get(c->verify_result, "fsck");
    json_object_set(o, "fsck", fsck ? fsck : json_null());
    /* A filesystem the kernel refused: the cause, and the next cycle makes
     * a new one (new_filesystem there). */
    const char *cause = mount_cause(c);
    json_object_set_new(o, "mount_failure", cause ? json_string(cause) : json_null());
    json_object_set_new(o, "new_filesystem", json_boolean(c->mkfs_why != NULL));
    if (refused(c))
        json_object_set(o, "refusal", c->run_result);
    json_object_set_new(o, "stale_view_bytes", json_integer(c->stale_bytes));
    json_t *labels = json_object();
    json_object_set_new(labels, "meta", json_boolean(c->meta_labelled));
    if (c->meta_labelled) {
        json_object_set_new(labels, "meta_offset", json_integer(c->meta_offset));
        json_object_set_new(labels, "meta_bytes", json_integer(c->meta_bytes));
        json_object_set_new(labels, "meta_ranges", json_integer(c->meta_ranges));
    }
    json_object_set_new(labels, "data_extents", json_integer(c->data_extents));
    json_object_set_new(labels, "errors", json_integer(c->label_errors));
    json_object_set_new(labels, "seconds", json_real(c->t_label));
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "verdict", json_string(verdict));
    json_object_set_new(o, "boot", json_string(R.boot_saved ? "saved" : "cold"));
    if (R.boot_saved) {
        /* the proof that no restore brought back an old copy of the device */
        json_t *rc = json_pack("{s:I}", "bytes", (json_int_t)PH_SAVED_DIGEST_BYTES);
        const char *which[2] = {"workload", "verify"};
        for (int i = 0; i < 2; i++)
            json_object_set_new(rc, which[i],
                                c->digested[i] ? json_pack("{s:I, s:I}", "guest",
                                                           (json_int_t)c->digest_guest[i], "device",
                                                           (json_int_t)c->digest_device[i])
                                               : json_null());
        json_object_set_new(o, "restore_check", rc);
    }
    json_t *ph = json_object();
    /* boot: VM start to the first ack; workload: from there until the VM
     * is stopped at the cut; cut: remount and power-on; reboot_verify: VM
     * start to verdict; shutdown: the verify boot's clean power-off. */
    /* saved boots: save, the base boot and its save (the first cycle's);
     * restore and restore_verify, each boot's restore to the job sent (in
     * boot and reboot_verify) */
    if (R.boot_saved) {
        json_object_set_new(ph, "save", json_real(c->t_save));
        json_object_set_new(ph, "restore", json_real(c->t_restore));
        json_object_set_new(ph, "restore_verify", json_real(c->t_restore_verify));
    }
    json_object_set_new(ph, "boot", json_real(c->t_boot - c->t_save));
    json_object_set_new(ph, "workload", json_real(c->t_work - c->t_boot));
    json_object_set_new(ph, "cut", json_real(c->t_remount));
    json_object_set_new(ph, "reboot_verify", json_real(c->t_verdict));
    json_object_set_new(ph, "shutdown", json_real(c->t_verify - c->t_verdict));
    json_object_set_new(o, "phases", ph);
    json_object_set_new(o, "seconds", json_real(c->t_work + c->t_remount + c->t_verify));
    return o;
}

static void free_cycle(struct cycle *c)
{
    json_decref(c->acks);
    json_decref(c->cut);
    json_decref(c->run_result);
    json_decref(c->verify_result);
    free(c->trigger);
    free(c->rec_mark);
    free(c->last_mark);
    free(c->mkfs_why);
    json_decref(c->landing);
    json_decref(c->tracer_prepared);
    if (c->acks_f)
        fclose(c->acks_f);
}

/* One cycle; returns the verdict (static string) or NULL on error. */
static const char *one_cycle(int n)
{
    struct cycle c = {.n = n};
    uint64_t s = R.seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
    c.seed = pm_splitmix64(&s) % 1000000000;
    c.rng = c.seed;
    c.acks = json_array();
    char *acks_path = out_path("acks-%d.txt", n);
    c.acks_f = fopen(acks_path, "we");
    free(acks_path);
    const char *verdict = NULL;
    if (!c.acks_f) {
        pm_set_error("acks-%d.txt: %s", n, strerror(errno));
        goto out;
    }

    if (R.remake)
        c.mkfs_why = ph_strf("cycle %d's filesystem did not mount", n - 1);
    double t = pm_now();
    if (workload_boot(&c) < 0)
        goto out;
    R.remake = false;
    c.t_work = pm_now() - t;
    if (refused(&c)) {
        ph_progress("cycle %d: %s refused by the guest", n, R.sync);
        if (c.armed)
            ph_ctl_cmd(&R.ctl, NULL, 30, "disarm");
        verdict = "refused";
        goto row;
    }
    t = pm_now();
    const char *run_error = ph_json_str(c.run_result, "error", NULL);
    /* The user's workload ended before the cut, and not well: its own
     * failure, not a verdict (its output is on the console). */
    char *exec_error = NULL;
    if (!c.cut && R.exec_cmd && c.run_result && ph_json_int(c.run_result, "exit", 0) != 0)
        run_error = exec_error = ph_strf("the workload (--exec) exited %lld before the cut",
                                         ph_json_int(c.run_result, "exit", 0));
    if (!c.cut && (!c.run_result || run_error)) {
        /* No cut, and the guest did not finish its workload. */
        char *console = out_path("console-%d.log", n);
        char *why = run_error ? ph_strf("%s", run_error) : ph_guest_console_result(console);
        pm_set_error("cycle %d: the guest failed before the cut: %s (see %s)", n,
                     why ? why : "no result from the agent", console);
        free(why);
        free(console);
        free(exec_error);
        goto out;
    }
    free(exec_error);
    if (!c.cut) {
        /* The workload ended before the trigger: cut now, at its end. */
        if (c.armed && ph_ctl_cmd(&R.ctl, NULL, 30, "disarm") < 0)
            goto out;
        c.cut_at_end = true;
        if (!c.trigger)
            c.trigger = ph_strf("end of workload");
        if (ph_ctl_cmd(&R.ctl, &c.cut, 60, "cut seed=%" PRIu64, c.seed) < 0)
            goto out;
    }
    char *lines = ph_cut_lines(c.cut);
    if (!c.cut_at_end && c.rec_mark) {
        c.landing = ph_landing(R.dev.audit, c.rec_mark, &R.audit_resume);
        if (!c.landing)
            goto out;
    }
    const char *req = ph_json_str(c.landing, "requests", NULL);
    ph_progress("cycle %d: cut (%s%s%s%s%s): %s", n, c.trigger,
                c.cut_at_end ? ", did not fire: cut at the end" : "",
                c.fallback ? ", the record made fewer requests: cut at its ack" : "",
                req ? ", after requests " : "", req ? (*req ? req : "none") : "", lines);
    free(lines);
    if (after_cut(&c) < 0)
        goto out;
    c.t_remount = pm_now() - t;
    t = pm_now();
    if (verify_boot(&c) < 0)
        goto out;
    c.t_verify = pm_now() - t;
    verdict = cycle_verdict(&c);
    const char *cause = mount_cause(&c);
    if (cause) {
        /* The next cycle cannot use this filesystem: it makes a new one. */
        R.remake = true;
        ph_progress("cycle %d: %s (the guest's kernel: %s); the next cycle makes a new filesystem",
                    n, cause,
                    ph_json_str(json_object_get(c.verify_result, "fsck"), "kernel", "nothing"));
    }
    json_t *fsck = json_object_get(c.verify_result, "fsck");
    const char *fsck_s = !json_is_object(fsck)                          ? "not run"
                         : json_is_true(json_object_get(fsck, "clean")) ? "clean"
                                                                        : "NOT clean";
    json_t *ck = json_object_get(c.verify_result, "checker");
    if (R.exec_cmd && ck) {
        /* the user's checker says what was lost: its exit and its JSON */
        json_t *res = json_object_get(ck, "result");
        char *js = res ? json_dumps(res, JSON_COMPACT) : NULL;
        json_t *ex = json_object_get(ck, "exit");
        char *how = json_is_integer(ex)
                        ? ph_strf("exit %lld", (long long)json_integer_value(ex))
                        : ph_strf("%s", ph_json_str(ck, "verdict", "?")); /* not run, error */
        ph_progress("cycle %d: %s (acked %zu, checker %s%s%.200s, fsck %s) in %.1f s", n, verdict,
                    json_array_size(c.acks), how, js ? ": " : "", js ? js : "", fsck_s,
                    c.t_work + c.t_remount + c.t_verify);
        free(how);
        free(js);
    } else {
        ph_progress("cycle %d: %s (acked %zu, missing %lld, corrupt %lld, fsck %s) in %.1f s", n,
                    verdict, json_array_size(c.acks), list_len(c.verify_result, "missing"),
                    list_len(c.verify_result, "corrupt"), fsck_s,
                    c.t_work + c.t_remount + c.t_verify);
    }
row:;
    json_t *row = cycle_row(&c, verdict);
    json_dumpf(row, R.results, JSON_COMPACT);
    fputc('\n', R.results);
    fflush(R.results);
    json_decref(row);
out:
    free_cycle(&c);
    return verdict;
}

/* The cycles of this run, or of one chain of a --jobs run, on a device of
 * its own; table: print the summary. R.broke says whether it stopped at an
 * error before its end. */
static int run_cycles(bool table)
{
    int ret = PM_EXIT_USAGE;
    R.broke = true;
    if (setup() < 0)
        goto out;
    int violations = 0, errors = 0;
    for (uint64_t n = R.first_cycle; n <= R.cycles; n += R.shard_n) {
        const char *v = one_cycle((int)n);
        if (!v)
            goto out;
        errors += strcmp(v, "error") == 0; /* a checker that could not say */
        if (strcmp(v, "FAIL") == 0 ||
            (strcmp(v, "refused") == 0 && strcmp(R.expected, "refused") != 0))
            violations++;
        if (strcmp(v, "refused") == 0)
            break; /* the method is refused: more cycles would say the same */
    }
    R.broke = false;
    fclose(R.results);
    R.results = NULL;
    if (table)
        ph_report_print(stdout, (const char *[]){R.results_path, NULL});
    ret = violations ? PM_EXIT_FAIL : errors ? PM_EXIT_USAGE : PM_EXIT_OK;
out:
    teardown();
    return ret;
}

/* The run's own --out, for the chains (setup gives R.outdir theirs). */
static char *jobs_outdir;

/* In chain j's process (jobs.c): the shard that is chain j, into
 * OUT/chain-j, its progress lines prefixed with "chain j: ". */
static int run_chain(int j, void *arg, bool *broke)
{
    (void)arg;
    uint64_t k, n;
    ph_jobs_shard(R.shard_k, R.shard_n, R.jobs, (uint64_t)j, &k, &n);
    R.shard_k = R.first_cycle = k;
    R.shard_n = n;
    R.out = ph_strf("%s/chain-%d", jobs_outdir, j);
    ph_progress_prefix = ph_strf("chain %d: ", j);
    char list[96] = "";
    size_t len = 0;
    for (uint64_t c = k, i = 0; c <= R.cycles; c += n, i++) {
        if (i == 4) {
            snprintf(list + len, sizeof list - len, ", ...");
            break;
        }
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%" PRIu64, i ? ", " : "", c);
    }
    ph_progress("cycles %s of %" PRIu64 " (--shard %" PRIu64 "/%" PRIu64 ") in %s", list, R.cycles,
                k, n, R.out);
    int r = run_cycles(false);
    *broke = R.broke;
    return r;
}

/* --jobs J > 1: J chains at once (jobs.c), then one results.jsonl in
 * cycle order at the top of --out and one summary table, as one run. */
static int run_jobs(void)
{
    if (find_parts() < 0 || ph_mkdirs(R.out, 0755) < 0)
        return PM_EXIT_USAGE;
    jobs_outdir = realpath(R.out, NULL);
    if (!jobs_outdir) {
        pm_set_error("--out %s: %s", R.out, strerror(errno));
        return PM_EXIT_USAGE;
    }
    R.outdir = jobs_outdir;
    if (clear_outdir() < 0)
        return PM_EXIT_USAGE;
    double t0 = pm_now();
    bool complete;
    int ret = ph_jobs_run((int)R.jobs, run_chain, NULL, &complete);
    /* What the chains did is kept, whatever ended them (as one run's
     * results.jsonl keeps the cycles it finished). */
    char keep[PM_ERROR_MAX];
    snprintf(keep, sizeof keep, "%s", pm_get_error());
    if (ph_jobs_merge(jobs_outdir, (int)R.jobs) < 0) {
        if (ret != PM_EXIT_USAGE)
            return PM_EXIT_USAGE;
        complete = false;
    }
    pm_set_error("%s", keep);
    ph_progress("run: %" PRIu64 " chains ended in %.1f s", R.jobs, pm_now() - t0);
    if (complete) {
        char *path = ph_strf("%s/results.jsonl", jobs_outdir);
        ph_report_print(stdout, (const char *[]){path, NULL});
        free(path);
    }
    return ret;
}

int ph_cmd_run(int argc, char **argv)
{
    if (parse_run_options(argc, argv) < 0 || check_outdir() < 0)
        return PM_EXIT_USAGE;
    char chains[64] = "";
    if (R.jobs > 1)
        snprintf(chains, sizeof chains, " in %" PRIu64 " chains at once", R.jobs);
    ph_progress("run: %s %s %s/%s, %" PRIu64 " cycles%s, seed %" PRIu64 ", expect %s",
                ph_mode_name(R.mode), R.fs, R.workload, R.sync, R.cycles, chains, R.seed,
                R.expected);
    return R.jobs > 1 ? run_jobs() : run_cycles(true);
}
