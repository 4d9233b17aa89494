/* verify/record.h — the self-checking record that every workload writes.
 *
 * A record is `size` bytes (a multiple of 8, PM_REC_MIN_SIZE..PM_REC_MAX_SIZE):
 *
 *   offset  width  field
 *        0      4  magic "PMRC"
 *        4      2  version (1)
 *        6      2  header size (32)
 *        8      8  seq: sequence number, 1, 2, 3 ... (0 is never used)
 *       16      4  size: the whole record, header included
 *       20      4  slots: ring size for the overwrite workload, else 0
 *       24      4  crc32c of the whole record with this field taken as zero
 *       28      4  epoch: the host's cycle that wrote it, 0 when none was given
 *       32    ...  payload: a splitmix64 stream seeded by seq and epoch, 8 bytes
 *                  at a time (by seq alone when epoch is 0)
 *
 * All fields are little-endian.  The payload depends on seq and epoch alone,
 * so a verifier knows what every byte of an acknowledged record must be, and a
 * torn record is reported with how many of its 8-byte words differ.  The
 * epoch tells a record of this cycle from the same seq left in the file by
 * an earlier cycle: without it, a record acked and then lost in cycle 2
 * would read as kept whenever cycle 1's record of that seq was still there.
 */
#ifndef PMEMCUT_VERIFY_RECORD_H
#define PMEMCUT_VERIFY_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define PM_REC_MAGIC        "PMRC"
#define PM_REC_VERSION      1
#define PM_REC_HDR_SIZE     32
#define PM_REC_MIN_SIZE     64
#define PM_REC_MAX_SIZE     (1u << 20)
#define PM_REC_DEFAULT_SIZE 256

/* What a record slot holds, as seen by pm_rec_check. */
enum pm_rec_state {
    PM_REC_OK,       /* a valid record (of some seq: compare info.seq) */
    PM_REC_ZERO,     /* all zero: never written, or lost */
    PM_REC_SHORT,    /* the slot extends past the end of the data */
    PM_REC_BADMAGIC, /* not zero, but no record header */
    PM_REC_BADHDR,   /* header present but version, header size or size wrong */
    PM_REC_TORN,     /* header present, checksum wrong */
    PM_REC_BADDATA,  /* checksum right, payload not what seq implies */
};

struct pm_rec_info {
    uint64_t seq;       /* seq in the header (PM_REC_OK, TORN, BADDATA) */
    uint32_t epoch;     /* epoch in the header (the same states) */
    uint32_t slots;     /* slots in the header */
    uint32_t words_bad; /* TORN/BADDATA vs expected_seq: 8-byte words that differ */
    uint32_t words;     /* 8-byte words in a record */
};

/* Is size usable as a record size?  Returns 0 or -1. */
int pm_rec_size_ok(uint64_t size);

/* Write the record for seq of epoch into buf (size bytes). */
void pm_rec_encode(uint8_t *buf, uint32_t size, uint64_t seq, uint32_t slots, uint32_t epoch);

/* Look at the size bytes at buf, of which only avail are real (avail <
 * size means the slot runs past the end of the file).  expected_seq, when
 * not 0, is what the caller hoped for: words_bad is counted against it. */
enum pm_rec_state pm_rec_check(const uint8_t *buf, size_t avail, uint32_t size,
                               uint64_t expected_seq, struct pm_rec_info *info);

/* A short English description of a state, for verdicts ("zero-filled"). */
const char *pm_rec_state_name(enum pm_rec_state st);

#endif
