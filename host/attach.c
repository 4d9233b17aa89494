/* attach.c — `pmemcut-host attach` and `detach`: put the served device into
 * an existing domain's persistent definition with the smallest change that
 * works, and take exactly that change out again.
 *
 * What attach may add, and how detach knows:
 *   nvdimm       <memory model='nvdimm'> with alias ua-pmemcut0; under the
 *                ADR cache model (the default) also the tracer: two
 *                <qemu:arg>, -plugin and its argument (the tracer's
 *                nvfile= and counts=, whatever the tracer's path), in
 *                <qemu:commandline>
 *   virtio-pmem  four <qemu:arg> (ids pmemcut-mem0, pmemcut-pmem0), inside a
 *                <qemu:commandline> that is created if missing
 *   both         <maxMemory> (QEMU's hotplug region holds either device) and a
 *                NUMA cell (libvirt wants one with maxMemory), when missing
 * Everything beyond the device itself is listed in a metadata element
 * <pmemcut:attach added="..."/>, which detach reads and removes last. */
#include "host.h"
#include "util.h"
#include "virt.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "utils/vec.h"

#define QEMU_NS      "http://libvirt.org/schemas/domain/qemu/1.0"
#define PMEMCUT_NS   "urn:pmemcut:attach:1"
#define NVDIMM_ALIAS "ua-pmemcut0"

/* --- small libxml2 helpers ---------------------------------------------------- */

static bool is_el(xmlNodePtr n, const char *name, const char *ns)
{
    if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return false;
    if (!ns)
        return n->ns == NULL;
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *ns)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (is_el(n, name, ns))
            return n;
    return NULL;
}

static char *attr(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    char *s = v ? ph_strf("%s", (char *)v) : NULL;
    xmlFree(v);
    return s;
}

static long long text_ll(xmlNodePtr n)
{
    xmlChar *v = xmlNodeGetContent(n);
    long long x = v ? strtoll((char *)v, NULL, 10) : 0;
    xmlFree(v);
    return x;
}

/* A libvirt scaled size in KiB (unit= defaults to KiB). */
static long long kib(xmlNodePtr n)
{
    if (!n)
        return 0;
    long long v = text_ll(n);
    char *u = attr(n, "unit");
    long long k = v;
    if (u) {
        if (strcmp(u, "b") == 0 || strcmp(u, "bytes") == 0)
            k = v / 1024;
        else if (u[0] == 'M' || u[0] == 'm')
            k = v * 1024;
        else if (u[0] == 'G' || u[0] == 'g')
            k = v * 1024 * 1024;
        else if (u[0] == 'T' || u[0] == 't')
            k = v * 1024 * 1024 * 1024;
    }
    free(u);
    return k;
}

static xmlNodePtr parse_node(xmlDocPtr doc, const char *xml)
{
    xmlNodePtr out = NULL;
    if (xmlParseInNodeContext(xmlDocGetRootElement(doc), xml, (int)strlen(xml), XML_PARSE_NOBLANKS,
                              &out) != XML_ERR_OK)
        return NULL;
    return out;
}

/* Our canonical text for a document: the root element, indented. */
static char *dump(xmlDocPtr doc)
{
    xmlBufferPtr b = xmlBufferCreate();
    xmlNodeDump(b, doc, xmlDocGetRootElement(doc), 0, 1);
    char *s = ph_strf("%s\n", (const char *)xmlBufferContent(b));
    xmlBufferFree(b);
    return s;
}

static xmlDocPtr parse_doc(const char *xml)
{
    return xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                         XML_PARSE_NOBLANKS | XML_PARSE_NONET);
}

/* --- a line diff for --dry-run (LCS; domain XMLs are a few hundred lines) --- */

/* The lines of s (split in place); out of memory aborts, as ph_strf does. */
static char **split_lines(char *s, int *n)
{
    PM_VEC(char *) v = {0};
    for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
        if (PM_VEC_PUSH(&v, l) < 0)
            abort();
    *n = (int)v.len;
    return v.v;
}

