/* verify.c — `pmemcut-host verify`: the guest kernel's verdict on one
 * image, the ground truth that explore's verdicts are measured against.
 *
 * The image (a crash state rebuilt by `pmemcut-replay replay`, or any
 * persisted image) is copied into a private directory and the copy is the
 * guest's persistent memory, as a plain backing file: no device, no nbdkit.
 * The guest boots with pmemcut.action=verify, exactly as a run's verify
 * boot: the agent's `verify --dev` mounts the filesystem (the kernel
 * replays its journal, or refuses), unmounts, runs the checker, mounts again
 * and judges the acknowledged records we send on the channel.  The copy is
 * what the mount writes to; the image itself is never touched.
 *
 *   host                                   guest (/init + agent)
 *   copy IMG, start VM ------------------> mount (journal replay), fsck, mount
 *   ack lines + end ---------------------> judge every acknowledged record
 *   verdict JSON <------------------------ {"verdict": ...}
 *   stop the VM, remove the copy
 *
 * Every wait has a deadline (--timeout), and the VM is stopped by us on
 * every way out: a verdict, a guest that stopped or hung, an error, or
 * SIGINT/SIGTERM (main's handler sets ph_interrupted, which every wait
 * checks). */
#include "guest.h"
#include "host.h"
#include "util.h"
#include "virt.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/parse.h"
#include "utils/unixsock.h"
#include "verify/acks.h"
#include "verify/judge.h"
#include "verify/verdict.h"

#define VERIFY_TIMEOUT_DEFAULT 300.0 /* a TCG verify boot takes 5-10 s */

struct verify {
    /* Options. */
    const char *image, *fs, *acks, *expect, *console_out;
    enum ph_mode mode;
    bool json;
    double timeout; /* set by --timeout: seconds for the whole boot */

    /* Derived. */
    char *rundir, *copy, *console, *chan_sock, *kernel, *initrd, *dom_name;
    int64_t size;
    char *ack_text; /* the acks as the agent takes them, "end" included */
    size_t nacks;
    struct ph_virt virt;
    virDomainPtr dom;
};

static struct verify V; /* one per process; verify_teardown() reaches it */

static void verify_teardown(void)
{
    ph_vm_destroy(&V.dom);
    ph_virt_close(&V.virt);
    if (V.rundir)
        ph_remove_tree(V.rundir);
    free(V.rundir);
    free(V.copy);
    free(V.console);
    free(V.chan_sock);
    free(V.kernel);
    free(V.initrd);
    free(V.dom_name);
    free(V.ack_text);
    memset(&V, 0, sizeof V);
}

/* --- options ---------------------------------------------------------------- */

static void verify_usage(void)
{
    printf("usage: pmemcut-host verify --image IMG --fs ext4|xfs --acks FILE|-\n"
           "         [--mode virtio-pmem|nvdimm] [--expect durable|none] [--timeout S]\n"
           "         [--console FILE] [--json]\n"
           "  --image    the image to judge (a crash state from pmemcut-replay replay);\n"
           "             a copy is booted, the image is not changed\n"
           "  --fs       its filesystem\n"
           "  --acks     the acknowledged records: lines `ack FILE SEQ METHOD` (acks-N.txt;\n"
           "             a trailing cycle=N is accepted), - for stdin\n"
           "  --mode     how the guest sees the copy (default virtio-pmem; nvdimm: the\n"
           "             image of an nvdimm run, label area included)\n"
           "  --expect   durable (default): a lost record is a FAIL; none: allowed\n"
           "  --timeout  seconds the boot may take, verdict included (default 300)\n"
           "  --console  keep the guest's console log (its kernel messages) in FILE\n"
           "  --json     print the agent's verdict JSON (with the kernel's messages)\n"
           "Exit status: 0 PASS, 1 FAIL, 2 error.\n");
}

