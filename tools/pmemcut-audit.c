/* pmemcut-audit — answers from the device's audit log.
 *
 *   pmemcut-audit summary LOG [--json]
 *   pmemcut-audit timeline LOG -o FILE.svg [--from SEQ] [--to SEQ]
 *   pmemcut-audit lost LOG --image IMG | --data DLOG [--fs ext4|xfs] [--extents EXT.json]
 *                          [--offset BYTES]
 *   pmemcut-audit classify --image IMG --socket SOCK [--fs ext4|xfs] [--extents EXT.json]
 *                          [--offset BYTES]
 *
 * ext4 is read with libext2fs; xfs's file data comes from the agent's
 * FIEMAP report (--extents) and the rest is metadata.  --offset: the
 * filesystem starts that many bytes into the device (an nvdimm namespace's
 * data offset, the agent's dev_offset); the ranges sent and printed are
 * device offsets all the same.  An extents report's dev_offset means the
 * same, and the two must agree.
 *
 * Exit (the table of every pmemcut program): 0 done, 2 a usage or I/O
 * error or a damaged log (the message names the line, byte offset and last
 * good seq; what came before is still reported), 3 the device refused a
 * classify command.  The engines are in tools/engines/; this file only
 * reads the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/auditsum.h"
#include "engines/classify.h"
#include "utils/error.h"
#include "utils/parse.h"
#include "utils/exitcode.h"
#include "engines/lost.h"
#include "engines/timeline.h"

#define COMMANDS "summary, timeline, lost, classify"

static void usage(FILE *f)
{
    fprintf(f, "usage: pmemcut-audit summary LOG [--json]\n"
               "       pmemcut-audit timeline LOG -o FILE.svg [--from SEQ] [--to SEQ]\n"
               "       pmemcut-audit lost LOG --image IMG | --data DLOG [--fs ext4|xfs]\n"
               "                          [--extents EXT.json] [--offset BYTES]\n"
               "       pmemcut-audit classify --image IMG --socket SOCK [--fs ext4|xfs]\n"
               "                          [--extents EXT.json] [--offset BYTES]\n");
}

static const struct option lopts[] = {
    {"json", no_argument, 0, 'j'},
    {"output", required_argument, 0, 'o'},
    {"from", required_argument, 0, 'f'},
    {"to", required_argument, 0, 't'},
    {"image", required_argument, 0, 'i'},
    {"socket", required_argument, 0, 's'},
    {"max-lines", required_argument, 0, 'm'},
    {"data", required_argument, 0, 'd'},
    {"fs", required_argument, 0, 'F'},
    {"extents", required_argument, 0, 'e'},
    {"offset", required_argument, 0, 'O'},
    {0, 0, 0, 0},
};

struct args {
    const char *log, *out, *image, *socket, *data;
    bool json;
    uint64_t from, to, max_lines;
    struct pt_layout_args lay; /* --fs, --extents, --offset */
};

/* Reads the options of command cmd.  0, or -1 after a one-line message
 * (getopt's own are off: opterr = 0). */
static int parse(int argc, char **argv, struct args *a, const char *cmd, bool want_log)
{
    memset(a, 0, sizeof *a);
    a->to = UINT64_MAX;
    a->max_lines = 40;
    int c;
    while ((c = getopt_long(argc, argv, "o:", lopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            a->json = true;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'i':
            a->image = optarg;
            break;
        case 's':
            a->socket = optarg;
            break;
        case 'd':
            a->data = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "ext4") != 0 && strcmp(optarg, "xfs") != 0) {
                fprintf(stderr, "pmemcut-audit: --fs: ext4 or xfs, not %s\n", optarg);
                return -1;
            }
            a->lay.fs = optarg;
            break;
        case 'e':
            a->lay.extents = optarg;
            break;
        case 'f':
        case 't':
        case 'm':
        case 'O': {
            uint64_t v;
            if (pm_parse_u64(optarg, UINT64_MAX, &v) == -1) {
                fprintf(stderr, "pmemcut-audit: %s\n", pm_get_error());
                return -1;
            }
            if (c == 'O') {
                a->lay.offset = v;
                a->lay.have_offset = true;
                break;
            }
            *(c == 'f' ? &a->from : c == 't' ? &a->to : &a->max_lines) = v;
            break;
        }
        default:
            fprintf(stderr,
                    "pmemcut-audit: %s: unknown or incomplete option '%s' (see pmemcut-audit "
                    "--help)\n",
                    cmd, argv[optind - 1]);
            return -1;
        }
    }
    int want = want_log ? 1 : 0;
    if (argc - optind != want) {
        fprintf(stderr, "pmemcut-audit: %s: %s (see pmemcut-audit --help)\n", cmd,
                argc - optind < want ? "LOG is required" : "unexpected arguments");
        return -1;
    }
    if (want_log)
        a->log = argv[optind];
    return 0;
}

