/* virt.c — see virt.h. */
#include "virt.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

static char virt_error[512];

/* Keep libvirt's last error for our own one-line message instead of letting
 * libvirt print it to stderr. */
static void on_error(void *opaque, virErrorPtr err)
{
    (void)opaque;
    snprintf(virt_error, sizeof virt_error, "%s", err && err->message ? err->message : "?");
}

const char *ph_virt_error(void)
{
    return virt_error[0] ? virt_error : "unknown libvirt error";
}

/* libvirt needs an event loop running for the embedded driver (and for
 * keepalive/autodestroy on remote connections). It runs for the life of
 * the process. */
static void *event_loop(void *arg)
{
    (void)arg;
    for (;;)
        virEventRunDefaultImpl();
    return NULL;
}

static int start_event_loop(void)
{
    static bool started;
    if (started)
        return 0;
    if (virEventRegisterDefaultImpl() < 0) {
        pm_set_error("libvirt: cannot register the event loop: %s", ph_virt_error());
        return -1;
    }
    pthread_t t;
    sigset_t all, old;
    /* The loop thread must not take our SIGINT/SIGTERM. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = pthread_create(&t, NULL, event_loop, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        pm_set_error("pthread_create: %s", strerror(r));
        return -1;
    }
    pthread_detach(t);
    started = true;
    return 0;
}

/* The embedded driver probes QEMU's capabilities (some 4 s under TCG) into
 * ROOT/cache unless it finds them there. Our roots are new each run, so
 * their cache is one shared directory (libvirt checks that an entry still
 * matches the QEMU binary before it uses it). Best effort. */
static void share_cache(const char *root)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *dir = xdg && *xdg     ? ph_strf("%s/pmemcut/libvirt-cache", xdg)
                : home && *home ? ph_strf("%s/.cache/pmemcut/libvirt-cache", home)
                                : NULL;
    if (!dir)
        return;
    if (ph_mkdirs(dir, 0700) == 0) {
        char *link = ph_strf("%s/cache", root);
        int r = symlink(dir, link); /* on failure, a private cache */
        (void)r;
        free(link);
    }
    free(dir);
}

/* The cache entry also records the host's CPUID as libvirt read it when
 * the driver started, and a different one makes it re-probe (and delete
 * the entry). CPUID differs from core to core (the APIC IDs in leaves 1
 * and 0xb), so a run that started on another core than the run that wrote
 * the entry probed again: every other run or so, some 4.5 s in its first
 * VM start. So the driver starts on one fixed core, the lowest we may run
 * on. Threads libvirt creates meanwhile keep that affinity; QEMU does not
 * (libvirt gives it every host CPU). *old is what to restore; false when
 * nothing was changed. */
static bool pin_to_first_cpu(cpu_set_t *old)
{
    if (sched_getaffinity(0, sizeof *old, old) < 0)
        return false;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, old))
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        return sched_setaffinity(0, sizeof one, &one) == 0;
    }
    return false;
}

int ph_virt_open(struct ph_virt *v, const char *uri, const char *rundir, const char *log)
{
    memset(v, 0, sizeof *v);
    /* libvirt (the embedded driver above all) logs warnings to stderr; our
     * own error line says what failed, so its log goes to a file. */
    char *outputs = ph_strf("3:file:%s", log ? log : "/dev/null");
    setenv("LIBVIRT_LOG_OUTPUTS", outputs, 0);
    free(outputs);
    virSetErrorFunc(NULL, on_error);
    if (start_event_loop() < 0)
        return -1;
    if (!uri && !rundir) {
        v->uri = NULL; /* libvirt's own default (LIBVIRT_DEFAULT_URI, ...) */
    } else if (!uri) {
        v->embed_root = ph_strf("%s/libvirt", rundir);
        char *etc = ph_strf("%s/etc", v->embed_root);
        char *conf = ph_strf("%s/qemu.conf", etc);
        /* stdio_handler=file: QEMU's stderr and file chardevs are written
         * directly, so no virtlogd daemon is needed. QEMU runs as we do:
         * our private directories (mode 0700) and the output directory are
         * then reachable without changing any ownership. */
        const char *text = "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n";
        int r = ph_mkdirs(etc, 0755) < 0 ? -1 : ph_write_file(conf, text, strlen(text));
        free(etc);
        free(conf);
        if (r < 0)
            return -1;
        share_cache(v->embed_root);
        v->uri = ph_strf("qemu:///embed?root=%s", v->embed_root);
    } else {
        v->uri = ph_strf("%s", uri);
    }
    cpu_set_t cpus;
    bool pinned = v->embed_root && pin_to_first_cpu(&cpus);
    v->conn = virConnectOpen(v->uri);
    if (pinned)
        sched_setaffinity(0, sizeof cpus, &cpus);
    if (!v->conn) {
        pm_set_error("libvirt: cannot connect to %s: %s", v->uri ? v->uri : "the default URI",
                     ph_virt_error());
        return -1;
    }
    if (!v->uri) {
        char *u = virConnectGetURI(v->conn);
        v->uri = ph_strf("%s", u ? u : "?");
        free(u);
    }
    return 0;
}

