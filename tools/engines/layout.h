/* pmemcut — what the blocks of a device image are: ext4 read with
 * libext2fs (ext4map.h), or xfs from the agent's extents report and the
 * superblock (xfsmap.h).  What `lost` and `classify` both need.
 *
 * Offsets are device offsets: the filesystem may start some bytes into the
 * device (an nvdimm namespace's data offset, the agent's dev_offset), and
 * what lies before it is one piece. */
#ifndef PMEMCUT_LAYOUT_H
#define PMEMCUT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "ext4map.h"
#include "xfsmap.h"

/* How to read the layout (the command line's --fs, --extents, --offset). */
struct pt_layout_args {
    const char *fs;      /* "ext4", "xfs", or NULL: the image's superblock says */
    const char *extents; /* the agent's extents report, or NULL */
    bool have_offset;
    uint64_t offset; /* where the filesystem starts in the device */
};

struct pt_layout {
    bool xfs;
    struct pt_ext4map e;
    struct pt_xfsmap x; /* xfs; the extents also when given for ext4 */
    bool have_x;
};

/* Loads a->extents (if given) into l->x, and where the filesystem starts
 * (a->offset, or the report's dev_offset) into l->x.dev_offset.  0, or -1
 * with the message (pm_get_error). */
int pt_layout_load_extents(struct pt_layout *l, const struct pt_layout_args *a);
/* Whether the image (size bytes) is xfs: a->fs, else its superblock. */
bool pt_layout_is_xfs(const struct pt_layout_args *a, const struct pt_layout *l, const uint8_t *img,
                      uint64_t size);
/* The layout of the image at path (also held in img).  0, or -1 with the
 * message. */
int pt_layout_open(struct pt_layout *l, const struct pt_layout_args *a, const char *path,
                   const uint8_t *img, uint64_t size);
/* The same for the image file at path, reading its first blocks. */
int pt_layout_open_file(struct pt_layout *l, const struct pt_layout_args *a, const char *path);
/* Whether the filesystem's start (l->x.dev_offset: --offset or the extents
 * report's) lies inside a device of size bytes; -1 with the message naming
 * what (the image's path, "the device") when not. */
int pt_layout_check_offset(const struct pt_layout *l, uint64_t size, const char *what);
/* Undoes pt_layout_open (the extents stay). */
void pt_layout_close(struct pt_layout *l);
/* Frees the extents too. */
void pt_layout_free(struct pt_layout *l);

/* Where the block holding device offset off ends. */
uint64_t pt_layout_block_end(const struct pt_layout *l, uint64_t off);
/* Describes [off, off+len), which lies within one block. */
void pt_layout_describe(const struct pt_layout *l, uint64_t off, uint64_t len, char *out, size_t n);

#endif
