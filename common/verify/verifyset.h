/* verify/verifyset.h — judge every acknowledged record of a workload
 * directory, whatever holds the files.
 *
 * Which file holds which acks, the ring size, single-record files and the
 * unacknowledged ones: the file-level part of verify, shared by the agent
 * (files read from a mounted directory, guest/verify.c) and by explore
 * --acks (files read out of an ext4 image with libext2fs, tools/engines/ackverify.c).
 * Pure: the files come through the callbacks, so both judge alike.
 */
#ifndef PMEMCUT_VERIFY_VERIFYSET_H
#define PMEMCUT_VERIFY_VERIFYSET_H

#include <stddef.h>
#include <stdint.h>

#include "acks.h"
#include "verdict.h"

/* Reads a whole file of the workload directory.  0 (*exists says whether it
 * was there; *buf is malloc'ed, NULL when it was not), or -1 with err. */
typedef int pm_read_fn(void *ctx, const char *name, uint8_t **buf, size_t *len, int *exists,
                       char *err, size_t errlen);
/* Calls fn for every name in the workload directory. */
typedef void pm_each_fn(void *ctx, void (*fn)(void *arg, const char *name), void *arg);

/* Judges the acks of l, sorted by pm_acks_sort, with records of `size`
 * bytes; slots is the ring's size, 0 to read it from the ring's records.
 * Workload files nobody acknowledged anything in count only their
 * unacknowledged records; with each (may be NULL), so do the valid
 * single-record files nobody acknowledged.  0, or -1 with err (a file could
 * not be read: no verdict). */
int pm_verify_set(struct pm_verdict *v, const struct pm_ack_list *l, uint32_t size, uint32_t slots,
                  pm_read_fn *rd, pm_each_fn *each, void *ctx, char *err, size_t errlen);

#endif
