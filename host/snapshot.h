/* snapshot.h — boots from a saved state (pmemcut-host run --boot saved).
 *
 * Once per run, a base VM boots without the emulated device: /init loads
 * the modules and waits for its job on the agent channel (`job?`); that
 * moment is saved to a file in the run's private directory. Every boot of
 * every cycle is then a restore of it:
 *
 *   restore (paused) -> object-add memory-backend-file share=on (the FUSE
 *   view) + device_add virtio-pmem-pci (QMP) -> resume -> the guest's ACPI
 *   PCI hot-plug probes it as /dev/pmem0 -> `job TOKENS` on the channel
 *   -> the guest sends `digest <json>` of what it reads of the device
 *
 * The device is never part of the saved state, so a restore cannot bring
 * back an old copy of it; the digest proves it at every restore (it is
 * compared with what the host read of the device just before). Each libvirt
 * call here has a time limit: past it the VM's QEMU is killed, which ends
 * the call with an error. */
#ifndef PH_SNAPSHOT_H
#define PH_SNAPSHOT_H

#include <stdint.h>

#include "utils/unixsock.h"
#include "virt.h"

/* How long after the restore the guest may take to send its digest (the
 * hot-plugged device is probed first). */
#define PH_SAVED_GUEST_LIMIT 60.0
/* What the digest covers: the agent's default (guest/job.h), the start of
 * the device, where every mkfs and every mount writes. */
#define PH_SAVED_DIGEST_BYTES (1u << 20)

struct ph_saved {
    char *path;    /* the saved state (in the run's private directory) */
    char *xml;     /* the domain XML as libvirt saved it */
    char *console; /* the base boot's console log (a restore names its own) */
    char *name;    /* the domain's name: every restore takes it again */
    char *chan_sock;
    double seconds; /* the base boot and the save */
};

/* Boot spec (pmem_path NULL, a base command line) and save it to path: it
 * waits up to timeout seconds for the guest's `job?`. -1 with pm_set_error
 * (the domain is gone either way). */
int ph_saved_make(struct ph_virt *v, struct ph_saved *s, const struct ph_vm_spec *spec,
                  const char *path, double timeout);

/* Remove the saved state and free s. */
void ph_saved_free(struct ph_saved *s);

/* One restore: the VM with its console at console, the virtio-pmem device
 * on pmem_path (size bytes) hot-plugged, running, its channel connected
 * (chan) and sent `job time=... entropy=... PARAMS`. *restore_s: seconds from
 * the restore to the job sent. NULL with pm_set_error. */
virDomainPtr ph_saved_restore(struct ph_virt *v, const struct ph_saved *s, const char *console,
                              const char *pmem_path, int64_t size, const char *params,
                              struct pm_lines *chan, double *restore_s);

/* crc32c of the first bytes of a file (the FUSE view), as the guest's
 * `pmemcut-agent digest` computes it of /dev/pmem0. -1 with pm_set_error. */
int ph_saved_digest(const char *path, uint64_t bytes, uint32_t *crc);

/* Wait (up to timeout s) for the channel line that starts with word (the
 * rest in *rest, malloc'd, or NULL), while dom runs; other lines are an
 * error ("the restored guest said ... before ..."). -1 with pm_set_error. */
int ph_saved_expect(struct pm_lines *chan, virDomainPtr dom, const char *word, double timeout,
                    char **rest);

#endif
