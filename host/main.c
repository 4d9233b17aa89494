/* pmemcut-host — the orchestrator: power-cut cycles on a real VM through
 * libvirt (run), the device for a user's own VM (serve, attach, detach),
 * the summary table of earlier runs (report), the guest kernel's verdict
 * on one image (verify), and where it finds its parts (paths).
 *
 * Exit status (utils/exitcode.h): 0 every cycle matched its expectation
 * (or the command succeeded; verify: PASS), 1 a durability violation was
 * found (verify: FAIL), 2 a usage or environment error (one line on
 * stderr, "pmemcut-host: what"), 130 interrupted. */
#include "host.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void on_signal(int sig)
{
    (void)sig;
    ph_interrupted = 1;
}

static void usage(FILE *f)
{
    fputs(
        "usage: pmemcut-host run --mode virtio-pmem|nvdimm --fs ext4|xfs --workload W --sync S\n"
        "                        [--records N] [--cycles C] [--shard K/N] [--policy P] [--seed N] "
        "[--size SIZE]\n"
        "                        [--cache-model adr|eadr] [--p F] [--cut-at B] [--lying-device]\n"
        "                        [--inject BUG] [--boot cold|saved]\n"
        "                        [--jobs J] [--no-data-log] [--connect URI] --out DIR [--force]\n"
        "       pmemcut-host run --mode M --fs F --exec CMD --check CMD [--guest-add PATH]...\n"
        "                        [--expect durable|none] [run's other options]\n"
        "       pmemcut-host serve --file IMG --size SIZE [--policy P] [--seed N]\n"
        "                          [--cache-model adr|eadr] [--no-data-log]\n"
        "       pmemcut-host attach --domain NAME --file IMG --mode nvdimm|virtio-pmem\n"
        "                           [--cache-model adr|eadr] [--connect URI] [--dry-run]\n"
        "       pmemcut-host detach --domain NAME [--connect URI] [--dry-run]\n"
        "       pmemcut-host verify --image IMG --fs ext4|xfs --acks FILE|- [--mode M] [--json]\n"
        "       pmemcut-host report RESULTS.jsonl|DIR...\n"
        "       pmemcut-host paths\n"
        "Run 'pmemcut-host COMMAND --help' for a command's options.\n",
        f);
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (argc < 2) {
        fprintf(stderr,
                "pmemcut-host: no command given (run, serve, attach, detach, report, verify, "
                "paths; "
                "--help for usage)\n");
        return PM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    int r;
    if (strcmp(cmd, "run") == 0)
        r = ph_cmd_run(argc - 1, argv + 1);
    else if (strcmp(cmd, "serve") == 0)
        r = ph_cmd_serve(argc - 1, argv + 1);
    else if (strcmp(cmd, "attach") == 0)
        r = ph_cmd_attach(argc - 1, argv + 1, false);
    else if (strcmp(cmd, "detach") == 0)
        r = ph_cmd_attach(argc - 1, argv + 1, true);
    else if (strcmp(cmd, "report") == 0)
        r = ph_cmd_report(argc - 1, argv + 1);
    else if (strcmp(cmd, "verify") == 0)
        r = ph_cmd_verify(argc - 1, argv + 1);
    else if (strcmp(cmd, "paths") == 0)
        r = ph_cmd_paths(argc - 1, argv + 1);
    else if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    } else {
        fprintf(stderr,
                "pmemcut-host: unknown command '%s' (run, serve, attach, detach, report, verify, "
                "paths)\n",
                cmd);
        return PM_EXIT_USAGE;
    }
    if (r == PM_EXIT_USAGE || (r != 0 && ph_interrupted)) {
        /* One line, whatever a library or a tool's output put in it. */
        char e[PM_ERROR_MAX];
        snprintf(e, sizeof e, "%s", *pm_get_error() ? pm_get_error() : "unknown error");
        for (char *p = e; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        fprintf(stderr, "pmemcut-host: %s\n", ph_interrupted ? "interrupted" : e);
        return ph_interrupted ? 130 : PM_EXIT_USAGE;
    }
    return r;
}
