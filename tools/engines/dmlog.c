/* pmemcut — dm-log-writes writer (see dmlog.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dmlog.h"

#include "utils/error.h"

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int io_fail(struct pt_dmlog_writer *w)
{
    pm_set_error("%s: write: %s", w->path, strerror(errno));
    return -1;
}

int pt_dmlog_create(struct pt_dmlog_writer *w, const char *path)
{
    memset(w, 0, sizeof *w);
    w->path = path;
    w->f = fopen(path, "w+");
    if (!w->f) {
        pm_set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    static uint8_t z[DMLOG_SECTOR];
    if (fwrite(z, sizeof z, 1, w->f) != 1)
        return io_fail(w);
    return 0;
}

static int write_entry(struct pt_dmlog_writer *w, uint64_t sector, uint64_t nr, uint64_t flags,
                       const void *meta, size_t metalen)
{
    uint8_t blk[DMLOG_SECTOR] = {0};
    put_le64(blk, sector);
    put_le64(blk + 8, nr);
    put_le64(blk + 16, flags);
    put_le64(blk + 24, metalen);
    if (metalen)
        memcpy(blk + DMLOG_ENTRY_SIZE, meta, metalen);
    if (fwrite(blk, sizeof blk, 1, w->f) != 1)
        return io_fail(w);
    w->entries++;
    return 0;
}

int pt_dmlog_entry(struct pt_dmlog_writer *w, uint64_t sector, uint64_t nr_sectors, uint64_t flags,
                   const void *data)
{
    /* FLUSH and DISCARD carry no data; a discard's nr_sectors is its size. */
    if (write_entry(w, sector, nr_sectors, flags, NULL, 0) == -1)
        return -1;
    if (data && nr_sectors && fwrite(data, DMLOG_SECTOR, nr_sectors, w->f) != nr_sectors)
        return io_fail(w);
    return 0;
}

int pt_dmlog_mark(struct pt_dmlog_writer *w, const char *text)
{
    /* The kernel keeps a mark to sectorsize - entry - 1 bytes. */
    size_t n = strlen(text);
    size_t max = DMLOG_SECTOR - DMLOG_ENTRY_SIZE - 1;
    return write_entry(w, 0, 0, DMLOG_MARK, text, n < max ? n : max);
}

int pt_dmlog_finish(struct pt_dmlog_writer *w)
{
    uint8_t sb[DMLOG_SECTOR] = {0};
    put_le64(sb, DMLOG_MAGIC);
    put_le64(sb + 8, DMLOG_VERSION);
    put_le64(sb + 16, w->entries);
    put_le32(sb + 24, DMLOG_SECTOR);
    int r = 0;
    if (fseek(w->f, 0, SEEK_SET) != 0 || fwrite(sb, sizeof sb, 1, w->f) != 1)
        r = io_fail(w);
    if (fclose(w->f) != 0 && r == 0)
        r = io_fail(w);
    w->f = NULL;
    return r;
}
