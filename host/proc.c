/* proc.c — see proc.h. */
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libnbd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/spawn.h"

/* Start argv with stdout and stderr appended to log (or /dev/null), in its
 * own process group, so that a terminal's Ctrl-C reaches only us and we
 * tear things down in order. */
static pid_t spawn(const char *log, char *const argv[])
{
    struct pm_spawn s = {.argv = argv, .out_path = log};
    return pm_spawn_start(&s);
}

/* How the last process reaped by exited() ended (for messages): its exit
 * code, or 128 + the signal that killed it. */
static int last_status;

/* Non-blocking: has pid exited? Reaps it. A pid that is no longer our
 * child (reaped already) counts as exited; that is no error worth
 * reporting, so the message of the failure being handled is kept. */
static bool exited(pid_t pid)
{
    char keep[PM_ERROR_MAX];
    snprintf(keep, sizeof keep, "%s", pm_get_error());
    int st, r = pm_try_reap(pid, &st);
    if (r == 1)
        last_status = st;
    else if (r < 0)
        pm_set_error("%s", keep);
    return r != 0;
}

char *ph_exit_text(void)
{
    if (last_status > 128)
        return ph_strf("killed by signal %d", last_status - 128);
    return ph_strf("exit status %d", last_status);
}

/* SIGTERM, wait up to grace seconds, then SIGKILL; always reaps. */
static void stop_pid(pid_t pid, double grace)
{
    if (pid > 0 && !exited(pid))
        pm_stop_pid(pid, grace);
}

int ph_run_wait(const char *log, char *const argv[])
{
    struct pm_spawn s = {.argv = argv, .out_path = log, .new_pgrp = true};
    struct pm_spawn_result r;
    if (pm_spawn_run(&s, &r) < 0 && !r.exec_failed)
        return -1;
    return r.status; /* 127 when it could not be run, as a shell says */
}

char *ph_log_tail(const char *path)
{
    char *data = ph_read_file(path, NULL);
    if (!data)
        return ph_strf("%s", "");
    char *end = data + strlen(data);
    while (end > data && (end[-1] == '\n' || end[-1] == ' '))
        *--end = '\0';
    char *start = strrchr(data, '\n');
    char *line = ph_strf("%s", start ? start + 1 : data);
    free(data);
    return line;
}

/* Start argv (output appended to log) as *pid and wait up to 20 s for it to
 * write pidfile, which it does once it is ready.  0, or -1 with "PROG
 * failed to WHAT: <last line of its log>" (*pid is then 0) or "PROG did not
 * WHAT within 20 s (see LOG)". */
static int start_until_pidfile(pid_t *pid, char *const argv[], const char *log, const char *pidfile,
                               const char *what)
{
    unlink(pidfile);
    *pid = spawn(log, argv);
    if (*pid < 0) {
        *pid = 0;
        return -1;
    }
    double end = pm_now() + 20;
    while (access(pidfile, F_OK) != 0) {
        if (exited(*pid)) {
            char *tail = ph_log_tail(log);
            pm_set_error("%s failed to %s: %s", argv[0], what, tail);
            free(tail);
            *pid = 0;
            return -1;
        }
        if (pm_now() > end || pm_sleep(0.02, &ph_interrupted) < 0) {
            pm_set_error("%s did not %s within 20 s (see %s)", argv[0], what, log);
            return -1;
        }
    }
    return 0;
}

