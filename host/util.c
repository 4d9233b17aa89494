/* util.c — see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t ph_interrupted;

static char error_line[1024];

void ph_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_line, sizeof error_line, fmt, ap);
    va_end(ap);
}

const char *ph_get_error(void)
{
    return error_line[0] ? error_line : "unknown error";
}

void ph_progress(const char *fmt, ...)
{
    static int enabled = -1;
    if (enabled < 0) {
        const char *e = getenv("PMEMCUT_PROGRESS");
        enabled = (e && strcmp(e, "1") == 0) || isatty(STDERR_FILENO);
    }
    if (!enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("pmemcut-host: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

char *ph_strf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

double ph_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int ph_sleep(double seconds)
{
    double end = ph_now() + seconds;
    while (!ph_interrupted) {
        double left = end - ph_now();
        if (left <= 0)
            return 0;
        if (left > 0.1)
            left = 0.1;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
    return -1;
}

uint64_t ph_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t ph_rand_range(uint64_t *state, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    if (span == 0) /* the whole 64-bit range */
        return ph_rand_next(state);
    return lo + ph_rand_next(state) % span;
}

int64_t ph_parse_size(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    int shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        end++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        end++;
        break;
    case '\0':
        break;
    default:
        return -1;
    }
    if (*end == 'i' && end[1] == 'B')
        end += 2;
    else if (*end == 'B')
        end++;
    if (*end != '\0' || v > (INT64_MAX >> shift))
        return -1;
    return (int64_t)v << shift;
}

char *ph_abspath(const char *path)
{
    if (path[0] == '/')
        return ph_strf("%s", path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        ph_error("getcwd: %s", strerror(errno));
        return NULL;
    }
    if (strncmp(path, "./", 2) == 0)
        path += 2;
    return ph_strf("%s/%s", cwd, path);
}

int ph_mkdirs(const char *dir, int mode)
{
    char *p = ph_strf("%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            ph_error("mkdir %s: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = '/';
    }
    int r = 0;
    if (mkdir(p, mode) < 0 && errno != EEXIST) {
        ph_error("mkdir %s: %s", p, strerror(errno));
        r = -1;
    }
    free(p);
    return r;
}

int ph_write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        ph_error("%s: %s", path, strerror(errno));
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ph_error("write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        data += n;
        len -= n;
    }
    if (close(fd) < 0) {
        ph_error("close %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

char *ph_read_file(const char *path, size_t *lenp)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        ph_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf)
        abort();
    buf[len] = '\0';
    if (lenp)
        *lenp = len;
    return buf;
}

int ph_copy_file(const char *from, const char *to)
{
    size_t len;
    char *data = ph_read_file(from, &len);
    if (!data)
        return -1;
    int r = ph_write_file(to, data, len);
    free(data);
    return r;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void ph_remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}
