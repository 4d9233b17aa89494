/* pmemcutctl — send one command to a pmemcut device's control socket.
 *
 *   pmemcutctl -s SOCKET COMMAND [ARGS...]
 *
 * The words are joined with spaces into one command line.  Prints the JSON
 * of an "ok" reply on stdout (exit 0); an "error:" reply goes to stderr
 * (exit 3: the device refused the command); usage errors, no connection or
 * a broken reply exit 2.  The socket may also be given in $PMEMCUT_SOCKET.
 *
 *   pmemcutctl -s SOCKET -
 *
 * reads commands from stdin, one per line, sends them over one connection
 * and prints every reply line as it is ("ok ..." or "error: ..."); exit 3
 * if any reply was an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/ctlclient.h"
#include "utils/error.h"
#include "utils/exitcode.h"
#include "utils/jbuf.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pmemcutctl -s SOCKET COMMAND [ARGS...]\n"
               "       pmemcutctl -s SOCKET -      (commands from stdin, one per line)\n"
               "commands: status | cut [policy=P] [p=F] [seed=N] |\n"
               "  arm after-writes=N|before-flush=N|at-mark=TEXT [policy=P] [p=F] [seed=N] |\n"
               "  disarm | wait-off [timeout=S] | power-on | mark TEXT |\n"
               "  classify meta|data|unknown OFFSET LENGTH | dirty [max=N] |\n"
               "  fault flush=ignore|honor\n");
}

/* Sends cmd and reads its reply line as it came (*line malloc'd).  0, or
 * -1 when there was none. */
static int exchange(struct pm_ctl *c, const char *cmd, char **line)
{
    if (pm_ctl_send(c, cmd) == -1)
        return -1;
    int r = pm_ctl_reply_raw(c, line, -1);
    return r == 0 || r == 1 ? 0 : -1;
}

static int batch(struct pm_ctl *c, const char *sock)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = PM_EXIT_OK;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        char *rep;
        if (exchange(c, line, &rep) == -1) {
            fprintf(stderr, "pmemcutctl: no reply from %s\n", sock);
            status = PM_EXIT_USAGE;
            break;
        }
        printf("%s\n", rep);
        fflush(stdout);
        if (strncmp(rep, "ok ", 3) != 0)
            status = PM_EXIT_REFUSED;
        free(rep);
    }
    free(line);
    return status;
}

int main(int argc, char **argv)
{
    const char *sock = getenv("PMEMCUT_SOCKET");
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            sock = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return PM_EXIT_OK;
        } else {
            fprintf(stderr, "pmemcutctl: unknown option '%s' (see pmemcutctl --help)\n", argv[i]);
            return PM_EXIT_USAGE;
        }
    }
    if (!sock || i == argc) {
        fprintf(stderr, "pmemcutctl: %s (see pmemcutctl --help)\n",
                !sock ? "no socket (-s SOCKET)" : "no command");
        return PM_EXIT_USAGE;
    }

    struct jbuf cmd;
    jb_init(&cmd);
    for (int k = i; k < argc; k++) {
        if (strchr(argv[k], '\n')) {
            fprintf(stderr, "pmemcutctl: argument %d contains a newline\n", k - i + 1);
            return PM_EXIT_USAGE;
        }
        jb_printf(&cmd, "%s%s", k > i ? " " : "", argv[k]);
    }

    struct pm_ctl c;
    if (pm_ctl_open(&c, sock, 0) == -1) {
        fprintf(stderr, "pmemcutctl: %s\n", pm_get_error());
        jb_free(&cmd);
        return PM_EXIT_USAGE;
    }
    if (strcmp(argv[i], "-") == 0 && i + 1 == argc) {
        int r = batch(&c, sock);
        pm_ctl_close(&c);
        jb_free(&cmd);
        return r;
    }

    char *rep = NULL;
    int r = jb_ok(&cmd) ? exchange(&c, cmd.s, &rep) : -1;
    pm_ctl_close(&c);
    jb_free(&cmd);
    int status = PM_EXIT_USAGE;
    if (r == -1)
        fprintf(stderr, "pmemcutctl: no reply from %s\n", sock);
    else if (strncmp(rep, "ok ", 3) == 0) {
        printf("%s\n", rep + 3);
        status = PM_EXIT_OK;
    } else if (strncmp(rep, "error: ", 7) == 0) {
        fprintf(stderr, "pmemcutctl: %s\n", rep + 7);
        status = PM_EXIT_REFUSED;
    } else {
        fprintf(stderr, "pmemcutctl: unexpected reply: %s\n", rep);
    }
    free(rep);
    return status;
}
