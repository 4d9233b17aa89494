/* serve.c — `pmemcut-host serve`: the device for a VM the user brings. It
 * runs nbdkit with the plugin and the FUSE view, prints where everything is
 * and the libvirt XML for both modes (for nvdimm under the ADR cache model,
 * the tracer's -plugin argument too), and stays up until SIGINT/SIGTERM. */
#include "host.h"
#include "proc.h"
#include "util.h"
#include "virt.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/entities.h>

#include "model/model.h"
#include "utils/parse.h"

char *ph_view_dir(const char *image)
{
    return ph_strf("%s.view", image);
}

char *ph_serve_nbd_link(const char *image)
{
    return ph_strf("%s.nbd", image);
}

char *ph_serve_tracer_counts(const char *image)
{
    return ph_strf("%s.tracer.json", image);
}

char *ph_serve_tracer_arg(const char *tracer, const char *image)
{
    char *vdir = ph_view_dir(image), *view = ph_strf("%s/nbd", vdir);
    char *sock = ph_serve_nbd_link(image), *counts = ph_serve_tracer_counts(image);
    char *arg = ph_tracer_plugin_arg(tracer, view, sock, counts);
    free(vdir);
    free(view);
    free(sock);
    free(counts);
    return arg;
}

int ph_cache_model_parse(const char *cmd, const char *s, bool *adr)
{
    if (strcmp(s, "adr") != 0 && strcmp(s, "eadr") != 0) {
        pm_set_error("%s: --cache-model must be adr or eadr", cmd);
        return -1;
    }
    *adr = strcmp(s, "adr") == 0;
    return 0;
}

char *ph_tracer_checked(const char *cmd)
{
    char *t = ph_find_tracer();
    if (access(t, R_OK) != 0) {
        pm_set_error("%s%sADR tracer %s not found (build it: make), or give --cache-model eadr",
                     cmd ? cmd : "", cmd ? ": " : "", t);
        free(t);
        return NULL;
    }
    return t;
}

static void serve_usage(void)
{
    printf("usage: pmemcut-host serve --file IMG --size SIZE [--policy P] [--seed N]\n"
           "                          [--cache-model adr|eadr] [--no-data-log]\n"
           "  --file    the persisted image (created if missing; kept at exit)\n"
           "  --size    device size, e.g. 258M (for nvdimm: a multiple of 16M plus 2M of\n"
           "            namespace labels; virtio-pmem takes any multiple of 4K)\n"
           "  --policy  fate of unpersisted lines at a cut: lose-all (default), keep-all,\n"
           "            random, torn, prefix\n"
           "  --seed    the seed of the cuts' random fates\n"
           "  --cache-model  for an nvdimm: adr (default; the nvdimm XML gets the tracer's\n"
           "            -plugin argument, for a TCG domain) or eadr (no tracer)\n"
           "  --no-data-log  keep no IMG.dlog (the payload of every write, for pmemcut-replay)\n"
           "The control socket is IMG.ctl, the audit log IMG.audit.jsonl, the data log\n"
           "IMG.dlog (both appended to across serves of the same image), the file\n"
           "QEMU maps is IMG.view/nbd, the device's NBD socket IMG.nbd and the tracer's\n"
           "counts IMG.tracer.json (pmemcut-host attach uses the same names).\n");
}

static void print_xml(const char *view, int64_t size, const char *plugin)
{
    char *nv = ph_xml_nvdimm(view, size, 4);
    char *vp = ph_xml_virtio_pmem_args(view, size, 4);
    printf("\n# nvdimm: in <devices>; the domain also needs <maxMemory slots='2' ...> larger than\n"
           "# its memory plus the device, a NUMA cell (<cpu><numa><cell .../></numa></cpu>)\n"
           "# and <features><acpi/></features>. In the guest: ndctl create-namespace -f -e\n"
           "# namespace0.0 --mode=fsdax --map=mem, then mount -o dax.\n");
    if (size <= PH_NVDIMM_LABEL || (size - PH_NVDIMM_LABEL) % (16 << 20))
        printf(
            "# (this size does not suit an nvdimm: serve a multiple of 16M plus 2M, e.g. 258M)\n");
    printf("%s", nv);
    if (plugin) {
        xmlChar *pl = xmlEncodeSpecialChars(NULL, (const xmlChar *)plugin);
        printf("\n# nvdimm under the ADR cache model: the tracer, in <qemu:commandline> (<domain>\n"
               "# needs xmlns:qemu as below, and type='qemu': it is a TCG plugin, KVM runs none).\n"
               "# Persist the label area from the host after making the namespace (sync\n"
               "# %s): QEMU's label writes are no CPU stores.\n"
               "  <qemu:commandline>\n"
               "    <qemu:arg value='-plugin'/>\n"
               "    <qemu:arg value=\"%s\"/>\n"
               "  </qemu:commandline>\n",
               view, (const char *)pl);
        xmlFree(pl);
    }
    printf(
        "\n# virtio-pmem: <domain> needs xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0',\n"
        "# maxMemory and a NUMA cell as above; PCI slot 0x9 must be free (or change addr=).\n"
        "  <qemu:commandline>\n%s  </qemu:commandline>\n\n",
        vp);
    free(nv);
    free(vp);
}

