/* pmemcut — writing a device history in the format of the kernel's
 * dm-log-writes target, so that tools built for it (xfstests' replay-log)
 * can replay pmemcut histories.
 *
 * The format (drivers/md/dm-log-writes.c, Documentation/admin-guide/
 * device-mapper/log-writes.rst), all integers little-endian:
 *
 *   sector 0     superblock: u64 magic 0x6a736677736872, u64 version 1,
 *                u64 nr_entries, u32 sectorsize; rest of the sector zero
 *   then, nr_entries times:
 *     1 sector   entry: u64 sector, u64 nr_sectors, u64 flags, u64 data_len;
 *                a MARK's text follows the entry inside this sector
 *     nr_sectors sectors of data (none for FLUSH, MARK and DISCARD)
 *
 * Flags: FLUSH 1, FUA 2, DISCARD 4, MARK 8, METADATA 16.  pmemcut writes
 * 512-byte sectors.  How pmemcut events map onto entries:
 *
 *   write, zero     the written sectors (a request that is not sector
 *                   aligned is widened, with the bytes the device held
 *                   around it); FUA unless a lying device ignored it;
 *                   METADATA when a touched line is classified meta
 *   trim            DISCARD when sector aligned, else a write of zeroes
 *   flush           FLUSH (nothing when a lying device ignored it)
 *   mark            MARK with the text (cut to fit the sector)
 *   cut, restart    MARK "pmemcut-cut:SEQ" ("pmemcut-restart:SEQ"), then
 *                   writes that put back the persisted content of every
 *                   line that was dirty, then FLUSH: replaying up to the
 *                   next entry gives the image the device had after it.
 */
#ifndef PMEMCUT_DMLOG_H
#define PMEMCUT_DMLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DMLOG_MAGIC      0x6a736677736872ULL
#define DMLOG_VERSION    1
#define DMLOG_SECTOR     512
#define DMLOG_FLUSH      1
#define DMLOG_FUA        2
#define DMLOG_DISCARD    4
#define DMLOG_MARK       8
#define DMLOG_METADATA   16
#define DMLOG_ENTRY_SIZE 32

struct pt_dmlog_writer {
    FILE *f;
    const char *path;
    uint64_t entries;
};

/* Creates path and reserves the superblock.  Each call returns 0, or -1
 * (pm_get_error says why). */
int pt_dmlog_create(struct pt_dmlog_writer *w, const char *path);
/* sector-aligned data: nr_sectors * 512 bytes (NULL for FLUSH/DISCARD). */
int pt_dmlog_entry(struct pt_dmlog_writer *w, uint64_t sector, uint64_t nr_sectors, uint64_t flags,
                   const void *data);
int pt_dmlog_mark(struct pt_dmlog_writer *w, const char *text);
/* Writes the superblock with the entry count and closes. */
int pt_dmlog_finish(struct pt_dmlog_writer *w);

#endif
