/* pmemcut — whether an audit record fits the device its log opened.
 *
 * The audit-log reader (common/audit/auditlog.c) checks that off + len does
 * not wrap, not that a record lies inside the device the log's open record
 * describes; the tools that turn offsets into pixels, blocks or array
 * indexes (timeline, lost) check it here, and call a record that does not
 * fit a damaged log. */
#ifndef PMEMCUT_RECFIT_H
#define PMEMCUT_RECFIT_H

#include <stdint.h>

#include "audit/auditlog.h"

/* Whether rec (a write, zero, trim or classify, or a cut's lost, kept and
 * torn ranges) lies inside a device of size bytes (0: no open record yet,
 * nothing to check against).  0, or -1 with the message (pm_get_error):
 * "LOG: seq N: write off A len B runs past the end of the device (S
 * bytes)", log being the log's path. */
int pt_rec_check_fits(const char *log, const struct pm_audit_rec *rec, uint64_t size);

#endif