static void print_diff(const char *a_text, const char *b_text)
{
    char *a_s = ph_strf("%s", a_text), *b_s = ph_strf("%s", b_text);
    int na, nb;
    char **a = split_lines(a_s, &na), **b = split_lines(b_s, &nb);
    int *t = calloc((size_t)(na + 1) * (nb + 1), sizeof *t);
#define T(i, j) t[(i) * (nb + 1) + (j)]
    for (int i = na - 1; i >= 0; i--)
        for (int j = nb - 1; j >= 0; j--)
            T(i, j) = strcmp(a[i], b[j]) == 0     ? T(i + 1, j + 1) + 1
                      : T(i + 1, j) > T(i, j + 1) ? T(i + 1, j)
                                                  : T(i, j + 1);
    /* Walk the table into an edit script, then print changes with two
     * lines of context, unified-diff style. */
    int cap = na + nb + 1, ne = 0;
    char *op = malloc(cap);
    const char **line = malloc(cap * sizeof *line);
    int i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && strcmp(a[i], b[j]) == 0) {
            op[ne] = ' ', line[ne++] = a[i++], j++;
        } else if (j < nb && (i == na || T(i, j + 1) > T(i + 1, j))) {
            op[ne] = '+', line[ne++] = b[j++];
        } else {
            op[ne] = '-', line[ne++] = a[i++];
        }
    }
    int last = -100;
    for (int e = 0; e < ne; e++) {
        bool near = false;
        for (int d = e - 2; d <= e + 2; d++)
            near |= d >= 0 && d < ne && op[d] != ' ';
        if (!near)
            continue;
        if (e != last + 1)
            printf("@@\n");
        printf("%c%s\n", op[e], line[e]);
        last = e;
    }
    free(op);
    free(line);
#undef T
    free(t);
    free(a);
    free(b);
    free(a_s);
    free(b_s);
}

/* --- attach ----------------------------------------------------------------- */

struct change {
    char added[256]; /* words: maxMemory cpu numa metadata qemu-commandline */
};

static void note(struct change *ch, const char *what)
{
    size_t n = strlen(ch->added);
    snprintf(ch->added + n, sizeof ch->added - n, "%s%s", n ? " " : "", what);
}

