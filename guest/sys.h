/* guest/sys.h — the agent's dealings with the system: output, the
 * virtio-serial channel, mounts, DAX and MAP_SYNC probes.  Child processes
 * are run with utils/spawn.h, whole-buffer writes are utils/io.h. */
#ifndef PMEMCUT_GUEST_SYS_H
#define PMEMCUT_GUEST_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The virtio-serial port name the agent talks to the host on. */
#define GA_CHANNEL_NAME "org.pmemcut.agent"

/* A JSON text built with stdio in memory: write to j.f between
 * ga_json_open and ga_json_close; the text is then j.s, j.len bytes and
 * NUL-terminated (free it). */
struct ga_json {
    FILE *f;
    char *s;
    size_t len;
};

/* 0, or -1 when out of memory (j.f is NULL). */
int ga_json_open(struct ga_json *j);
void ga_json_close(struct ga_json *j);

/* Print json as one line on stdout; when chan >= 0 also send
 * "<tag> <json>\n" there.  Returns 0, or -1 if the channel write failed. */
int ga_emit(const char *json, int chan, const char *tag);

/* Print {"command":cmd,"error":msg} on stdout (and msg on stderr); returns
 * PM_EXIT_USAGE so that callers can `return ga_error(...)`. */
int ga_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Find the /dev node of the virtio-serial port called name: 0, or -1 when
 * there is none. */
int ga_channel_find(const char *name, char *path, size_t len);

/* Open the source of a list the host sends (acknowledgements): "-" is stdin,
 * "channel" the virtio-serial port GA_CHANNEL_NAME (then *chan is its fd,
 * open for the answer, and *from_channel true: the list ends with `end`),
 * anything else a file.  NULL with err. */
FILE *ga_list_open(const char *src, int *chan, bool *from_channel, char *err, size_t errlen);

/* Read one line from the host on fd (the channel port, for messages):
 * byte by byte up to the newline, so that nothing after it is consumed.
 * 0 when it is `go`; -1 with err when it is anything else, or nothing came
 * within ms. */
int ga_wait_go(int fd, const char *port, int ms, char *err, size_t errlen);

struct ga_mount {
    char dev[256], dir[256], fstype[32], opts[512];
};

/* The mount that holds path (longest matching mount point).  0 or -1. */
int ga_mount_lookup(const char *path, struct ga_mount *m);

struct ga_probe {
    int dax;                /* DAX active on a new file in the directory */
    const char *dax_source; /* "statx" or "mount-options" */
    int map_sync;           /* MAP_SHARED_VALIDATE|MAP_SYNC accepted */
    int map_sync_errno;     /* why not */
};

/* Create a scratch file in dir, look at it, remove it.  0, or -1 with msg. */
int ga_probe_dir(const char *dir, struct ga_probe *p, char *msg, size_t len);

/* Byte offset of block device dev inside its nvdimm region (the backing
 * file of the emulated device), from sysfs; -1 if unknown. */
int64_t ga_pmem_offset(const char *dev);

#endif
