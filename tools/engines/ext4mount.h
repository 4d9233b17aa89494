/* pmemcut — would the guest's kernel (Linux 6.1) mount this ext4 image?
 *
 * explore's verdict on a crash state must be the kernel's, and e2fsck is not
 * the kernel: where the kernel refuses a mount, e2fsck repairs and goes on
 * (it clears a corrupt journal superblock, discards a journal whose
 * checksums fail, reads a backup superblock) and then finds a consistent
 * filesystem.  What decides a mount, in the order ext4_fill_super and
 * jbd2_journal_load decide it (fs/ext4/super.c, fs/jbd2/journal.c and
 * recovery.c of 6.1):
 *
 *   1. the primary superblock: magic, checksum (libext2fs's ext2fs_open);
 *   2. the group descriptors, as they are on the device, before any replay:
 *      ext4_check_descriptors (bitmaps and inode table inside their group,
 *      not over the superblock or the descriptors, the checksum);
 *   3. the journal inode (ext4_get_journal_inode: a valid inode, linked, a
 *      regular file) and the journal superblock (journal_get_superblock:
 *      magic, block size, length, first block, checksum type and checksum;
 *      jbd2_journal_load: known features);
 *   4. the journal recovery: do_one_pass's three passes.  e2fsck runs the
 *      very same code (e2fsck/recovery.c is the kernel's file), so its
 *      journal run's output says how recovery ended; pt_ext4_recovery_refused
 *      reads it.  Any error, and a transaction whose commit block fails its
 *      checksum (j_failed_commit), fails the kernel's mount.
 *
 * 1-3 are checked here on the image, with libext2fs for the reading; 4 is
 * read from e2fsck's output.  tests/explore-kernel.sh boots the real guest
 * on explored states and checks that the verdicts agree.
 */
#ifndef PMEMCUT_EXT4MOUNT_H
#define PMEMCUT_EXT4MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#define PT_MOUNT_CAUSE_MAX 128

struct pt_ext4_mount {
    bool refused;        /* the kernel would not mount it */
    bool needs_recovery; /* the superblock asks for a journal replay */
    bool journal_dirty;  /* the journal superblock's s_start is set: records to replay */
    /* Why it would be refused, in the kernel's terms, no numbers:
     * "superblock: Superblock checksum does not match superblock",
     * "group descriptors: checksum", "journal superblock: checksum error" */
    char cause[PT_MOUNT_CAUSE_MAX];
};

/* Checks 1-3 on the ext4 image file img as it is (before any replay).
 * 0 (m filled in), or -1 with the message (the file could not be read). */
int pt_ext4_mount_check(const char *img, struct pt_ext4_mount *m);

/* Reads the output of `e2fsck -E journal_only -y` (the journal replay): if
 * the kernel's recovery would have failed there, returns 1 with the cause
 * ("journal recovery failed: journal checksum error", "journal transaction
 * corrupt", ...) in cause; else 0. */
int pt_ext4_recovery_refused(const char *out, char *cause, size_t n);

#endif
