/* pmemcut — what each block of an ext4 image is, read with libext2fs.
 *
 * pt_ext4map_open walks the image once: per group the superblock copy, group
 * descriptors (and reserved GDT blocks), bitmaps and inode table; then every
 * inode in use, whose blocks are the journal, extent-tree (or indirect)
 * blocks, directory blocks, an xattr block, or file data at a file block.
 * The result is one small owner record per filesystem block.
 */
#ifndef PMEMCUT_EXT4MAP_H
#define PMEMCUT_EXT4MAP_H

#include <stddef.h>
#include <stdint.h>

enum pt_ext4_kind {
    EK_NONE, /* free, or not reached by the walk */
    EK_SUPER,
    EK_GDT,
    EK_BBITMAP,
    EK_IBITMAP,
    EK_ITABLE,
    EK_JOURNAL,
    EK_EXTENT, /* extent-tree or indirect block of an inode */
    EK_DIR,
    EK_XATTR,
    EK_DATA,
};

struct pt_ext4_owner {
    uint8_t kind;
    uint32_t ino;   /* EXTENT, DIR, XATTR, DATA, JOURNAL */
    uint32_t group; /* SUPER, GDT, bitmaps, ITABLE */
    uint64_t fblk;  /* DATA/DIR: block within the file */
};

struct pt_ext4map {
    uint64_t offset;                 /* where the filesystem starts in the device (nvdimm: the
                                      * namespace's data offset); every offset here is a
                                      * device offset */
    uint32_t bsize, inode_size, ipg; /* block size, inode size, inodes per group */
    uint64_t nblocks;
    struct pt_ext4_owner *own; /* nblocks entries */
    uint64_t *itable;          /* first inode-table block per group */
    uint32_t ngroups;
};

/* Reads the filesystem that starts offset bytes into image.  0, or -1 with
 * the message (pm_get_error). */
int pt_ext4map_open(struct pt_ext4map *m, const char *image, uint64_t offset);
void pt_ext4map_free(struct pt_ext4map *m);

/* Whether a kind is filesystem metadata (everything but file data). */
int pt_ext4map_is_meta(enum pt_ext4_kind k);

/* Describes the device bytes [off, off+len) inside one block: "inode table of
 * group 0 (inodes 12-13)", "data of inode 12 at file offset 8192" ... */
void pt_ext4map_describe(const struct pt_ext4map *m, uint64_t off, uint64_t len, char *out,
                         size_t n);

#endif
