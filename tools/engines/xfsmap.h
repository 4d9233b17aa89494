/* pmemcut — what a byte range of an xfs device is, without reading xfs's
 * own structures beyond the superblock.
 *
 * File data comes from the guest agent's FIEMAP report (`pmemcut-agent
 * extents`, JSON: dev_offset and, per file, extents with logical, physical
 * and length in bytes; a record's byte in the backing file is dev_offset +
 * physical + (file offset - logical)).  Everything else is metadata.  When
 * the image holds an xfs superblock at dev_offset, the metadata is named
 * more closely: each allocation group's superblock, AGF, AGI and AGFL
 * sectors and the internal log are at places the superblock gives.
 */
#ifndef PMEMCUT_XFSMAP_H
#define PMEMCUT_XFSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pt_xfs_ext {
    uint64_t off, len; /* in the backing file */
    uint64_t logical;  /* file offset of off */
    uint32_t file;     /* index in names */
};

struct pt_xfsmap {
    uint64_t dev_offset;
    struct pt_xfs_ext *ext; /* sorted by off */
    size_t next;
    char **names;
    size_t nnames;
    /* from the superblock, when have_sb */
    bool have_sb;
    uint32_t bsize, sectsize, agblocks, agcount;
    uint64_t log_off, log_len; /* bytes, relative to dev_offset */
};

/* Reads the agent's extents JSON (the console's "PMEMCUT-EXTENTS " prefix
 * is allowed) into m.  0, or -1 with the message (pm_get_error) naming the
 * byte offset or field. */
int pt_xfsmap_load_extents(struct pt_xfsmap *m, const char *path);

/* Takes the geometry from the xfs superblock at m->dev_offset of img, if
 * there is one.  Returns whether there was. */
bool pt_xfsmap_read_super(struct pt_xfsmap *m, const uint8_t *img, uint64_t size);

/* Whether the image holds an xfs superblock at dev_offset. */
bool pt_xfsmap_is_xfs(const uint8_t *img, uint64_t size, uint64_t dev_offset);

void pt_xfsmap_free(struct pt_xfsmap *m);

/* The unit describe works in: the filesystem block, or 4096. */
uint32_t pt_xfsmap_bsize(const struct pt_xfsmap *m);

/* Describes [off, off+len), which lies within one block: "data of
 * rec-00000001 at file offset 0", "superblock (AG 1)", "log (block 3 of
 * it)", "metadata (AG 0, block 17)". */
void pt_xfsmap_describe(const struct pt_xfsmap *m, uint64_t off, uint64_t len, char *out, size_t n);

/* Whether [off, off+len) overlaps a data extent. */
bool pt_xfsmap_is_data(const struct pt_xfsmap *m, uint64_t off, uint64_t len);

#endif
