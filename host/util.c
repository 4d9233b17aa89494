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
#include <unistd.h>

#include "utils/vec.h"

volatile sig_atomic_t ph_interrupted;
const char *ph_progress_prefix = "";

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
    char *msg;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    /* One write per line: the chains of run --jobs share stderr. */
    char *line = ph_strf("pmemcut-host: %s%s\n", ph_progress_prefix, msg);
    fflush(stderr);
    pm_write_all(STDERR_FILENO, line, strlen(line));
    free(line);
    free(msg);
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

char *ph_abspath(const char *path)
{
    if (path[0] == '/')
        return ph_strf("%s", path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        pm_set_error("getcwd: %s", strerror(errno));
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
            pm_set_error("mkdir %s: %s", p, strerror(errno));
            free(p);
            return -1;
        }
        *s = '/';
    }
    int r = 0;
    if (mkdir(p, mode) < 0 && errno != EEXIST) {
        pm_set_error("mkdir %s: %s", p, strerror(errno));
        r = -1;
    }
    free(p);
    return r;
}

int ph_write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        pm_set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    if (pm_write_all(fd, data, len) < 0) {
        pm_set_error("write %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (close(fd) < 0) {
        pm_set_error("close %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

char *ph_read_file(const char *path, size_t *lenp)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        pm_set_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    PM_VEC(char) buf = {0};
    for (;;) {
        /* room for a read and the NUL; out of memory aborts, as ph_strf */
        if (PM_VEC_RESERVE(&buf, 4096) < 0)
            abort();
        size_t n = fread(buf.v + buf.len, 1, buf.cap - buf.len - 1, f);
        if (n == 0)
            break;
        buf.len += n;
    }
    fclose(f);
    buf.v[buf.len] = '\0';
    if (lenp)
        *lenp = buf.len;
    return buf.v;
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
