/* pmemcutctl — send one command to a pmemcut device's control socket.
 *
 *   pmemcutctl -s SOCKET COMMAND [ARGS...]
 *
 * The words are joined with spaces into one command line.  Prints the JSON
 * of an "ok" reply on stdout (exit 0); an "error:" reply goes to stderr
 * (exit 1); no connection or a broken reply exits 2.  The socket may also be
 * given in $PMEMCUT_SOCKET.
 *
 *   pmemcutctl -s SOCKET -
 *
 * reads commands from stdin, one per line, sends them over one connection
 * and prints every reply line as it is ("ok ..." or "error: ..."); exit 1 if
 * any reply was an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

static int connect_to(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof sa.sun_path) {
        fprintf(stderr, "pmemcutctl: socket path too long: %s\n", sock);
        return -1;
    }
    strcpy(sa.sun_path, sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "pmemcutctl: cannot connect to %s: %s\n", sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_line(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "pmemcutctl: send: %s\n", strerror(errno));
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one reply line into rep (without the newline); pending keeps what
 * arrived after it.  -1 if the connection ended first. */
static int read_line(int fd, struct jbuf *pending, struct jbuf *rep)
{
    for (;;) {
        char *nl = pending->s ? memchr(pending->s, '\n', pending->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - pending->s);
            jb_reset(rep);
            jb_mem(rep, pending->s, n);
            memmove(pending->s, nl + 1, pending->len - n - 1);
            pending->len -= n + 1;
            pending->s[pending->len] = '\0';
            return jb_ok(rep) ? 0 : -1;
        }
        char buf[65536];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        jb_mem(pending, buf, (size_t)r);
        if (!jb_ok(pending))
            return -1;
    }
}

static int batch(int fd, const char *sock)
{
    struct jbuf pending, rep;
    jb_init(&pending);
    jb_init(&rep);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] != '\n') {
            line = realloc(line, (size_t)n + 2);
            line[n++] = '\n';
            line[n] = '\0';
        }
        if (send_line(fd, line, (size_t)n) || read_line(fd, &pending, &rep)) {
            fprintf(stderr, "pmemcutctl: no reply from %s\n", sock);
            status = 2;
            break;
        }
        printf("%s\n", rep.s);
        fflush(stdout);
        if (strncmp(rep.s, "ok ", 3) != 0)
            status = 1;
    }
    free(line);
    jb_free(&pending);
    jb_free(&rep);
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

    int fd = connect_to(sock);
    if (fd < 0)
        return 2;
    if (strcmp(argv[i], "-") == 0 && i + 1 == argc) {
        int r = batch(fd, sock);
        close(fd);
        return r;
    }

    struct jbuf pending, rep;
    jb_init(&pending);
    jb_init(&rep);
    int r = send_line(fd, cmd.s, cmd.len) == 0 ? read_line(fd, &pending, &rep) : -1;
    close(fd);
    jb_free(&cmd);
    int status = 2;
    if (r == -1)
        fprintf(stderr, "pmemcutctl: no reply from %s\n", sock);
    else if (strncmp(rep.s, "ok ", 3) == 0) {
        printf("%s\n", rep.s + 3);
        status = 0;
    } else if (strncmp(rep.s, "error: ", 7) == 0) {
        fprintf(stderr, "pmemcutctl: %s\n", rep.s + 7);
        status = 1;
    } else {
        fprintf(stderr, "pmemcutctl: unexpected reply: %s\n", rep.s);
    }
    jb_free(&pending);
    jb_free(&rep);
    return status;
}