int ph_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"file", required_argument, NULL, 'f'},
        {"size", required_argument, NULL, 'z'},
        {"policy", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 'S'},
        {"cache-model", required_argument, NULL, 'M'},
        {"no-data-log", no_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *size = NULL;
    bool no_data_log = false, adr = true;
    struct ph_device d = {0};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 'z':
            size = optarg;
            break;
        case 'p':
            d.policy = optarg;
            break;
        case 'S':
            if (ph_parse_uint("--seed", optarg, UINT64_MAX, &d.seed) < 0)
                return PM_EXIT_USAGE;
            d.have_seed = true;
            break;
        case 'M':
            if (ph_cache_model_parse("serve", optarg, &adr) < 0)
                return PM_EXIT_USAGE;
            break;
        case 'D':
            no_data_log = true;
            break;
        case 'h':
            serve_usage();
            return 0;
        default:
            pm_set_error("serve: unknown or incomplete option '%s'", argv[optind - 1]);
            return PM_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        pm_set_error("serve: unexpected argument '%s'", argv[optind]);
        return PM_EXIT_USAGE;
    }
    if (!file || !size) {
        pm_set_error("serve: --file IMG and --size SIZE are required");
        return PM_EXIT_USAGE;
    }
    /* The plugin's own parser: nbdkit must not be what finds a bad one. */
    enum pm_policy policy;
    if (d.policy && pm_policy_parse(d.policy, &policy) < 0) {
        pm_set_error("serve: --policy must be one of: lose-all, keep-all, random, torn, prefix");
        return PM_EXIT_USAGE;
    }
    uint64_t bytes;
    if (pm_parse_size(size, INT64_MAX, &bytes) < 0 || bytes == 0 || bytes % 4096) {
        pm_set_error("serve: --size: '%s' is not a size in whole 4 KiB pages (like 256M)", size);
        return PM_EXIT_USAGE;
    }
    d.size = (int64_t)bytes;
    d.image = ph_abspath(file);
    if (!d.image)
        return PM_EXIT_USAGE;
    int ret = PM_EXIT_USAGE;
    char *rundir = NULL, *tracer = NULL, *plugin_arg = NULL, *link = NULL, *counts = NULL;
    /* adr needs the tracer: say so now, not when the user's domain starts */
    if (adr && !(tracer = ph_tracer_checked("serve")))
        goto out;
    d.plugin = ph_find_plugin();
    if (access(d.plugin, R_OK) != 0) {
        pm_set_error("device plugin %s not found (build it: make)", d.plugin);
        goto out;
    }
    rundir = ph_make_rundir();
    if (!rundir)
        goto out;
    chmod(rundir, 0755);
    d.control = ph_strf("%s.ctl", d.image);
    d.audit = ph_strf("%s.audit.jsonl", d.image);
    d.data_log = no_data_log ? NULL : ph_strf("%s.dlog", d.image);
    d.nbd_sock = ph_strf("%s/nbd.sock", rundir);
    d.mnt = ph_view_dir(d.image);
    d.logdir = rundir;
    if (ph_device_start(&d) < 0)
        goto out;
    /* A name for the NBD socket that does not change from serve to serve,
     * for the tracer's nbd= in a domain's definition (attach writes it). */
    link = ph_serve_nbd_link(d.image);
    unlink(link);
    if (symlink(d.nbd_sock, link) < 0) {
        pm_set_error("serve: symlink %s: %s", link, strerror(errno));
        free(link);
        link = NULL;
        goto out;
    }
    if (tracer) {
        plugin_arg = ph_serve_tracer_arg(tracer, d.image);
        counts = ph_serve_tracer_counts(d.image);
    }
    printf("image:   %s\n"
           "control: %s\n"
           "audit:   %s\n"
           "data:    %s\n"
           "view:    %s (the file QEMU maps)\n"
           "nbd:     unix:%s\n"
           "cache:   %s%s%s\n",
           d.image, d.control, d.audit, d.data_log ? d.data_log : "(none: --no-data-log)", d.view,
           link, adr ? "adr (nvdimm: the ADR tracer in QEMU; its counts " : "eadr",
           adr ? counts : "", adr ? ")" : "");
    print_xml(d.view, d.size, plugin_arg);
    printf("serving (nbdkit pid %d); stop with Ctrl-C\n", (int)d.nbdkit_pid);
    fflush(stdout);
    while (!ph_interrupted) {
        if (!ph_nbdkit_alive(&d)) {
            char *log = ph_strf("%s/nbdkit.log", rundir);
            char *tail = ph_log_tail(log);
            pm_set_error("nbdkit exited%s%s", *tail ? ": " : "", tail);
            free(tail);
            free(log);
            goto out;
        }
        pm_sleep(0.2, &ph_interrupted);
    }
    ph_interrupted = 0; /* an asked-for stop is a clean exit */
    ret = 0;
out:
    if (link)
        unlink(link);
    ph_device_stop(&d);
    if (d.mnt)
        rmdir(d.mnt);
    if (rundir)
        ph_remove_tree(rundir);
    if (ret == 0)
        printf("stopped; image %s, audit log %s%s%s kept\n", d.image, d.audit,
               d.data_log ? " and data log " : "", d.data_log ? d.data_log : "");
    free(rundir);
    free(link);
    free(tracer);
    free(plugin_arg);
    free(counts);
    free(d.image);
    free(d.plugin);
    free(d.control);
    free(d.audit);
    free(d.data_log);
    free(d.nbd_sock);
    free(d.mnt);
    free(d.view);
    return ret;
}
