/* guest/job.h — a guest restored from a saved state (pmemcut-host run
 * --boot saved): its job comes over the channel, not the kernel command
 * line, and it proves that it reads the device as the host has it.
 *
 *   pmemcut-agent job      on the base boot: sends `job?`, then waits (with
 *                          no time limit: the guest is saved while it waits,
 *                          and its clock is not the host's) for the host's
 *                          `job TOKEN...`; prints the pmemcut.KEY=VALUE
 *                          tokens, one a line, for /init to take as it takes
 *                          /proc/cmdline's. The tokens time=SECONDS and
 *                          entropy=HEX are the agent's own: the guest's clock
 *                          is set to the host's, and the host's random bytes
 *                          are credited to the guest's pool and the pool
 *                          reseeded, so that each restore does not draw the
 *                          same "random" numbers (filesystem UUIDs, hash
 *                          seeds) as the last.
 *   pmemcut-agent digest --dev DEV [--bytes N]
 *                          crc32c of the first N bytes of DEV, as JSON on
 *                          stdout and as `digest <json>` on the channel: the
 *                          host compares it with what it read of the device
 *                          before the restore. */
#ifndef PMEMCUT_GUEST_JOB_H
#define PMEMCUT_GUEST_JOB_H

#include <stdint.h>

/* What digest reads by default: the start of the device, where every mkfs
 * and every mount writes (superblock, group descriptors, bitmaps). */
#define GA_DIGEST_DEFAULT_BYTES (1u << 20)

int ga_cmd_job(void);
int ga_cmd_digest(const char *dev, uint64_t bytes);

#endif