static int parse_verify_options(int argc, char **argv)
{
    static const struct option opts[] = {
        {"image", required_argument, NULL, 'i'},   {"fs", required_argument, NULL, 'f'},
        {"acks", required_argument, NULL, 'a'},    {"mode", required_argument, NULL, 'm'},
        {"expect", required_argument, NULL, 'e'},  {"timeout", required_argument, NULL, 't'},
        {"console", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *mode = "virtio-pmem";
    V.expect = "durable";
    V.timeout = VERIFY_TIMEOUT_DEFAULT;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            V.image = optarg;
            break;
        case 'f':
            V.fs = optarg;
            break;
        case 'a':
            V.acks = optarg;
            break;
        case 'm':
            mode = optarg;
            break;
        case 'e':
            V.expect = optarg;
            break;
        case 't':
            if (pm_parse_double(optarg, 1, 3600, &V.timeout) < 0) {
                pm_set_error("verify: --timeout: %s", pm_get_error());
                return -1;
            }
            break;
        case 'c':
            V.console_out = optarg;
            break;
        case 'j':
            V.json = true;
            break;
        case 'h':
            verify_usage();
            exit(0);
        default:
            pm_set_error("verify: unknown or incomplete option '%s' (see verify --help)",
                         argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        pm_set_error("verify: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!V.image) {
        pm_set_error("verify: --image IMG is required");
        return -1;
    }
    if (!V.fs || (strcmp(V.fs, "ext4") != 0 && strcmp(V.fs, "xfs") != 0)) {
        pm_set_error("verify: --fs must be ext4 or xfs");
        return -1;
    }
    if (!V.acks) {
        pm_set_error("verify: --acks FILE is required (- for stdin; an empty file for none)");
        return -1;
    }
    if (ph_mode_parse(mode, &V.mode) < 0) {
        pm_set_error("verify: --mode must be virtio-pmem or nvdimm");
        return -1;
    }
    if (pm_expect_parse(V.expect) < 0) {
        pm_set_error("verify: --expect must be durable or none");
        return -1;
    }
    return 0;
}

/* The image must be one the guest can be given as it is: QEMU maps the whole
 * file, and the guest's device rules are those of a run's --size. */
static int check_image(void)
{
    struct stat st;
    if (stat(V.image, &st) < 0) {
        pm_set_error("verify: --image %s: %s", V.image, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        pm_set_error("verify: --image %s: not a regular file", V.image);
        return -1;
    }
    V.size = st.st_size;
    if (V.mode == PH_MODE_VIRTIO_PMEM && (V.size % 4096 || V.size < (16 << 20))) {
        pm_set_error("verify: --image %s: %lld bytes; virtio-pmem needs a multiple of 4 KiB of "
                     "at least 16M",
                     V.image, (long long)V.size);
        return -1;
    }
    if (V.mode == PH_MODE_NVDIMM &&
        (V.size <= PH_NVDIMM_LABEL ||
         ph_pmem_backing_size(V.mode, V.size - PH_NVDIMM_LABEL) != V.size)) {
        pm_set_error("verify: --image %s: %lld bytes; an nvdimm image is a multiple of 16M plus "
                     "its 2M label area",
                     V.image, (long long)V.size);
        return -1;
    }
    return 0;
}

/* Drops a trailing " cycle=N" (the host's acks-N.txt names the cycle; the
 * agent's parser may not take it). */
static void strip_cycle(char *line)
{
    size_t n = strcspn(line, "\r\n");
    line[n] = '\0';
    char *sp = strrchr(line, ' ');
    if (sp && strncmp(sp + 1, "cycle=", 6) == 0 && sp[7] &&
        strspn(sp + 7, "0123456789") == strlen(sp + 7))
        *sp = '\0';
}

/* Reads the acks, checks each as the agent would (so that a bad line is our
 * one-line error, not the guest's), and keeps them as the agent's lines. */
static int read_acks(void)
{
    FILE *f = strcmp(V.acks, "-") == 0 ? stdin : fopen(V.acks, "re");
    if (!f) {
        pm_set_error("verify: --acks %s: %s", V.acks, strerror(errno));
        return -1;
    }
    char *line = NULL, *text = NULL;
    size_t cap = 0, tlen = 0;
    FILE *out = open_memstream(&text, &tlen);
    unsigned long long lineno = 0;
    int rc = out ? 0 : -1;
    if (!out)
        pm_set_error("verify: out of memory");
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        struct pm_ack a;
        char why[200], buf[PM_ACK_FILE_MAX + 64];
        lineno++;
        strip_cycle(line);
        int r = pm_ack_parse(line, &a, why, sizeof why);
        if (r == 1)
            break;
        if (r == 2)
            continue;
        if (r == -1) {
            pm_set_error("verify: --acks %s: line %llu: %s", V.acks, lineno, why);
            rc = -1;
        } else if (pm_layout_of(a.file, NULL) == PM_LAYOUT_UNKNOWN) {
            pm_set_error("verify: --acks %s: line %llu: '%s' is no workload's file", V.acks, lineno,
                         a.file);
            rc = -1;
        } else {
            pm_ack_format(buf, sizeof buf, a.file, a.seq, a.method);
            fputs(buf, out);
            V.nacks++;
        }
    }
    if (rc == 0 && ferror(f)) {
        pm_set_error("verify: --acks %s: %s", V.acks, strerror(errno));
        rc = -1;
    }
    if (out) {
        fputs("end\n", out);
        fclose(out);
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (rc == 0)
        V.ack_text = text;
    else
        free(text);
    return rc;
}

/* --- the copy ------------------------------------------------------------------ */

/* Copies [from, to) of in to the same place in out: copy_file_range, or
 * read and write where it cannot (another filesystem).  0, or -1 with
 * errno. */
static int copy_range(int in, int out, off_t from, off_t to)
{
    static char buf[1 << 20];
    bool plain = false;
    while (from < to) {
        size_t want = (size_t)(to - from) < sizeof buf ? (size_t)(to - from) : sizeof buf;
        ssize_t n;
        if (!plain) {
            off_t o_in = from, o_out = from;
            n = copy_file_range(in, &o_in, out, &o_out, want, 0);
            if (n < 0 &&
                (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                plain = true;
                continue;
            }
        } else {
            n = pread(in, buf, want, from);
            if (n > 0 && pm_pwrite_all(out, buf, (size_t)n, from) < 0)
                return -1;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file shrank under us */
            return -1;
        }
        from += n;
    }
    return 0;
}

/* Copies the image, holes kept as holes (a crash state of a 256 MiB device
 * is mostly zeros). */
static int copy_image(void)
{
    int in = open(V.image, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(V.copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = in < 0 || out < 0 ? -1 : 0;
    const char *what = in < 0 ? V.image : V.copy;
    for (off_t pos = 0; rc == 0 && pos < V.size;) {
        off_t data = lseek(in, pos, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break; /* only a hole is left */
        off_t hole = data < 0 ? -1 : lseek(in, data, SEEK_HOLE);
        if (data < 0 || hole < 0) {
            rc = -1, what = V.image;
            break;
        }
        if (copy_range(in, out, data, hole) < 0)
            rc = -1, what = V.copy;
        pos = hole;
    }
    if (rc == 0 && ftruncate(out, V.size) < 0)
        rc = -1, what = V.copy;
    if (rc < 0)
        pm_set_error("verify: cannot copy %s to %s: %s: %s", V.image, V.copy, what,
                     strerror(errno));
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0 && rc == 0) {
        pm_set_error("verify: %s: %s", V.copy, strerror(errno));
        rc = -1;
    }
    return rc;
}

static int setup(void)
{
    V.initrd = ph_find_initrd();
    V.kernel = ph_find_kernel(V.initrd);
    if (!V.kernel || access(V.kernel, R_OK) != 0) {
        pm_set_error("verify: kernel %s not found (install linux-image-amd64: make deps)",
                     V.kernel ? V.kernel : "");
        return -1;
    }
    if (access(V.initrd, R_OK) != 0) {
        pm_set_error("verify: guest image %s not found (build it: make image)", V.initrd);
        return -1;
    }
    V.rundir = ph_make_rundir();
    if (!V.rundir)
        return -1;
    V.copy = ph_strf("%s/pmem.img", V.rundir);
    V.console = ph_strf("%s/console.log", V.rundir);
    V.chan_sock = ph_strf("%s/agent.sock", V.rundir);
    V.dom_name = ph_strf("pmemcut-%d-verify", (int)getpid());
    if (copy_image() < 0)
        return -1;
    char *vlog = ph_strf("%s/libvirt.log", V.rundir);
    int r = ph_virt_open(&V.virt, NULL, V.rundir, vlog);
    free(vlog);
    return r;
}

/* --- the boot -------------------------------------------------------------------- */

/* The kernel's and the init's own lines of the console (the agent's JSON
 * lines and the markers left out), printk's timestamps cut: what the kernel
 * said about the filesystem ("JBD2: Invalid checksum found in transaction
 * 5", "EXT4-fs (pmem0): error loading journal"). */
static json_t *kernel_lines(void)
{
    json_t *a = json_array();
    char *text = ph_read_file(V.console, NULL);
    for (char *l = text, *e; l && *l; l = e) {
        e = l + strcspn(l, "\n");
        char *next = *e ? e + 1 : e;
        *e = '\0';
        l[strcspn(l, "\r")] = '\0';
        if (l[0] == '[') { /* "[    3.141592] " */
            char *r = strchr(l, ']');
            l = r ? r + 1 + (r[1] == ' ') : l;
        }
        if (*l && strncmp(l, "PMEMCUT-", 8) != 0)
            json_array_append_new(a, json_string(l));
        e = next;
    }
    free(text);
    return a;
}

/* Boots the copy and waits for the agent's verdict: the verdict object, or
 * NULL with the message. */
static json_t *verify_boot(void)
{
    struct ph_guest_job job = {
        .mode = V.mode,
        .fs = V.fs,
        .verify = true,
        .expect = V.expect,
    };
    char *cmdline = ph_guest_cmdline(&job);
    struct ph_vm_spec spec = {
        .name = V.dom_name,
        .mode = V.mode,
        .kernel = V.kernel,
        .initrd = V.initrd,
        .cmdline = cmdline,
        .pmem_path = V.copy,
        .pmem_size = V.size,
        .console_log = V.console,
        .chan_sock = V.chan_sock,
        .mem_mib = 512,
        .vcpus = 1,
    };
    char *xml = ph_domain_xml(&spec);
    free(cmdline);
    double t0 = pm_now(), end = t0 + V.timeout;
    V.dom = ph_vm_start(&V.virt, xml);
    free(xml);
    if (!V.dom)
        return NULL;
    struct pm_lines chan;
    int fd = pm_unix_connect(V.chan_sock, V.timeout < 30 ? V.timeout : 30);
    if (fd < 0)
        return NULL;
    pm_lines_init(&chan, fd);
    pm_lines_set_interrupt(&chan, &ph_interrupted);
    json_t *verdict = NULL;
    /* The agent reads the list up to `end` before it answers. */
    if (pm_send_all(chan.fd, V.ack_text, strlen(V.ack_text)) < 0) {
        pm_set_error("verify: sending the acks to the guest: %s", pm_get_error());
        goto out;
    }
    while (!verdict) {
        if (ph_interrupted)
            goto out;
        char *line = NULL;
        int r = pm_lines_read(&chan, &line, 0.2);
        if (r == 1) {
            json_t *res = NULL;
            const char *err = NULL;
            if (ph_guest_parse(line, &res) == PH_MSG_RESULT) {
                if (json_object_get(res, "verdict"))
                    verdict = res;
                else if ((err = ph_json_str(res, "error", NULL)))
                    /* the agent gave up (its acks, its device): no verdict will come */
                    pm_set_error("verify: the guest's agent: %s", err);
                if (!verdict)
                    json_decref(res);
            }
            free(line);
            if (err)
                goto out;
            continue;
        }
        if (r < 0 || !ph_vm_running(V.dom) || pm_now() > end) {
            char *why = ph_guest_console_result(V.console);
            pm_set_error("verify: no verdict came back from the guest %s: %s",
                         pm_now() > end ? "in time" : "(it stopped)",
                         why ? why : "no result from the agent");
            free(why);
            goto out;
        }
    }
out:
    pm_lines_close(&chan);
    /* The verdict is all we need: the copy is thrown away. */
    ph_vm_destroy(&V.dom);
    return verdict;
}

static void print_text(json_t *v, json_t *kern)
{
    printf("verify: %s: %lld acked, %lld present, %lld missing, %lld corrupt\n",
           ph_json_str(v, "verdict", "?"), ph_json_int(v, "acked", 0), ph_json_int(v, "present", 0),
           ph_json_int(v, "missing_count", 0), ph_json_int(v, "corrupt_count", 0));
    json_t *fsck = json_object_get(v, "fsck");
    if (json_is_object(fsck) && !json_is_true(json_object_get(fsck, "clean")))
        printf("fsck: %s exit %lld%s%s\n", ph_json_str(fsck, "tool", "?"),
               ph_json_int(fsck, "exit", -1), ph_json_str(fsck, "note", NULL) ? ": " : "",
               ph_json_str(fsck, "note", ""));
    const char *lists[] = {"missing", "corrupt"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(v, lists[k]), i, x)
        {
            if (i == 5) {
                printf("  ... and %zu more %s\n", json_array_size(json_object_get(v, lists[k])) - 5,
                       lists[k]);
                break;
            }
            printf("  %s %s %lld: %s\n", lists[k], ph_json_str(x, "file", "?"),
                   ph_json_int(x, "seq", 0), ph_json_str(x, "what", "?"));
        }
    }
    size_t i;
    json_t *l;
    json_array_foreach(kern, i, l) printf("kernel: %s\n", json_string_value(l));
}

int ph_cmd_verify(int argc, char **argv)
{
    int rc = PM_EXIT_USAGE;
    if (parse_verify_options(argc, argv) < 0 || check_image() < 0 || read_acks() < 0 || setup() < 0)
        goto out;
    ph_progress("verify: %s (%lld MiB, %s, %s), %zu acks", V.image, (long long)(V.size >> 20),
                ph_mode_name(V.mode), V.fs, V.nacks);
    json_t *v = verify_boot();
    if (V.console_out && ph_copy_file(V.console, V.console_out) < 0)
        fprintf(stderr, "pmemcut-host: verify: cannot keep the console in %s\n", V.console_out);
    if (!v)
        goto out;
    json_t *kern = kernel_lines();
    if (V.json) {
        /* The agent's object as it came, with what the kernel said. */
        json_object_set(v, "kernel", kern);
        char *s = json_dumps(v, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
    } else {
        print_text(v, kern);
    }
    rc = strcmp(ph_json_str(v, "verdict", "FAIL"), "PASS") == 0 ? PM_EXIT_OK : PM_EXIT_FAIL;
    json_decref(kern);
    json_decref(v);
out:
    verify_teardown();
    return rc;
}
