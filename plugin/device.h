/* pmemcut — the device: the model, the image file it persists into, the
 * audit log, and the lock that orders them.  Both the NBD callbacks and the
 * control socket go through here.
 *
 * Locking: `lock` (a rwlock) guards the model.  Reads, writes, zeroes and
 * trims take it shared plus one stripe mutex per 4 KiB chunk they touch
 * (stripe = chunk index mod 256, taken in ascending order), so requests on
 * disjoint chunks run side by side, as model.h allows; every other
 * operation, and every write while an after-writes trigger is armed, takes
 * it exclusive.  The audit writer's mutex orders the records: a write's
 * record is written while it holds its stripes, and its seq is the stamp
 * the model orders it by, so the log's order is an order in which the
 * operations could have run one by one.  `power_mu` guards the power flag
 * and the last cut record seen by wait-off.
 */
#ifndef PMEMCUT_DEVICE_H
#define PMEMCUT_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "utils/jbuf.h"
#include "model/model.h"

struct pm_config {
    const char *file;         /* set by file= */
    uint64_t size;            /* set by size= (0: take the file's size) */
    const char *control;      /* set by control= (default FILE.ctl) */
    const char *audit;        /* set by audit= (default FILE.audit.jsonl) */
    const char *dlog;         /* set by data-log= (NULL: none) */
    uint32_t line;            /* set by line= */
    struct pm_cut_params cut; /* set by policy=, p=, seed=: defaults for cuts */
};

/* Start-up: open or create the image, map it, open the logs.  -1 with a
 * one-line message in err. */
int pm_dev_open(const struct pm_config *cfg, char *err, size_t errlen);
void pm_dev_close(void);

/* Block requests.  Return 0 or an errno value (EIO when off or when the
 * audit log cannot be written; the reason goes to *why). */
int pm_dev_read(void *buf, uint32_t count, uint64_t off, const char **why);
int pm_dev_write(const void *buf, uint32_t count, uint64_t off, bool fua, const char **why);
int pm_dev_zero(enum pm_op op, uint32_t count, uint64_t off, bool fua, const char **why);
int pm_dev_flush(const char **why);
uint64_t pm_dev_size(void);

/* Control commands: on success 0 and the reply JSON in out; on failure -1
 * and the reason (one line, no prefix) in out.  Nothing changes on failure. */
int pm_dev_status(struct jbuf *out);
int pm_dev_cut(const struct pm_cut_params *cp, struct jbuf *out);
int pm_dev_arm(struct pm_trigger *t, bool have_seed, struct jbuf *out);
int pm_dev_disarm(struct jbuf *out);
int pm_dev_wait_off(double timeout, struct jbuf *out); /* timeout < 0: forever */
int pm_dev_power_on(struct jbuf *out);
int pm_dev_mark(const char *text, struct jbuf *out);
int pm_dev_classify(enum pm_class cls, uint64_t off, uint64_t len, struct jbuf *out);
int pm_dev_dirty(uint64_t max, struct jbuf *out);
int pm_dev_fault(bool lying, struct jbuf *out);
/* Wakes every wait-off so that the control server can stop. */
void pm_dev_wake_all(void);

/* Default cut parameters with a seed derived for the next cut. */
void pm_dev_default_cut(struct pm_cut_params *cp);

#endif
