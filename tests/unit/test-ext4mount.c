/* tests/unit/test-ext4mount.c — the kernel's mount rules of explore
 * (tools/engines/ext4mount.c): on a real mke2fs image, each damage the
 * kernel refuses (a torn superblock, group descriptor or journal
 * superblock, a deleted journal inode) is refused with its cause and an
 * intact image is not; and e2fsck's journal-run output, as e2fsck 1.47
 * prints it on real crash states (copied from them), is read as the
 * kernel's recovery outcome. */
#include <CUnit/Basic.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/ext4mount.h"

static char dir[] = "/tmp/pmemcut-test-ext4mount.XXXXXX";
static char fresh[4200], img[4200];

/* A 32 MiB ext4 the way the guest agent makes it (mke2fs -t ext4 -b 4096). */
static int setup(void)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(fresh, sizeof fresh, "%s/fresh.img", dir);
    snprintf(img, sizeof img, "%s/state.img", dir);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "mke2fs -q -F -t ext4 -b 4096 %s 32M >/dev/null 2>&1", fresh);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void)
{
    unlink(fresh);
    unlink(img);
    return rmdir(dir);
}

/* A fresh copy of the intact image to damage. */
static void copy_fresh(void)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp %s %s", fresh, img);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* XORs one byte of img at off. */
static void flip(off_t off)
{
    int fd = open(img, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    unsigned char c;
    CU_ASSERT_EQUAL_FATAL(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    CU_ASSERT_EQUAL_FATAL(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* The byte offset of the journal superblock in img. */
static off_t journal_sb(void)
{
    ext2_filsys fs;
    blk64_t phys = 0;
    CU_ASSERT_EQUAL_FATAL(ext2fs_open(img, 0, 0, 0, unix_io_manager, &fs), 0);
    CU_ASSERT_EQUAL(ext2fs_bmap2(fs, fs->super->s_journal_inum, NULL, NULL, 0, 0, NULL, &phys), 0);
    off_t off = (off_t)phys * fs->blocksize;
    ext2fs_close_free(&fs);
    CU_ASSERT_FATAL(phys != 0);
    return off;
}

static void test_intact(void)
{
    struct pt_ext4_mount m;
    copy_fresh();
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_FALSE(m.refused);
    CU_ASSERT_FALSE(m.needs_recovery);
    CU_ASSERT_FALSE(m.journal_dirty);
    CU_ASSERT_STRING_EQUAL(m.cause, "");
}

static void test_missing_file(void)
{
    struct pt_ext4_mount m;
    char path[4300];
    snprintf(path, sizeof path, "%s/none.img", dir);
    CU_ASSERT_EQUAL(pt_ext4_mount_check(path, &m), -1);
}

/* One line of the superblock lost: its checksum no longer matches (the
 * kernel: "VFS: Found ext4 filesystem with invalid superblock checksum"). */
static void test_superblock(void)
{
    struct pt_ext4_mount m;
    copy_fresh();
    flip(1024 + 0x30); /* s_wtime */
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_TRUE(m.refused);
    CU_ASSERT_STRING_EQUAL(m.cause, "superblock: Superblock checksum does not match superblock");
}

/* A group descriptor torn: the kernel checks them before any replay
 * ("ext4_check_descriptors: Checksum for group 0 failed"). */
static void test_descriptor(void)
{
    struct pt_ext4_mount m;
    copy_fresh();
    flip(4096 + 0x0c); /* group 0's bg_free_blocks_count */
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_TRUE(m.refused);
    CU_ASSERT_STRING_EQUAL(m.cause, "group descriptors: checksum for group failed");
    copy_fresh();
    flip(4096 + 0x03); /* group 0's block bitmap location, its high byte: outside */
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_TRUE(m.refused);
    CU_ASSERT_STRING_EQUAL(m.cause, "group descriptors: block bitmap not in group");
}

/* Rewrites the journal superblock of img through fn, its checksum
 * recomputed. */
static void edit_journal_sb(void (*fn)(unsigned char *sb))
{
    off_t at = journal_sb();
    int fd = open(img, O_RDWR);
    unsigned char sb[1024];
    CU_ASSERT_EQUAL_FATAL(pread(fd, sb, sizeof sb, at), (ssize_t)sizeof sb);
    fn(sb);
    memset(sb + 0xfc, 0, 4);
    uint32_t c = ext2fs_crc32c_le(~0u, sb, sizeof sb);
    unsigned char be[4] = {c >> 24, c >> 16, c >> 8, c};
    memcpy(sb + 0xfc, be, 4);
    CU_ASSERT_EQUAL_FATAL(pwrite(fd, sb, sizeof sb, at), (ssize_t)sizeof sb);
    close(fd);
}

/* What the kernel's first mount writes (set_journal_csum_feature_set with
 * metadata_csum): checksum v3, crc32c. */
static void csum_v3(unsigned char *sb)
{
    sb[0x2b] |= 0x10; /* s_feature_incompat: JBD2_FEATURE_INCOMPAT_CSUM_V3 */
    sb[0x50] = 4;     /* s_checksum_type: JBD2_CRC32C_CHKSUM */
}

static void start_1(unsigned char *sb)
{
    sb[0x1f] = 1; /* s_start = 1 */
}

/* A torn journal superblock: "JBD2: journal checksum error"; no magic:
 * "JBD2: no valid journal superblock found". */
static void test_journal_superblock(void)
{
    struct pt_ext4_mount m;
    copy_fresh();
    edit_journal_sb(csum_v3);
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_FALSE(m.refused);
    flip(journal_sb() + 0x30); /* s_uuid */
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_TRUE(m.refused);
    CU_ASSERT_STRING_EQUAL(m.cause, "journal superblock: journal checksum error");
    /* no checksum (as mke2fs leaves it): the same tear goes unseen */
    copy_fresh();
    flip(journal_sb() + 0x30);
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_FALSE(m.refused);
    copy_fresh();
    flip(journal_sb());
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_TRUE(m.refused);
    CU_ASSERT_STRING_EQUAL(m.cause, "journal superblock: no valid journal superblock found");
    /* s_start set, its checksum right: records to replay, not a refusal */
    copy_fresh();
    edit_journal_sb(csum_v3);
    edit_journal_sb(start_1);
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_FALSE(m.refused);
    CU_ASSERT_TRUE(m.journal_dirty);
}

/* The journal inode deleted ("journal inode is deleted"), written by
 * libext2fs so that its checksum stays right. */
static void test_journal_inode(void)
{
    struct pt_ext4_mount m;
    copy_fresh();
    ext2_filsys fs;
    struct ext2_inode inode;
    CU_ASSERT_EQUAL_FATAL(ext2fs_open(img, EXT2_FLAG_RW, 0, 0, unix_io_manager, &fs), 0);
    CU_ASSERT_EQUAL_FATAL(ext2fs_read_inode(fs, fs->super->s_journal_inum, &inode), 0);
    inode.i_links_count = 0;
    CU_ASSERT_EQUAL_FATAL(ext2fs_write_inode(fs, fs->super->s_journal_inum, &inode), 0);
    ext2fs_close_free(&fs);
    CU_ASSERT_EQUAL_FATAL(pt_ext4_mount_check(img, &m), 0);
    CU_ASSERT_TRUE(m.refused);
    CU_ASSERT_STRING_EQUAL(m.cause, "journal inode is deleted");
}

/* e2fsck -E journal_only -y as it reported real crash states. */
static void test_recovery_output(void)
{
    char cause[128];
    static const struct {
        const char *out, *cause; /* NULL: the recovery succeeded */
    } cases[] = {
        /* a descriptor block whose checksum line was lost */
        {"e2fsck 1.47.0 (5-Feb-2023)\nm1/j.img: recovering journal\n"
         "Journal checksum error found in m1/j.img\n",
         "journal recovery failed: journal checksum error"},
        /* copy blocks damaged under an intact commit */
        {"e2fsck 1.47.0 (5-Feb-2023)\nm1/j.img: recovering journal\n"
         "JBD2: Invalid checksum recovering data block 37 in log\n"
         "JBD2: Invalid checksum recovering data block 0 in log\n"
         "Journal checksum error found in m1/j.img\n",
         "journal recovery failed: journal checksum error"},
        /* a commit block that fails its checksum (j_failed_commit) */
        {"e2fsck 1.47.0 (5-Feb-2023)\nfc3.img: recovering journal\n"
         "Journal transaction 10 was corrupt, replay was aborted.\n",
         "journal transaction corrupt"},
        {"s.img: recovering journal\nJournal corrupted in s.img\n",
         "journal recovery failed: journal corrupted"},
        {"s.img: recovering journal\n"
         "e2fsck: Input/output error while recovering journal of s.img\n",
         "journal recovery failed: Input/output error"},
        {"e2fsck 1.47.0 (5-Feb-2023)\ns.img: recovering journal\n", NULL},
        {"e2fsck 1.47.0 (5-Feb-2023)\n", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cause[0] = '\0';
        int r = pt_ext4_recovery_refused(cases[i].out, cause, sizeof cause);
        CU_ASSERT_EQUAL(r, cases[i].cause != NULL);
        if (cases[i].cause)
            CU_ASSERT_STRING_EQUAL(cause, cases[i].cause);
    }
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite img_s = CU_add_suite("mount rules on a mke2fs image", setup, teardown);
    CU_add_test(img_s, "intact image mounts", test_intact);
    CU_add_test(img_s, "missing image is an error", test_missing_file);
    CU_add_test(img_s, "torn superblock", test_superblock);
    CU_add_test(img_s, "torn group descriptor", test_descriptor);
    CU_add_test(img_s, "torn journal superblock", test_journal_superblock);
    CU_add_test(img_s, "deleted journal inode", test_journal_inode);
    CU_pSuite out_s = CU_add_suite("journal recovery outcome", NULL, NULL);
    CU_add_test(out_s, "e2fsck's journal run read as the kernel's recovery", test_recovery_output);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    /* a suite whose set-up failed (no mke2fs) ran nothing: that is a failure */
    unsigned inactive = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    printf("%u passed, %u failed\n", run - failed, failed + inactive);
    return failed || inactive ? 1 : 0;
}
