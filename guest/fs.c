/* guest/fs.c — make, check and mount DAX filesystems; report capabilities
 * and file extents. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cpu.h"
#include "sys.h"

#include "utils/error.h"
#include "utils/exitcode.h"
#include "utils/io.h"
#include "utils/json.h"
#include "utils/spawn.h"
#include "utils/vec.h"

int ga_fs_known(const char *fs)
{
    return strcmp(fs, "ext4") == 0 || strcmp(fs, "xfs") == 0;
}

int ga_mount_dax(const char *dev, const char *dir, const char *fs)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    return mount(dev, dir, fs, 0, "dax");
}

/* Run a checker or maker (argv[0] searched in PATH) and wait for it, with
 * no time limit (as before: fsck of a large device takes what it takes).
 * Returns its exit code, 128+N for a signal, -1 if it could not run; the
 * end of its stdout+stderr is left in out (NUL-terminated): the summary is
 * at the end. */
static int run_tool(char *const argv[], char *out, size_t outlen)
{
    struct pm_spawn s = {.argv = argv, .capture = outlen};
    struct pm_spawn_result r;
    int rc = pm_spawn_run(&s, &r) < 0 ? -1 : r.status;

    snprintf(out, outlen, "%s", r.output ? r.output : rc < 0 ? pm_get_error() : "");
    pm_spawn_result_free(&r);
    return rc;
}

/* Wait up to ms for dev to exist as a block device (it comes and goes while
 * ndctl reconfigures a namespace, and appears late after module loading). */
static int wait_block(const char *dev, int ms)
{
    struct stat st;
    for (int waited = 0;; waited += 50) {
        if (stat(dev, &st) == 0 && S_ISBLK(st.st_mode))
            return 0;
        if (waited >= ms)
            return -1;
        pm_sleep(0.05, NULL);
    }
}

/* The libnvdimm namespace behind a pmem block device ("namespace0.0"). */
static void namespace_of(const char *dev, char *ns, size_t len)
{
    char p[PATH_MAX + 64], real[PATH_MAX];
    const char *name = strrchr(dev, '/');

    name = name ? name + 1 : dev;
    snprintf(ns, len, "namespace0.0");
    snprintf(p, sizeof p, "/sys/block/%s/device", name);
    if (realpath(p, real)) {
        const char *b = strrchr(real, '/');
        if (b && strncmp(b + 1, "namespace", 9) == 0)
            snprintf(ns, len, "%s", b + 1);
    }
}

static void probe_json(FILE *f, int *first, const char *dir)
{
    struct ga_probe p;
    struct ga_mount m;
    char msg[512];

    if (ga_mount_lookup(dir, &m) == 0) {
        pm_json_key(f, first, "fs");
        pm_json_str(f, m.fstype);
        pm_json_key(f, first, "dev");
        pm_json_str(f, m.dev);
        pm_json_key(f, first, "mount_options");
        pm_json_str(f, m.opts);
    }
    if (ga_probe_dir(dir, &p, msg, sizeof msg) < 0) {
        pm_json_key(f, first, "probe_error");
        pm_json_str(f, msg);
        return;
    }
    pm_json_key(f, first, "dax");
    fputs(p.dax ? "true" : "false", f);
    pm_json_key(f, first, "dax_source");
    pm_json_str(f, p.dax_source);
    pm_json_key(f, first, "map_sync");
    if (p.map_sync) {
        fputs("{\"accepted\":true}", f);
    } else {
        fprintf(f, "{\"accepted\":false,\"errno\":%d,\"errno_name\":", p.map_sync_errno);
        pm_json_str(f, strerrorname_np(p.map_sync_errno));
        fputs(",\"error\":", f);
        pm_json_str(f, strerror(p.map_sync_errno));
        fputc('}', f);
    }
}

/* Close j, print its text and free it. */
static int emit(struct ga_json *j, int rc)
{
    ga_json_close(j);
    ga_emit(j->s, -1, "");
    free(j->s);
    return rc;
}

