/* pmemcut — the control socket server: one command per line, one reply
 * line, "ok <json>" or "error: <reason>".  Each client has its own thread,
 * so a client blocked in wait-off does not hold up the others; the commands
 * themselves are commands.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "control.h"
#include "utils/error.h"

#define MAX_LINE 65536

static struct {
    int lfd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    pthread_t acceptor;
    bool started;
    pthread_mutex_t mu; /* guards clients, nclients, stopping */
    pthread_cond_t cv;  /* signalled when a client leaves */
    int clients[64];
    int nclients;
    bool stopping;
} c = {.lfd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* --- server -------------------------------------------------------------------- */

static int send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void reply(int fd, char *line)
{
    struct jbuf out;
    jb_init(&out);
    int r = pd_command_run(line, &out);
    struct jbuf msg;
    jb_init(&msg);
    if (!jb_ok(&out))
        jb_printf(&msg, "error: out of memory\n");
    else if (r == 0)
        jb_printf(&msg, "ok %s\n", out.s ? out.s : "{}");
    else
        jb_printf(&msg, "error: %s\n", out.s ? out.s : "failed");
    if (jb_ok(&msg))
        send_all(fd, msg.s, msg.len);
    jb_free(&msg);
    jb_free(&out);
}

static void client_remove(int fd)
{
    pthread_mutex_lock(&c.mu);
    for (int i = 0; i < c.nclients; i++)
        if (c.clients[i] == fd) {
            c.clients[i] = c.clients[--c.nclients];
            break;
        }
    close(fd);
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
}

static void *client_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(MAX_LINE + 1);
    size_t have = 0;
    bool discarding = false;
    while (buf) {
        ssize_t r = recv(fd, buf + have, MAX_LINE - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
            *nl = '\0';
            if (nl > start && nl[-1] == '\r')
                nl[-1] = '\0';
            if (discarding) {
                discarding = false;
                send_all(fd, "error: line too long\n", 21);
            } else {
                reply(fd, start);
            }
            start = nl + 1;
        }
        have -= (size_t)(start - buf);
        memmove(buf, start, have);
        if (have == MAX_LINE) {
            discarding = true; /* drop until the next newline */
            have = 0;
        }
    }
    free(buf);
    client_remove(fd);
    return NULL;
}

/* How long the acceptor waits before it tries again when accept4 failed
 * for want of descriptors or memory: short enough that a client waits
 * little once one is free, long enough to cost no CPU. */
#define BACKOFF_MS 100

static void backoff(void)
{
    struct timespec ts = {0, BACKOFF_MS * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void *accept_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(c.lfd, NULL, NULL, SOCK_CLOEXEC);
        pthread_mutex_lock(&c.mu);
        bool stop = c.stopping;
        pthread_mutex_unlock(&c.mu);
        if (stop) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors or memory: the client stays queued in
                 * the listen backlog, and accept4 would fail again at once.
                 * Wait for a client to leave (or the stop) instead of
                 * spinning. */
                backoff();
                continue;
            }
            return NULL;
        }
        pthread_mutex_lock(&c.mu);
        if (c.nclients == (int)(sizeof c.clients / sizeof *c.clients)) {
            pthread_mutex_unlock(&c.mu);
            send_all(fd, "error: too many control clients\n", 32);
            close(fd);
            continue;
        }
        c.clients[c.nclients++] = fd;
        pthread_mutex_unlock(&c.mu);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, client_thread, (void *)(intptr_t)fd) != 0)
            client_remove(fd);
        pthread_attr_destroy(&attr);
    }
}

int pd_control_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        pm_set_error("control=%s: path longer than %zu bytes", path, sizeof sa.sun_path - 1);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        pm_set_error("control: socket: %s", strerror(errno));
        return -1;
    }
    /* A socket file left by a dead process is replaced; a live one is not. */
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            pm_set_error("control=%s: exists and is not a socket", path);
            close(fd);
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            pm_set_error("control=%s: another process is serving it", path);
            close(fd);
            return -1;
        }
        unlink(path);
    }
    mode_t old = umask(0177); /* the socket is created mode 0600 */
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0 || listen(fd, 16) < 0) {
        pm_set_error("control=%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    chmod(path, 0600);
    c.lfd = fd;
    strcpy(c.path, path);
    return 0;
}

int pd_control_start(void)
{
    int r = pthread_create(&c.acceptor, NULL, accept_thread, NULL);
    if (r) {
        pm_set_error("control: cannot start thread: %s", strerror(r));
        return -1;
    }
    c.started = true;
    return 0;
}

void pd_control_stop(void)
{
    if (c.lfd < 0)
        return;
    pthread_mutex_lock(&c.mu);
    c.stopping = true;
    pthread_mutex_unlock(&c.mu);
    shutdown(c.lfd, SHUT_RDWR);
    if (c.started)
        pthread_join(c.acceptor, NULL);
    close(c.lfd);
    c.lfd = -1;
    unlink(c.path);
    /* Wake clients: blocked readers see EOF, wait-off returns. */
    pd_commands_wake_all();
    pthread_mutex_lock(&c.mu);
    for (int i = 0; i < c.nclients; i++)
        shutdown(c.clients[i], SHUT_RDWR);
    while (c.nclients > 0)
        pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);
}
