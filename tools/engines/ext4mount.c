/* pmemcut — would Linux 6.1 mount this ext4 image (see ext4mount.h). */
#include "ext4mount.h"

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utils/error.h"

/* --- the journal superblock (include/linux/jbd2.h; big-endian on disk) ------- */

#define JBD2_MAGIC        0xc03b3998u
#define JBD2_SB_V1        3
#define JBD2_SB_V2        4
#define JBD2_CRC32C_CHK   4    /* s_checksum_type of checksum v2/v3 */
#define JBD2_COMPAT_CSUM  0x1u /* checksum v1 */
#define JBD2_INCOMPAT_CS2 0x8u
#define JBD2_INCOMPAT_CS3 0x10u
/* revoke, async commit, 64bit, checksum v2 and v3, fast commit */
#define JBD2_KNOWN_INCOMPAT 0x3fu
#define JBD2_KNOWN_ROCOMPAT 0u

enum {
    JSB_MAGIC = 0x0,
    JSB_BLOCKTYPE = 0x4,
    JSB_BLOCKSIZE = 0xc,
    JSB_MAXLEN = 0x10,
    JSB_FIRST = 0x14,
    JSB_START = 0x1c,
    JSB_COMPAT = 0x24,
    JSB_INCOMPAT = 0x28,
    JSB_ROCOMPAT = 0x2c,
    JSB_CSUM_TYPE = 0x50,
    JSB_CHECKSUM = 0xfc,
    JSB_SIZE = 1024, /* sizeof(journal_superblock_t): what the checksum covers */
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void refuse(struct pt_ext4_mount *m, const char *fmt, const char *what)
{
    m->refused = true;
    snprintf(m->cause, sizeof m->cause, fmt, what);
}

/* journal_get_superblock and the feature test of jbd2_journal_load, for a
 * journal of total_len blocks of bsize bytes: NULL if the kernel takes it,
 * else what it says (without its "JBD2: "). */
static const char *journal_sb_problem(const uint8_t *sb, uint32_t bsize, uint64_t total_len)
{
    if (be32(sb + JSB_MAGIC) != JBD2_MAGIC || be32(sb + JSB_BLOCKSIZE) != bsize)
        return "no valid journal superblock found";
    uint32_t type = be32(sb + JSB_BLOCKTYPE);
    if (type != JBD2_SB_V1 && type != JBD2_SB_V2)
        return "unrecognised superblock format ID";
    /* the feature words mean something from version 2 on */
    uint32_t compat = type == JBD2_SB_V2 ? be32(sb + JSB_COMPAT) : 0;
    uint32_t incompat = type == JBD2_SB_V2 ? be32(sb + JSB_INCOMPAT) : 0;
    uint32_t rocompat = type == JBD2_SB_V2 ? be32(sb + JSB_ROCOMPAT) : 0;
    uint64_t maxlen = be32(sb + JSB_MAXLEN);
    if (maxlen > total_len)
        return "journal file too short";
    if (maxlen < total_len)
        total_len = maxlen;
    uint32_t first = be32(sb + JSB_FIRST);
    if (first == 0 || first >= total_len)
        return "invalid start block of journal";
    bool csum23 = incompat & (JBD2_INCOMPAT_CS2 | JBD2_INCOMPAT_CS3);
    if ((incompat & JBD2_INCOMPAT_CS2) && (incompat & JBD2_INCOMPAT_CS3))
        return "can't enable checksumming v2 and v3 at the same time";
    if (csum23 && (compat & JBD2_COMPAT_CSUM))
        return "can't enable checksumming v1 and v2/3 at the same time";
    if (csum23 && sb[JSB_CSUM_TYPE] != JBD2_CRC32C_CHK)
        return "unknown checksum type";
    if (csum23) {
        uint8_t copy[JSB_SIZE];
        memcpy(copy, sb, sizeof copy);
        memset(copy + JSB_CHECKSUM, 0, 4);
        if (ext2fs_crc32c_le(~0u, copy, sizeof copy) != be32(sb + JSB_CHECKSUM))
            return "journal checksum error";
    }
    if ((rocompat & ~JBD2_KNOWN_ROCOMPAT) || (incompat & ~JBD2_KNOWN_INCOMPAT))
        return "unrecognised features on journal";
    return NULL;
}

/* ext4_check_descriptors: refuses m at the first problem (its group number
 * left out, like every number of a cause). */
static void check_descriptors(ext2_filsys fs, struct pt_ext4_mount *m)
{
    static const char *const what[3] = {"block bitmap", "inode bitmap", "inode table"};
    struct ext2_super_block *es = fs->super;
    blk64_t first_block = es->s_first_data_block;
    /* the superblock's block, as the kernel counts in filesystem blocks */
    blk64_t sb_block = fs->blocksize == 1024 ? 1 : 0;
    blk64_t ngdb = ext2fs_has_feature_meta_bg(es) ? es->s_first_meta_bg : fs->desc_blocks;
    blk64_t last_bg_block = sb_block + ngdb;
    bool flexbg = ext2fs_has_feature_flex_bg(es);
    for (dgrp_t i = 0; i < fs->group_desc_count; i++) {
        blk64_t last = i == fs->group_desc_count - 1 || flexbg
                           ? ext2fs_blocks_count(es) - 1
                           : first_block + EXT2_BLOCKS_PER_GROUP(es) - 1;
        blk64_t at[3] = {ext2fs_block_bitmap_loc(fs, i), ext2fs_inode_bitmap_loc(fs, i),
                         ext2fs_inode_table_loc(fs, i)};
        blk64_t len[3] = {1, 1, fs->inode_blocks_per_group};
        for (int k = 0; k < 3; k++) {
            const char *why = at[k] == sb_block ? "overlaps superblock"
                              : at[k] >= sb_block + 1 && at[k] <= last_bg_block
                                  ? "overlaps block group descriptors"
                              : at[k] < first_block || at[k] + len[k] - 1 > last ? "not in group"
                                                                                 : NULL;
            if (why) {
                m->refused = true;
                snprintf(m->cause, sizeof m->cause, "group descriptors: %s %s", what[k], why);
                return;
            }
        }
        if (!ext2fs_group_desc_csum_verify(fs, i)) {
            refuse(m, "%s", "group descriptors: checksum for group failed");
            return;
        }
        if (!flexbg)
            first_block += EXT2_BLOCKS_PER_GROUP(es);
    }
}

/* ext4_get_journal_inode, jbd2_journal_init_inode and load_superblock. */
static int check_journal(ext2_filsys fs, struct pt_ext4_mount *m)
{
    struct ext2_super_block *es = fs->super;
    if (!ext2fs_has_feature_journal(es) || es->s_journal_inum == 0)
        return 0; /* no journal, or an external one: nothing of ours to read */
    struct ext2_inode_large inode;
    errcode_t e =
        ext2fs_read_inode_full(fs, es->s_journal_inum, (struct ext2_inode *)&inode, sizeof inode);
    if (e) {
        refuse(m, "journal inode: %s", error_message(e));
        return 0;
    }
    if (inode.i_links_count == 0) {
        refuse(m, "%s", "journal inode is deleted");
        return 0;
    }
    if (!LINUX_S_ISREG(inode.i_mode)) {
        refuse(m, "%s", "invalid journal inode");
        return 0;
    }
    blk64_t phys = 0;
    e = ext2fs_bmap2(fs, es->s_journal_inum, (struct ext2_inode *)&inode, NULL, 0, 0, NULL, &phys);
    if (e || phys == 0) {
        refuse(m, "journal inode: %s", e ? error_message(e) : "cannot locate journal superblock");
        return 0;
    }
    uint8_t block[65536];
    if (fs->blocksize > sizeof block || fs->blocksize < JSB_SIZE) {
        pm_set_error("ext4: a block size of %u", fs->blocksize);
        return -1;
    }
    if ((e = io_channel_read_blk64(fs->io, phys, 1, block))) {
        pm_set_error("reading the journal superblock: %s", error_message(e));
        return -1;
    }
    uint64_t total_len = EXT2_I_SIZE(&inode) / fs->blocksize;
    const char *why = journal_sb_problem(block, fs->blocksize, total_len);
    if (why) {
        refuse(m, "journal superblock: %s", why);
        return 0;
    }
    m->journal_dirty = be32(block + JSB_START) != 0;
    return 0;
}

int pt_ext4_mount_check(const char *img, struct pt_ext4_mount *m)
{
    static bool messages;
    if (!messages) /* libext2fs's codes get their text ("Bad magic number in super-block") */
        initialize_ext2_error_table(), messages = true;
    memset(m, 0, sizeof *m);
    ext2_filsys fs = NULL;
    /* The kernel reads the primary superblock only (no sb= option). */
    errcode_t e = ext2fs_open(img, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
    if (e) {
        if (e == ENOENT || e == EACCES || e == EISDIR) {
            pm_set_error("%s: %s", img, error_message(e));
            return -1;
        }
        refuse(m, "superblock: %s", error_message(e));
        return 0;
    }
    m->needs_recovery = ext2fs_has_feature_journal_needs_recovery(fs->super);
    check_descriptors(fs, m);
    int rc = m->refused ? 0 : check_journal(fs, m);
    ext2fs_close_free(&fs);
    return rc;
}

/* --- the recovery, as e2fsck's journal run reports it ------------------------ */

int pt_ext4_recovery_refused(const char *out, char *cause, size_t n)
{
    /* e2fsck/unix.c and journal.c (1.47): what jbd2_journal_recover's
     * error and j_failed_commit become.  The kernel's jbd2_journal_load
     * fails the mount on each ("JBD2: recovery failed", "JBD2: journal
     * transaction N on pmem0-8 is corrupt."). */
    static const struct {
        const char *said, *cause;
    } outcomes[] = {
        /* -EFSBADCRC: a descriptor block (then a commit block after it) or a
         * journalled block fails its checksum ("JBD2: Invalid checksum found
         * in transaction N", "... recovering data block ...") */
        {"Journal checksum error found in ", "journal recovery failed: journal checksum error"},
        /* -EFSCORRUPTED: the log runs past the journal's end ("JBD2:
         * corrupted journal superblock") */
        {"Journal corrupted in ", "journal recovery failed: journal corrupted"},
        /* j_failed_commit: a commit block failed its checksum */
        {"was corrupt, replay was aborted", "journal transaction corrupt"},
    };
    for (size_t i = 0; i < sizeof outcomes / sizeof *outcomes; i++) {
        if (strstr(out, outcomes[i].said)) {
            snprintf(cause, n, "%s", outcomes[i].cause);
            return 1;
        }
    }
    /* Any other error ("recovery pass N ended at transaction", an I/O error,
     * a bad revoke block): "e2fsck: REASON while recovering journal of IMG" */
    const char *w = strstr(out, " while recovering journal of ");
    if (w) {
        const char *l = w;
        while (l > out && l[-1] != '\n')
            l--;
        const char *r = strchr(l, ':');
        r = r && r < w ? r + 1 : l;
        while (*r == ' ')
            r++;
        snprintf(cause, n, "journal recovery failed: %.*s", (int)(w - r), r);
        return 1;
    }
    return 0;
}
