/* pmemcut — reading the audit log (JSON Lines written by the plugin through
 * format.h, in the schema of schema.h).
 *
 * pm_audit_reader_next returns the records one by one, typed.  It checks
 * what a reader can check without the device: every line is one whole JSON
 * object with seq, ns and a known ev; seq goes up by one from line to line;
 * the keys that the schema marks PM_AK_NEEDED are present with their types;
 * every span (a write, zero, trim or classify, a cut's ranges) fits the
 * device that the last open record describes.
 * The first damage stops the reading, and the message says where: line
 * number, byte offset and the last good seq, so that a tool can still
 * report what came before.
 */
#ifndef PMEMCUT_AUDITLOG_H
#define PMEMCUT_AUDITLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model/model.h"
#include "schema.h"
#include "utils/jsonr.h"

struct pm_audit_reader {
    FILE *f;
    const char *path;
    char *buf;
    size_t cap;
    uint64_t lineno; /* of the record just read */
    uint64_t offset; /* byte offset of the record just read */
    uint64_t next_off;
    uint64_t last_seq; /* seq of the last good record, 0 before the first */
    uint64_t cur_seq;  /* seq of the record being read */
    uint64_t dev_size; /* size in the last open record, 0 before one */
    struct jr_doc doc;
    struct pm_rangelist ranges[3];
    char err[512];
};

/* Opens path ("-" is stdin).  Returns 0, or -1 with r->err set. */
int pm_audit_reader_open(struct pm_audit_reader *r, const char *path);
void pm_audit_reader_close(struct pm_audit_reader *r);

/* Returns 1 with *rec filled (its pointers valid until the next call), 0 at
 * a clean end, -1 on damage (r->err says where and what; nothing more can be
 * read). */
int pm_audit_reader_next(struct pm_audit_reader *r, struct pm_audit_rec *rec);

#endif
