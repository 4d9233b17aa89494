/* pmemcut — explore: the state images (see explore.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "utils/error.h"
#include "explore-int.h"

/* State images: one file per worker slot, patched, not rewritten.
 *
 * Writing a whole image for every state costs more than checking it.  So
 * each worker slot keeps one image file (on /dev/shm when it can) that
 * holds P as it was at some epoch plus the lines the slot's last state put
 * over it.  The parent counts an epoch for every record that may change P
 * and notes, per 4 KiB block, the epoch of its last change (gen[]).  To turn
 * the file into a new state, a child rewrites only the blocks changed since
 * the slot's epoch, the blocks the previous state patched, and the blocks
 * this state patches (the lines its cut kept or tore).
 *
 *   P (parent)   epoch 7:  gen[] = 0 0 5 7 0 0 3 0 ...
 *   slot file    epoch 5 + patch {6}       -> rewrite blocks 3 (gen 7 > 5)
 *                                             and 6 (last patch), then
 *                                             this state's own patch
 *
 * A state identical to one already checked (same epoch of P, same kept and
 * torn lines with the same bytes, same acks) is not checked again: the
 * children share a table of state keys and results.
 */

struct pt_track pt_explore_track;
struct pt_slot *pt_explore_slots;
char pt_explore_dir[4096];
uint64_t pt_explore_fs_offset;

int pt_explore_track_ready(struct pt_track *t)
{
    if (t->gen || !t->r->size)
        return 0;
    t->nblk = (t->r->size + PT_BLK - 1) / PT_BLK;
    t->gen = calloc(t->nblk, sizeof *t->gen);
    return t->gen ? 0 : -1;
}

void pt_explore_p_changed(void *ctx, uint64_t off, uint64_t len)
{
    struct pt_track *t = ctx;
    if (len == 0 || pt_explore_track_ready(t) == -1 || !t->gen)
        return;
    if (t->epoch_seq != t->r->rec.seq) {
        t->epoch++;
        t->epoch_seq = t->r->rec.seq;
    }
    uint64_t last = (off + len - 1) / PT_BLK;
    for (uint64_t b = off / PT_BLK; b <= last && b < t->nblk; b++)
        t->gen[b] = t->epoch;
}

/* Block b of the device into the image, which starts at the filesystem's
 * offset (the blocks before it are no part of it). */
static int write_block(int fd, const uint8_t *p, uint64_t size, uint64_t b)
{
    uint64_t off = b * PT_BLK, n = size - off < PT_BLK ? size - off : PT_BLK;
    if (off < pt_explore_fs_offset)
        return 0;
    return pwrite(fd, p + off, n, (off_t)(off - pt_explore_fs_offset)) == (ssize_t)n ? 0 : -1;
}

static void mark_ranges(uint8_t *mark, const struct pt_track *t, const struct pm_rangelist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!l->r[i].len)
            continue;
        uint64_t last = (l->r[i].off + l->r[i].len - 1) / PT_BLK;
        for (uint64_t b = l->r[i].off / PT_BLK; b <= last && b < t->nblk; b++)
            mark[b] |= 2;
    }
}

int pt_explore_slot_sync(struct pt_slot *s, const char *img, const uint8_t *p, uint64_t size,
                         const struct pm_cut_result *cr)
{
    const struct pt_track *t = &pt_explore_track;
    uint8_t *mark = calloc(t->nblk ? t->nblk : 1, 1);
    if (!mark) {
        pm_set_error("out of memory");
        return -1;
    }
    if (cr) {
        mark_ranges(mark, t, &cr->kept_r);
        mark_ranges(mark, t, &cr->torn_r);
    }
    bool was_valid = s->valid;
    s->valid = false; /* until the file is whole again */
    int rc = 0;
    if (!was_valid) {
        rc = pt_write_image(p + pt_explore_fs_offset, size - pt_explore_fs_offset, img);
    } else {
        for (uint32_t i = 0; i < s->npatch; i++)
            mark[s->patch[i]] |= 1;
        int fd = open(img, O_WRONLY | O_CLOEXEC);
        for (uint64_t b = 0; fd != -1 && rc == 0 && b < t->nblk; b++)
            if (mark[b] || t->gen[b] > s->epoch)
                rc = write_block(fd, p, size, b);
        if (fd == -1 || rc == -1 || close(fd) == -1) {
            pm_set_error("%.500s: %s", img, strerror(errno));
            rc = -1;
        }
    }
    uint32_t n = 0;
    bool fits = true;
    for (uint64_t b = 0; b < t->nblk && fits; b++)
        if (mark[b] & 2) {
            if (n == PT_MAX_PATCH)
                fits = false;
            else
                s->patch[n++] = (uint32_t)b;
        }
    free(mark);
    s->npatch = n;
    s->epoch = t->epoch;
    s->valid = rc == 0 && fits;
    return rc;
}