int ph_nbdkit_start(struct ph_device *d)
{
    char *log = ph_strf("%s/nbdkit.log", d->logdir);
    char *pidfile = ph_strf("%s.pid", d->nbd_sock);
    char *a_file = ph_strf("file=%s", d->image);
    char *a_size = ph_strf("size=%lld", (long long)d->size);
    char *a_ctl = ph_strf("control=%s", d->control);
    char *a_audit = ph_strf("audit=%s", d->audit);
    char *a_dlog = d->data_log ? ph_strf("data-log=%s", d->data_log) : NULL;
    char *a_p = d->p ? ph_strf("p=%s", d->p) : NULL;
    char *a_policy = d->policy ? ph_strf("policy=%s", d->policy) : NULL;
    char *a_seed = d->have_seed ? ph_strf("seed=%llu", (unsigned long long)d->seed) : NULL;
    char *argv[24]; /* nbdkit and 6 arguments, the plugin, up to 8 parameters, NULL */
    int n = 0;
    argv[n++] = "nbdkit";
    argv[n++] = "--foreground";
    argv[n++] = "--exit-with-parent";
    argv[n++] = "--unix";
    argv[n++] = d->nbd_sock;
    argv[n++] = "--pidfile";
    argv[n++] = pidfile;
    argv[n++] = d->plugin;
    argv[n++] = a_file;
    argv[n++] = a_size;
    argv[n++] = a_ctl;
    argv[n++] = a_audit;
    if (a_dlog)
        argv[n++] = a_dlog;
    if (a_policy)
        argv[n++] = a_policy;
    if (a_p)
        argv[n++] = a_p;
    if (a_seed)
        argv[n++] = a_seed;
    argv[n] = NULL;

    int r = -1;
    /* nbdkit writes its pidfile once it listens. */
    if (start_until_pidfile(&d->nbdkit_pid, argv, log, pidfile, "start") < 0)
        goto out;
    double end = pm_now() + 20;
    /* The control socket is created by the plugin before nbdkit serves. */
    while (access(d->control, F_OK) != 0) {
        if (pm_now() > end || pm_sleep(0.02, &ph_interrupted) < 0) {
            pm_set_error("nbdkit started but its control socket %s did not appear", d->control);
            goto out;
        }
    }
    r = 0;
out:
    free(log);
    free(pidfile);
    free(a_file);
    free(a_size);
    free(a_ctl);
    free(a_audit);
    free(a_dlog);
    free(a_policy);
    free(a_p);
    free(a_seed);
    return r;
}

bool ph_nbdkit_alive(struct ph_device *d)
{
    if (d->nbdkit_pid <= 0)
        return false;
    if (exited(d->nbdkit_pid)) {
        d->nbdkit_pid = 0;
        return false;
    }
    return true;
}

void ph_nbdkit_stop(struct ph_device *d)
{
    stop_pid(d->nbdkit_pid, 5);
    d->nbdkit_pid = 0;
}

int ph_view_mount(struct ph_device *d)
{
    if (ph_mkdirs(d->mnt, 0755) < 0)
        return -1;
    free(d->view);
    d->view = ph_strf("%s/nbd", d->mnt);
    char *log = ph_strf("%s/nbdfuse.log", d->logdir);
    char *pidfile = ph_strf("%s.pid", d->mnt);
    char *argv[] = {"nbdfuse", "-o",     "allow_other", "-P", pidfile,
                    d->mnt,    "--unix", d->nbd_sock,   NULL};
    char *what = ph_strf("mount %s", d->mnt);
    int r = start_until_pidfile(&d->nbdfuse_pid, argv, log, pidfile, what);
    free(what);
    unlink(pidfile);
    free(pidfile);
    free(log);
    return r;
}

