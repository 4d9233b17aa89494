/* pmemcut — the data-log reader (see dlog.h; the writer is audit.c's).
 *
 * Every length read from the file is checked against the file's size before
 * it is used, and every error names the byte offset of the bad frame. */
#include "dlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/crc32c.h"
#include "utils/error.h"

/* 1 when all n bytes were read, 0 at the end of the file, -1 on an error. */
static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 0 : -1;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 1;
}

int pm_dlog_open(struct pm_dlog_reader *dl, const char *path)
{
    dl->path = path;
    dl->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (dl->fd == -1 || fstat(dl->fd, &st) == -1) {
        pm_set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    dl->size = (uint64_t)st.st_size;
    struct pm_dlog_header h;
    int r = pread_full(dl->fd, &h, sizeof h, 0);
    if (r != 1) {
        pm_set_error("%s: byte offset 0: %s", path,
                     r < 0 ? strerror(errno) : "too short for a data-log header");
        return -1;
    }
    if (memcmp(h.magic, PM_DLOG_MAGIC, 8) != 0) {
        pm_set_error("%s: byte offset 0: wrong magic (not a pmemcut data log)", path);
        return -1;
    }
    if (h.version != PM_DLOG_VERSION) {
        pm_set_error("%s: byte offset 8: version %u, this reader knows %d", path, h.version,
                     PM_DLOG_VERSION);
        return -1;
    }
    posix_fadvise(dl->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return 0;
}

void pm_dlog_close(struct pm_dlog_reader *dl)
{
    if (dl->fd >= 0)
        close(dl->fd);
    dl->fd = -1;
}

int pm_dlog_read(struct pm_dlog_reader *dl, uint64_t off, uint64_t seq, uint64_t dev_off,
                 uint64_t len, void *buf)
{
    struct pm_dlog_frame f;
    if (off < sizeof(struct pm_dlog_header) || off > dl->size || dl->size - off < sizeof f) {
        pm_set_error("%s: frame for seq %llu at byte offset %llu: past the end (%llu bytes)",
                     dl->path, (unsigned long long)seq, (unsigned long long)off,
                     (unsigned long long)dl->size);
        return -1;
    }
    if (pread_full(dl->fd, &f, sizeof f, off) != 1) {
        pm_set_error("%s: byte offset %llu: read error: %s", dl->path, (unsigned long long)off,
                     strerror(errno));
        return -1;
    }
    const char *why = NULL;
    if (memcmp(f.magic, PM_DFRAME_MAGIC, 4) != 0)
        why = "wrong frame magic";
    else if (f.seq != seq)
        why = "frame belongs to another seq";
    else if (f.off != dev_off || f.len != len)
        why = "frame offset/length differ from the audit record";
    else if (dl->size - off - sizeof f < len)
        why = "payload truncated";
    if (why) {
        pm_set_error("%s: frame for seq %llu at byte offset %llu: %s", dl->path,
                     (unsigned long long)seq, (unsigned long long)off, why);
        return -1;
    }
    if (pread_full(dl->fd, buf, len, off + sizeof f) != 1) {
        pm_set_error("%s: byte offset %llu: read error: %s", dl->path,
                     (unsigned long long)(off + sizeof f), strerror(errno));
        return -1;
    }
    if (pm_crc32c(0, buf, len) != f.crc) {
        pm_set_error("%s: frame for seq %llu at byte offset %llu: checksum mismatch", dl->path,
                     (unsigned long long)seq, (unsigned long long)off);
        return -1;
    }
    return 0;
}
