/* common/utils/unixsock.c — see unixsock.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "unixsock.h"
#include "error.h"
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int pm_unix_connect(const char *path, double timeout)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        pm_set_error("socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    double end = pm_now() + timeout;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            pm_set_error_errno(errno, "socket");
            return -1;
        }
        int r;
        do
            r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        while (r < 0 && errno == EINTR);
        if (r == 0)
            return fd;
        int e = errno;
        close(fd);
        if ((e != ENOENT && e != ECONNREFUSED) || pm_now() + 0.05 > end) {
            pm_set_error_errno(e, "connect %s", path);
            return -1;
        }
        pm_sleep(0.05, NULL);
    }
}

int pm_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            pm_set_error_errno(errno, "send");
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void pm_lines_init(struct pm_lines *l, int fd)
{
    memset(l, 0, sizeof *l);
    l->fd = fd;
}

void pm_lines_set_interrupt(struct pm_lines *l, const volatile sig_atomic_t *interrupted)
{
    l->interrupted = interrupted;
}

void pm_lines_close(struct pm_lines *l)
{
    if (l->fd >= 0)
        close(l->fd);
    free(l->buf);
    memset(l, 0, sizeof *l);
    l->fd = -1;
}

/* Takes one line out of the buffer if there is a complete one: 1, 0 (none
 * yet), -1 (out of memory). */
static int take_line(struct pm_lines *l, char **line)
{
    char *nl = l->len ? memchr(l->buf, '\n', l->len) : NULL;
    if (!nl && !(l->eof && l->len > 0))
        return 0;
    size_t n = nl ? (size_t)(nl - l->buf) : l->len;
    if (n > PM_LINE_MAX)
        return 0; /* the caller reports it */
    char *s = malloc(n + 1);
    if (!s) {
        pm_set_error("out of memory reading a line of %zu bytes", n);
        return -1;
    }
    memcpy(s, l->buf, n);
    s[n] = '\0';
    if (n > 0 && s[n - 1] == '\r')
        s[n - 1] = '\0';
    size_t used = nl ? n + 1 : n;
    memmove(l->buf, l->buf + used, l->len - used);
    l->len -= used;
    *line = s;
    return 1;
}

int pm_lines_read(struct pm_lines *l, char **line, double timeout)
{
    double end = pm_now() + timeout;
    for (;;) {
        if (l->broken) {
            pm_set_error("line longer than %d bytes", PM_LINE_MAX);
            return -1;
        }
        int t = take_line(l, line);
        if (t != 0)
            return t;
        /* no complete line of PM_LINE_MAX bytes or fewer in the buffer */
        if (l->len > PM_LINE_MAX) {
            l->broken = true;
            free(l->buf);
            l->buf = NULL;
            l->len = l->cap = 0;
            continue;
        }
        if (l->eof) {
            pm_set_error("connection closed");
            return -1;
        }
        if (l->interrupted && *l->interrupted)
            return -2;
        int ms = 200;
        if (timeout >= 0) {
            double left = end - pm_now();
            if (left <= 0)
                ms = 0; /* one look at what is there, then time out */
            else if (left * 1000 < ms)
                ms = (int)(left * 1000) + 1;
        }
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR) {
            pm_set_error_errno(errno, "poll");
            return -1;
        }
        if (r <= 0) {
            if (r == 0 && timeout >= 0 && pm_now() >= end)
                return 0;
            continue;
        }
        if (l->cap - l->len < 4096) {
            /* room for one line of PM_LINE_MAX, its newline and a read */
            size_t ncap = l->cap ? l->cap * 2 : 8192;
            if (ncap > PM_LINE_MAX + 8192)
                ncap = PM_LINE_MAX + 8192;
            char *b = realloc(l->buf, ncap);
            if (!b) {
                pm_set_error("out of memory reading a line");
                return -1;
            }
            l->buf = b;
            l->cap = ncap;
        }
        ssize_t n = read(l->fd, l->buf + l->len, l->cap - l->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            if (errno != ECONNRESET) {
                pm_set_error_errno(errno, "read");
                return -1;
            }
            n = 0;
        }
        if (n == 0)
            l->eof = true;
        l->len += (size_t)n;
    }
}
