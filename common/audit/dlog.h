/* pmemcut — the data log: every accepted write's payload, for replay.
 *
 * File layout (all integers little-endian):
 *
 *   header   16 bytes: magic "PMCUTDL1", u32 version (1), u32 reserved (0)
 *   frame    32 bytes: magic "PMDF", u32 crc32c of the payload,
 *                      u64 audit seq, u64 device offset, u64 length
 *   payload  `length` bytes
 *   frame ...
 *
 * The audit record of a write carries "dlog": the byte offset of its frame.
 * Frames are appended with one writev(2) each; a frame whose audit record
 * could not be written is cut off again, so every frame has its record.
 */
#ifndef PMEMCUT_DLOG_H
#define PMEMCUT_DLOG_H

#include <stddef.h>
#include <stdint.h>

#define PM_DLOG_MAGIC   "PMCUTDL1"
#define PM_DLOG_VERSION 1
#define PM_DFRAME_MAGIC "PMDF"

struct pm_dlog_header {
    char magic[8];
    uint32_t version;
    uint32_t reserved;
};

struct pm_dlog_frame {
    char magic[4];
    uint32_t crc;
    uint64_t seq;
    uint64_t off;
    uint64_t len;
};

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "on-disk integers are little-endian");
_Static_assert(sizeof(struct pm_dlog_header) == 16, "data-log header is 16 bytes on disk");
_Static_assert(sizeof(struct pm_dlog_frame) == 32, "data-log frame is 32 bytes on disk");

/* --- the reader (dlog.c): frames read at the offsets audit records give --- */

struct pm_dlog_reader {
    int fd;
    const char *path;
    uint64_t size;
};

/* Opens path and checks its header (magic, then version).  0, or -1 with a
 * message (pm_get_error) naming the byte offset; pm_dlog_close is safe
 * after either. */
int pm_dlog_open(struct pm_dlog_reader *dl, const char *path);
void pm_dlog_close(struct pm_dlog_reader *dl);

/* Reads the payload of the frame at byte offset off into buf (len bytes),
 * checking the frame's magic, seq, device offset and length against the
 * audit record's and the payload's checksum.  0, or -1 with a message
 * naming the seq and byte offset. */
int pm_dlog_read(struct pm_dlog_reader *dl, uint64_t off, uint64_t seq, uint64_t dev_off,
                 uint64_t len, void *buf);

#endif
