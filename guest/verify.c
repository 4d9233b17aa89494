/* guest/verify.c — read the host's acknowledgement list, check and mount the
 * filesystem, judge every acknowledged record, print the verdict. */
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "sys.h"

#include "utils/exitcode.h"
#include "verify/acks.h"
#include "verify/judge.h"
#include "verify/verifyset.h"

#define MAX_FILE_BYTES (1ull << 30) /* a workload file larger than this is refused */

/* The workload directory the files are read from. */
struct dir_files {
    int fd;
    const char *path;
};

/* Read dir/name whole.  0 (exists says whether it was there), or -1 with
 * err. */
static int read_file(void *ctx, const char *name, uint8_t **buf, size_t *len, int *exists,
                     char *err, size_t errlen)
{
    const struct dir_files *d = ctx;
    struct stat st;
    *buf = NULL;
    *len = 0;
    *exists = 0;
    int fd = openat(d->fd, name, O_RDONLY | O_CLOEXEC);
    int bad = fd < 0                                  ? errno
              : fstat(fd, &st) < 0                    ? errno
              : !S_ISREG(st.st_mode)                  ? EINVAL
              : (uint64_t)st.st_size > MAX_FILE_BYTES ? EFBIG
                                                      : 0;
    if (bad == ENOENT && fd < 0)
        return 0;
    if (bad) {
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "read %s/%s: %s", d->path, name, strerror(bad));
        return -1;
    }
    uint8_t *b = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (b && got < (size_t)st.st_size) {
        ssize_t n = pread(fd, b + got, (size_t)st.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* shorter than fstat said: judge what is there */
        got += (size_t)n;
    }
    close(fd);
    if (!b) {
        snprintf(err, errlen, "read %s/%s: %s", d->path, name, strerror(ENOMEM));
        return -1;
    }
    *buf = b;
    *len = got;
    *exists = 1;
    return 0;
}

/* Calls fn for every name in the directory. */
static void each_name(void *ctx, void (*fn)(void *arg, const char *name), void *arg)
{
    const struct dir_files *d = ctx;
    int fd = dup(d->fd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    if (!dir) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(dir)))
        fn(arg, e->d_name);
    closedir(dir);
}

static int judge_all(struct pm_verdict *v, const struct ga_verify_opts *o,
                     const struct pm_ack_list *l, char *err, size_t errlen)
{
    struct dir_files d = {.fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), .path = o->dir};

    if (d.fd < 0) {
        snprintf(err, errlen, "open %s: %s", o->dir, strerror(errno));
        return -1;
    }
    int rc = pm_verify_set(v, l, o->size, o->slots, read_file, each_name, &d, err, errlen);
    close(d.fd);
    return rc;
}

/* Read the acknowledgement list; *chan is set to the channel's fd when the
 * list came from it (the verdict goes back there). */
static int load_acks(const struct ga_verify_opts *o, struct pm_ack_list *l, int *chan, char *err,
                     size_t errlen)
{
    char why[300];
    bool need_end;
    FILE *f = ga_list_open(o->acks, chan, &need_end, err, errlen);
    if (!f)
        return -1;
    int rc = pm_acks_read(l, f, need_end, why, sizeof why);
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        snprintf(err, errlen, "acknowledgements from %s: %s", o->acks, why);
        return -1;
    }
    for (size_t i = 0; i < l->len; i++) {
        if (pm_layout_of(l->v[i].file, NULL) == PM_LAYOUT_UNKNOWN) {
            snprintf(err, errlen, "acknowledgement names '%s', which no workload writes",
                     l->v[i].file);
            return -1;
        }
    }
    pm_acks_sort(l);
    return 0;
}

int ga_cmd_verify(const struct ga_verify_opts *o)
{
    struct pm_ack_list l = {0};
    struct pm_verdict v;
    struct ga_mount m;
    char err[512];
    int chan = -1, rc;

    if (o->dev && (!o->fs || !ga_fs_known(o->fs)))
        return ga_error("verify", "--dev needs --fs ext4 or --fs xfs");
    if (load_acks(o, &l, &chan, err, sizeof err) < 0) {
        rc = ga_error("verify", "%s", err);
        goto out;
    }
    pm_verdict_init(&v, o->expect);
    int mounted = 1;
    if (o->dev) {
        if (ga_mount_lookup(o->dir, &m) == 0 && strcmp(m.dev, o->dev) == 0) {
            rc = ga_error("verify", "%s is mounted; verify --dev checks and mounts it itself",
                          o->dev);
            goto out_v;
        }
        if (ga_check_and_mount(o->dev, o->dir, o->fs, &v.fsck) < 0)
            mounted = 0;
    }
    if (mounted) {
        if (judge_all(&v, o, &l, err, sizeof err) < 0) {
            rc = ga_error("verify", "%s", err);
            goto out_v;
        }
    } else {
        for (size_t i = 0; i < l.len; i++)
            pm_verdict_missing(&v, &l.v[i], "filesystem did not mount");
    }

    struct ga_json j;
    if (ga_json_open(&j) < 0) {
        rc = ga_error("verify", "out of memory");
        goto out_v;
    }
    pm_verdict_json(&v, j.f);
    ga_json_close(&j);
    rc = pm_verdict_pass(&v) ? PM_EXIT_OK : PM_EXIT_FAIL;
    if (ga_emit(j.s, chan, "verdict") < 0)
        fprintf(stderr, "pmemcut-agent: verify: cannot send the verdict: %s\n", strerror(errno));
    free(j.s);
out_v:
    pm_verdict_free(&v);
out:
    pm_acks_free(&l);
    if (chan >= 0)
        close(chan);
    return rc;
}