static bool noted(const char *added, const char *what)
{
    size_t n = strlen(what);
    for (const char *p = added; (p = strstr(p, what)); p += n)
        if ((p == added || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* maxMemory and a NUMA cell, when the domain has none. */
static int ensure_hotplug(xmlDocPtr doc, xmlNodePtr root, long long dev_kib, struct change *ch)
{
    long long mem = kib(child(root, "memory", NULL));
    xmlNodePtr vcpu = child(root, "vcpu", NULL);
    long long vcpus = vcpu ? text_ll(vcpu) : 1;
    if (mem <= 0) {
        pm_set_error("the domain has no <memory> size");
        return -1;
    }
    xmlNodePtr maxm = child(root, "maxMemory", NULL);
    if (!maxm) {
        long long max = mem + dev_kib + 1024 * 1024;
        char *x = ph_strf("<maxMemory slots='2' unit='KiB'>%lld</maxMemory>", max);
        xmlNodePtr n = parse_node(doc, x);
        free(x);
        xmlNodePtr after = child(root, "memory", NULL);
        xmlAddPrevSibling(after, n);
        note(ch, "maxMemory");
    } else {
        char *slots = attr(maxm, "slots");
        bool ok = slots && atoi(slots) >= 1 && kib(maxm) >= mem + dev_kib;
        free(slots);
        if (!ok) {
            pm_set_error("the domain's <maxMemory> has no free slot or room for %lld KiB more: "
                         "raise it first",
                         dev_kib);
            return -1;
        }
    }
    xmlNodePtr cpu = child(root, "cpu", NULL);
    if (!child(cpu, "numa", NULL)) {
        char *cell = ph_strf("<numa><cell id='0' cpus='0-%lld' memory='%lld' unit='KiB'/></numa>",
                             vcpus - 1, mem);
        if (!cpu) {
            cpu = xmlNewChild(root, NULL, (const xmlChar *)"cpu", NULL);
            /* libvirt's place for <cpu> is after <features>; order is free. */
            note(ch, "cpu");
        } else {
            note(ch, "numa");
        }
        xmlAddChild(cpu, parse_node(doc, cell));
        free(cell);
    }
    return 0;
}

static int pick_pci_slot(xmlNodePtr n, bool used[32])
{
    for (; n; n = n->next) {
        if (is_el(n, "address", NULL)) {
            char *type = attr(n, "type"), *bus = attr(n, "bus"), *slot = attr(n, "slot");
            if (type && strcmp(type, "pci") == 0 && bus && strtol(bus, NULL, 0) == 0 && slot) {
                long s = strtol(slot, NULL, 0);
                if (s >= 0 && s < 32)
                    used[s] = true;
            }
            free(type);
            free(bus);
            free(slot);
        }
        pick_pci_slot(n->children, used);
    }
    return 0;
}

/* The domain's <qemu:commandline>, made (and noted) if it has none. */
static xmlNodePtr qemu_commandline(xmlDocPtr doc, xmlNodePtr root, xmlNsPtr *ns, struct change *ch)
{
    *ns = xmlSearchNsByHref(doc, root, (const xmlChar *)QEMU_NS);
    if (!*ns)
        *ns = xmlNewNs(root, (const xmlChar *)QEMU_NS, (const xmlChar *)"qemu");
    xmlNodePtr cl = child(root, "commandline", QEMU_NS);
    if (!cl) {
        cl = xmlNewChild(root, *ns, (const xmlChar *)"commandline", NULL);
        note(ch, "qemu-commandline");
    }
    return cl;
}

static void add_qemu_arg(xmlNodePtr cl, xmlNsPtr ns, const char *value)
{
    xmlNodePtr arg = xmlNewChild(cl, ns, (const xmlChar *)"arg", NULL);
    xmlSetProp(arg, (const xmlChar *)"value", (const xmlChar *)value);
}

/* The ADR tracer (a TCG plugin): QEMU loads it with -plugin. KVM runs no
 * plugins, so a domain that is not type='qemu' is refused rather than given
 * a model that would not run. */
static int add_tracer(xmlDocPtr doc, xmlNodePtr root, const char *image, struct change *ch)
{
    char *type = attr(root, "type");
    bool tcg = type && strcmp(type, "qemu") == 0;
    if (!tcg) {
        pm_set_error("--cache-model adr needs a TCG domain (<domain type='qemu'>), this one is "
                     "'%s': give --cache-model eadr",
                     type ? type : "(none)");
        free(type);
        return -1;
    }
    free(type);
    char *tracer = ph_tracer_checked(NULL); /* the caller names the command and domain */
    if (!tracer)
        return -1;
    xmlNsPtr ns;
    xmlNodePtr cl = qemu_commandline(doc, root, &ns, ch);
    char *arg = ph_serve_tracer_arg(tracer, image);
    add_qemu_arg(cl, ns, "-plugin");
    add_qemu_arg(cl, ns, arg);
    free(arg);
    free(tracer);
    return 0;
}

static int add_virtio_pmem(xmlDocPtr doc, xmlNodePtr root, const char *view, int64_t size,
                           struct change *ch)
{
    bool used[32] = {false};
    used[0] = used[1] = used[2] = true; /* host bridge, ISA bridge, VGA by habit */
    pick_pci_slot(root->children, used);
    int slot = 9;
    while (slot < 32 && used[slot])
        slot++;
    if (slot == 32) {
        pm_set_error("no free PCI slot on bus 0 for the virtio-pmem device");
        return -1;
    }
    xmlNodePtr os = child(root, "os", NULL);
    char *machine = attr(child(os, "type", NULL), "machine");
    const char *bus = machine && strstr(machine, "q35") ? "pcie.0" : "pci.0";
    free(machine);

    xmlNsPtr ns;
    xmlNodePtr cl = qemu_commandline(doc, root, &ns, ch);
    char *args = ph_xml_virtio_pmem_args(view, size, 0);
    char *addr = ph_strf("bus=%s,addr=0x%x'", bus, slot);
    /* The builder writes bus=pci.0,addr=0x9: put the chosen place instead. */
    char *p = strstr(args, "bus=pci.0,addr=0x9'");
    char *fixed =
        p ? ph_strf("%.*s%s%s", (int)(p - args), args, addr, p + strlen("bus=pci.0,addr=0x9'"))
          : ph_strf("%s", args);
    char *wrapped = ph_strf("<x xmlns:qemu='%s'>%s</x>", QEMU_NS, fixed);
    xmlDocPtr tmp = parse_doc(wrapped);
    int r = -1;
    if (tmp) {
        for (xmlNodePtr n = xmlDocGetRootElement(tmp)->children; n; n = n->next) {
            if (n->type != XML_ELEMENT_NODE)
                continue;
            char *v = attr(n, "value");
            add_qemu_arg(cl, ns, v);
            free(v);
        }
        xmlFreeDoc(tmp);
        r = 0;
    } else {
        pm_set_error("internal: bad virtio-pmem argument XML");
    }
    free(args);
    free(addr);
    free(fixed);
    free(wrapped);
    return r;
}

static int add_nvdimm(xmlDocPtr doc, xmlNodePtr root, const char *view, int64_t size)
{
    xmlNodePtr devices = child(root, "devices", NULL);
    if (!devices)
        devices = xmlNewChild(root, NULL, (const xmlChar *)"devices", NULL);
    char *x = ph_xml_nvdimm(view, size, 0);
    char *with_alias = ph_strf("%.*s<alias name='%s'/></memory>", (int)(strstr(x, "</memory>") - x),
                               x, NVDIMM_ALIAS);
    xmlNodePtr n = parse_node(doc, with_alias);
    free(x);
    free(with_alias);
    if (!n) {
        pm_set_error("internal: bad nvdimm XML");
        return -1;
    }
    xmlAddChild(devices, n);
    return 0;
}

static xmlNodePtr find_marker(xmlNodePtr root)
{
    return child(child(root, "metadata", NULL), "attach", PMEMCUT_NS);
}

static int do_attach(xmlDocPtr doc, const char *image, enum ph_mode mode, bool adr)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (find_marker(root)) {
        pm_set_error("a pmemcut device is already attached to this domain (detach it first)");
        return -1;
    }
    struct stat st;
    if (stat(image, &st) < 0 || st.st_size <= 0) {
        pm_set_error("--file %s: not found or empty (start pmemcut-host serve first)", image);
        return -1;
    }
    int64_t size = st.st_size;
    if (mode == PH_MODE_NVDIMM &&
        (size <= PH_NVDIMM_LABEL || (size - PH_NVDIMM_LABEL) % (16 << 20))) {
        pm_set_error("--file %s: an nvdimm needs a multiple of 16M plus 2M of labels (e.g. 258M)",
                     image);
        return -1;
    }
    char *vdir = ph_view_dir(image);
    char *view = ph_strf("%s/nbd", vdir);
    free(vdir);
    struct change ch = {{0}};
    int r = ensure_hotplug(doc, root, size / 1024, &ch);
    if (r == 0)
        r = mode == PH_MODE_NVDIMM ? add_nvdimm(doc, root, view, size)
                                   : add_virtio_pmem(doc, root, view, size, &ch);
    if (r == 0 && adr)
        r = add_tracer(doc, root, image, &ch);
    free(view);
    if (r < 0)
        return -1;
    xmlNodePtr md = child(root, "metadata", NULL);
    if (!md) {
        md = xmlNewChild(root, NULL, (const xmlChar *)"metadata", NULL);
        note(&ch, "metadata");
    }
    xmlNodePtr m = xmlNewChild(md, NULL, (const xmlChar *)"attach", NULL);
    xmlNsPtr ns = xmlNewNs(m, (const xmlChar *)PMEMCUT_NS, (const xmlChar *)"pmemcut");
    xmlSetNs(m, ns);
    xmlSetProp(m, (const xmlChar *)"mode", (const xmlChar *)ph_mode_name(mode));
    if (mode == PH_MODE_NVDIMM)
        xmlSetProp(m, (const xmlChar *)"cache-model", (const xmlChar *)(adr ? "adr" : "eadr"));
    xmlSetProp(m, (const xmlChar *)"file", (const xmlChar *)image);
    xmlSetProp(m, (const xmlChar *)"added", (const xmlChar *)ch.added);
    /* libvirt counts an nvdimm into <memory>; detach puts the old size back. */
    char *mem = ph_strf("%lld", kib(child(root, "memory", NULL)));
    xmlSetProp(m, (const xmlChar *)"memory", (const xmlChar *)mem);
    free(mem);
    return 0;
}

/* --- detach ----------------------------------------------------------------- */

static void unlink_free(xmlNodePtr n)
{
    if (!n)
        return;
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

static bool arg_is_ours(xmlNodePtr n)
{
    if (!is_el(n, "arg", QEMU_NS))
        return false;
    char *v = attr(n, "value");
    bool ours =
        v && (strstr(v, "id=" PH_VPMEM_OBJ_ID ",") || strstr(v, "id=" PH_VPMEM_DEV_ID ",") ||
              (strstr(v, ",arg=nvfile=") && strstr(v, ",arg=counts=")));
    free(v);
    return ours;
}

static int do_detach(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr m = find_marker(root);
    if (!m) {
        pm_set_error("no pmemcut device is attached to this domain");
        return -1;
    }
    char *added = attr(m, "added");
    if (!added)
        added = ph_strf("%s", "");
    /* The device: nvdimm by its alias, virtio-pmem by its ids (each value
     * with the option word before it). */
    for (xmlNodePtr n = child(root, "devices", NULL)->children; n;) {
        xmlNodePtr next = n->next;
        xmlNodePtr alias = child(n, "alias", NULL);
        char *name = alias ? attr(alias, "name") : NULL;
        if (is_el(n, "memory", NULL) && name && strcmp(name, NVDIMM_ALIAS) == 0)
            unlink_free(n);
        free(name);
        n = next;
    }
    xmlNodePtr cl = child(root, "commandline", QEMU_NS);
    for (xmlNodePtr n = cl ? cl->children : NULL; n;) {
        xmlNodePtr next = n->next;
        if (arg_is_ours(n)) {
            xmlNodePtr prev = n->prev;
            while (prev && prev->type != XML_ELEMENT_NODE)
                prev = prev->prev;
            char *pv = prev ? attr(prev, "value") : NULL;
            if (pv && (strcmp(pv, "-object") == 0 || strcmp(pv, "-device") == 0 ||
                       strcmp(pv, "-plugin") == 0))
                unlink_free(prev);
            free(pv);
            unlink_free(n);
        }
        n = next;
    }
    if (noted(added, "qemu-commandline"))
        unlink_free(child(root, "commandline", QEMU_NS));
    if (noted(added, "cpu"))
        unlink_free(child(root, "cpu", NULL));
    else if (noted(added, "numa"))
        unlink_free(child(child(root, "cpu", NULL), "numa", NULL));
    if (noted(added, "maxMemory"))
        unlink_free(child(root, "maxMemory", NULL));
    char *mem = attr(m, "memory");
    xmlNodePtr memory = child(root, "memory", NULL);
    if (mem && memory) {
        xmlNodeSetContent(memory, (const xmlChar *)mem);
        xmlSetProp(memory, (const xmlChar *)"unit", (const xmlChar *)"KiB");
    }
    free(mem);
    unlink_free(m);
    if (noted(added, "metadata"))
        unlink_free(child(root, "metadata", NULL));
    free(added);
    return 0;
}

/* --- the command --------------------------------------------------------------- */

static void attach_usage(bool detach)
{
    if (detach)
        printf("usage: pmemcut-host detach --domain NAME [--connect URI] [--dry-run]\n"
               "Removes exactly what attach added to the domain's persistent definition.\n");
    else
        printf("usage: pmemcut-host attach --domain NAME --file IMG --mode nvdimm|virtio-pmem\n"
               "                           [--cache-model adr|eadr] [--connect URI] [--dry-run]\n"
               "Adds the device served by 'pmemcut-host serve --file IMG' (its view IMG.view/nbd)\n"
               "to the domain's persistent definition; --dry-run prints the XML difference.\n"
               "  --cache-model  nvdimm: adr (default; the ADR tracer in QEMU, -plugin in\n"
               "                 <qemu:commandline>, for a type='qemu' domain) or eadr\n");
}

int ph_cmd_attach(int argc, char **argv, bool detach)
{
    static const struct option opts[] = {
        {"domain", required_argument, NULL, 'd'},  {"file", required_argument, NULL, 'f'},
        {"mode", required_argument, NULL, 'm'},    {"cache-model", required_argument, NULL, 'M'},
        {"connect", required_argument, NULL, 'C'}, {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *cmd = detach ? "detach" : "attach";
    const char *name = NULL, *file = NULL, *mode_s = NULL, *uri = NULL, *model_s = NULL;
    bool dry = false, adr = false;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            name = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'm':
            mode_s = optarg;
            break;
        case 'M':
            model_s = optarg;
            break;
        case 'C':
            uri = optarg;
            break;
        case 'n':
            dry = true;
            break;
        case 'h':
            attach_usage(detach);
            return 0;
        default:
            pm_set_error("%s: unknown or incomplete option '%s'", cmd, argv[optind - 1]);
            return PM_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        pm_set_error("%s: unexpected argument '%s'", cmd, argv[optind]);
        return PM_EXIT_USAGE;
    }
    enum ph_mode mode = PH_MODE_NVDIMM;
    if (!name) {
        pm_set_error("%s: --domain NAME is required", cmd);
        return PM_EXIT_USAGE;
    }
    if (detach && (file || mode_s || model_s)) {
        pm_set_error(
            "detach: takes no --file, --mode or --cache-model (it removes what attach recorded)");
        return PM_EXIT_USAGE;
    }
    if (!detach && !file) {
        pm_set_error("attach: --file IMG is required");
        return PM_EXIT_USAGE;
    }
    if (!detach && (!mode_s || ph_mode_parse(mode_s, &mode) < 0)) {
        pm_set_error("attach: --mode must be nvdimm or virtio-pmem");
        return PM_EXIT_USAGE;
    }
    if (model_s && ph_cache_model_parse("attach", model_s, &adr) < 0)
        return PM_EXIT_USAGE;
    if (model_s && mode != PH_MODE_NVDIMM) {
        pm_set_error("attach: --cache-model applies to --mode nvdimm (virtio-pmem persists at its "
                     "flushes)");
        return PM_EXIT_USAGE;
    }
    /* adr is the default for nvdimm, as for run: the rigorous model */
    if (!detach && mode == PH_MODE_NVDIMM && !model_s)
        adr = true;

    int ret = PM_EXIT_USAGE;
    char *image = file ? ph_abspath(file) : NULL;
    struct ph_virt v;
    virDomainPtr dom = NULL;
    char *xml = NULL, *before = NULL, *after = NULL;
    xmlDocPtr doc = NULL;
    xmlKeepBlanksDefault(0);
    if (ph_virt_open(&v, uri, NULL, NULL) < 0)
        goto out;
    dom = virDomainLookupByName(v.conn, name);
    if (!dom) {
        pm_set_error("%s: no domain '%s' on %s", cmd, name, v.uri);
        goto out;
    }
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (!xml || !(doc = parse_doc(xml))) {
        pm_set_error("%s: cannot read the definition of '%s': %s", cmd, name, ph_virt_error());
        goto out;
    }
    before = dump(doc);
    if ((detach ? do_detach(doc) : do_attach(doc, image, mode, adr)) < 0) {
        pm_set_error("%s: %s: %s", cmd, name, pm_get_error());
        goto out;
    }
    after = dump(doc);
    if (dry) {
        print_diff(before, after);
        ret = 0;
        goto out;
    }
    virDomainPtr nd = virDomainDefineXML(v.conn, after);
    if (!nd) {
        pm_set_error("%s: libvirt refused the new definition of '%s': %s", cmd, name,
                     ph_virt_error());
        goto out;
    }
    virDomainFree(nd);
    if (detach)
        printf("detached the pmemcut device from %s\n", name);
    else
        printf("attached %s as %s%s to %s (takes effect at its next start)\n", image,
               ph_mode_name(mode), adr ? " with the ADR tracer" : "", name);
    ret = 0;
out:
    if (doc)
        xmlFreeDoc(doc);
    free(xml);
    free(before);
    free(after);
    free(image);
    if (dom)
        virDomainFree(dom);
    ph_virt_close(&v);
    return ret;
}
