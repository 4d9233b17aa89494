/* pmemcut — the device: the model, the image file it persists into, the
 * audit log, and the locks that order them.  The NBD callbacks (pmemcut.c)
 * reach it through pd_dev_*; the control commands (commands.c) use its
 * state directly, under the same locks.
 *
 * Locking: `lock` (a rwlock) guards the model.  Reads, writes, zeroes and
 * trims take it shared plus one stripe mutex per 4 KiB chunk they touch
 * (stripe = chunk index mod PD_NSTRIPES, taken in ascending order), so
 * requests on disjoint chunks run side by side, as model.h allows; every
 * other operation, and every write while an after-writes trigger is armed,
 * takes it exclusive.  The audit writer's own mutex (audit.h) orders the
 * records: a write's record is written while it holds its stripes, and its
 * seq is the stamp the model orders it by, so the log's order is an order in
 * which the operations could have run one by one.  `power_mu` guards the
 * power flag, the last cut record and `stopping`, for wait-off; it is taken
 * inside `lock`, never the other way round.
 */
#ifndef PMEMCUT_PLUGIN_DEVICE_H
#define PMEMCUT_PLUGIN_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit/audit.h"
#include "model/model.h"
#include "utils/jbuf.h"

struct pd_config {
    const char *file;         /* set by file= */
    uint64_t size;            /* set by size= (0: take the file's size) */
    const char *control;      /* set by control= (default FILE.ctl) */
    const char *audit;        /* set by audit= (default FILE.audit.jsonl) */
    const char *dlog;         /* set by data-log= (NULL: none) */
    uint32_t line;            /* set by line= */
    struct pm_cut_params cut; /* set by policy=, p=, seed=: defaults for cuts */
};

/* Stripes: a chunk's stripe is its index modulo PD_NSTRIPES. */
#define PD_NSTRIPES 256

/* The one device of the process. */
struct pd_device {
    struct pd_config cfg; /* set at open, read-only after */
    int fd;
    uint8_t *map;
    uint64_t size;
    struct pm_model *m;
    struct pm_audit audit;
    pthread_rwlock_t lock; /* guards m (see above) */
    pthread_mutex_t stripes[PD_NSTRIPES];

    pthread_mutex_t power_mu; /* guards off, stopping, cut_record */
    pthread_cond_t power_cv;  /* signalled when off or stopping becomes true */
    bool off;
    bool stopping;    /* the control server is stopping: wait-off returns */
    char *cut_record; /* the last cut's audit record, for wait-off */

    uint64_t cpu_fence; /* the CPU's batch open now (audit/cpu.h), atomic */
};
extern struct pd_device pd_dev;

/* Start-up: open or create the image, map it, open the logs.  -1 with a
 * one-line message in pm_get_error(). */
int pd_dev_open(const struct pd_config *cfg);
void pd_dev_close(void);

/* Block requests.  Return 0 or an errno value (EIO when off or when the
 * audit log cannot be written; the reason goes to *why). */
int pd_dev_read(void *buf, uint32_t count, uint64_t off, const char **why);
int pd_dev_write(const void *buf, uint32_t count, uint64_t off, bool fua, const char **why);
/* A CPU's write (the ADR tracer's): cpu_insn is the enum pm_cpu_insn of
 * the export it came on (audit/cpu.h), and its record says so. */
int pd_dev_write_cpu(const void *buf, uint32_t count, uint64_t off, bool fua, int cpu_insn,
                     const char **why);
int pd_dev_zero(enum pm_op op, uint32_t count, uint64_t off, bool fua, const char **why);
int pd_dev_flush(const char **why);
uint64_t pd_dev_size(void);
/* The tracer's cache request on a cpu export: the writes of the CPU's
 * fence so far were one batch; the next write opens a new one. */
void pd_dev_end_fence(void);

/* The commit hook that writes every operation's audit record (model.h):
 * pass a zeroed pd_hook_ctx as its context (a CPU's write sets cpu). */
struct pd_hook_ctx {
    int cpu;            /* 1 + enum pm_cpu_insn of a CPU's write (audit/cpu.h), 0 for others */
    uint64_t fence;     /* a CPU's write: its batch */
    uint64_t first_seq; /* seq of the first record written by this request */
    uint64_t seq;       /* seq of the last record written by this request */
    int err;            /* errno of a failed record */
    char *cut_reply;    /* a cut's record, for the control reply (caller frees) */
};
int pd_hook(void *ctx, const struct pm_effect *e);

#endif