int ga_cmd_caps(const char *dir)
{
    struct utsname u;
    struct ga_cpu c;
    struct ga_json j;
    int first = 1;

    if (ga_json_open(&j) < 0)
        return ga_error("caps", "out of memory");
    FILE *f = j.f;
    uname(&u);
    ga_cpu_probe(&c);
    fputc('{', f);
    pm_json_key(f, &first, "command");
    pm_json_str(f, "caps");
    pm_json_key(f, &first, "kernel");
    pm_json_str(f, u.release);
    pm_json_key(f, &first, "machine");
    pm_json_str(f, u.machine);
    pm_json_key(f, &first, "cpu");
    fprintf(f, "{\"clflush\":%s,\"clflushopt\":%s,\"clwb\":%s,\"line_size\":%u,\"best\":",
            c.clflush ? "true" : "false", c.clflushopt ? "true" : "false",
            c.clwb ? "true" : "false", c.line_size);
    pm_json_str(f, ga_flush_name(c.best));
    fputc('}', f);
    pm_json_key(f, &first, "channel");
    char chan[64];
    pm_json_str(f, ga_channel_find(GA_CHANNEL_NAME, chan, sizeof chan) == 0 ? chan : NULL);
    if (dir) {
        pm_json_key(f, &first, "dir");
        pm_json_str(f, dir);
        probe_json(f, &first, dir);
    }
    fputc('}', f);
    return emit(&j, PM_EXIT_OK);
}

/* The handshake after prepare (--handshake).  The host labels the static
 * metadata of the new filesystem in the device's audit log by reading the
 * persisted image, which must then hold the filesystem whole and not
 * change underneath the reader.  So: syncfs (every block mkfs and the mount
 * wrote is flushed), send `prepared <json>` on the channel, and write
 * nothing more until the host answers `go`.  0, or -1 with err. */
