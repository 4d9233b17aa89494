/* tests/fuzz/fuzz-verify.c — libFuzzer harness of the ack-list parser and
 * the verifier (common/verify), on arbitrary record files: what the agent's
 * verify and explore --acks run on a crash state.
 *
 * Input: byte 0 picks the workload file and byte 1 the record size; then
 * the ack list as text up to the first NUL; the rest is the file's bytes.
 * Whatever the input, reading and judging end, and the verdict's counts
 * add up: every acknowledged record lands in exactly one group.  Each line
 * of the text is also taken as a device mark (a `cycle N` mark gives a
 * cycle within 1..PM_CYCLE_MAX) and as one ack line, which, if it parses,
 * formats back to a line that parses to the same ack, its cycle included.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/acks.h"
#include "verify/verdict.h"
#include "verify/verifyset.h"

struct input {
    const char *name;
    const uint8_t *buf;
    size_t len;
};

static int rd(void *ctx, const char *name, uint8_t **buf, size_t *len, int *exists, char *err,
              size_t errlen)
{
    const struct input *in = ctx;
    (void)err;
    (void)errlen;
    *buf = NULL;
    *len = 0;
    *exists = strcmp(name, in->name) == 0;
    if (!*exists)
        return 0;
    *buf = malloc(in->len ? in->len : 1);
    if (!*buf)
        return -1;
    memcpy(*buf, in->buf, in->len);
    *len = in->len;
    return 0;
}

static void each(void *ctx, void (*fn)(void *arg, const char *name), void *arg)
{
    const struct input *in = ctx;
    fn(arg, in->name);
}

/* Each line of text (len bytes, no NUL) as a mark and as an ack line. */
static void each_line(const uint8_t *text, size_t len)
{
    char *t = malloc(len + 1);
    if (!t)
        return;
    memcpy(t, text, len);
    t[len] = '\0';
    for (char *line = t, *nl; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        uint32_t c = 0;
        char why[200], buf[600];
        if (pm_cycle_mark_parse(line, &c, why, sizeof why) == 1 && (c == 0 || c > PM_CYCLE_MAX))
            abort();
        struct pm_ack a, b;
        if (pm_ack_parse(line, &a, why, sizeof why) != 0)
            continue;
        pm_ack_format_cycle(buf, sizeof buf, a.file, a.seq, a.method, a.cycle);
        if (pm_ack_parse(buf, &b, why, sizeof why) != 0 || b.seq != a.seq || b.method != a.method ||
            b.cycle != a.cycle || strcmp(b.file, a.file) != 0)
            abort();
    }
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"append.log", "ring.dat", "mmap.dat", "rec-00000001",
                                        "rec-00000002"};
    static const uint32_t sizes[] = {64, 128, 256, 4096};
    if (size < 2)
        return 0;
    struct input in = {.name = names[data[0] % 5]};
    uint32_t rsize = sizes[data[1] % 4];
    const uint8_t *text = data + 2, *nul = memchr(text, 0, size - 2);
    size_t tlen = nul ? (size_t)(nul - text) : size - 2;
    in.buf = nul ? nul + 1 : data + size;
    in.len = (size_t)(data + size - in.buf);
    each_line(text, tlen);

    FILE *f = fmemopen((void *)text, tlen ? tlen : 1, "r");
    if (!f)
        return 0;
    if (!tlen) {
        fclose(f);
        return 0;
    }
    struct pm_ack_list l = {0};
    char err[256];
    if (pm_acks_read(&l, f, 0, err, sizeof err) == 0) {
        pm_acks_sort(&l);
        struct pm_verdict v;
        pm_verdict_init(&v, PM_EXPECT_DURABLE);
        if (pm_verify_set(&v, &l, rsize, 0, rd, each, &in, err, sizeof err) == 0) {
            if (!v.oom && v.present + v.superseded + v.missing.n + v.corrupt.n != v.acked)
                abort();
            FILE *out = fopen("/dev/null", "w");
            if (out) {
                pm_verdict_json(&v, out);
                fclose(out);
            }
        }
        pm_verdict_free(&v);
    }
    pm_acks_free(&l);
    fclose(f);
    return 0;
}
