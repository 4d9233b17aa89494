/* verify/judge.c — classify acknowledged records (see judge.h). */
#include "judge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

enum pm_layout pm_layout_of(const char *name, uint64_t *seq)
{
    size_t pl = strlen(PM_FILE_SINGLE);

    if (strcmp(name, PM_FILE_APPEND) == 0 || strcmp(name, PM_FILE_MMAP) == 0)
        return PM_LAYOUT_LINEAR;
    if (strcmp(name, PM_FILE_RING) == 0)
        return PM_LAYOUT_RING;
    if (strncmp(name, PM_FILE_SINGLE, pl) == 0 && name[pl]) {
        uint64_t s = 0;
        for (const char *p = name + pl; *p; p++) {
            if (*p < '0' || *p > '9' || s > (UINT64_MAX - 9) / 10)
                return PM_LAYOUT_UNKNOWN;
            s = s * 10 + (uint64_t)(*p - '0');
        }
        if (s == 0)
            return PM_LAYOUT_UNKNOWN;
        if (seq)
            *seq = s;
        return PM_LAYOUT_SINGLE;
    }
    return PM_LAYOUT_UNKNOWN;
}

void pm_single_name(char *buf, size_t len, uint64_t seq)
{
    snprintf(buf, len, PM_FILE_SINGLE "%08" PRIu64, seq);
}

/* Check the record slot at off in buf/len; a slot wholly or partly past the
 * end of the file is PM_REC_SHORT. */
static enum pm_rec_state check_at(const uint8_t *buf, size_t len, uint64_t off, uint32_t size,
                                  uint64_t expect, struct pm_rec_info *info)
{
    if (off >= len)
        return pm_rec_check(NULL, 0, size, expect, info);
    return pm_rec_check(buf + off, len - off, size, expect, info);
}

/* Was the record in info written by another cycle than `cycle` (the ack's)?
 * Never when either is unknown (0): an ack without a cycle, a record
 * written without an epoch. */
static int other_cycle(const struct pm_rec_info *info, uint32_t cycle)
{
    return cycle && info->epoch && info->epoch != cycle;
}

/* Report a record found in state st (not PM_REC_OK) as missing or corrupt. */
static void report_bad(struct pm_verdict *v, const struct pm_ack *a, enum pm_rec_state st,
                       const struct pm_rec_info *info, size_t len)
{
    char what[128];

    switch (st) {
    case PM_REC_ZERO:
        pm_verdict_missing(v, a, pm_rec_state_name(st));
        return;
    case PM_REC_SHORT:
        snprintf(what, sizeof what, "%s (file is %zu bytes)", pm_rec_state_name(st), len);
        pm_verdict_missing(v, a, what);
        return;
    case PM_REC_BADHDR:
        pm_verdict_corrupt(v, a, pm_rec_state_name(st));
        return;
    default:
        snprintf(what, sizeof what, "%s: %u of %u 8-byte words differ", pm_rec_state_name(st),
                 info->words_bad, info->words);
        pm_verdict_corrupt(v, a, what);
    }
}

/* The fate of acknowledged record a, which should be at off in the file
 * (linear and single-record files: nothing else may take its place). */
static void judge_at(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists, uint64_t off,
                     uint32_t size, const struct pm_ack *a)
{
    struct pm_rec_info info;
    char what[128];

    if (!exists) {
        pm_verdict_missing(v, a, "no such file");
        return;
    }
    enum pm_rec_state st = check_at(buf, len, off, size, a->seq, &info);
    if (st == PM_REC_OK && info.seq == a->seq && other_cycle(&info, a->cycle)) {
        snprintf(what, sizeof what,
                 "holds record %" PRIu64 " of cycle %" PRIu32 ", not this cycle's", info.seq,
                 info.epoch);
        pm_verdict_missing(v, a, what);
    } else if (st == PM_REC_OK && info.seq == a->seq) {
        pm_verdict_present(v);
    } else if (st == PM_REC_OK) {
        snprintf(what, sizeof what, "holds record %" PRIu64, info.seq);
        pm_verdict_corrupt(v, a, what);
    } else {
        report_bad(v, a, st, &info, len);
    }
}

