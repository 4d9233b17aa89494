/* guest/fs.c — make, check and mount DAX filesystems; report capabilities
 * and file extents. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "json.h"
#include "sys.h"

int pm_fs_known(const char *fs)
{
    return strcmp(fs, "ext4") == 0 || strcmp(fs, "xfs") == 0;
}

int pm_mount_dax(const char *dev, const char *dir, const char *fs)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    return mount(dev, dir, fs, 0, "dax");
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
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
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
    struct pm_probe p;
    struct pm_mount m;
    char msg[512];

    if (pm_mount_lookup(dir, &m) == 0) {
        pm_json_key(f, first, "fs");
        pm_json_str(f, m.fstype);
        pm_json_key(f, first, "dev");
        pm_json_str(f, m.dev);
        pm_json_key(f, first, "mount_options");
        pm_json_str(f, m.opts);
    }
    if (pm_probe_dir(dir, &p, msg, sizeof msg) < 0) {
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

/* Close the memory stream f (which fills in *json), print and free it. */
static int emit(char **json, FILE *f, int rc)
{
    fclose(f);
    pm_emit(*json, -1, "");
    free(*json);
    return rc;
}

int pm_cmd_caps(const char *dir)
{
    struct utsname u;
    struct pm_cpu c;
    char *json = NULL;
    size_t len = 0;
    int first = 1;
    FILE *f = open_memstream(&json, &len);

    if (!f)
        return pm_error("caps", "out of memory");
    uname(&u);
    pm_cpu_probe(&c);
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
    pm_json_str(f, pm_flush_name(c.best));
    fputc('}', f);
    pm_json_key(f, &first, "channel");
    char chan[64];
    pm_json_str(f, pm_channel_find(PM_CHANNEL_NAME, chan, sizeof chan) == 0 ? chan : NULL);
    if (dir) {
        pm_json_key(f, &first, "dir");
        pm_json_str(f, dir);
        probe_json(f, &first, dir);
    }
    fputc('}', f);
    return emit(&json, f, PM_EXIT_OK);
}

int pm_cmd_prepare(const struct pm_prepare_opts *o)
{
    char out[2048], ns[64];
    uint64_t t0 = pm_now_ms(), t_ns = 0, t_mkfs = 0, t_mount;
    struct pm_probe p;

    if (!pm_fs_known(o->fs))
        return pm_error("prepare", "unknown filesystem '%s' (ext4 or xfs)", o->fs);
    if (wait_block(o->dev, 5000) < 0)
        return pm_error("prepare", "%s: no such block device", o->dev);
    if (o->namespace) {
        namespace_of(o->dev, ns, sizeof ns);
        char *argv[] = {"ndctl",        "create-namespace", "-f",         "-e", ns,
                        "--mode=fsdax", "--map=mem",        "--align=4K", NULL};
        int rc = pm_run_tool(argv, out, sizeof out);
        if (rc != 0)
            return pm_error("prepare", "ndctl create-namespace -e %s: exit %d: %s", ns, rc, out);
        if (wait_block(o->dev, 10000) < 0)
            return pm_error("prepare", "%s did not come back after ndctl", o->dev);
        t_ns = pm_now_ms() - t0;
    }
    if (o->mkfs) {
        uint64_t t = pm_now_ms();
        char *ext4[] = {"mke2fs", "-t", "ext4", "-F", "-q", "-b", "4096", (char *)o->dev, NULL};
        char *xfs[] = {"mkfs.xfs", "-f", "-q", (char *)o->dev, NULL};
        int rc = pm_run_tool(strcmp(o->fs, "xfs") == 0 ? xfs : ext4, out, sizeof out);
        if (rc != 0)
            return pm_error("prepare", "mkfs %s on %s: exit %d: %s", o->fs, o->dev, rc, out);
        t_mkfs = pm_now_ms() - t;
    }
    uint64_t t = pm_now_ms();
    if (pm_mount_dax(o->dev, o->mnt, o->fs) < 0)
        return pm_error("prepare", "mount -t %s -o dax %s %s: %s", o->fs, o->dev, o->mnt,
                        strerror(errno));
    t_mount = pm_now_ms() - t;
    if (pm_probe_dir(o->mnt, &p, out, sizeof out) < 0)
        return pm_error("prepare", "%s", out);
    if (!p.dax)
        return pm_error("prepare", "DAX is not active on %s (%s) after mount -o dax", o->mnt,
                        p.dax_source);

    char *json = NULL;
    size_t len = 0;
    int first = 1;
    FILE *f = open_memstream(&json, &len);
    if (!f)
        return pm_error("prepare", "out of memory");
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
    int64_t off = pm_pmem_offset(o->dev);
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
    fputc('}', f);
    return emit(&json, f, PM_EXIT_OK);
}

