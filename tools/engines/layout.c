/* pmemcut — the blocks of a device image, ext4 or xfs (see layout.h). */
#include "layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "utils/error.h"

static uint32_t bsize(const struct pt_layout *l)
{
    return l->xfs ? pt_xfsmap_bsize(&l->x) : l->e.bsize;
}

void pt_layout_describe(const struct pt_layout *l, uint64_t off, uint64_t len, char *out, size_t n)
{
    if (l->xfs)
        pt_xfsmap_describe(&l->x, off, len, out, n);
    else
        pt_ext4map_describe(&l->e, off, len, out, n);
}

int pt_layout_load_extents(struct pt_layout *l, const struct pt_layout_args *a)
{
    memset(l, 0, sizeof *l);
    if (a->extents) {
        if (pt_xfsmap_load_extents(&l->x, a->extents) == -1) {
            pm_set_error("--extents: %s", pm_get_error());
            return -1;
        }
        l->have_x = true;
        if (a->have_offset && l->x.dev_offset != a->offset) {
            pm_set_error("--offset %llu, but the extents report says dev_offset %llu",
                         (unsigned long long)a->offset, (unsigned long long)l->x.dev_offset);
            pt_xfsmap_free(&l->x);
            return -1;
        }
    }
    if (a->have_offset)
        l->x.dev_offset = a->offset;
    return 0;
}

/* Blocks count from the filesystem's start, and what lies before it is one
 * piece. */
uint64_t pt_layout_block_end(const struct pt_layout *l, uint64_t off)
{
    uint64_t start = l->x.dev_offset, bs = bsize(l), end;
    if (off < start)
        return start;
    /* the last block below 2^64 ends there */
    if (__builtin_mul_overflow((off - start) / bs + 1, bs, &end) ||
        __builtin_add_overflow(start, end, &end))
        return UINT64_MAX;
    return end;
}

int pt_layout_check_offset(const struct pt_layout *l, uint64_t size, const char *what)
{
    if (l->x.dev_offset >= size) {
        pm_set_error("offset %llu is past the end of %s (%llu bytes)",
                     (unsigned long long)l->x.dev_offset, what, (unsigned long long)size);
        return -1;
    }
    return 0;
}

bool pt_layout_is_xfs(const struct pt_layout_args *a, const struct pt_layout *l, const uint8_t *img,
                      uint64_t size)
{
    if (a->fs)
        return strcmp(a->fs, "xfs") == 0;
    return pt_xfsmap_is_xfs(img, size, l->x.dev_offset);
}

int pt_layout_open(struct pt_layout *l, const struct pt_layout_args *a, const char *path,
                   const uint8_t *img, uint64_t size)
{
    if (pt_layout_check_offset(l, size, path) == -1)
        return -1;
    if (pt_layout_is_xfs(a, l, img, size)) {
        l->xfs = true;
        pt_xfsmap_read_super(&l->x, img, size);
        return 0;
    }
    l->xfs = false;
    return pt_ext4map_open(&l->e, path, l->x.dev_offset);
}

void pt_layout_close(struct pt_layout *l)
{
    if (!l->xfs)
        pt_ext4map_free(&l->e);
    memset(&l->e, 0, sizeof l->e);
}

void pt_layout_free(struct pt_layout *l)
{
    pt_layout_close(l);
    pt_xfsmap_free(&l->x);
}

/* The 4 KiB of a file from byte off on (the superblocks live there),
 * zero-padded; *got bytes were read.  NULL with the message. */
static uint8_t *read_head(const char *path, uint64_t off, uint64_t *got)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = f ? calloc(1, 4096) : NULL;
    if (!b)
        pm_set_error("%s: %s", path, strerror(errno));
    *got = b && fseeko(f, (off_t)off, SEEK_SET) == 0 ? fread(b, 1, 4096, f) : 0;
    if (f)
        fclose(f);
    return b;
}

int pt_layout_open_file(struct pt_layout *l, const struct pt_layout_args *a, const char *path)
{
    struct stat st;
    if (stat(path, &st) == -1) {
        pm_set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    if (pt_layout_check_offset(l, (uint64_t)st.st_size, path) == -1)
        return -1;
    /* the superblocks are in the first 4 KiB after the filesystem's start:
     * only those are read, however far into the file it starts */
    uint64_t got, off = l->x.dev_offset;
    uint8_t *head = read_head(path, off, &got);
    if (!head)
        return -1;
    l->x.dev_offset = 0; /* head begins at the filesystem */
    l->xfs = pt_layout_is_xfs(a, l, head, got);
    if (l->xfs)
        pt_xfsmap_read_super(&l->x, head, got);
    l->x.dev_offset = off;
    free(head);
    return l->xfs ? 0 : pt_ext4map_open(&l->e, path, off);
}
