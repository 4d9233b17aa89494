/* sock.c — see sock.h. */
#include "sock.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ph_unix_connect(const char *path, double timeout)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        ph_error("socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    double end = ph_now() + timeout;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            ph_error("socket: %s", strerror(errno));
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        int e = errno;
        close(fd);
        if ((e != ENOENT && e != ECONNREFUSED) || ph_now() > end) {
            ph_error("connect %s: %s", path, strerror(e));
            return -1;
        }
        if (ph_sleep(0.05) < 0) {
            ph_error("interrupted");
            return -1;
        }
    }
}

void ph_lines_init(struct ph_lines *l, int fd)
{
    memset(l, 0, sizeof *l);
    l->fd = fd;
}

void ph_lines_close(struct ph_lines *l)
{
    if (l->fd >= 0)
        close(l->fd);
    free(l->buf);
    memset(l, 0, sizeof *l);
    l->fd = -1;
}

/* Take one line out of the buffer if there is a complete one. */
static bool take_line(struct ph_lines *l, char **line)
{
    char *nl = l->len ? memchr(l->buf, '\n', l->len) : NULL;
    if (!nl && !(l->eof && l->len > 0))
        return false;
    size_t n = nl ? (size_t)(nl - l->buf) : l->len;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, l->buf, n);
    s[n] = '\0';
    if (n > 0 && s[n - 1] == '\r')
        s[n - 1] = '\0';
    size_t used = nl ? n + 1 : n;
    memmove(l->buf, l->buf + used, l->len - used);
    l->len -= used;
    *line = s;
    return true;
}

int ph_lines_read(struct ph_lines *l, char **line, double timeout)
{
    double end = ph_now() + timeout;
    for (;;) {
        if (take_line(l, line))
            return 1;
        if (l->eof) {
            ph_error("connection closed");
            return -1;
        }
        if (ph_interrupted)
            return -2;
        int ms = 200;
        if (timeout >= 0) {
            double left = end - ph_now();
            if (left <= 0)
                return 0;
            if (left * 1000 < ms)
                ms = (int)(left * 1000) + 1;
        }
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        int r = poll(&p, 1, ms);
        if (r < 0 && errno != EINTR) {
            ph_error("poll: %s", strerror(errno));
            return -1;
        }
        if (r <= 0)
            continue;
        if (l->cap - l->len < 4096) {
            l->cap = l->cap ? l->cap * 2 : 8192;
            l->buf = realloc(l->buf, l->cap);
            if (!l->buf)
                abort();
        }
        ssize_t n = read(l->fd, l->buf + l->len, l->cap - l->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            if (errno != ECONNRESET) {
                ph_error("read: %s", strerror(errno));
                return -1;
            }
            n = 0;
        }
        if (n == 0)
            l->eof = true;
        l->len += n;
    }
}

int ph_write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ph_error("write: %s", strerror(errno));
            return -1;
        }
        s += n;
        len -= n;
    }
    return 0;
}
