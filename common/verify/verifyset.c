/* verify/verifyset.c — judge the acknowledged records of a workload
 * directory over a file reader (see verifyset.h). */
#include "verifyset.h"

#include <stdlib.h>
#include <string.h>

#include "judge.h"
#include "record.h"

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
static int judge_file(struct pm_verdict *v, pm_read_fn *rd, void *ctx, uint32_t size,
                      uint32_t slots, const char *name, const struct pm_ack *acks, size_t n,
                      char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int exists;

    if (rd(ctx, name, &buf, &len, &exists, err, errlen) == -1)
        return -1;
    if (pm_layout_of(name, NULL) == PM_LAYOUT_RING) {
        if (!slots)
            slots = ring_slots(buf, len, size);
        if (!slots && exists) /* no valid record at all: as many as the file holds */
            slots = len / size < UINT32_MAX ? (uint32_t)(len / size) : UINT32_MAX;
        pm_judge_ring(v, buf, len, exists, size, slots, acks, n);
    } else {
        pm_judge_linear(v, buf, len, exists, size, acks, n);
    }
    free(buf);
    return 0;
}

/* Does any ack name this file?  The list is sorted by file. */
static int name_acked(const struct pm_ack_list *l, const char *name)
{
    size_t lo = 0, hi = l->len;
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

struct unacked {
    struct pm_verdict *v;
    const struct pm_ack_list *l;
    pm_read_fn *rd;
    void *ctx;
    uint32_t size;
};

/* A valid single-record file that nobody acknowledged: allowed, counted. */
static void count_unacked(void *arg, const char *name)
{
    struct unacked *u = arg;
    uint64_t seq;
    uint8_t *buf;
    size_t len;
    int exists;
    char err[256];
    struct pm_rec_info info;

    if (pm_layout_of(name, &seq) != PM_LAYOUT_SINGLE || name_acked(u->l, name))
        return;
    if (u->rd(u->ctx, name, &buf, &len, &exists, err, sizeof err) == 0 && exists &&
        pm_rec_check(buf, len, u->size, seq, &info) == PM_REC_OK && info.seq == seq)
        u->v->unacked_present++;
    free(buf);
}

int pm_verify_set(struct pm_verdict *v, const struct pm_ack_list *l, uint32_t size, uint32_t slots,
                  pm_read_fn *rd, pm_each_fn *each, void *ctx, char *err, size_t errlen)
{
    static const char *const whole[] = {PM_FILE_APPEND, PM_FILE_MMAP, PM_FILE_RING};
    int rc = 0;

    /* The acks are sorted by file: each file's acks are one run. */
    for (size_t i = 0; i < l->len && rc == 0;) {
        size_t j = i;
        while (j < l->len && strcmp(l->v[j].file, l->v[i].file) == 0)
            j++;
        if (pm_layout_of(l->v[i].file, NULL) == PM_LAYOUT_SINGLE) {
            for (size_t k = i; k < j && rc == 0; k++) {
                uint8_t *buf;
                size_t len;
                int exists;
                rc = rd(ctx, l->v[k].file, &buf, &len, &exists, err, errlen);
                if (rc == 0) {
                    pm_judge_single(v, buf, len, exists, size, &l->v[k]);
                    free(buf);
                }
            }
        } else {
            rc = judge_file(v, rd, ctx, size, slots, l->v[i].file, &l->v[i], j - i, err, errlen);
        }
        i = j;
    }
    /* Workload files nobody acknowledged anything in: only unacked counts
     * (an absent one counts nothing). */
    for (size_t k = 0; k < sizeof whole / sizeof *whole && rc == 0; k++)
        if (!name_acked(l, whole[k]))
            rc = judge_file(v, rd, ctx, size, slots, whole[k], NULL, 0, err, errlen);
    if (rc == 0 && each) {
        struct unacked u = {.v = v, .l = l, .rd = rd, .ctx = ctx, .size = size};
        each(ctx, count_unacked, &u);
    }
    return rc;
}
