/* common/utils/io.c — see io.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

/* All of buf: at off, or at the file position when off < 0. */
static int write_fully(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        if (off >= 0)
            off += n;
    }
    return 0;
}

int pm_write_all(int fd, const void *buf, size_t len)
{
    return write_fully(fd, buf, len, -1);
}

int pm_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
    if (off < 0) {
        errno = EINVAL;
        return -1;
    }
    return write_fully(fd, buf, len, off);
}

double pm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t pm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int pm_sleep(double seconds, const volatile sig_atomic_t *interrupted)
{
    double end = pm_now() + seconds;
    for (;;) {
        if (interrupted && *interrupted)
            return -1;
        double left = end - pm_now();
        if (left <= 0)
            return 0;
        if (interrupted && left > 0.1)
            left = 0.1;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL); /* EINTR: the loop goes on with what is left */
    }
}