static int handshake(const char *mnt, const char *json, char *err, size_t errlen)
{
    char port[256];
    int rc = -1;
    int dfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || syncfs(dfd) < 0) {
        snprintf(err, errlen, "syncfs %s: %s", mnt, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    if (ga_channel_find(GA_CHANNEL_NAME, port, sizeof port) < 0) {
        snprintf(err, errlen, "no virtio-serial port named %s", GA_CHANNEL_NAME);
        return -1;
    }
    /* One opener at a time per port: read and write on one descriptor. */
    int fd = open(port, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s", port, strerror(errno));
        return -1;
    }
    size_t n = strlen(json) + sizeof "prepared \n";
    char *line = malloc(n);
    if (!line) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(line, n, "prepared %s\n", json);
    if (pm_write_all(fd, line, strlen(line)) < 0) {
        snprintf(err, errlen, "write %s: %s", port, strerror(errno));
        goto out;
    }
    if (ga_wait_go(fd, port, GA_HANDSHAKE_MS, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    free(line);
    close(fd);
    return rc;
}

int ga_cmd_prepare(const struct ga_prepare_opts *o)
{
    char out[2048], ns[64];
    uint64_t t0 = pm_now_ms(), t_ns = 0, t_mkfs = 0, t_mount;
    struct ga_probe p;

    if (!ga_fs_known(o->fs))
        return ga_error("prepare", "unknown filesystem '%s' (ext4 or xfs)", o->fs);
    if (wait_block(o->dev, 5000) < 0)
        return ga_error("prepare", "%s: no such block device", o->dev);
    if (o->namespace) {
        namespace_of(o->dev, ns, sizeof ns);
        char *argv[] = {"ndctl",        "create-namespace", "-f",         "-e", ns,
                        "--mode=fsdax", "--map=mem",        "--align=4K", NULL};
        int rc = run_tool(argv, out, sizeof out);
        if (rc != 0)
            return ga_error("prepare", "ndctl create-namespace -e %s: exit %d: %s", ns, rc, out);
        if (wait_block(o->dev, 10000) < 0)
            return ga_error("prepare", "%s did not come back after ndctl", o->dev);
        t_ns = pm_now_ms() - t0;
    }
    if (o->mkfs) {
        uint64_t t = pm_now_ms();
        /* Inode tables and journal zeroed now, not by the kernel's
         * ext4lazyinit thread after the mount: its timed background writes
         * would land inside the workload's records, so that what a record
         * asks of the device, and so where a planned cut lands, would
         * depend on the host's load. */
        char *ext4[] = {"mke2fs",       "-t", "ext4",
                        "-F",           "-q", "-b",
                        "4096",         "-E", "lazy_itable_init=0,lazy_journal_init=0",
                        (char *)o->dev, NULL};
        char *xfs[] = {"mkfs.xfs", "-f", "-q", (char *)o->dev, NULL};
        int rc = run_tool(strcmp(o->fs, "xfs") == 0 ? xfs : ext4, out, sizeof out);
        if (rc != 0)
            return ga_error("prepare", "mkfs %s on %s: exit %d: %s", o->fs, o->dev, rc, out);
        t_mkfs = pm_now_ms() - t;
    }
    uint64_t t = pm_now_ms();
    if (ga_mount_dax(o->dev, o->mnt, o->fs) < 0)
        return ga_error("prepare", "mount -t %s -o dax %s %s: %s", o->fs, o->dev, o->mnt,
                        strerror(errno));
    t_mount = pm_now_ms() - t;
    if (ga_probe_dir(o->mnt, &p, out, sizeof out) < 0)
        return ga_error("prepare", "%s", out);
    if (!p.dax)
        return ga_error("prepare", "DAX is not active on %s (%s) after mount -o dax", o->mnt,
                        p.dax_source);

    struct ga_json j;
    int first = 1;
    if (ga_json_open(&j) < 0)
        return ga_error("prepare", "out of memory");
    FILE *f = j.f;
    fputc('{', f);
    pm_json_key(f, &first, "command");
    pm_json_str(f, "prepare");
    pm_json_key(f, &first, "dev");
    pm_json_str(f, o->dev);
    pm_json_key(f, &first, "fs");
    pm_json_str(f, o->fs);
    pm_json_key(f, &first, "mnt");
    pm_json_str(f, o->mnt);
    pm_json_key(f, &first, "namespace");
    pm_json_str(f, o->namespace ? ns : NULL);
    pm_json_key(f, &first, "mkfs");
    fputs(o->mkfs ? "true" : "false", f);
    pm_json_key(f, &first, "dax");
    fputs("true", f);
    pm_json_key(f, &first, "map_sync");
    fputs(p.map_sync ? "true" : "false", f);
    pm_json_key(f, &first, "dev_offset");
    int64_t off = ga_pmem_offset(o->dev);
    if (off < 0)
        fputs("null", f);
    else
        fprintf(f, "%" PRId64, off);
    pm_json_key(f, &first, "namespace_ms");
    fprintf(f, "%" PRIu64, t_ns);
    pm_json_key(f, &first, "mkfs_ms");
    fprintf(f, "%" PRIu64, t_mkfs);
    pm_json_key(f, &first, "mount_ms");
    fprintf(f, "%" PRIu64, t_mount);
    pm_json_key(f, &first, "handshake");
    fputs(o->handshake ? "true" : "false", f);
    fputc('}', f);
    ga_json_close(&j);
    if (o->handshake && handshake(o->mnt, j.s, out, sizeof out) < 0) {
        free(j.s);
        return ga_error("prepare", "handshake: %s", out);
    }
    ga_emit(j.s, -1, "");
    free(j.s);
    return PM_EXIT_OK;
}

/* Does a kernel log line speak of the filesystem on dev (its journal or
 * log included)?  "JBD2: Invalid checksum ...", "EXT4-fs (pmem0): error
 * loading journal", "XFS (pmem0): log mount failed". */
static int about_fs(const char *l, const char *devname)
{
    char ext4[64], xfs[64];
    snprintf(ext4, sizeof ext4, "EXT4-fs (%s)", devname);
    snprintf(xfs, sizeof xfs, "XFS (%s)", devname);
    return strncmp(l, "JBD2:", 5) == 0 || strstr(l, ext4) || strstr(l, xfs);
}

void ga_kernel_said(const char *dev, char *out, size_t outlen)
{
    out[0] = '\0';
    int n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
    if (n <= 0)
        return;
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        return;
    n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, n);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    const char *devname = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
    size_t len = 0;
    for (char *l = buf, *e; *l; l = e) {
        e = strchr(l, '\n');
        if (e)
            *e++ = '\0';
        else
            e = l + strlen(l);
        /* "<3>[    3.085297] JBD2: ...": the level and the time go */
        if (*l == '<' && strchr(l, '>'))
            l = strchr(l, '>') + 1;
        if (*l == '[' && strchr(l, ']'))
            l = strchr(l, ']') + 1;
        while (*l == ' ')
            l++;
        /* each message once: a mount is tried twice (recovery, then the
         * real one) and says the same both times */
        if (!about_fs(l, devname) || (len && strstr(out, l)))
            continue;
        int w = snprintf(out + len, outlen - len, "%s%s", len ? "; " : "", l);
        if (w < 0 || (size_t)w >= outlen - len) {
            out[len] = '\0';
            break;
        }
        len += (size_t)w;
    }
    free(buf);
}

void ga_fsck(const char *dev, const char *dir, const char *fs, struct pm_fsck *f)
{
    memset(f, 0, sizeof *f);
    f->ran = 1;
    f->mounted = 1;
    /* The checkers read the device as it is; a dirty journal or log would
     * show as damage (xfs_repair -n refuses outright).  Replay it first,
     * as the kernel does at every mount. */
    if (ga_mount_dax(dev, dir, fs) < 0)
        snprintf(f->note, sizeof f->note, "journal recovery mount failed: %s", strerror(errno));
    else if (umount(dir) < 0)
        snprintf(f->note, sizeof f->note, "umount after recovery: %s", strerror(errno));

    char *ext4[] = {"e2fsck", "-fn", (char *)dev, NULL};
    char *xfs[] = {"xfs_repair", "-n", (char *)dev, NULL};
    int is_xfs = strcmp(fs, "xfs") == 0;
    snprintf(f->tool, sizeof f->tool, "%s", is_xfs ? "xfs_repair -n" : "e2fsck -fn");
    f->exit_code = run_tool(is_xfs ? xfs : ext4, f->output, sizeof f->output);
    f->clean = f->exit_code == 0 && !f->note[0];
    if (f->clean)
        f->output[0] = '\0';
}

int ga_check_and_mount(const char *dev, const char *dir, const char *fs, struct pm_fsck *f)
{
    ga_fsck(dev, dir, fs, f);
    if (ga_mount_dax(dev, dir, fs) == 0)
        return 0;
    size_t n = strlen(f->note);
    snprintf(f->note + n, sizeof f->note - n, "%smount -o dax: %s", n ? "; " : "", strerror(errno));
    f->clean = 0;
    f->mounted = 0;
    ga_kernel_said(dev, f->kernel, sizeof f->kernel);
    return -1;
}

int ga_fiemap(int fd, struct ga_extent **out, size_t *nout)
{
    enum { N = 128 };
    struct fiemap *fm = calloc(1, sizeof *fm + N * sizeof(struct fiemap_extent));
    PM_VEC(struct ga_extent) v = {0};
    uint64_t start = 0;
    int last = 0;

    if (!fm)
        return -1;
    while (!last) {
        memset(fm, 0, sizeof *fm);
        fm->fm_start = start;
        fm->fm_length = FIEMAP_MAX_OFFSET - start;
        fm->fm_extent_count = N;
        if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
            int e = errno;
            free(fm);
            PM_VEC_FREE(&v);
            errno = e;
            return -1;
        }
        if (fm->fm_mapped_extents == 0)
            break;
        for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
            struct fiemap_extent *e = &fm->fm_extents[i];
            struct ga_extent x = {e->fe_logical, e->fe_physical, e->fe_length, e->fe_flags};
            if (PM_VEC_PUSH(&v, x) < 0) {
                free(fm);
                PM_VEC_FREE(&v);
                errno = ENOMEM;
                return -1;
            }
            start = e->fe_logical + e->fe_length;
            if (e->fe_flags & FIEMAP_EXTENT_LAST)
                last = 1;
        }
    }
    free(fm);
    *out = v.v;
    *nout = v.len;
    return 0;
}

