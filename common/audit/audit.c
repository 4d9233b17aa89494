/* pmemcut — audit log and data log writers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "utils/crc32c.h"
#include "utils/error.h"
#include "dlog.h"
#include "format.h"
#include "utils/jbuf.h"

uint64_t pm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The seq of the last complete record in the file, 0 if none.  Reads the
 * tail only; a log that does not end in a newline (damaged by something
 * else) gets one, so that our next record starts on a line of its own. */
static int last_seq(int fd, int wfd, uint64_t *seq)
{
    *seq = 0;
    struct stat st;
    if (fstat(fd, &st) == -1)
        return -1;
    if (st.st_size == 0)
        return 0;
    size_t n = st.st_size < 65536 ? (size_t)st.st_size : 65536;
    char *buf = malloc(n + 1);
    if (!buf)
        return -1;
    ssize_t r = pread(fd, buf, n, st.st_size - (off_t)n);
    if (r != (ssize_t)n) {
        free(buf);
        errno = r < 0 ? errno : EIO;
        return -1;
    }
    buf[n] = '\0';
    if (buf[n - 1] != '\n' && write(wfd, "\n", 1) != 1) {
        free(buf);
        return -1;
    }
    /* The last "seq": in the tail belongs to the last record. */
    for (char *p = buf + n; p > buf;) {
        p--;
        if (strncmp(p, "{\"seq\":", 7) == 0) {
            *seq = strtoull(p + 7, NULL, 10);
            break;
        }
    }
    free(buf);
    return 0;
}

int pm_audit_open(struct pm_audit *a, const char *path, const char *dlog_path)
{
    memset(a, 0, sizeof *a);
    a->dfd = -1;
    pthread_mutex_init(&a->lock, NULL);
    a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (a->fd == -1) {
        pm_set_error("audit: %s: %s", path, strerror(errno));
        return -1;
    }
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd == -1 || last_seq(rfd, a->fd, &a->seq) == -1) {
        pm_set_error("audit: %s: cannot read its end: %s", path, strerror(errno));
        if (rfd != -1)
            close(rfd);
        return -1;
    }
    close(rfd);
    struct stat ast;
    if (fstat(a->fd, &ast) == -1) {
        pm_set_error("audit: %s: %s", path, strerror(errno));
        return -1;
    }
    a->end = (uint64_t)ast.st_size;
    a->line = calloc(1, sizeof *a->line);
    if (!a->line) {
        pm_set_error("audit: out of memory");
        return -1;
    }
    if (!dlog_path)
        return 0;
    a->dfd = open(dlog_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (a->dfd == -1 || fstat(a->dfd, &st) == -1) {
        pm_set_error("data-log: %s: %s", dlog_path, strerror(errno));
        return -1;
    }
    if (st.st_size == 0) {
        struct pm_dlog_header h = {.version = PM_DLOG_VERSION};
        memcpy(h.magic, PM_DLOG_MAGIC, 8);
        if (pwrite(a->dfd, &h, sizeof h, 0) != sizeof h) {
            pm_set_error("data-log: %s: cannot write header: %s", dlog_path, strerror(errno));
            return -1;
        }
        a->dlog_end = sizeof h;
    } else {
        struct pm_dlog_header h;
        if (pread(a->dfd, &h, sizeof h, 0) != sizeof h || memcmp(h.magic, PM_DLOG_MAGIC, 8) ||
            h.version != PM_DLOG_VERSION) {
            pm_set_error("data-log: %s: not a pmemcut data log (version %d)", dlog_path,
                         PM_DLOG_VERSION);
            return -1;
        }
        a->dlog_end = (uint64_t)st.st_size;
    }
    return 0;
}

void pm_audit_close(struct pm_audit *a)
{
    if (a->fd > 0) {
        fdatasync(a->fd);
        close(a->fd);
    }
    if (a->dfd > 0) {
        fdatasync(a->dfd);
        close(a->dfd);
    }
    a->fd = a->dfd = -1;
    if (a->line)
        jb_free(a->line);
    free(a->line);
    a->line = NULL;
    pthread_mutex_destroy(&a->lock);
}

/* One write(2) of the whole line; on failure the file is cut back. */
static int write_line(struct pm_audit *a, const char *body, const char *extra, bool sync)
{
    struct jbuf *b = a->line;
    jb_reset(b);
    jb_cat(b, "{\"seq\":");
    jb_u64(b, a->seq + 1);
    jb_cat(b, ",\"ns\":");
    jb_u64(b, pm_now_ns());
    jb_cat(b, ",");
    jb_cat(b, body);
    if (extra)
        jb_cat(b, extra);
    jb_cat(b, "}\n");
    if (!jb_ok(b)) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t w = write(a->fd, b->s, b->len);
    if (w == (ssize_t)b->len && (!sync || fdatasync(a->fd) == 0)) {
        a->end += b->len;
        a->seq++;
        return 0;
    }
    int saved = w >= 0 && w != (ssize_t)b->len ? ENOSPC : errno;
    if (ftruncate(a->fd, (off_t)a->end) == -1) {
        /* nothing more we can do; a reader reports the bad tail */
    }
    errno = saved;
    return -1;
}

int pm_audit_append(struct pm_audit *a, const char *body, bool sync, uint64_t *seq_out)
{
    pthread_mutex_lock(&a->lock);
    int r = write_line(a, body, NULL, sync);
    if (r == 0 && sync && a->dfd >= 0 && fdatasync(a->dfd) == -1)
        r = -1; /* the record stands; the caller fails the request */
    if (seq_out)
        *seq_out = a->seq;
    pthread_mutex_unlock(&a->lock);
    return r;
}

int pm_audit_append_write(struct pm_audit *a, const char *body, const void *data, uint64_t off,
                          uint64_t len, bool sync, uint64_t *seq_out)
{
    if (a->dfd < 0 || !data)
        return pm_audit_append(a, body, sync, seq_out);
    pthread_mutex_lock(&a->lock);
    struct pm_dlog_frame f = {.seq = a->seq + 1, .off = off, .len = len};
    memcpy(f.magic, PM_DFRAME_MAGIC, 4);
    f.crc = pm_crc32c(0, data, len);
    struct iovec iov[2] = {{&f, sizeof f}, {(void *)data, len}};
    uint64_t at = a->dlog_end;
    ssize_t w = pwritev(a->dfd, iov, 2, (off_t)at);
    int r = -1;
    if (w == (ssize_t)(sizeof f + len) && (!sync || fdatasync(a->dfd) == 0)) {
        char extra[40];
        snprintf(extra, sizeof extra, ",\"dlog\":%llu", (unsigned long long)at);
        r = write_line(a, body, extra, sync);
    } else if (w >= 0 && w != (ssize_t)(sizeof f + len)) {
        errno = ENOSPC;
    }
    int saved = errno;
    if (r == 0) {
        a->dlog_end = at + sizeof f + len;
    } else if (ftruncate(a->dfd, (off_t)at) == -1) {
        /* the reader stops at the torn frame */
    }
    if (seq_out)
        *seq_out = a->seq;
    pthread_mutex_unlock(&a->lock);
    errno = saved;
    return r;
}

int pm_audit_append_rec(struct pm_audit *a, const struct pm_audit_rec *rec, uint64_t *seq_out)
{
    struct jbuf b;
    jb_init(&b);
    pm_audit_format(&b, rec);
    int r = -1;
    if (jb_ok(&b))
        r = pm_audit_append(a, b.s, pm_audit_syncs(rec->ev, rec->fua), seq_out);
    else
        errno = ENOMEM;
    jb_free(&b);
    return r;
}
