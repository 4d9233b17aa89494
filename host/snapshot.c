/* snapshot.c — see snapshot.h. */
#include "snapshot.h"
#include "channel.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libvirt/libvirt-qemu.h>

#include "utils/crc32c.h"

/* Seconds each libvirt call may take (a restore reads the whole saved
 * state; under load that is a few seconds, never a minute). */
#define CALL_LIMIT 60.0

/* --- a time limit on a libvirt call ------------------------------------------
 *
 * libvirt's calls into QEMU have no time limit of their own. A watchdog
 * thread waits for the call to end; past the limit it kills the VM's QEMU
 * (found by its -name guest=NAME, a name with our PID in it), which makes
 * the call fail at once. */

struct limit {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done, fired;
    double seconds;
    const char *name;
};

static void *watch(void *arg)
{
    struct limit *l = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)l->seconds;
    pthread_mutex_lock(&l->lock);
    int r = 0;
    while (!l->done && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&l->cond, &l->lock, &until);
    if (!l->done) {
        l->fired = true;
        pid_t pid = ph_vm_qemu_pid(l->name);
        if (pid > 0)
            kill(pid, SIGKILL);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

static int limit_start(struct limit *l, const char *name, double seconds)
{
    memset(l, 0, sizeof *l);
    l->name = name;
    l->seconds = seconds;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    sigset_t all, old;
    sigfillset(&all); /* the watchdog must not take our SIGINT/SIGTERM */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = pthread_create(&l->thread, NULL, watch, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        pm_set_error("pthread_create: %s", strerror(r));
        return -1;
    }
    return 0;
}

/* True when the limit fired (the call's failure is then the limit's). */
static bool limit_stop(struct limit *l)
{
    pthread_mutex_lock(&l->lock);
    l->done = true;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    return l->fired;
}

/* "libvirt: cannot WHAT: why", or the limit's word when it fired. */
static void call_error(struct limit *l, const char *what)
{
    if (limit_stop(l))
        pm_set_error("libvirt: %s did not end within %.0f s (its QEMU was killed)", what,
                     l->seconds);
    else
        pm_set_error("libvirt: cannot %s: %s", what, ph_virt_error());
}

/* --- the base boot and the save ------------------------------------------------ */

int ph_saved_make(struct ph_virt *v, struct ph_saved *s, const struct ph_vm_spec *spec,
                  const char *path, double timeout)
{
    memset(s, 0, sizeof *s);
    double t0 = pm_now();
    s->name = ph_strf("%s", spec->name);
    s->console = ph_strf("%s", spec->console_log);
    s->chan_sock = ph_strf("%s", spec->chan_sock);
    unlink(spec->chan_sock);
    unlink(spec->console_log);
    char *xml = ph_domain_xml(spec);
    struct limit l;
    if (limit_start(&l, s->name, CALL_LIMIT) < 0) {
        free(xml);
        return -1;
    }
    virDomainPtr dom = ph_vm_start(v, xml);
    free(xml);
    if (limit_stop(&l))
        pm_set_error("libvirt: starting the base VM did not end within %.0f s (its QEMU was "
                     "killed)",
                     CALL_LIMIT);
    if (!dom)
        return -1;
    struct pm_lines chan;
    int fd = pm_unix_connect(spec->chan_sock, 30);
    if (fd < 0) {
        ph_vm_destroy(&dom);
        return -1;
    }
    pm_lines_init(&chan, fd);
    pm_lines_set_interrupt(&chan, &ph_interrupted);
    int r = ph_saved_expect(&chan, dom, "job?", timeout, NULL);
    pm_lines_close(&chan);
    if (r < 0) {
        ph_vm_destroy(&dom);
        return -1;
    }
    /* The guest waits in its read of the channel: that is the state saved.
     * It holds no page of the device (there is none yet). */
    if (limit_start(&l, s->name, CALL_LIMIT) < 0) {
        ph_vm_destroy(&dom);
        return -1;
    }
    if (virDomainSave(dom, path) < 0) {
        call_error(&l, "save the base VM");
        ph_vm_destroy(&dom);
        unlink(path);
        return -1;
    }
    limit_stop(&l);
    virDomainFree(dom); /* saved: the domain is gone */
    s->path = ph_strf("%s", path);
    s->xml = virDomainSaveImageGetXMLDesc(v->conn, path, VIR_DOMAIN_SAVE_IMAGE_XML_SECURE);
    if (!s->xml) {
        pm_set_error("libvirt: cannot read the saved state's XML: %s", ph_virt_error());
        return -1;
    }
    s->seconds = pm_now() - t0;
    return 0;
}

void ph_saved_free(struct ph_saved *s)
{
    if (s->path)
        unlink(s->path);
    free(s->path);
    free(s->xml);
    free(s->console);
    free(s->name);
    free(s->chan_sock);
    memset(s, 0, sizeof *s);
}

/* --- a restore ------------------------------------------------------------------ */

/* The saved XML with the base console log's path replaced by console (the
 * serial port and the console that libvirt makes of it name the same file):
 * the one part of the domain a restore changes (libvirt checks that the
 * rest is the same machine). NULL with pm_set_error. */
static char *restore_xml(const struct ph_saved *s, const char *console)
{
    char *from = ph_xml_escape(s->console), *to = ph_xml_escape(console);
    char *quoted = ph_strf("'%s'", from), *x = ph_strf("%s", "");
    size_t ql = strlen(quoted);
    int n = 0;
    const char *p = s->xml;
    for (const char *at; (at = strstr(p, quoted)); p = at + ql, n++) {
        char *more = ph_strf("%s%.*s'%s'", x, (int)(at - p), p, to);
        free(x);
        x = more;
    }
    char *all = ph_strf("%s%s", x, p);
    free(x);
    if (n == 0) {
        pm_set_error("the saved state's XML does not name its console log %s", s->console);
        free(all);
        all = NULL;
    }
    free(from);
    free(to);
    free(quoted);
    return all;
}

/* One QMP command; -1 with pm_set_error (QEMU's error or libvirt's). */
static int qmp(virDomainPtr dom, const char *name, json_t *cmd)
{
    char *text = json_dumps(cmd, JSON_COMPACT), *reply = NULL;
    json_decref(cmd);
    struct limit l;
    if (!text || limit_start(&l, name, CALL_LIMIT) < 0) {
        free(text);
        return -1;
    }
    int r = virDomainQemuMonitorCommand(dom, text, &reply, 0);
    if (r < 0) {
        char *what = ph_strf("run %s", text);
        call_error(&l, what);
        free(what);
    } else {
        limit_stop(&l);
        json_t *o = json_loads(reply, 0, NULL);
        json_t *err = json_object_get(o, "error");
        if (!o || err) {
            pm_set_error("QEMU refused %s: %s", text,
                         err ? ph_json_str(err, "desc", "?") : (reply ? reply : "no reply"));
            r = -1;
        }
        json_decref(o);
    }
    free(text);
    free(reply);
    return r;
}

/* The host's random bytes as hex, for the guest's pool. */
static void entropy_hex(char out[65])
{
    unsigned char b[32];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* No getrandom: the clock still makes each restore's differ. */
        uint64_t t = (uint64_t)(pm_now() * 1e9) ^ (uint64_t)time(NULL) << 20;
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)i;
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

virDomainPtr ph_saved_restore(struct ph_virt *v, const struct ph_saved *s, const char *console,
                              const char *pmem_path, int64_t size, const char *params,
                              struct pm_lines *chan, double *restore_s)
{
    double t0 = pm_now();
    char *dxml = restore_xml(s, console);
    if (!dxml)
        return NULL;
    unlink(s->chan_sock);
    unlink(console);
    /* Each restore's QEMU log is its own (keep_qemu_log copies it whole). */
    char *qlog = ph_vm_qemu_log(v, s->name);
    if (qlog)
        truncate(qlog, 0);
    free(qlog);
    virDomainPtr dom = NULL;
    struct limit l;
    if (limit_start(&l, s->name, CALL_LIMIT) < 0) {
        free(dxml);
        return NULL;
    }
    /* Paused: the device is there before the guest runs again. */
    int r = virDomainRestoreFlags(v->conn, s->path, dxml, VIR_DOMAIN_SAVE_PAUSED);
    free(dxml);
    if (r < 0) {
        call_error(&l, "restore the saved VM");
        return NULL;
    }
    limit_stop(&l);
    dom = virDomainLookupByName(v->conn, s->name);
    ph_vm_track(dom);
    if (!dom) {
        pm_set_error("libvirt: the restored VM %s is not there: %s", s->name, ph_virt_error());
        return NULL;
    }
    /* The same device, ids and PCI slot as the cold boot's command line. */
    if (qmp(dom, s->name,
            json_pack("{s:s, s:{s:s, s:s, s:s, s:I, s:b}}", "execute", "object-add", "arguments",
                      "qom-type", "memory-backend-file", "id", PH_VPMEM_OBJ_ID, "mem-path",
                      pmem_path, "size", (json_int_t)size, "share", 1)) < 0 ||
        qmp(dom, s->name,
            json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "execute", "device_add", "arguments",
                      "driver", "virtio-pmem-pci", "memdev", PH_VPMEM_OBJ_ID, "id", PH_VPMEM_DEV_ID,
                      "bus", "pci.0", "addr", "0x9")) < 0)
        goto fail;
    if (limit_start(&l, s->name, CALL_LIMIT) < 0)
        goto fail;
    if (virDomainResume(dom) < 0) {
        call_error(&l, "resume the restored VM");
        goto fail;
    }
    limit_stop(&l);
    int fd = pm_unix_connect(s->chan_sock, 30);
    if (fd < 0)
        goto fail;
    pm_lines_init(chan, fd);
    pm_lines_set_interrupt(chan, &ph_interrupted);
    /* The guest's clock is the save's, its random pool the save's: the job
     * line brings the host's time and fresh bytes with the parameters. */
    char hex[65];
    entropy_hex(hex);
    char *line = ph_strf("job time=%lld entropy=%s %s\n", (long long)time(NULL), hex, params);
    r = pm_send_all(chan->fd, line, strlen(line));
    free(line);
    if (r < 0) {
        pm_lines_close(chan);
        goto fail;
    }
    *restore_s = pm_now() - t0;
    return dom;
fail:
    ph_vm_destroy(&dom);
    return NULL;
}