void pm_fsck(const char *dev, const char *dir, const char *fs, struct pm_fsck *f)
{
    memset(f, 0, sizeof *f);
    f->ran = 1;
    /* The checkers read the device as it is; a dirty journal or log would
     * show as damage (xfs_repair -n refuses outright).  Replay it first,
     * as the kernel does at every mount. */
    if (pm_mount_dax(dev, dir, fs) < 0)
        snprintf(f->note, sizeof f->note, "journal recovery mount failed: %s", strerror(errno));
    else if (umount(dir) < 0)
        snprintf(f->note, sizeof f->note, "umount after recovery: %s", strerror(errno));

    char *ext4[] = {"e2fsck", "-fn", (char *)dev, NULL};
    char *xfs[] = {"xfs_repair", "-n", (char *)dev, NULL};
    int is_xfs = strcmp(fs, "xfs") == 0;
    snprintf(f->tool, sizeof f->tool, "%s", is_xfs ? "xfs_repair -n" : "e2fsck -fn");
    f->exit_code = pm_run_tool(is_xfs ? xfs : ext4, f->output, sizeof f->output);
    f->clean = f->exit_code == 0 && !f->note[0];
    if (f->clean)
        f->output[0] = '\0';
}

/* One file's extents as a JSON array of {logical, physical, length, flags}. */
static int file_extents(FILE *out, int fd)
{
    enum { N = 128 };
    struct fiemap *fm = calloc(1, sizeof *fm + N * sizeof(struct fiemap_extent));
    uint64_t start = 0;
    int first = 1, last = 0, rc = 0;

    if (!fm)
        return -1;
    fputc('[', out);
    while (!last) {
        memset(fm, 0, sizeof *fm);
        fm->fm_start = start;
        fm->fm_length = FIEMAP_MAX_OFFSET - start;
        fm->fm_extent_count = N;
        if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
            rc = -1;
            break;
        }
        if (fm->fm_mapped_extents == 0)
            break;
        for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
            struct fiemap_extent *e = &fm->fm_extents[i];
            fprintf(out, "%s{\"logical\":%llu,\"physical\":%llu,\"length\":%llu,\"flags\":%u}",
                    first ? "" : ",", (unsigned long long)e->fe_logical,
                    (unsigned long long)e->fe_physical, (unsigned long long)e->fe_length,
                    e->fe_flags);
            first = 0;
            start = e->fe_logical + e->fe_length;
            if (e->fe_flags & FIEMAP_EXTENT_LAST)
                last = 1;
        }
    }
    fputc(']', out);
    free(fm);
    return rc;
}

int pm_cmd_extents(const char *dir)
{
    struct pm_mount m;
    char *json = NULL;
    size_t len = 0;
    int first = 1, nfile = 0;
    DIR *d = opendir(dir);

    if (!d)
        return pm_error("extents", "opendir %s: %s", dir, strerror(errno));
    FILE *f = open_memstream(&json, &len);
    if (!f) {
        closedir(d);
        return pm_error("extents", "out of memory");
    }
    fputc('{', f);
    pm_json_key(f, &first, "command");
    pm_json_str(f, "extents");
    pm_json_key(f, &first, "dir");
    pm_json_str(f, dir);
    if (pm_mount_lookup(dir, &m) == 0) {
        pm_json_key(f, &first, "dev");
        pm_json_str(f, m.dev);
        pm_json_key(f, &first, "dev_offset");
        int64_t off = pm_pmem_offset(m.dev);
        if (off < 0)
            fputs("null", f);
        else
            fprintf(f, "%" PRId64, off);
    }
    pm_json_key(f, &first, "files");
    fputc('[', f);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        fprintf(f, "%s{\"name\":", nfile++ ? "," : "");
        pm_json_str(f, e->d_name);
        fprintf(f, ",\"size\":%lld,\"extents\":", (long long)st.st_size);
        if (file_extents(f, fd) < 0) {
            fputs(",\"error\":", f);
            pm_json_str(f, strerror(errno));
        }
        fputc('}', f);
        close(fd);
    }
    closedir(d);
    fputs("]}", f);
    return emit(&json, f, PM_EXIT_OK);
}
