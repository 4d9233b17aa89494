/* guest/fs.h — filesystem commands: prepare, caps, extents, and the pieces
 * verify shares with them (mount with DAX, read-only check). */
#ifndef PMEMCUT_GUEST_FS_H
#define PMEMCUT_GUEST_FS_H

#include "verdict.h"

struct pm_prepare_opts {
    const char *dev, *fs, *mnt;
    int mkfs, namespace;
};

/* Each prints its JSON and returns an exit code. */
int pm_cmd_prepare(const struct pm_prepare_opts *o);
int pm_cmd_caps(const char *dir);
int pm_cmd_extents(const char *dir);

/* Is fs one we can make, check and mount ("ext4", "xfs")? */
int pm_fs_known(const char *fs);

/* mount -o dax.  0, or -1 with errno. */
int pm_mount_dax(const char *dev, const char *dir, const char *fs);

/* Replay the journal by mounting and unmounting, then run the filesystem's
 * read-only check on dev; results go to f. */
void pm_fsck(const char *dev, const char *dir, const char *fs, struct pm_fsck *f);

#endif