int ph_saved_digest(const char *path, uint64_t bytes, uint32_t *crc)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pm_set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    uint64_t at;
    if (pm_crc32c_fd(fd, bytes, crc, &at) < 0) {
        pm_set_error("%s: read at %llu: %s", path, (unsigned long long)at,
                     errno ? strerror(errno) : "end of file");
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int ph_saved_expect(struct pm_lines *chan, virDomainPtr dom, const char *word, double timeout,
                    char **rest)
{
    double end = pm_now() + timeout;
    size_t wl = strlen(word);
    for (;;) {
        char *line = NULL;
        int r = pm_lines_read(chan, &line, 0.2);
        if (r == 1) {
            bool ok = strncmp(line, word, wl) == 0 && (line[wl] == '\0' || line[wl] == ' ');
            if (ok && rest)
                *rest = ph_strf("%s", line[wl] ? line + wl + 1 : "");
            if (!ok)
                pm_set_error("the guest said '%.100s' where '%s' was due", line, word);
            free(line);
            return ok ? 0 : -1;
        }
        if (r == -2) {
            pm_set_error("interrupted");
            return -1;
        }
        if (r == -1 || !ph_vm_running(dom)) {
            pm_set_error("the guest ended before it sent '%s'", word);
            return -1;
        }
        if (pm_now() > end) {
            pm_set_error("no '%s' from the guest within %.0f s", word, timeout);
            return -1;
        }
    }
}
