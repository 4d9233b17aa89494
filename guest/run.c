/* guest/run.c — the durability workloads.
 *
 * Every workload writes records 1..N one at a time.  After the durability
 * point of the method has returned success for record k, and only then, the
 * line `ack FILE k METHOD` is written to the ack channel; record k + 1 is
 * started after that.  So at any moment at most one record is in flight.
 * With --ack-wait the agent then waits for the host's `go` on the channel
 * before it goes on: the host arms its cut for the next record's requests
 * (or cuts, or suspends the VM) at a point that does not race the guest.
 *
 * Data path: write(2) for none, fsync, fdatasync, odsync; a shared mapping
 * for msync, map-sync, prealloc-flush, prewrite-flush (and always for the
 * mmap workload).
 *
 * Set-up syncs: once a file is created, its directory is fsync'ed (and a
 * preallocated or prewritten file is fsync'ed) before the first record, so that the
 * per-record durability point is the method's own call.  Two methods sync
 * nothing at set-up: `none`, and `map-sync`, whose promise is that the
 * synchronous page fault makes the block allocation (and the transaction
 * that created the file) durable.
 *
 * Seeded bugs (--inject, see run.h): with no-sync every durability call
 * above is skipped — fsync, fdatasync, msync, O_DSYNC, the cache-line
 * write-back, and the set-up syncs of the directory and of a presized file
 * the method relies on — and records are acked all the same; with ack-early
 * the ack of record k is sent before record k is stored.  Both break the
 * promise, and a cut between the ack and the record's durability point must
 * show it: that is how the verifier is shown not to be tuned to the honest
 * methods.
 */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "fs.h"
#include "sys.h"

#include "utils/exitcode.h"
#include "utils/io.h"
#include "utils/json.h"
#include "verify/judge.h"
#include "verify/record.h"

struct run {
    const struct ga_run_opts *o;
    int dirfd;
    int ack_fd;         /* where acks go */
    int chan;           /* ack_fd if it is the channel, else -1 */
    char ack_name[256]; /* for the result */
    struct ga_cpu cpu;
    uint8_t *rec; /* one encoded record */
    uint64_t acked;
    size_t page;
    char file[PM_ACK_FILE_MAX]; /* the workload's file (or pattern) */
    struct ga_extent *known;    /* the current file's extents as last sent */
    size_t nknown;
    char err[512];
    int refused_errno; /* with PM_EXIT_REFUSED */
};

static const char *const inject_names[] = {[GA_INJECT_NO_SYNC] = "no-sync",
                                           [GA_INJECT_ACK_EARLY] = "ack-early",
                                           [GA_INJECT_NO_FLUSH] = "no-flush",
                                           [GA_INJECT_NO_FENCE] = "no-fence"};

const char *ga_inject_name(enum ga_inject i)
{
    return i > GA_INJECT_NONE && i <= GA_INJECT_NO_FENCE ? inject_names[i] : NULL;
}

int ga_inject_parse(const char *s)
{
    for (int i = GA_INJECT_NO_SYNC; i <= GA_INJECT_NO_FENCE; i++)
        if (strcmp(s, inject_names[i]) == 0)
            return i;
    return -1;
}

/* The seeded bug no-sync: every durability call is skipped. */
static int no_sync(const struct run *r)
{
    return r->o->inject == GA_INJECT_NO_SYNC;
}

#define FAIL(r, ...) (snprintf((r)->err, sizeof(r)->err, __VA_ARGS__), PM_EXIT_USAGE)

static int refuse(struct run *r, int err, const char *what)
{
    r->refused_errno = err;
    snprintf(r->err, sizeof r->err, "%s: %s", what, err ? strerror(err) : "not available");
    return PM_EXIT_REFUSED;
}

