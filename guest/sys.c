/* guest/sys.c — see sys.h. */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mntent.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/exitcode.h"
#include "utils/io.h"
#include "utils/json.h"

int ga_json_open(struct ga_json *j)
{
    j->s = NULL;
    j->len = 0;
    j->f = open_memstream(&j->s, &j->len);
    return j->f ? 0 : -1;
}

void ga_json_close(struct ga_json *j)
{
    fclose(j->f);
    j->f = NULL;
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
    /* stderr gets one line (a tool's output may be in msg), the JSON the
     * message as it is. */
    char line[sizeof msg];
    snprintf(line, sizeof line, "%s", msg);
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "pmemcut-agent: %s: %s\n", cmd, line);
    printf("{\"command\":");
    pm_json_str(stdout, cmd);
    printf(",\"error\":");
    pm_json_str(stdout, msg);
    printf("}\n");
    fflush(stdout);
    return PM_EXIT_USAGE;
}

FILE *ga_list_open(const char *src, int *chan, bool *from_channel, char *err, size_t errlen)
{
    char port[256];
    *chan = -1;
    *from_channel = false;
    if (strcmp(src, "-") == 0)
        return stdin;
    if (strcmp(src, "channel") != 0) {
        FILE *f = fopen(src, "re");
        if (!f)
            snprintf(err, errlen, "open %s: %s", src, strerror(errno));
        return f;
    }
    if (ga_channel_find(GA_CHANNEL_NAME, port, sizeof port) < 0) {
        snprintf(err, errlen, "no virtio-serial port named %s", GA_CHANNEL_NAME);
        return NULL;
    }
    *chan = open(port, O_RDWR | O_CLOEXEC);
    int rfd = *chan >= 0 ? dup(*chan) : -1;
    FILE *f = rfd >= 0 ? fdopen(rfd, "r") : NULL;
    if (!f) {
        snprintf(err, errlen, "open %s: %s", port, strerror(errno));
        if (rfd >= 0)
            close(rfd);
        if (*chan >= 0)
            close(*chan);
        *chan = -1;
        return NULL;
    }
    *from_channel = true;
    return f;
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

int ga_wait_go(int fd, const char *port, int ms, char *err, size_t errlen)
{
    char got[16];
    size_t len = 0;
    uint64_t deadline = pm_now_ms() + (uint64_t)ms;
    for (;;) {
        uint64_t now = pm_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (now >= deadline) {
            snprintf(err, errlen, "no 'go' from the host within %d s", ms / 1000);
            return -1;
        }
        int pr = poll(&p, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        char c;
        ssize_t r = pr > 0 ? read(fd, &c, 1) : 0;
        if (pr < 0 || r < 0) {
            snprintf(err, errlen, "read %s: %s", port, strerror(errno));
            return -1;
        }
        if (r == 0) {
            /* host side not connected yet (POLLHUP) */
            pm_sleep(0.02, NULL);
            continue;
        }
        if (c == '\n')
            break;
        if (len < sizeof got - 1)
            got[len++] = c;
    }
    got[len] = '\0';
    if (strcmp(got, "go") != 0) {
        snprintf(err, errlen, "expected 'go' from the host, got '%s'", got);
        return -1;
    }
    return 0;
}