void ph_virt_close(struct ph_virt *v)
{
    if (v->conn)
        virConnectClose(v->conn);
    v->conn = NULL;
    free(v->uri);
    free(v->embed_root);
    v->uri = v->embed_root = NULL;
}

const char *ph_mode_name(enum ph_mode m)
{
    return m == PH_MODE_NVDIMM ? "nvdimm" : "virtio-pmem";
}

int ph_mode_parse(const char *s, enum ph_mode *m)
{
    if (strcmp(s, "nvdimm") == 0)
        *m = PH_MODE_NVDIMM;
    else if (strcmp(s, "virtio-pmem") == 0)
        *m = PH_MODE_VIRTIO_PMEM;
    else
        return -1;
    return 0;
}

int64_t ph_pmem_backing_size(enum ph_mode m, int64_t data_size)
{
    if (m != PH_MODE_NVDIMM)
        return data_size;
    const int64_t align = 16 << 20; /* the guest's fsdax region alignment */
    return (data_size + align - 1) / align * align + PH_NVDIMM_LABEL;
}

/* XML attribute/text escaping for paths we put into the domain. */
static char *esc(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += (*p == '&') ? 5 : (*p == '<' || *p == '>') ? 4 : (*p == '\'' || *p == '"') ? 6 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        abort();
    for (const char *p = s; *p; p++) {
        const char *r = *p == '&'    ? "&amp;"
                        : *p == '<'  ? "&lt;"
                        : *p == '>'  ? "&gt;"
                        : *p == '\'' ? "&apos;"
                        : *p == '"'  ? "&quot;"
                                     : NULL;
        if (r) {
            strcpy(o, r);
            o += strlen(r);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

char *ph_xml_nvdimm(const char *path, int64_t size, int indent)
{
    char *p = esc(path);
    int i = indent;
    char *x = ph_strf("%*s<memory model='nvdimm' access='shared'>\n"
                      "%*s  <source>\n"
                      "%*s    <path>%s</path>\n"
                      "%*s  </source>\n"
                      "%*s  <target>\n"
                      "%*s    <size unit='KiB'>%lld</size>\n"
                      "%*s    <node>0</node>\n"
                      "%*s    <label>\n"
                      "%*s      <size unit='KiB'>%d</size>\n"
                      "%*s    </label>\n"
                      "%*s  </target>\n"
                      "%*s</memory>\n",
                      i, "", i, "", i, "", p, i, "", i, "", i, "", (long long)(size / 1024), i, "",
                      i, "", i, "", PH_NVDIMM_LABEL / 1024, i, "", i, "", i, "");
    free(p);
    return x;
}

char *ph_qemu_opt(const char *v)
{
    char *q = malloc(2 * strlen(v) + 1), *o = q;
    if (!q)
        abort();
    for (; *v; v++) {
        if (*v == ',')
            *o++ = ',';
        *o++ = *v;
    }
    *o = '\0';
    return q;
}

char *ph_tracer_plugin_arg(const char *tracer, const char *nvfile, const char *nbd_sock,
                           const char *counts)
{
    char *t = ph_qemu_opt(tracer), *v = ph_qemu_opt(nvfile), *s = ph_qemu_opt(nbd_sock),
         *k = ph_qemu_opt(counts);
    char *a = ph_strf("%s,arg=nvfile=%s,arg=nbd=%s,arg=counts=%s", t, v, s, k);
    free(t);
    free(v);
    free(s);
    free(k);
    return a;
}

char *ph_xml_virtio_pmem_args(const char *path, int64_t size, int indent)
{
    char *q = ph_qemu_opt(path);
    char *p = esc(q);
    free(q);
    char *x = ph_strf("%*s<qemu:arg value='-object'/>\n"
                      "%*s<qemu:arg "
                      "value='memory-backend-file,id=%s,share=on,mem-path=%s,size=%lld'/>\n"
                      "%*s<qemu:arg value='-device'/>\n"
                      "%*s<qemu:arg "
                      "value='virtio-pmem-pci,memdev=%s,id=%s,bus=pci.0,addr=0x9'/>\n",
                      indent, "", indent, "", PH_VPMEM_OBJ_ID, p, (long long)size, indent, "",
                      indent, "", PH_VPMEM_OBJ_ID, PH_VPMEM_DEV_ID);
    free(p);
    return x;
}

char *ph_domain_xml(const struct ph_vm_spec *s)
{
    char *kernel = esc(s->kernel), *initrd = esc(s->initrd), *cmdline = esc(s->cmdline);
    char *console = esc(s->console_log), *chan = esc(s->chan_sock);
    /* Both devices live in QEMU's hotplug memory region: it needs maxmem
     * (maxMemory) larger than RAM plus the device, and libvirt wants a NUMA
     * cell with it. */
    long long max_mib = s->mem_mib + (s->pmem_size >> 20) + 1024;
    char *dev = s->mode == PH_MODE_NVDIMM ? ph_xml_nvdimm(s->pmem_path, s->pmem_size, 4)
                                          : ph_strf("%s", "");
    char *qemu = s->mode == PH_MODE_VIRTIO_PMEM
                     ? ph_xml_virtio_pmem_args(s->pmem_path, s->pmem_size, 4)
                     : NULL;
    if (s->qemu_plugin) {
        char *pl = esc(s->qemu_plugin);
        char *both = ph_strf("%s    <qemu:arg value='-plugin'/>\n    <qemu:arg value='%s'/>\n",
                             qemu ? qemu : "", pl);
        free(pl);
        free(qemu);
        qemu = both;
    }
    char *qemu_block =
        qemu ? ph_strf("  <qemu:commandline>\n%s  </qemu:commandline>\n", qemu) : ph_strf("%s", "");
    char *x =
        ph_strf("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
                "  <name>%s</name>\n"
                "  <maxMemory slots='2' unit='MiB'>%lld</maxMemory>\n"
                "  <memory unit='MiB'>%d</memory>\n"
                "  <vcpu>%d</vcpu>\n"
                "  <os>\n"
                "    <type arch='x86_64' machine='pc'>hvm</type>\n"
                "    <kernel>%s</kernel>\n"
                "    <initrd>%s</initrd>\n"
                "    <cmdline>%s</cmdline>\n"
                "  </os>\n"
                "  <features>\n"
                "    <acpi/>\n"
                "  </features>\n"
                "  <cpu mode='maximum' check='none'>\n"
                "    <numa>\n"
                "      <cell id='0' cpus='0-%d' memory='%d' unit='MiB'/>\n"
                "    </numa>\n"
                "  </cpu>\n"
                "  <clock offset='utc'/>\n"
                "  <on_poweroff>destroy</on_poweroff>\n"
                "  <on_reboot>destroy</on_reboot>\n"
                "  <on_crash>destroy</on_crash>\n"
                "  <devices>\n"
                "    <serial type='file'>\n"
                "      <source path='%s'/>\n"
                "      <target port='0'/>\n"
                "    </serial>\n"
                "    <channel type='unix'>\n"
                "      <source mode='bind' path='%s'/>\n"
                "      <target type='virtio' name='org.pmemcut.agent'/>\n"
                "    </channel>\n"
                "%s"
                "    <memballoon model='none'/>\n"
                "    <controller type='usb' model='none'/>\n"
                "  </devices>\n"
                "  <seclabel type='none' model='dac'/>\n"
                "%s"
                "</domain>\n",
                s->name, max_mib, s->mem_mib, s->vcpus, kernel, initrd, cmdline, s->vcpus - 1,
                s->mem_mib, console, chan, dev, qemu_block);
    free(kernel);
    free(initrd);
    free(cmdline);
    free(console);
    free(chan);
    free(dev);
    free(qemu);
    free(qemu_block);
    return x;
}

virDomainPtr ph_vm_start(struct ph_virt *v, const char *xml)
{
    /* Autodestroy (the domain dies with our connection) is a safety net on
     * a daemon; the embedded driver refuses it, and there the domain cannot
     * outlive our process's cleanup anyway. */
    unsigned flags = v->embed_root ? 0 : VIR_DOMAIN_START_AUTODESTROY;
    virDomainPtr d = virDomainCreateXML(v->conn, xml, flags);
    if (!d)
        pm_set_error("libvirt: cannot start the VM: %s", ph_virt_error());
    return d;
}

bool ph_vm_running(virDomainPtr dom)
{
    if (!dom)
        return false;
    int state = 0, reason = 0;
    if (virDomainGetState(dom, &state, &reason, 0) < 0)
        return false; /* a transient domain that ended is gone */
    return state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED;
}

void ph_vm_destroy(virDomainPtr *dom)
{
    if (!*dom)
        return;
    if (ph_vm_running(*dom))
        virDomainDestroy(*dom);
    virDomainFree(*dom);
    *dom = NULL;
}

char *ph_vm_qemu_log(struct ph_virt *v, const char *name)
{
    if (!v->embed_root)
        return NULL;
    return ph_strf("%s/log/qemu/%s.log", v->embed_root, name);
}
