/* tests/fuzz/fuzz-dlog.c — libFuzzer harness of the data-log reader
 * (common/audit/dlog.c) under replay and export (tools/engines/replay.c,
 * export.c): what pmemcut-replay replay, explore and export read.
 *
 * Input: an audit log (text) up to the first NUL, then the data log's
 * bytes; without a NUL, no data log at all.  Both are written to files
 * (the readers take paths) in a private directory.  Whatever the input,
 * replay ends with every record applied or one error, a replay that ends
 * well reads back inside its image, and export writes a file or says why.
 *
 * Seeds (tests/fuzz/corpus/dlog/) are real device sessions with data-log=
 * (tests/fuzz/seed-dlog.sh): writes, FUA, zero, trim, flush, a mark, cuts
 * with random and torn policies, power-on and a restart of nbdkit.  A log
 * whose device is larger than MAX_DEVICE is skipped: replay maps and
 * models the whole device, which is memory, not parsing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-tmp.h"

#include "audit/auditlog.h"
#include "engines/export.h"
#include "engines/replay.h"

#define MAX_DEVICE (8u << 20)

static const char *audit_path, *dlog_path, *out_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_tmp_init("dlog");
    audit_path = fuzz_tmp_file("audit.jsonl");
    dlog_path = fuzz_tmp_file("data.dlog");
    out_path = fuzz_tmp_file("out.dmlog");
    return 0;
}

static void put(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n))
        abort();
    fclose(f);
}

/* The largest device any open record of the log names (the real reader,
 * up to the first damage). */
static uint64_t largest_device(void)
{
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    uint64_t max = 0;
    if (pm_audit_reader_open(&r, audit_path) == 0)
        while (pm_audit_reader_next(&r, &rec) == 1)
            if (rec.ev == PM_AUDIT_OPEN && rec.size > max)
                max = rec.size;
    pm_audit_reader_close(&r);
    return max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t alen = nul ? (size_t)(nul - data) : size;
    put(audit_path, data, alen);
    if (nul)
        put(dlog_path, nul + 1, size - alen - 1);
    const char *dl = nul ? dlog_path : NULL;
    if (largest_device() > MAX_DEVICE)
        return 0;

    struct pt_replay r;
    if (pt_replay_open(&r, audit_path, dl, NULL) == 0) {
        int n;
        while ((n = pt_replay_next(&r)) == 1)
            if (pt_replay_apply(&r) == -1)
                break;
        if (n == 0 && r.p) {
            /* the whole image, V or P, is there to read */
            uint8_t b[64];
            pt_replay_read(&r, b, sizeof b, 0);
            if (r.size >= sizeof b)
                pt_replay_read(&r, b, sizeof b, r.size - sizeof b);
        }
    }
    pt_replay_close(&r);

    struct pt_export_result res;
    memset(&res, 0, sizeof res);
    if (pt_export_dmlog(audit_path, dl, NULL, out_path, &res) == 0 && res.damaged)
        abort(); /* damage is an error, never a success */
    unlink(out_path);
    return 0;
}
