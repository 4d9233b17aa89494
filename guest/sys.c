/* guest/sys.c — see sys.h. */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "utils/json.h"

uint64_t pm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writes all of buf: at off, or at the file position when off < 0. */
static int write_fully(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
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
    return off < 0 ? (errno = EINVAL, -1) : write_fully(fd, buf, len, off);
}

int ga_emit(const char *json, int chan, const char *tag)
{
    int rc = 0;

    printf("%s\n", json);
    fflush(stdout);
    if (chan >= 0) {
        size_t n = strlen(tag) + strlen(json) + 3;
        char *line = malloc(n);
        if (!line)
            return -1;
        snprintf(line, n, "%s %s\n", tag, json);
        rc = pm_write_all(chan, line, n - 1);
        free(line);
    }
    return rc;
}

int ga_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pmemcut-agent: %s: %s\n", cmd, msg);
    printf("{\"command\":");
    pm_json_str(stdout, cmd);
    printf(",\"error\":");
    pm_json_str(stdout, msg);
    printf("}\n");
    fflush(stdout);
    return PM_EXIT_ERROR;
}

int ga_channel_find(const char *name, char *path, size_t len)
{
    const char *base = "/sys/class/virtio-ports";
    DIR *d = opendir(base);
    struct dirent *e;
    int rc = -1;

    if (!d)
        return -1;
    while (rc < 0 && (e = readdir(d))) {
        char p[PATH_MAX], got[256];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s/name", base, e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        if (fgets(got, sizeof got, f)) {
            got[strcspn(got, "\n")] = '\0';
            if (strcmp(got, name) == 0) {
                snprintf(path, len, "/dev/%s", e->d_name);
                rc = 0;
            }
        }
        fclose(f);
    }
    closedir(d);
    return rc;
}

int ga_run_tool(char *const argv[], char *out, size_t outlen)
{
    int pfd[2] = {-1, -1};

    if (out && pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        if (out) {
            close(pfd[0]);
            close(pfd[1]);
        }
        return -1;
    }
    if (pid == 0) {
        if (out) {
            dup2(pfd[1], 1);
            dup2(pfd[1], 2);
        } else {
            dup2(2, 1); /* stdout carries the agent's JSON only */
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        execvp(argv[0], argv);
        fprintf(stderr, "pmemcut-agent: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (out) {
        /* Keep the last outlen - 1 bytes: the end of a checker's output
         * is where its summary is. */
        size_t used = 0;
        char buf[4096];
        close(pfd[1]);
        for (;;) {
            ssize_t n = read(pfd[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            size_t keep = outlen - 1, add = (size_t)n;
            const char *src = buf;
            if (add > keep) {
                src += add - keep;
                add = keep;
            }
            if (used + add > keep) {
                size_t drop = used + add - keep;
                memmove(out, out + drop, used - drop);
                used -= drop;
            }
            memcpy(out + used, src, add);
            used += add;
        }
        out[used] = '\0';
        close(pfd[0]);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st) == 127 ? -1 : WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

int ga_mount_lookup(const char *path, struct ga_mount *m)
{
    char real[PATH_MAX];
    size_t best = 0;
    int found = -1;

    if (!realpath(path, real))
        return -1;
    FILE *f = setmntent("/proc/self/mounts", "r");
    if (!f)
        return -1;
    struct mntent *e;
    while ((e = getmntent(f))) {
        size_t n = strlen(e->mnt_dir);
        int match = strcmp(e->mnt_dir, "/") == 0 ||
                    (strncmp(real, e->mnt_dir, n) == 0 && (real[n] == '/' || real[n] == '\0'));
        /* >= : a later mount on the same point hides the earlier one */
        if (match && n >= best) {
            best = n;
            snprintf(m->dev, sizeof m->dev, "%s", e->mnt_fsname);
            snprintf(m->dir, sizeof m->dir, "%s", e->mnt_dir);
            snprintf(m->fstype, sizeof m->fstype, "%s", e->mnt_type);
            snprintf(m->opts, sizeof m->opts, "%s", e->mnt_opts);
            found = 0;
        }
    }
    endmntent(f);
    return found;
}

/* Does a mount option string turn DAX on ("dax", "dax=always")? */
static int opts_dax(const char *opts)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", opts);
    for (char *save, *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save))
        if (strcmp(o, "dax") == 0 || strcmp(o, "dax=always") == 0)
            return 1;
    return 0;
}

int ga_probe_dir(const char *dir, struct ga_probe *p, char *msg, size_t len)
{
    char path[PATH_MAX];
    struct statx stx;
    struct ga_mount m;

    memset(p, 0, sizeof *p);
    snprintf(path, sizeof path, "%s/.pmemcut-probe.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(msg, len, "create %s: %s", path, strerror(errno));
        return -1;
    }
    unlink(path);
    if (ftruncate(fd, 4096) < 0) {
        snprintf(msg, len, "ftruncate %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0 &&
        (stx.stx_attributes_mask & STATX_ATTR_DAX)) {
        p->dax = !!(stx.stx_attributes & STATX_ATTR_DAX);
        p->dax_source = "statx";
    } else {
        p->dax = ga_mount_lookup(dir, &m) == 0 && opts_dax(m.opts);
        p->dax_source = "mount-options";
    }
    void *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
    if (a == MAP_FAILED) {
        p->map_sync_errno = errno;
    } else {
        p->map_sync = 1;
        munmap(a, 4096);
    }
    close(fd);
    return 0;
}

static int read_hex(const char *path, uint64_t *v)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fscanf(f, "%" SCNx64, v) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

int64_t ga_pmem_offset(const char *dev)
{
    char p[PATH_MAX + 64], real[PATH_MAX];
    const char *name = strrchr(dev, '/');
    uint64_t start, region;

    name = name ? name + 1 : dev;
    snprintf(p, sizeof p, "/sys/block/%s/device", name);
    if (!realpath(p, real))
        return -1;
    snprintf(p, sizeof p, "%s/resource", real);
    if (read_hex(p, &start) < 0)
        return -1;
    snprintf(p, sizeof p, "%s/../resource", real);
    if (read_hex(p, &region) < 0 || region > start)
        return -1;
    return (int64_t)(start - region);
}