int ph_view_unmount(struct ph_device *d)
{
    if (d->nbdfuse_pid <= 0)
        return 0;
    int r = 0;
    char *log = ph_strf("%s/nbdfuse.log", d->logdir);
    char *argv[] = {"fusermount3", "-u", d->mnt, NULL};
    char *lazy[] = {"fusermount3", "-u", "-z", d->mnt, NULL};
    /* Even when nbdfuse has died (its server went away) the mount is still
     * there, dead: it is unmounted all the same. While nbdfuse lives, a
     * failure means busy (QEMU still going away): retry briefly. */
    for (int i = 0;; i++) {
        if (ph_run_wait(log, argv) == 0)
            break;
        if (exited(d->nbdfuse_pid) || i == 50) {
            ph_run_wait(log, lazy);
            break;
        }
        usleep(100000);
    }
    /* After the unmount nbdfuse still serves the kernel's writeback of the
     * old view's dirty pages (the guest's last stores), one request at a
     * time, each refused by a device that is off: 1.5 to 17 s after a cut,
     * measured. Nothing of that page cache may reach the device anyway
     * (see proc.h): nbdfuse is stopped after 0.2 s, and its closed
     * /dev/fuse ends the connection and drops the rest at once. */
    double end = pm_now() + 30, quick = pm_now() + 0.2;
    bool stopped = false;
    while (!exited(d->nbdfuse_pid) && pm_now() < end) {
        if (!stopped && pm_now() > quick) {
            kill(d->nbdfuse_pid, SIGTERM);
            stopped = true;
        }
        usleep(20000);
    }
    if (!exited(d->nbdfuse_pid)) {
        /* Slow to go (a loaded machine, a lazy unmount waiting for QEMU's
         * last reference): stopped by its PID, it cannot write anything
         * more, which is all the next boot needs; only a stop that fails
         * is an error. */
        ph_progress("nbdfuse (pid %d) did not exit within 30 s of unmounting %s: stopping it",
                    (int)d->nbdfuse_pid, d->mnt);
        stop_pid(d->nbdfuse_pid, 5);
        ph_run_wait(log, lazy);
        if (!exited(d->nbdfuse_pid)) {
            pm_set_error("nbdfuse (pid %d) did not exit after unmounting %s, nor when stopped",
                         (int)d->nbdfuse_pid, d->mnt);
            r = -1;
        }
    }
    free(log);
    d->nbdfuse_pid = 0;
    return r;
}

int ph_device_start(struct ph_device *d)
{
    if (ph_nbdkit_start(d) < 0)
        return -1;
    return ph_view_mount(d);
}

void ph_device_stop(struct ph_device *d)
{
    ph_view_unmount(d);
    ph_nbdkit_stop(d);
}

int ph_view_writeback(struct ph_device *d)
{
    int fd = open(d->view, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        pm_set_error("open %s: %s", d->view, strerror(errno));
        return -1;
    }
    int r = sync_file_range(
        fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    int e = errno;
    close(fd);
    if (r < 0) {
        pm_set_error("sync_file_range %s: %s", d->view, strerror(e));
        return -1;
    }
    return 0;
}

int ph_device_persist(struct ph_device *d, int64_t off, int64_t len)
{
    if (off < 0 || len <= 0 || len > d->size || off > d->size - len || len > (64 << 20)) {
        pm_set_error("persist: [%lld, +%lld) is not a range of the device", (long long)off,
                     (long long)len);
        return -1;
    }
    char *buf = malloc((size_t)len);
    if (!buf)
        abort();
    int r = -1;
    struct nbd_handle *h = NULL;
    int fd = open(d->view, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : pread(fd, buf, (size_t)len, off);
    if (n != (ssize_t)len) {
        pm_set_error("read %s at %lld: %s", d->view, (long long)off,
                     n < 0 ? strerror(errno) : "short read");
        goto out;
    }
    h = nbd_create();
    if (!h || nbd_connect_unix(h, d->nbd_sock) == -1 ||
        nbd_pwrite(h, buf, (size_t)len, (uint64_t)off, LIBNBD_CMD_FLAG_FUA) == -1) {
        pm_set_error("device %s: FUA write at %lld: %s", d->nbd_sock, (long long)off,
                     nbd_get_error() ? nbd_get_error() : "libnbd failed");
        goto out;
    }
    if (nbd_shutdown(h, 0) == -1) {
        pm_set_error("device %s: %s", d->nbd_sock, nbd_get_error());
        goto out;
    }
    r = 0;
out:
    if (h)
        nbd_close(h);
    if (fd >= 0)
        close(fd);
    free(buf);
    return r;
}

int ph_view_fsync(struct ph_device *d)
{
    int fd = open(d->view, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        pm_set_error("open %s: %s", d->view, strerror(errno));
        return -1;
    }
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r < 0) {
        pm_set_error("fsync %s: %s", d->view, strerror(e));
        return -1;
    }
    return 0;
}