/* An engine's error: one line, and the exit code. */
static int failed(int code)
{
    fprintf(stderr, "pmemcut-audit: %s\n", pm_get_error());
    return code;
}

static int cmd_lost(const struct args *a)
{
    if (!a->data && !a->image) {
        fprintf(stderr, "pmemcut-audit: lost: --image IMG or --data DLOG is required\n");
        return PM_EXIT_USAGE;
    }
    struct pt_lost_args la = {.log = a->log,
                              .image = a->image,
                              .data = a->data,
                              .max_lines = a->max_lines,
                              .lay = a->lay};
    return pt_lost_print(&la) == -1 ? failed(PM_EXIT_USAGE) : PM_EXIT_OK;
}

static int cmd_classify(const struct args *a)
{
    if (!a->image || !a->socket) {
        fprintf(stderr, "pmemcut-audit: classify: --image and --socket are required\n");
        return PM_EXIT_USAGE;
    }
    struct pt_classify_args ca = {.image = a->image, .socket = a->socket, .lay = a->lay};
    bool refused;
    if (pt_classify_send(&ca, &refused) == -1)
        return failed(refused ? PM_EXIT_REFUSED : PM_EXIT_USAGE);
    return PM_EXIT_OK;
}

int main(int argc, char **argv)
{
    opterr = 0; /* one line per usage error, ours */
    if (argc < 2) {
        fprintf(stderr, "pmemcut-audit: no command (%s; see --help)\n", COMMANDS);
        return PM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return PM_EXIT_OK;
    }
    if (strcmp(cmd, "summary") != 0 && strcmp(cmd, "timeline") != 0 && strcmp(cmd, "lost") != 0 &&
        strcmp(cmd, "classify") != 0) {
        fprintf(stderr, "pmemcut-audit: unknown command '%s' (%s; see --help)\n", cmd, COMMANDS);
        return PM_EXIT_USAGE;
    }
    struct args a;
    if (parse(argc - 1, argv + 1, &a, cmd, strcmp(cmd, "classify") != 0) == -1)
        return PM_EXIT_USAGE;
    if (strcmp(cmd, "summary") == 0)
        return pt_summary_print(a.log, a.json, stdout) == -1 ? failed(PM_EXIT_USAGE) : PM_EXIT_OK;
    if (strcmp(cmd, "timeline") == 0) {
        if (!a.out) {
            fprintf(stderr, "pmemcut-audit: timeline: -o FILE.svg is required\n");
            return PM_EXIT_USAGE;
        }
        if (a.from > a.to) {
            fprintf(stderr, "pmemcut-audit: timeline: --from %llu is after --to %llu\n",
                    (unsigned long long)a.from, (unsigned long long)a.to);
            return PM_EXIT_USAGE;
        }
        return pt_timeline_write(a.log, a.out, a.from, a.to) == -1 ? failed(PM_EXIT_USAGE)
                                                                   : PM_EXIT_OK;
    }
    if (strcmp(cmd, "lost") == 0)
        return cmd_lost(&a);
    return cmd_classify(&a);
}
