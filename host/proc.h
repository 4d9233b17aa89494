/* proc.h — the processes behind the emulated device: nbdkit with the pmemcut
 * plugin, and nbdfuse showing its export as one file (the "FUSE view") that
 * QEMU maps as persistent memory. Each is started by us, known by its PID,
 * and stopped by that PID (nbdfuse by unmounting its view first). */
#ifndef PH_PROC_H
#define PH_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ph_device {
    /* Inputs, set by the caller before ph_device_start. */
    char *plugin;   /* path of nbdkit-pmemcut-plugin.so */
    char *image;    /* persisted image (plugin file=) */
    int64_t size;   /* bytes (plugin size=) */
    char *audit;    /* audit log (plugin audit=) */
    char *data_log; /* data log (plugin data-log=), or NULL for none */
    char *control;  /* control socket (plugin control=) */
    char *policy;   /* cut policy (plugin policy=) or NULL */
    char *p;        /* random: probability that a dirty line is kept (plugin p=) or NULL */
    uint64_t seed;  /* plugin seed= */
    bool have_seed;
    char *nbd_sock; /* NBD Unix socket nbdkit listens on */
    char *mnt;      /* FUSE mount point */
    char *logdir;   /* nbdkit.log and nbdfuse.log go here */

    /* State. */
    char *view; /* mnt/nbd: the file QEMU maps */
    pid_t nbdkit_pid;
    pid_t nbdfuse_pid;
};

/* Start nbdkit and wait until it serves; -1 with ph_error set. */
int ph_nbdkit_start(struct ph_device *d);
/* How the process last found dead ended: "killed by signal 9" ... */
char *ph_exit_text(void);

/* True while the nbdkit we started is running (reaps it if it died). */
bool ph_nbdkit_alive(struct ph_device *d);
/* Stop nbdkit by its PID: SIGTERM, SIGKILL after 5 s. */
void ph_nbdkit_stop(struct ph_device *d);

/* Mount the FUSE view and wait until the file is there. */
int ph_view_mount(struct ph_device *d);
/* fusermount3 -u, then wait for nbdfuse to exit (SIGTERM/SIGKILL by PID as
 * a last resort). After this nothing from the old view's page cache can reach
 * the device, and a new mount starts with an empty cache. */
int ph_view_unmount(struct ph_device *d);

/* Both, in the order that works: nbdkit, then the view. */
int ph_device_start(struct ph_device *d);
/* Unmount the view, then stop nbdkit. Safe to call more than once. */
void ph_device_stop(struct ph_device *d);

/* Open the view and fsync it: every dirty page of the mapped file reaches
 * nbdkit and the device gets a FLUSH. */
int ph_view_fsync(struct ph_device *d);

/* Write every dirty page of the mapped file back to nbdkit as plain
 * writes, with no FLUSH (sync_file_range): what the guest stored but its
 * CPU never made persistent reaches the device dirty, for the cut to
 * decide (the ADR cache model). */
int ph_view_writeback(struct ph_device *d);
/* Make [off, off + len) of the device persistent as it reads through the
 * view now: one FUA write of those bytes over the device's NBD socket (the
 * audit log has it as any FUA write).  For what a real NVDIMM keeps
 * without the CPU: its label area, which the firmware writes. */
int ph_device_persist(struct ph_device *d, int64_t off, int64_t len);

/* Run a program and wait for it; returns its exit status or -1. Output goes
 * to /dev/null unless log is set (appended). */
int ph_run_wait(const char *log, char *const argv[]);

/* Last non-empty line of a log file (for error messages), or "". */
char *ph_log_tail(const char *path);

#endif
