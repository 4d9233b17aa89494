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

#include "acks.h"
#include "fs.h"
#include "judge.h"
#include "record.h"
#include "sys.h"

#define MAX_FILE_BYTES (1ull << 30) /* a workload file larger than this is refused */

/* Read dir/name whole.  0 (exists says whether it was there), or -1 with
 * errno. */
static int read_file(int dirfd, const char *name, uint8_t **buf, size_t *len, int *exists)
{
    struct stat st;
    *buf = NULL;
    *len = 0;
    *exists = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int bad = fstat(fd, &st) < 0                      ? errno
              : !S_ISREG(st.st_mode)                  ? EINVAL
              : (uint64_t)st.st_size > MAX_FILE_BYTES ? EFBIG
                                                      : 0;
    if (bad) {
        close(fd);
        errno = bad;
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
        errno = ENOMEM;
        return -1;
    }
    *buf = b;
    *len = got;
    *exists = 1;
    return 0;
}

/* The ring size written in the ring's records (the first valid one). */
static uint32_t ring_slots(const uint8_t *buf, size_t len, uint32_t size)
{
    struct pm_rec_info info;
    for (size_t off = 0; off + size <= len; off += size)
        if (pm_rec_check(buf + off, len - off, size, 0, &info) == PM_REC_OK && info.slots)
            return info.slots;
    return 0;
}

/* Judge one linear or ring file with the acks that name it (maybe none). */
static int judge_file(struct pm_verdict *v, int dirfd, const struct pm_verify_opts *o,
                      const char *name, const struct pm_ack *acks, size_t n, char *err,
                      size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int exists;

    if (read_file(dirfd, name, &buf, &len, &exists) < 0) {
        snprintf(err, errlen, "read %s/%s: %s", o->dir, name, strerror(errno));
        return -1;
    }
    if (pm_layout_of(name, NULL) == PM_LAYOUT_RING) {
        uint32_t slots = o->slots ? o->slots : ring_slots(buf, len, o->size);
        if (!slots && exists)
            slots = (uint32_t)(len / o->size); /* no valid record at all */
        pm_judge_ring(v, buf, len, exists, o->size, slots, acks, n);
    } else {
        pm_judge_linear(v, buf, len, exists, o->size, acks, n);
    }
    free(buf);
    return 0;
}

static int judge_single(struct pm_verdict *v, int dirfd, const struct pm_verify_opts *o,
                        const struct pm_ack *a, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int exists;

    if (read_file(dirfd, a->file, &buf, &len, &exists) < 0) {
        snprintf(err, errlen, "read %s/%s: %s", o->dir, a->file, strerror(errno));
        return -1;
    }
    pm_judge_single(v, buf, len, exists, o->size, a);
    free(buf);
    return 0;
}

/* Does any ack name this file?  The list is sorted by file. */
static int name_acked(const struct pm_ack_list *l, const char *name)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->v[mid].file, name);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Valid single-record files that nobody acknowledged. */
static void count_unacked_singles(struct pm_verdict *v, int dirfd, uint32_t size,
                                  const struct pm_ack_list *l)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        uint64_t seq;
        struct pm_rec_info info;
        uint8_t *buf;
        size_t len;
        int exists;
        if (pm_layout_of(e->d_name, &seq) != PM_LAYOUT_SINGLE || name_acked(l, e->d_name))
            continue;
        if (read_file(dirfd, e->d_name, &buf, &len, &exists) == 0 && exists &&
            pm_rec_check(buf, len, size, seq, &info) == PM_REC_OK && info.seq == seq)
            v->unacked_present++;
        free(buf);
    }
    closedir(d);
}

static int judge_all(struct pm_verdict *v, const struct pm_verify_opts *o,
                     const struct pm_ack_list *l, char *err, size_t errlen)
{
    static const char *const whole[] = {PM_FILE_APPEND, PM_FILE_MMAP, PM_FILE_RING};
    int dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (dirfd < 0) {
        snprintf(err, errlen, "open %s: %s", o->dir, strerror(errno));
        return -1;
    }
    /* The acks are sorted by file: each file's acks are one run. */
    for (size_t i = 0; i < l->n && rc == 0;) {
        size_t j = i;
        while (j < l->n && strcmp(l->v[j].file, l->v[i].file) == 0)
            j++;
        if (pm_layout_of(l->v[i].file, NULL) == PM_LAYOUT_SINGLE) {
            for (size_t k = i; k < j && rc == 0; k++)
                rc = judge_single(v, dirfd, o, &l->v[k], err, errlen);
        } else {
            rc = judge_file(v, dirfd, o, l->v[i].file, &l->v[i], j - i, err, errlen);
        }
        i = j;
    }
    /* Workload files nobody acknowledged anything in: only unacked counts. */
    for (size_t k = 0; k < sizeof whole / sizeof *whole && rc == 0; k++)
        if (!name_acked(l, whole[k]) && faccessat(dirfd, whole[k], F_OK, 0) == 0)
            rc = judge_file(v, dirfd, o, whole[k], NULL, 0, err, errlen);
    if (rc == 0)
        count_unacked_singles(v, dirfd, o->size, l);
    close(dirfd);
    return rc;
}