void ga_extents_open(FILE *f, const char *dir)
{
    struct ga_mount m;
    int first = 1;

    fputc('{', f);
    pm_json_key(f, &first, "command");
    pm_json_str(f, "extents");
    pm_json_key(f, &first, "dir");
    pm_json_str(f, dir);
    if (ga_mount_lookup(dir, &m) == 0) {
        pm_json_key(f, &first, "dev");
        pm_json_str(f, m.dev);
        pm_json_key(f, &first, "dev_offset");
        int64_t off = ga_pmem_offset(m.dev);
        if (off < 0)
            fputs("null", f);
        else
            fprintf(f, "%" PRId64, off);
    }
    pm_json_key(f, &first, "files");
    fputc('[', f);
}

void ga_extents_file(FILE *f, int *nfile, const char *name, long long size,
                     const struct ga_extent *v, size_t n, int err)
{
    fprintf(f, "%s{\"name\":", (*nfile)++ ? "," : "");
    pm_json_str(f, name);
    fprintf(f, ",\"size\":%lld,\"extents\":[", size);
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "%s{\"logical\":%" PRIu64 ",\"physical\":%" PRIu64 ",\"length\":%" PRIu64
                ",\"flags\":%u}",
                i ? "," : "", v[i].logical, v[i].physical, v[i].length, v[i].flags);
    fputc(']', f);
    if (err) {
        fputs(",\"error\":", f);
        pm_json_str(f, strerror(err));
    }
    fputc('}', f);
}

int ga_cmd_extents(const char *dir)
{
    struct ga_json j;
    int nfile = 0;
    DIR *d = opendir(dir);

    if (!d)
        return ga_error("extents", "opendir %s: %s", dir, strerror(errno));
    if (ga_json_open(&j) < 0) {
        closedir(d);
        return ga_error("extents", "out of memory");
    }
    FILE *f = j.f;
    ga_extents_open(f, dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct ga_extent *v = NULL;
        size_t n = 0;
        int err = ga_fiemap(fd, &v, &n) < 0 ? errno : 0;
        ga_extents_file(f, &nfile, e->d_name, (long long)st.st_size, v, n, err);
        free(v);
        close(fd);
    }
    closedir(d);
    fputs("]}", f);
    return emit(&j, PM_EXIT_OK);
}
