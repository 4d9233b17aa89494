/* guest/fs.h — filesystem commands: prepare, caps, extents, and the pieces
 * verify shares with them (mount with DAX, read-only check). */
#ifndef PMEMCUT_GUEST_FS_H
#define PMEMCUT_GUEST_FS_H

#include <stdint.h>
#include <stdio.h>

#include "verify/verdict.h"

struct ga_prepare_opts {
    const char *dev, *fs, *mnt;
    int mkfs, namespace;
    int handshake; /* sync, send `prepared <json>` on the channel, wait for `go` */
};

/* How long prepare --handshake waits for the host's `go`. */
#define GA_HANDSHAKE_MS 120000

/* Each prints its JSON and returns an exit code. */
int ga_cmd_prepare(const struct ga_prepare_opts *o);
int ga_cmd_caps(const char *dir);
int ga_cmd_extents(const char *dir);

/* One extent of a file, as FIEMAP gives it (bytes). */
struct ga_extent {
    uint64_t logical, physical, length;
    uint32_t flags;
};

/* FIEMAP of fd, without FIEMAP_FLAG_SYNC (looking must not change what is
 * persisted): *v (caller frees) and *n.  0, or -1 with errno. */
int ga_fiemap(int fd, struct ga_extent **v, size_t *n);

/* The extents JSON, in pieces: ga_extents_open writes
 * {"command":"extents","dir":...,"dev":...,"dev_offset":N,"files":[
 * then one ga_extents_file per file (nfile counts them, start at 0; err is
 * an errno from ga_fiemap or 0), and the caller closes with "]}". */
void ga_extents_open(FILE *f, const char *dir);
void ga_extents_file(FILE *f, int *nfile, const char *name, long long size,
                     const struct ga_extent *v, size_t n, int err);

/* Is fs one we can make, check and mount ("ext4", "xfs")? */
int ga_fs_known(const char *fs);

/* mount -o dax.  0, or -1 with errno. */
int ga_mount_dax(const char *dev, const char *dir, const char *fs);

/* Replay the journal by mounting and unmounting, then run the filesystem's
 * read-only check on dev; results go to f. */
void ga_fsck(const char *dev, const char *dir, const char *fs, struct pm_fsck *f);

/* What verify and check do first: ga_fsck, then mount -o dax at dir.  0
 * when it mounted; -1 when the kernel refused it: f then says so (clean 0,
 * mounted 0, the mount's error in note, the kernel's messages in kernel). */
int ga_check_and_mount(const char *dev, const char *dir, const char *fs, struct pm_fsck *f);

/* What the kernel's log says of the filesystem on dev (jbd2, ext4 and xfs
 * messages naming it), each message once, "; "-separated, at most outlen - 1
 * bytes; "" when nothing (or the log cannot be read). */
void ga_kernel_said(const char *dev, char *out, size_t outlen);

#endif
