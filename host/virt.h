/* virt.h — libvirt side of pmemcut-host: the connection (embedded QEMU
 * driver by default, no daemon needed; or any URI), its event loop, the
 * domain XML for both ways of showing the device to a guest, and the
 * lifecycle of the test VM. */
#ifndef PH_VIRT_H
#define PH_VIRT_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

struct ph_virt {
    virConnectPtr conn;
    char *uri;
    char *embed_root; /* set when we made an embedded root */
};

/* Open uri; when uri is NULL, libvirt's default URI if rundir is NULL too,
 * else the embedded driver rooted at rundir/libvirt (qemu.conf written
 * there so that QEMU's output goes to plain files and no virtlogd is
 * needed). The event loop thread starts on the first call. libvirt's own
 * log goes to the file log (NULL: nowhere) unless LIBVIRT_LOG_OUTPUTS says
 * otherwise. -1 with ph_error set. */
int ph_virt_open(struct ph_virt *v, const char *uri, const char *rundir, const char *log);
void ph_virt_close(struct ph_virt *v);

/* Last libvirt error, as one line. */
const char *ph_virt_error(void);

enum ph_mode { PH_MODE_VIRTIO_PMEM, PH_MODE_NVDIMM };
const char *ph_mode_name(enum ph_mode m);
int ph_mode_parse(const char *s, enum ph_mode *m);

/* nvdimm label area at the end of the backing file (label-size). Not the
 * 128 KiB minimum: libvirt rounds an nvdimm's total size up to 2 MiB, and
 * the guest kernel wants the region (total - label) aligned to 16 MiB for a
 * label-less fsdax namespace over the whole region. With a 2 MiB label both
 * hold: total = data + 2 MiB, region = data. */
#define PH_NVDIMM_LABEL (2 * 1024 * 1024)

/* Size of the device (backing file) for a data size: nvdimm rounds the data
 * up to 16 MiB and adds its label area (see PH_NVDIMM_LABEL). */
int64_t ph_pmem_backing_size(enum ph_mode m, int64_t data_size);

struct ph_vm_spec {
    const char *name;
    enum ph_mode mode;
    const char *kernel, *initrd, *cmdline;
    const char *pmem_path; /* the FUSE view */
    int64_t pmem_size;     /* bytes of the backing file (nvdimm: data + label) */
    const char *console_log;
    const char *chan_sock; /* virtio-serial org.pmemcut.agent, QEMU listens */
    int mem_mib;
    int vcpus;
    const char *qemu_plugin; /* -plugin FILE,arg=...: the ADR tracer, or NULL */
};

/* Full transient domain XML for a test VM; caller frees. */
char *ph_domain_xml(const struct ph_vm_spec *s);

/* The device parts alone (for serve and attach). nvdimm: one <memory>
 * element. virtio-pmem: the <qemu:arg> elements (without the enclosing
 * <qemu:commandline>). */
char *ph_xml_nvdimm(const char *path, int64_t size, int indent);
char *ph_xml_virtio_pmem_args(const char *path, int64_t size, int indent);
/* A value inside a QEMU option, its commas written twice (malloc'd). */
char *ph_qemu_opt(const char *v);
/* QEMU's -plugin value that loads the ADR tracer (host/tcg/) on the device
 * file NVFILE, writing what the CPU persists to the device's NBD socket and
 * its counts to COUNTS (malloc'd). */
char *ph_tracer_plugin_arg(const char *tracer, const char *nvfile, const char *nbd_sock,
                           const char *counts);
/* The QEMU ids used by the virtio-pmem arguments (detach finds them). */
#define PH_VPMEM_OBJ_ID "pmemcut-mem0"
#define PH_VPMEM_DEV_ID "pmemcut-pmem0"

/* Start a transient domain that dies with our connection. */
virDomainPtr ph_vm_start(struct ph_virt *v, const char *xml);
/* Still running? (A transient domain that powered off is gone: false.) */
bool ph_vm_running(virDomainPtr dom);
/* Stop at once and free the handle; NULL is fine. */
void ph_vm_destroy(virDomainPtr *dom);
/* Path of the QEMU log of an embedded domain, or NULL. */
char *ph_vm_qemu_log(struct ph_virt *v, const char *name);

#endif
