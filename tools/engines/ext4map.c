/* pmemcut — what each block of an ext4 image is (see ext4map.h). */
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ext4map.h"

#include "utils/error.h"

static void set_owner(struct pt_ext4map *m, uint64_t blk, uint8_t kind, uint32_t ino,
                      uint32_t group, uint64_t fblk)
{
    if (blk >= m->nblocks)
        return;
    m->own[blk] = (struct pt_ext4_owner){kind, ino, group, fblk};
}

struct walk {
    struct pt_ext4map *m;
    uint32_t ino;
    uint8_t kind; /* JOURNAL, DIR or DATA for the inode's data blocks */
};

static int block_cb(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
                    int ref_offset, void *priv)
{
    (void)fs;
    (void)ref_blk;
    (void)ref_offset;
    struct walk *w = priv;
    if (blockcnt < 0)
        set_owner(w->m, *blocknr, EK_EXTENT, w->ino, 0, 0);
    else
        set_owner(w->m, *blocknr, w->kind, w->ino, 0, (uint64_t)blockcnt);
    return 0;
}

int pt_ext4map_open(struct pt_ext4map *m, const char *image, uint64_t offset)
{
    memset(m, 0, sizeof *m);
    ext2_filsys fs;
    /* unix_io's own option: every read of the filesystem is shifted */
    char opts[64];
    snprintf(opts, sizeof opts, "offset=%llu", (unsigned long long)offset);
    errcode_t e =
        ext2fs_open2(image, offset ? opts : NULL, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
    if (e) {
        pm_set_error("%s%s%s: not an ext2/3/4 image libext2fs can open: %s", image,
                     offset ? " at " : "", offset ? opts + 7 : "", error_message(e));
        return -1;
    }
    m->offset = offset;
    m->bsize = fs->blocksize;
    m->inode_size = (uint32_t)EXT2_INODE_SIZE(fs->super);
    m->ipg = fs->super->s_inodes_per_group;
    m->nblocks = ext2fs_blocks_count(fs->super);
    m->ngroups = fs->group_desc_count;
    m->own = calloc(m->nblocks, sizeof *m->own);
    m->itable = calloc(m->ngroups, sizeof *m->itable);
    if (!m->own || !m->itable) {
        pm_set_error("out of memory for %llu blocks", (unsigned long long)m->nblocks);
        ext2fs_close_free(&fs);
        pt_ext4map_free(m);
        return -1;
    }
    for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
        blk64_t super = 0, old_desc = 0, new_desc = 0;
        blk_t used = 0;
        ext2fs_super_and_bgd_loc2(fs, g, &super, &old_desc, &new_desc, &used);
        if (super || g == 0)
            set_owner(m, super, EK_SUPER, 0, g, 0);
        if (old_desc) {
            uint64_t n = fs->desc_blocks + fs->super->s_reserved_gdt_blocks;
            for (uint64_t i = 0; i < n; i++)
                set_owner(m, old_desc + i, EK_GDT, 0, g, 0);
        }
        if (new_desc)
            set_owner(m, new_desc, EK_GDT, 0, g, 0);
        set_owner(m, ext2fs_block_bitmap_loc(fs, g), EK_BBITMAP, 0, g, 0);
        set_owner(m, ext2fs_inode_bitmap_loc(fs, g), EK_IBITMAP, 0, g, 0);
        blk64_t it = ext2fs_inode_table_loc(fs, g);
        m->itable[g] = it;
        for (uint64_t i = 0; i < fs->inode_blocks_per_group; i++)
            set_owner(m, it + i, EK_ITABLE, 0, g, 0);
    }

    ext2_inode_scan scan;
    if (ext2fs_open_inode_scan(fs, 0, &scan) == 0) {
        ext2_ino_t ino;
        struct ext2_inode inode;
        while (ext2fs_get_next_inode(scan, &ino, &inode) == 0 && ino) {
            if (inode.i_links_count == 0 && ino != EXT2_JOURNAL_INO)
                continue;
            if (ext2fs_file_acl_block(fs, &inode))
                set_owner(m, ext2fs_file_acl_block(fs, &inode), EK_XATTR, ino, 0, 0);
            if ((inode.i_flags & EXT4_INLINE_DATA_FL) ||
                !ext2fs_inode_has_valid_blocks2(fs, &inode))
                continue;
            struct walk w = {m, ino, EK_DATA};
            if (ino == EXT2_JOURNAL_INO || ino == fs->super->s_journal_inum)
                w.kind = EK_JOURNAL;
            else if (LINUX_S_ISDIR(inode.i_mode))
                w.kind = EK_DIR;
            ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, block_cb, &w);
        }
        ext2fs_close_inode_scan(scan);
    }
    ext2fs_close_free(&fs);
    return 0;
}

void pt_ext4map_free(struct pt_ext4map *m)
{
    free(m->own);
    free(m->itable);
    memset(m, 0, sizeof *m);
}

int pt_ext4map_is_meta(enum pt_ext4_kind k)
{
    return k != EK_DATA && k != EK_NONE;
}

void pt_ext4map_describe(const struct pt_ext4map *m, uint64_t off, uint64_t len, char *out,
                         size_t n)
{
    if (off < m->offset) {
        snprintf(out, n, "before the filesystem (namespace label or info block)");
        return;
    }
    off -= m->offset;
    uint64_t blk = off / m->bsize;
    if (blk >= m->nblocks) {
        snprintf(out, n, "beyond the filesystem");
        return;
    }
    const struct pt_ext4_owner *o = &m->own[blk];
    uint64_t in = off % m->bsize;
    switch (o->kind) {
    case EK_SUPER:
        snprintf(out, n, "superblock%s (group %u)", o->group ? " backup" : "", o->group);
        break;
    case EK_GDT:
        snprintf(out, n, "group descriptors (copy in group %u)", o->group);
        break;
    case EK_BBITMAP:
        snprintf(out, n, "block bitmap of group %u", o->group);
        break;
    case EK_IBITMAP:
        snprintf(out, n, "inode bitmap of group %u", o->group);
        break;
    case EK_ITABLE: {
        uint64_t rel = (blk - m->itable[o->group]) * m->bsize + in;
        uint64_t first = (uint64_t)o->group * m->ipg + rel / m->inode_size + 1;
        uint64_t last =
            (uint64_t)o->group * m->ipg + (rel + (len ? len : 1) - 1) / m->inode_size + 1;
        if (first == last)
            snprintf(out, n, "inode table of group %u (inode %llu)", o->group,
                     (unsigned long long)first);
        else
            snprintf(out, n, "inode table of group %u (inodes %llu-%llu)", o->group,
                     (unsigned long long)first, (unsigned long long)last);
        break;
    }
    case EK_JOURNAL:
        snprintf(out, n, "journal (block %llu of it)", (unsigned long long)o->fblk);
        break;
    case EK_EXTENT:
        snprintf(out, n, "extent tree of inode %u", o->ino);
        break;
    case EK_DIR:
        snprintf(out, n, "directory block of inode %u (block %llu of it)", o->ino,
                 (unsigned long long)o->fblk);
        break;
    case EK_XATTR:
        snprintf(out, n, "xattr block of inode %u", o->ino);
        break;
    case EK_DATA:
        snprintf(out, n, "data of inode %u at file offset %llu", o->ino,
                 (unsigned long long)(o->fblk * m->bsize + in));
        break;
    default:
        snprintf(out, n, "free or unused block %llu", (unsigned long long)blk);
    }
}