/* Is seq among the sorted acks? */
static int acked(const struct pm_ack *acks, size_t n, uint64_t seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (acks[mid].seq == seq)
            return 1;
        if (acks[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

void pm_judge_linear(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists,
                     uint32_t size, const struct pm_ack *acks, size_t n)
{
    struct pm_rec_info info;

    for (size_t i = 0; i < n; i++) {
        uint64_t off;
        if (__builtin_mul_overflow(acks[i].seq - 1, (uint64_t)size, &off))
            off = UINT64_MAX;
        judge_at(v, buf, len, exists, off, size, &acks[i]);
    }
    if (!exists)
        return;
    for (uint64_t off = 0; off + size <= len; off += size) {
        uint64_t seq = off / size + 1;
        if (check_at(buf, len, off, size, 0, &info) == PM_REC_OK && info.seq == seq &&
            !other_cycle(&info, n ? acks[0].cycle : 0) && !acked(acks, n, seq))
            v->unacked_present++;
    }
}

struct slot_ack {
    uint32_t slot;
    size_t i; /* position in the acks, sorted by seq */
};

static int slot_ack_cmp(const void *pa, const void *pb)
{
    const struct slot_ack *a = pa, *b = pb;
    if (a->slot != b->slot)
        return a->slot < b->slot ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* later[i] is 1 when a later ack maps to the slot of acks[i]: that one
 * superseded it.  Sorted by (slot, position), each slot's acks are one run,
 * and every one but the run's last has a later one: n log n, where a scan of
 * the later acks for each was quadratic (80,000 acks: 23 s).  NULL when out
 * of memory (or n is 0). */
static uint8_t *later_in_slot(const struct pm_ack *acks, size_t n, uint32_t slots)
{
    if (n == 0)
        return NULL;
    struct slot_ack *s = malloc(n * sizeof *s);
    uint8_t *later = calloc(n, 1);
    if (!s || !later) {
        free(s);
        free(later);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        s[i] = (struct slot_ack){.slot = (uint32_t)((acks[i].seq - 1) % slots), .i = i};
    qsort(s, n, sizeof *s, slot_ack_cmp);
    for (size_t k = 0; k + 1 < n; k++)
        if (s[k].slot == s[k + 1].slot)
            later[s[k].i] = 1;
    free(s);
    return later;
}

/* The ring: each slot should hold the latest acknowledged record that maps to
 * it, or a later one.  One exception: the write in flight at the cut.  With
 * records written one at a time, it is the successor of the newest valid
 * record M; if M + 1 was not acknowledged, its slot may hold anything, and the
 * acknowledged record it was overwriting is superseded, not lost.  A slot
 * past the end of the file is not that write's doing: the record it would
 * overwrite was written there a lap earlier, and an overwrite does not make
 * a file shorter.
 *
 * slots comes from the records themselves and may claim far more than the
 * file holds (2^32 - 1 in one 64-byte record): only the slots within the
 * file are walked, so the work is bounded by the file's size and the ack
 * count.  An ack whose slot lies past the end is missing, beyond the end of
 * the file. */
void pm_judge_ring(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists, uint32_t size,
                   uint32_t slots, const struct pm_ack *acks, size_t n)
{
    struct pm_rec_info info;
    char what[128];
    uint64_t newest = 0; /* M */
    uint64_t last_acked = n ? acks[n - 1].seq : 0;
    /* the acks' cycle: a record of another cycle neither fits its slot
     * nor supersedes anything (all acks of one verify are one cycle's) */
    uint32_t cycle = n ? acks[n - 1].cycle : 0;

    if (!exists || slots == 0) {
        for (size_t i = 0; i < n; i++)
            pm_verdict_missing(v, &acks[i], exists ? "ring has no slots" : "no such file");
        return;
    }
    /* the slots wholly within the file: the others are PM_REC_SHORT */
    uint32_t in_file = len / size < slots ? (uint32_t)(len / size) : slots;
    for (uint32_t j = 0; j < in_file; j++) {
        uint64_t off = (uint64_t)j * size;
        if (check_at(buf, len, off, size, 0, &info) == PM_REC_OK && info.seq &&
            (info.seq - 1) % slots == j && !other_cycle(&info, cycle) && info.seq > newest)
            newest = info.seq;
    }
    uint32_t flight_slot = newest % slots; /* slot of newest + 1 */
    int flight_free = newest + 1 > last_acked;
    /* Out of memory, no ack counts as superseded by a later one, and the
     * verdict is FAIL (v->oom) whatever the slots hold. */
    uint8_t *later = later_in_slot(acks, n, slots);
    if (n && !later)
        v->oom = 1;

    for (size_t i = 0; i < n; i++) {
        const struct pm_ack *a = &acks[i];
        uint32_t j = (a->seq - 1) % slots;
        /* Superseded by a later acknowledged record in the same slot? */
        if (later && later[i]) {
            pm_verdict_superseded(v);
            continue;
        }
        enum pm_rec_state st = check_at(buf, len, (uint64_t)j * size, size, a->seq, &info);
        int fits = st == PM_REC_OK && info.seq && (info.seq - 1) % slots == j &&
                   !other_cycle(&info, a->cycle);
        if (fits && info.seq == a->seq) {
            pm_verdict_present(v);
        } else if (fits && info.seq > a->seq) {
            pm_verdict_superseded(v);
        } else if (fits) {
            snprintf(what, sizeof what, "older lap: holds record %" PRIu64, info.seq);
            pm_verdict_missing(v, a, what);
        } else if (j == flight_slot && flight_free && st != PM_REC_SHORT) {
            pm_verdict_superseded(v);
        } else if (st == PM_REC_OK && other_cycle(&info, a->cycle)) {
            snprintf(what, sizeof what,
                     "holds record %" PRIu64 " of cycle %" PRIu32 ", not this cycle's", info.seq,
                     info.epoch);
            pm_verdict_missing(v, a, what);
        } else if (st == PM_REC_OK) {
            snprintf(what, sizeof what, "holds record %" PRIu64 ", not of this slot", info.seq);
            pm_verdict_corrupt(v, a, what);
        } else {
            report_bad(v, a, st, &info, len);
        }
    }
    for (uint32_t j = 0; j < in_file; j++) {
        uint64_t off = (uint64_t)j * size;
        if (check_at(buf, len, off, size, 0, &info) == PM_REC_OK && info.seq &&
            (info.seq - 1) % slots == j && !other_cycle(&info, cycle) && !acked(acks, n, info.seq))
            v->unacked_present++;
    }
    free(later);
}

void pm_judge_single(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists,
                     uint32_t size, const struct pm_ack *a)
{
    judge_at(v, buf, len, exists, 0, size, a);
}
