/* tests/fuzz/fuzz-audit.c — libFuzzer harness of the audit-log reader
 * (common/audit/auditlog.c) with what runs on it: replay and the
 * dm-log-writes export (tools/engines), on arbitrary logs.
 *
 * Input: the audit log's text, then optionally a NUL byte and the data
 * log's bytes (the reader refuses NUL bytes, so a real log never holds one).
 * Both go into memfds, read through /proc/self/fd/N like any file; a device
 * that the log did not create starts from an all-zero base image of its
 * size.
 *
 * Whatever the input: the reader ends, with a clean end or a damage message
 * that names the line; seq goes up by one; every span it returns fits the
 * device of the last open record.  Replay and export end with 0 or -1 and
 * a message.  Logs whose devices are larger than MAX_DEVICE are only read,
 * not replayed: replay maps the whole device, as it must for a real one.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/auditlog.h"
#include "engines/export.h"
#include "engines/replay.h"
#include "utils/error.h"

#define MAX_DEVICE (4u << 20)

static int audit_fd = -1, dlog_fd = -1, base_fd = -1, out_fd = -1;
static char audit_path[64], dlog_path[64], base_path[64], out_path[64];

static int mfd(const char *name, char *path, size_t n)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd == -1) {
        perror("memfd_create");
        abort();
    }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

static void put(int fd, const void *p, size_t n)
{
    if (ftruncate(fd, 0) == -1 || pwrite(fd, p, n, 0) != (ssize_t)n)
        abort();
}

static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
    return len <= UINT64_MAX - off && (size == 0 || off + len <= size);
}

/* Reads the whole log: the largest device it opens, and whether the first
 * open created its image; checks what the reader promises. */
static void read_log(uint64_t *max_size, bool *first_created, uint64_t *first_size)
{
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    *max_size = 0;
    *first_size = 0;
    *first_created = true;
    if (pm_audit_reader_open(&r, audit_path) == -1)
        abort();
    uint64_t size = 0, prev = 0;
    int n;
    while ((n = pm_audit_reader_next(&r, &rec)) == 1) {
        if (prev && rec.seq != prev + 1)
            abort();
        prev = rec.seq;
        switch (rec.ev) {
        case PM_AUDIT_OPEN:
            if (!*first_size) {
                *first_size = rec.size;
                *first_created = rec.created;
            }
            size = rec.size;
            if (size > *max_size)
                *max_size = size;
            break;
        case PM_AUDIT_WRITE:
        case PM_AUDIT_ZERO:
        case PM_AUDIT_TRIM:
        case PM_AUDIT_CLASSIFY:
            if (!fits(rec.off, rec.len, size))
                abort();
            break;
        case PM_AUDIT_CUT: {
            const struct pm_rangelist *ls[] = {&rec.lost_r, &rec.kept_r, &rec.torn_r};
            for (int k = 0; k < 3; k++)
                for (size_t i = 0; i < ls[k]->n; i++)
                    if (!fits(ls[k]->r[i].off, ls[k]->r[i].len, size))
                        abort();
            break;
        }
        default:
            break;
        }
    }
    if (n == -1 && !strstr(r.err, "line "))
        abort();
    pm_audit_reader_close(&r);
}

static void replay(const char *dlog, const char *base)
{
    struct pt_replay r;
    if (pt_replay_open(&r, audit_path, dlog, base) == 0) {
        int n;
        while ((n = pt_replay_next(&r)) == 1)
            if (pt_replay_apply(&r) == -1)
                break;
        if (r.applied && r.m) {
            uint8_t buf[256];
            pt_replay_read(&r, buf, r.size < sizeof buf ? r.size : sizeof buf, 0);
            struct pm_cut_params cp = {.policy = PM_TORN, .p = 0.5, .seed = 7};
            (void)pt_replay_cut(&r, &cp, "fuzz");
        }
    }
    pt_replay_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (audit_fd == -1) {
        audit_fd = mfd("fuzz-audit-log", audit_path, sizeof audit_path);
        dlog_fd = mfd("fuzz-audit-dlog", dlog_path, sizeof dlog_path);
        base_fd = mfd("fuzz-audit-base", base_path, sizeof base_path);
        out_fd = mfd("fuzz-audit-out", out_path, sizeof out_path);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t alen = nul ? (size_t)(nul - data) : size;
    put(audit_fd, data, alen);
    const char *dlog = NULL;
    if (nul) {
        put(dlog_fd, nul + 1, size - alen - 1);
        dlog = dlog_path;
    }

    uint64_t max_size, first_size;
    bool created;
    read_log(&max_size, &created, &first_size);
    if (max_size > MAX_DEVICE)
        return 0;
    const char *base = NULL;
    if (!created && first_size) {
        if (ftruncate(base_fd, 0) == -1 || ftruncate(base_fd, (off_t)first_size) == -1)
            abort();
        base = base_path;
    }

    pm_set_error("%s", "");
    replay(dlog, base);

    struct pt_export_result res;
    if (ftruncate(out_fd, 0) == -1)
        abort();
    if (pt_export_dmlog(audit_path, dlog, base, out_path, &res) == -1 && !*pm_get_error())
        abort(); /* a failure always says why */
    return 0;
}
