/* verify/record.c — encode and check self-checking records (see record.h). */
#include "record.h"

#include <string.h>

#include "utils/crc32c.h"
#include "utils/rng.h"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v & 0xff;
    p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (v >> (8 * i)) & 0xff;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (v >> (8 * i)) & 0xff;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The checksum skips the csum field itself (bytes 24..27), as if zero. */
static uint32_t rec_csum(const uint8_t *buf, uint32_t size)
{
    static const uint8_t zero[4];
    uint32_t c = pm_crc32c(0, buf, 24);
    c = pm_crc32c(c, zero, 4);
    return pm_crc32c(c, buf + 28, size - 28);
}

int pm_rec_size_ok(uint64_t size)
{
    return size >= PM_REC_MIN_SIZE && size <= PM_REC_MAX_SIZE && size % 8 == 0 ? 0 : -1;
}

/* The header with a zero checksum field. */
static void put_header(uint8_t *buf, uint32_t size, uint64_t seq, uint32_t slots, uint32_t epoch)
{
    memcpy(buf, PM_REC_MAGIC, 4);
    put16(buf + 4, PM_REC_VERSION);
    put16(buf + 6, PM_REC_HDR_SIZE);
    put64(buf + 8, seq);
    put32(buf + 16, size);
    put32(buf + 20, slots);
    put32(buf + 24, 0);
    put32(buf + 28, epoch);
}

/* The payload stream's seed: seq alone for epoch 0 (records as they were
 * before epochs), else seq mixed with the epoch. */
static uint64_t stream_seed(uint64_t seq, uint32_t epoch)
{
    return epoch ? seq ^ ((uint64_t)epoch * 0x9e3779b97f4a7c15ULL) : seq;
}

void pm_rec_encode(uint8_t *buf, uint32_t size, uint64_t seq, uint32_t slots, uint32_t epoch)
{
    uint64_t st = stream_seed(seq, epoch);

    put_header(buf, size, seq, slots, epoch);
    for (uint32_t off = PM_REC_HDR_SIZE; off < size; off += 8)
        put64(buf + off, pm_splitmix64(&st));
    put32(buf + 24, rec_csum(buf, size));
}

/* 8-byte words of buf that differ from the record seq of epoch would be. */
static uint32_t words_differing(const uint8_t *buf, uint32_t size, uint64_t seq, uint32_t slots,
                                uint32_t epoch)
{
    uint8_t want[PM_REC_HDR_SIZE];
    uint64_t st = stream_seed(seq, epoch);
    uint32_t bad = 0;

    put_header(want, size, seq, slots, epoch);
    for (uint32_t w = 0; w < PM_REC_HDR_SIZE / 8; w++) {
        if (w == 3)
            continue; /* csum+reserved: compared through the whole-record checksum */
        if (memcmp(buf + 8 * w, want + 8 * w, 8) != 0)
            bad++;
    }
    for (uint32_t off = PM_REC_HDR_SIZE; off < size; off += 8)
        if (get64(buf + off) != pm_splitmix64(&st))
            bad++;
    return bad;
}

enum pm_rec_state pm_rec_check(const uint8_t *buf, size_t avail, uint32_t size,
                               uint64_t expected_seq, struct pm_rec_info *info)
{
    memset(info, 0, sizeof *info);
    info->words = size / 8;
    if (avail < size)
        return PM_REC_SHORT;

    size_t i = 0;
    while (i < size && buf[i] == 0)
        i++;
    if (i == size)
        return PM_REC_ZERO;

    if (memcmp(buf, PM_REC_MAGIC, 4) != 0) {
        if (expected_seq)
            info->words_bad = words_differing(buf, size, expected_seq, 0, 0);
        return PM_REC_BADMAGIC;
    }
    info->seq = get64(buf + 8);
    info->slots = get32(buf + 20);
    info->epoch = get32(buf + 28);
    if (get16(buf + 4) != PM_REC_VERSION || get16(buf + 6) != PM_REC_HDR_SIZE ||
        get32(buf + 16) != size)
        return PM_REC_BADHDR;

    uint64_t cmp_seq = expected_seq ? expected_seq : info->seq;
    if (get32(buf + 24) != rec_csum(buf, size)) {
        info->words_bad = words_differing(buf, size, cmp_seq, info->slots, info->epoch);
        return PM_REC_TORN;
    }
    uint32_t bad = words_differing(buf, size, info->seq, info->slots, info->epoch);
    if (bad) {
        info->words_bad = bad;
        return PM_REC_BADDATA;
    }
    return PM_REC_OK;
}

const char *pm_rec_state_name(enum pm_rec_state st)
{
    switch (st) {
    case PM_REC_OK:
        return "valid";
    case PM_REC_ZERO:
        return "zero-filled";
    case PM_REC_SHORT:
        return "beyond end of file";
    case PM_REC_BADMAGIC:
        return "no record header";
    case PM_REC_BADHDR:
        return "bad record header";
    case PM_REC_TORN:
        return "checksum mismatch";
    case PM_REC_BADDATA:
        return "payload mismatch";
    }
    return "?";
}
