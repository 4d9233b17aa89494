/* pmemcutctl — send one command to a pmemcut device's control socket.
 *
 *   pmemcutctl -s SOCKET COMMAND [ARGS...]
 *
 * The words are joined with spaces into one command line.  Prints the JSON
 * of an "ok" reply on stdout (exit 0); an "error:" reply goes to stderr
 * (exit 1); no connection or a broken reply exits 2.  The socket may also be
 * given in $PMEMCUT_SOCKET.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jbuf.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pmemcutctl -s SOCKET COMMAND [ARGS...]\n"
               "commands: status | cut [policy=P] [p=F] [seed=N] |\n"
               "  arm after-writes=N|before-flush=N|at-mark=TEXT [policy=P] [p=F] [seed=N] |\n"
               "  disarm | wait-off [timeout=S] | power-on | mark TEXT |\n"
               "  classify meta|data|unknown OFFSET LENGTH | dirty [max=N] |\n"
               "  fault flush=ignore|honor\n");
}

int main(int argc, char **argv)
{
    const char *sock = getenv("PMEMCUT_SOCKET");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            sock = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "pmemcutctl: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!sock || i == argc) {
        fprintf(stderr, "pmemcutctl: %s\n", !sock ? "no socket (-s SOCKET)" : "no command");
        usage(stderr);
        return 2;
    }

    struct jbuf cmd;
    jb_init(&cmd);
    for (int k = i; k < argc; k++) {
        if (strchr(argv[k], '\n')) {
            fprintf(stderr, "pmemcutctl: argument %d contains a newline\n", k - i + 1);
            return 2;
        }
        jb_printf(&cmd, "%s%s", k > i ? " " : "", argv[k]);
    }
    jb_printf(&cmd, "\n");

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof sa.sun_path) {
        fprintf(stderr, "pmemcutctl: socket path too long: %s\n", sock);
        return 2;
    }
    strcpy(sa.sun_path, sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "pmemcutctl: cannot connect to %s: %s\n", sock, strerror(errno));
        return 2;
    }
    for (size_t off = 0; off < cmd.len;) {
        ssize_t w = send(fd, cmd.s + off, cmd.len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            fprintf(stderr, "pmemcutctl: send: %s\n", strerror(errno));
            return 2;
        }
        off += (size_t)w;
    }
    jb_free(&cmd);

    struct jbuf rep;
    jb_init(&rep);
    char buf[65536];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        jb_mem(&rep, buf, (size_t)r);
        if (memchr(buf, '\n', (size_t)r))
            break;
    }
    close(fd);
    if (!rep.s || !strchr(rep.s, '\n')) {
        fprintf(stderr, "pmemcutctl: no reply from %s\n", sock);
        return 2;
    }
    *strchr(rep.s, '\n') = '\0';
    if (strncmp(rep.s, "ok ", 3) == 0) {
        printf("%s\n", rep.s + 3);
        return 0;
    }
    if (strncmp(rep.s, "error: ", 7) == 0) {
        fprintf(stderr, "pmemcutctl: %s\n", rep.s + 7);
        return 1;
    }
    fprintf(stderr, "pmemcutctl: unexpected reply: %s\n", rep.s);
    return 2;
}