static int send_ack(struct run *r, const char *file, uint64_t seq)
{
    char line[PM_ACK_FILE_MAX + 64];
    int n = pm_ack_format(line, sizeof line, file, seq, r->o->method);

    if (pm_write_all(r->ack_fd, line, (size_t)n) < 0)
        return FAIL(r, "write ack to %s: %s", r->ack_name, strerror(errno));
    r->acked++;
    /* The host may cut right here, at an exact point of the record's
     * requests it arms now: nothing more is written until it says go. */
    if (r->o->ack_wait &&
        ga_wait_go(r->chan, r->ack_name, GA_ACK_WAIT_MS, r->err, sizeof r->err) < 0)
        return PM_EXIT_USAGE;
    if (r->o->pause_ms) {
        struct timespec ts = {r->o->pause_ms / 1000, (long)(r->o->pause_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* The ack of record seq in file: before the record is stored with the
 * seeded bug ack-early (ack_first 1), after its durability point otherwise
 * (ack_first 0).  Each record goes through both calls, one of which acks. */
static int ack_at(struct run *r, int ack_first, const char *file, uint64_t seq)
{
    if (ack_first != (r->o->inject == GA_INJECT_ACK_EARLY))
        return 0;
    return send_ack(r, file, seq);
}

/* --- extents for the host ----------------------------------------------------
 *
 * On the channel the host also gets `extents <json>` lines (the JSON of
 * `pmemcut-agent extents`, limited to the workload's current file) and
 * labels those blocks as data in the device's audit log.  One is sent right
 * after the file is created (and preallocated), before the first record;
 * after that, FIEMAP is asked again only when a record lands outside the
 * extents last sent (the file grew, or a page of a sparse mapping was
 * faulted in), and a line is sent only if the extents changed.  So an
 * append of 256-byte records costs one FIEMAP per new 4 KiB block, and
 * `create` one line per file.  The line goes after the record's data and
 * before its durability point, so that the host can label the new blocks
 * before the flush that persists them; the host does this while the guest
 * goes on, so a cut in that same record may still count them as unknown.
 * Labelling is best effort: a FIEMAP that fails sends nothing. */

static int covered(const struct run *r, uint64_t off, uint64_t len)
{
    /* FIEMAP gives the extents in logical order. */
    for (size_t i = 0; i < r->nknown && len; i++) {
        const struct ga_extent *e = &r->known[i];
        uint64_t end = e->logical + e->length;
        if (off < e->logical)
            break; /* a hole */
        if (off < end) {
            uint64_t take = end - off < len ? end - off : len;
            off += take;
            len -= take;
        }
    }
    return len == 0;
}

static int same_extents(const struct ga_extent *a, size_t na, const struct ga_extent *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].logical != b[i].logical || a[i].physical != b[i].physical ||
            a[i].length != b[i].length)
            return 0;
    return 1;
}

/* Send the extents of fd (named name) if [off, off + len) is outside those
 * last sent and they changed; always (for a new file) with fresh. */
static int note_extents(struct run *r, int fd, const char *name, uint64_t off, uint64_t len,
                        int fresh)
{
    if (r->chan < 0 || (!fresh && covered(r, off, len)))
        return 0;
    struct ga_extent *v = NULL;
    size_t n = 0;
    if (ga_fiemap(fd, &v, &n) < 0)
        return 0;
    if (!fresh && same_extents(v, n, r->known, r->nknown)) {
        free(v);
        return 0;
    }
    free(r->known);
    r->known = v;
    r->nknown = n;

    struct stat st;
    struct ga_json j;
    int nfile = 0;
    if (ga_json_open(&j) < 0)
        return FAIL(r, "out of memory");
    fputs("extents ", j.f);
    ga_extents_open(j.f, r->o->dir);
    ga_extents_file(j.f, &nfile, name, fstat(fd, &st) == 0 ? (long long)st.st_size : -1, v, n, 0);
    fputs("]}\n", j.f);
    ga_json_close(&j);
    int rc = pm_write_all(r->chan, j.s, j.len) < 0
                 ? FAIL(r, "write extents to %s: %s", r->ack_name, strerror(errno))
                 : 0;
    free(j.s);
    return rc;
}

/* fsync the workload's directory (not with no-sync). */
static int sync_dir(struct run *r)
{
    if (!no_sync(r) && fsync(r->dirfd) < 0)
        return -1;
    return 0;
}

/* Set-up sync of the directory after creating a file (see the top). */
static int setup_sync_dir(struct run *r)
{
    if (r->o->method == PM_SYNC_NONE || r->o->method == PM_SYNC_MAP_SYNC)
        return 0;
    if (sync_dir(r) < 0)
        return FAIL(r, "fsync %s: %s", r->o->dir, strerror(errno));
    return 0;
}

/* Whether the method sizes the file and syncs it before the first store. */
static int presized(enum pm_method m)
{
    return m == PM_SYNC_PREALLOC_FLUSH || m == PM_SYNC_PREWRITE_FLUSH;
}

/* Give fd len bytes and make that durable before the first store:
 * prealloc-flush with fallocate (unwritten extents), prewrite-flush by
 * writing zeroes with write(2), so the blocks are allocated *and written*
 * when the fsync returns.  The difference matters: a store into an
 * unwritten extent converts it, a metadata change that nothing syncs. */
static int prealloc(struct run *r, int fd, off_t len, const char *name)
{
    if (r->o->method == PM_SYNC_PREWRITE_FLUSH) {
        static const uint8_t zeroes[65536];
        for (off_t off = 0; off < len;) {
            size_t n = len - off < (off_t)sizeof zeroes ? (size_t)(len - off) : sizeof zeroes;
            if (pm_pwrite_all(fd, zeroes, n, off) < 0)
                return FAIL(r, "write %s: %s", name, strerror(errno));
            off += (off_t)n;
        }
    } else if (fallocate(fd, 0, 0, len) < 0) {
        if (errno == EOPNOTSUPP)
            return refuse(r, errno, "fallocate");
        return FAIL(r, "fallocate %s: %s", name, strerror(errno));
    }
    if (!no_sync(r) && fsync(fd) < 0)
        return FAIL(r, "fsync %s: %s", name, strerror(errno));
    return 0;
}

static int open_at(struct run *r, const char *name, int flags)
{
    if (r->o->method == PM_SYNC_ODSYNC && !no_sync(r))
        flags |= O_DSYNC;
    int fd = openat(r->dirfd, name, flags | O_CLOEXEC, 0644);
    if (fd < 0)
        (void)FAIL(r, "open %s/%s: %s", r->o->dir, name, strerror(errno));
    return fd;
}

/* After write(2) of a record: the method's durability call. */
static int sync_written(struct run *r, int fd, const char *name)
{
    int rc = 0;
    if (no_sync(r))
        return 0;
    switch (r->o->method) {
    case PM_SYNC_FSYNC:
        rc = fsync(fd);
        break;
    case PM_SYNC_FDATASYNC:
        rc = fdatasync(fd);
        break;
    default: /* none; odsync: the write itself was synchronous */
        break;
    }
    if (rc < 0)
        return FAIL(r, "%s %s: %s", pm_method_name(r->o->method), name, strerror(errno));
    return 0;
}

/* Map len bytes of fd shared; map-sync asks for MAP_SYNC, and a refusal is
 * reported as such. */
static int map(struct run *r, int fd, size_t len, uint8_t **out)
{
    int flags = MAP_SHARED;
    if (r->o->method == PM_SYNC_MAP_SYNC)
        flags = MAP_SHARED_VALIDATE | MAP_SYNC;
    void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (a == MAP_FAILED) {
        if (r->o->method == PM_SYNC_MAP_SYNC && (errno == EOPNOTSUPP || errno == EINVAL))
            return refuse(r, errno, "mmap MAP_SHARED_VALIDATE|MAP_SYNC");
        return FAIL(r, "mmap %s: %s", r->file, strerror(errno));
    }
    *out = a;
    return 0;
}

/* After storing a record at p (inside the mapping base of fd): the
 * method's durability point. */
static int sync_stored(struct run *r, int fd, uint8_t *base, uint8_t *p, size_t len)
{
    int rc = 0;
    if (no_sync(r))
        return 0;
    switch (r->o->method) {
    case PM_SYNC_MSYNC: {
        size_t start = (size_t)(p - base) & ~(r->page - 1);
        rc = msync(base + start, (size_t)(p - base) + len - start, MS_SYNC);
        break;
    }
    case PM_SYNC_MAP_SYNC:
    case PM_SYNC_PREALLOC_FLUSH:
    case PM_SYNC_PREWRITE_FLUSH:
        /* the seeded bugs of the cache-line methods: half of the flush */
        ga_cpu_flush_parts(&r->cpu, p, len, r->o->inject != GA_INJECT_NO_FLUSH,
                           r->o->inject != GA_INJECT_NO_FENCE);
        break;
    default: /* fsync, fdatasync, none: as after write(2) */
        return sync_written(r, fd, r->file);
    }
    if (rc < 0)
        return FAIL(r, "%s %s: %s", pm_method_name(r->o->method), r->file, strerror(errno));
    return 0;
}

static size_t round_up(size_t v, size_t to)
{
    return (v + to - 1) / to * to;
}

/* append and overwrite through write(2): record seq goes to offset
 * off(seq); the overwrite ring wraps. */
static int run_written(struct run *r, uint64_t slots)
{
    const struct ga_run_opts *o = r->o;
    int fd = open_at(r, r->file, O_WRONLY | O_CREAT | O_TRUNC);
    int rc;

    if (fd < 0)
        return PM_EXIT_USAGE;
    if ((rc = setup_sync_dir(r)) || (rc = note_extents(r, fd, r->file, 0, 0, 1)))
        goto out;
    for (uint64_t seq = 1; seq <= o->records; seq++) {
        uint64_t slot = slots ? (seq - 1) % slots : seq - 1;
        if ((rc = ack_at(r, 1, r->file, seq)))
            goto out;
        pm_rec_encode(r->rec, o->size, seq, (uint32_t)slots, o->epoch);
        if (pm_pwrite_all(fd, r->rec, o->size, (off_t)(slot * o->size)) < 0) {
            rc = FAIL(r, "write %s record %" PRIu64 ": %s", r->file, seq, strerror(errno));
            goto out;
        }
        if ((rc = note_extents(r, fd, r->file, slot * o->size, o->size, 0)) ||
            (rc = sync_written(r, fd, r->file)) || (rc = ack_at(r, 0, r->file, seq)))
            goto out;
    }
out:
    close(fd);
    return rc;
}

/* append, overwrite and mmap through a shared mapping.  grow: extend the
 * file page by page as records arrive (append), rather than sizing it at
 * once. */
static int run_mapped(struct run *r, uint64_t slots, int grow)
{
    const struct ga_run_opts *o = r->o;
    uint64_t nrec = slots ? slots : o->records;
    size_t total = (size_t)(nrec * o->size);
    size_t maplen = round_up(total, r->page);
    size_t cur = 0; /* file size */
    uint8_t *base = NULL;
    int rc;

    int fd = open_at(r, r->file, O_RDWR | O_CREAT | O_TRUNC);
    if (fd < 0)
        return PM_EXIT_USAGE;
    if (presized(o->method)) {
        if ((rc = prealloc(r, fd, (off_t)total, r->file)))
            goto out;
        cur = total;
    } else if (!grow) {
        if (ftruncate(fd, (off_t)total) < 0) {
            rc = FAIL(r, "ftruncate %s: %s", r->file, strerror(errno));
            goto out;
        }
        cur = total;
    }
    if ((rc = setup_sync_dir(r)) || (rc = note_extents(r, fd, r->file, 0, 0, 1)) ||
        (rc = map(r, fd, maplen, &base)))
        goto out;
    for (uint64_t seq = 1; seq <= o->records; seq++) {
        size_t off = (size_t)((slots ? (seq - 1) % slots : seq - 1) * o->size);
        if ((rc = ack_at(r, 1, r->file, seq)))
            goto out;
        if (off + o->size > cur) {
            /* A page at a time: the size change is then part of the
             * transaction that the first fault in the page commits. */
            size_t want = round_up(off + o->size, r->page);
            if (ftruncate(fd, (off_t)want) < 0) {
                rc = FAIL(r, "ftruncate %s: %s", r->file, strerror(errno));
                goto out;
            }
            cur = want;
        }
        pm_rec_encode(base + off, o->size, seq, (uint32_t)slots, o->epoch);
        if ((rc = note_extents(r, fd, r->file, off, o->size, 0)) ||
            (rc = sync_stored(r, fd, base, base + off, o->size)) ||
            (rc = ack_at(r, 0, r->file, seq)))
            goto out;
    }
out:
    if (base)
        munmap(base, maplen);
    close(fd);
    return rc;
}

/* Remove what an earlier create run left: rec-* and .tmp-* files. */
static int clear_singles(struct run *r)
{
    int fd = dup(r->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    if (!d)
        return FAIL(r, "opendir %s: %s", r->o->dir, strerror(errno));
    while ((e = readdir(d)))
        if (pm_layout_of(e->d_name, NULL) == PM_LAYOUT_SINGLE ||
            strncmp(e->d_name, ".tmp-", 5) == 0)
            unlinkat(r->dirfd, e->d_name, 0);
    closedir(d);
    return 0;
}

/* One record in a new file; the name is made durable after the data, by an
 * fsync of the directory after the rename (except with none).  With
 * prealloc-flush (prewrite-flush) the file is preallocated (written), synced, renamed and the
 * directory synced before the store, which is then only flushed. */
static int create_one(struct run *r, uint64_t seq)
{
    const struct ga_run_opts *o = r->o;
    char tmp[64], name[PM_ACK_FILE_MAX];
    uint8_t *base = NULL;
    size_t maplen = round_up(o->size, r->page);
    int rc = 0;

    snprintf(tmp, sizeof tmp, ".tmp-%" PRIu64, seq);
    pm_single_name(name, sizeof name, seq);
    if ((rc = ack_at(r, 1, name, seq)))
        return rc;
    int maps = pm_method_maps(o->method);
    int fd = open_at(r, tmp, (maps ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC);
    if (fd < 0)
        return PM_EXIT_USAGE;
    int renamed = 0;
    if (!maps) {
        pm_rec_encode(r->rec, o->size, seq, 0, o->epoch);
        if (pm_pwrite_all(fd, r->rec, o->size, 0) < 0) {
            rc = FAIL(r, "write %s: %s", tmp, strerror(errno));
            goto out;
        }
        if ((rc = note_extents(r, fd, tmp, 0, o->size, 1)) || (rc = sync_written(r, fd, tmp)))
            goto out;
    } else {
        if (presized(o->method)) {
            if ((rc = prealloc(r, fd, o->size, tmp)))
                goto out;
            if (renameat(r->dirfd, tmp, r->dirfd, name) < 0) {
                rc = FAIL(r, "rename %s: %s", tmp, strerror(errno));
                goto out;
            }
            renamed = 1;
            if (sync_dir(r) < 0) {
                rc = FAIL(r, "fsync %s: %s", o->dir, strerror(errno));
                goto out;
            }
        } else if (ftruncate(fd, o->size) < 0) {
            rc = FAIL(r, "ftruncate %s: %s", tmp, strerror(errno));
            goto out;
        }
        if ((rc = map(r, fd, maplen, &base)))
            goto out;
        pm_rec_encode(base, o->size, seq, 0, o->epoch);
        if ((rc = note_extents(r, fd, renamed ? name : tmp, 0, o->size, 1)) ||
            (rc = sync_stored(r, fd, base, base, o->size)))
            goto out;
    }
    if (!renamed) {
        if (renameat(r->dirfd, tmp, r->dirfd, name) < 0) {
            rc = FAIL(r, "rename %s: %s", tmp, strerror(errno));
            goto out;
        }
        renamed = 1;
        if (o->method != PM_SYNC_NONE && sync_dir(r) < 0) {
            rc = FAIL(r, "fsync %s: %s", o->dir, strerror(errno));
            goto out;
        }
    }
    rc = ack_at(r, 0, name, seq);
out:
    if (base)
        munmap(base, maplen);
    close(fd);
    if (!renamed)
        unlinkat(r->dirfd, tmp, 0);
    return rc;
}

static int run_create(struct run *r)
{
    int rc = clear_singles(r);
    for (uint64_t seq = 1; !rc && seq <= r->o->records; seq++)
        rc = create_one(r, seq);
    return rc;
}

/* Check what the method needs before writing anything. */
static int check_method(struct run *r)
{
    const struct ga_run_opts *o = r->o;

    if (o->workload == PM_WL_MMAP && o->method == PM_SYNC_ODSYNC)
        return FAIL(r, "odsync applies to write(2); the mmap workload stores through a mapping");
    if ((o->method == PM_SYNC_MAP_SYNC || presized(o->method)) && r->cpu.best == GA_FLUSH_NONE)
        return refuse(r, 0, "cache-line write-back instruction");
    return 0;
}

static int open_acks(struct run *r)
{
    const char *to = r->o->ack_to ? r->o->ack_to : "channel";

    r->chan = -1;
    if (strcmp(to, "-") == 0) {
        r->ack_fd = 1;
        snprintf(r->ack_name, sizeof r->ack_name, "stdout");
        return 0;
    }
    if (strcmp(to, "channel") == 0) {
        if (ga_channel_find(GA_CHANNEL_NAME, r->ack_name, sizeof r->ack_name) < 0)
            return FAIL(r, "no virtio-serial port named %s", GA_CHANNEL_NAME);
    } else {
        snprintf(r->ack_name, sizeof r->ack_name, "%s", to);
    }
    /* the channel: read and write on one descriptor (one opener per port) */
    int how = strcmp(to, "channel") == 0 ? O_RDWR : O_WRONLY | O_CREAT | O_APPEND;
    r->ack_fd = open(r->ack_name, how | O_CLOEXEC, 0644);
    if (r->ack_fd < 0)
        return FAIL(r, "open %s: %s", r->ack_name, strerror(errno));
    if (strcmp(to, "channel") == 0)
        r->chan = r->ack_fd;
    return 0;
}

static void result_json(const struct run *r, int rc, uint64_t ms, FILE *f)
{
    const struct ga_run_opts *o = r->o;
    int first = 1;

    fputc('{', f);
    pm_json_key(f, &first, "command");
    pm_json_str(f, "run");
    pm_json_key(f, &first, "workload");
    pm_json_str(f, pm_workload_name(o->workload));
    pm_json_key(f, &first, "sync");
    pm_json_str(f, pm_method_name(o->method));
    pm_json_key(f, &first, "dir");
    pm_json_str(f, o->dir);
    pm_json_key(f, &first, "file");
    pm_json_str(f, r->file);
    pm_json_key(f, &first, "records");
    fprintf(f, "%" PRIu64, o->records);
    pm_json_key(f, &first, "record_size");
    fprintf(f, "%u", o->size);
    pm_json_key(f, &first, "slots");
    fprintf(f, "%u", o->workload == PM_WL_OVERWRITE ? o->slots : 0);
    pm_json_key(f, &first, "acked");
    fprintf(f, "%" PRIu64, r->acked);
    pm_json_key(f, &first, "inject");
    pm_json_str(f, ga_inject_name(o->inject));
    pm_json_key(f, &first, "ack_to");
    pm_json_str(f, r->ack_name[0] ? r->ack_name : NULL);
    pm_json_key(f, &first, "flush");
    pm_json_str(f, ga_flush_name(r->cpu.best));
    pm_json_key(f, &first, "elapsed_ms");
    fprintf(f, "%" PRIu64, ms);
    pm_json_key(f, &first, "refused");
    fputs(rc == PM_EXIT_REFUSED ? "true" : "false", f);
    if (rc == PM_EXIT_REFUSED) {
        pm_json_key(f, &first, "errno");
        fprintf(f, "%d", r->refused_errno);
        pm_json_key(f, &first, "errno_name");
        pm_json_str(f, r->refused_errno ? strerrorname_np(r->refused_errno) : NULL);
    }
    pm_json_key(f, &first, "error");
    pm_json_str(f, rc ? r->err : NULL);
    fputc('}', f);
}

int ga_cmd_run(const struct ga_run_opts *o)
{
    struct run r = {.o = o, .dirfd = -1, .ack_fd = -1, .chan = -1};
    uint64_t t0 = pm_now_ms();
    int rc;

    ga_cpu_probe(&r.cpu);
    r.page = (size_t)sysconf(_SC_PAGESIZE);
    switch (o->workload) {
    case PM_WL_APPEND:
        snprintf(r.file, sizeof r.file, "%s", PM_FILE_APPEND);
        break;
    case PM_WL_OVERWRITE:
        snprintf(r.file, sizeof r.file, "%s", PM_FILE_RING);
        break;
    case PM_WL_MMAP:
        snprintf(r.file, sizeof r.file, "%s", PM_FILE_MMAP);
        break;
    default:
        snprintf(r.file, sizeof r.file, "%s*", PM_FILE_SINGLE);
    }
    r.rec = malloc(o->size);
    if (!r.rec) {
        rc = FAIL(&r, "out of memory");
        goto out;
    }
    if ((rc = check_method(&r)))
        goto out;
    r.dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r.dirfd < 0) {
        rc = FAIL(&r, "open %s: %s", o->dir, strerror(errno));
        goto out;
    }
    if ((rc = open_acks(&r)))
        goto out;

    int maps = pm_method_maps(o->method);
    switch (o->workload) {
    case PM_WL_APPEND:
        rc = maps ? run_mapped(&r, 0, 1) : run_written(&r, 0);
        break;
    case PM_WL_OVERWRITE:
        rc = maps ? run_mapped(&r, o->slots, 0) : run_written(&r, o->slots);
        break;
    case PM_WL_MMAP:
        rc = run_mapped(&r, 0, 0);
        break;
    default:
        rc = run_create(&r);
    }
out:;
    struct ga_json j;
    if (ga_json_open(&j) < 0)
        return PM_EXIT_USAGE;
    result_json(&r, rc, pm_now_ms() - t0, j.f);
    ga_json_close(&j);
    if (rc)
        fprintf(stderr, "pmemcut-agent: run: %s\n", r.err);
    if (ga_emit(j.s, r.chan, "result") < 0 && !rc)
        rc = PM_EXIT_USAGE;
    free(j.s);
    free(r.rec);
    free(r.known);
    if (r.ack_fd > 1)
        close(r.ack_fd);
    if (r.dirfd >= 0)
        close(r.dirfd);
    return rc;
}