/* Read the acknowledgement list; *chan is set to the channel's fd when the
 * list came from it (the verdict goes back there). */
static int load_acks(const struct pm_verify_opts *o, struct pm_ack_list *l, int *chan, char *err,
                     size_t errlen)
{
    char path[256], why[300];
    FILE *f;
    int need_end = 0;

    *chan = -1;
    if (strcmp(o->acks, "-") == 0) {
        f = stdin;
    } else if (strcmp(o->acks, "channel") == 0) {
        if (pm_channel_find(PM_CHANNEL_NAME, path, sizeof path) < 0) {
            snprintf(err, errlen, "no virtio-serial port named %s", PM_CHANNEL_NAME);
            return -1;
        }
        *chan = open(path, O_RDWR | O_CLOEXEC);
        int rfd = *chan >= 0 ? dup(*chan) : -1;
        f = rfd >= 0 ? fdopen(rfd, "r") : NULL;
        if (!f) {
            snprintf(err, errlen, "open %s: %s", path, strerror(errno));
            return -1;
        }
        need_end = 1;
    } else {
        f = fopen(o->acks, "r");
        if (!f) {
            snprintf(err, errlen, "open %s: %s", o->acks, strerror(errno));
            return -1;
        }
    }
    int rc = pm_acks_read(l, f, need_end, why, sizeof why);
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        snprintf(err, errlen, "acknowledgements from %s: %s", o->acks, why);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (pm_layout_of(l->v[i].file, NULL) == PM_LAYOUT_UNKNOWN) {
            snprintf(err, errlen, "acknowledgement names '%s', which no workload writes",
                     l->v[i].file);
            return -1;
        }
    }
    pm_acks_sort(l);
    return 0;
}

int pm_cmd_verify(const struct pm_verify_opts *o)
{
    struct pm_ack_list l = {0};
    struct pm_verdict v;
    struct pm_mount m;
    char err[512];
    int chan = -1, rc;

    if (o->dev && (!o->fs || !pm_fs_known(o->fs)))
        return pm_error("verify", "--dev needs --fs ext4 or --fs xfs");
    if (load_acks(o, &l, &chan, err, sizeof err) < 0) {
        rc = pm_error("verify", "%s", err);
        goto out;
    }
    pm_verdict_init(&v, o->expect);
    int mounted = 1;
    if (o->dev) {
        if (pm_mount_lookup(o->dir, &m) == 0 && strcmp(m.dev, o->dev) == 0) {
            rc = pm_error("verify", "%s is mounted; verify --dev checks and mounts it itself",
                          o->dev);
            goto out_v;
        }
        pm_fsck(o->dev, o->dir, o->fs, &v.fsck);
        if (pm_mount_dax(o->dev, o->dir, o->fs) < 0) {
            size_t n = strlen(v.fsck.note);
            snprintf(v.fsck.note + n, sizeof v.fsck.note - n, "%smount -o dax: %s", n ? "; " : "",
                     strerror(errno));
            v.fsck.clean = 0;
            mounted = 0;
        }
    }
    if (mounted) {
        if (judge_all(&v, o, &l, err, sizeof err) < 0) {
            rc = pm_error("verify", "%s", err);
            goto out_v;
        }
    } else {
        for (size_t i = 0; i < l.n; i++)
            pm_verdict_missing(&v, &l.v[i], "filesystem did not mount");
    }

    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    if (!f) {
        rc = pm_error("verify", "out of memory");
        goto out_v;
    }
    pm_verdict_json(&v, f);
    fclose(f);
    rc = pm_verdict_pass(&v) ? PM_EXIT_OK : PM_EXIT_FAIL;
    if (pm_emit(json, chan, "verdict") < 0)
        fprintf(stderr, "pmemcut-agent: verify: cannot send the verdict: %s\n", strerror(errno));
    free(json);
out_v:
    pm_verdict_free(&v);
out:
    pm_acks_free(&l);
    if (chan >= 0)
        close(chan);
    return rc;
}
