/* pmemcut — reading the audit log (JSON Lines written by plugin/device.c).
 *
 * au_next returns the records one by one, typed.  It checks what a reader
 * can check without the device: every line is one whole JSON object with
 * seq, ns and a known ev; seq goes up by one from line to line; the fields
 * an event needs are present with their types.  The first damage stops the
 * reading, and the message says where: line number, byte offset and the
 * last good seq, so that a tool can still report what came before.
 */
#ifndef PMEMCUT_AUDITLOG_H
#define PMEMCUT_AUDITLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "utils/jsonr.h"
#include "model/model.h"

enum au_ev {
    AU_OPEN,
    AU_WRITE,
    AU_ZERO,
    AU_TRIM,
    AU_FLUSH,
    AU_CUT,
    AU_POWER_ON,
    AU_MARK,
    AU_CLASSIFY,
    AU_FAULT,
    AU_ARM,
    AU_DISARM,
    AU_REJECTED,
    AU_CLOSE,
    AU_NEV
};

/* One record.  Pointers (strings, range arrays) point into the reader and
 * stay valid until the next au_next. */
struct au_rec {
    uint64_t seq, ns;
    enum au_ev ev;
    uint64_t off, len; /* write/zero/trim/classify/rejected */
    bool fua, ignored;
    bool has_dlog;
    uint64_t dlog;                              /* write: frame offset in the data log */
    struct pm_counts dirtied, cleaned;          /* write/zero/trim */
    struct pm_counts persisted;                 /* write/zero/trim/flush */
    struct pm_counts lost, kept, torn;          /* cut; close: lost */
    struct pm_cut_params cut;                   /* cut, arm; open: the default */
    const char *trigger;                        /* cut, arm */
    struct pm_rangelist lost_r, kept_r, torn_r; /* cut */
    const char *text;                           /* mark text; fault: "ignore"/"honor" */
    enum pm_class cls;                          /* classify */
    uint64_t lines;                             /* classify */
    const char *op;                             /* rejected */
    /* open */
    const char *file, *data_log;
    uint64_t size;
    uint32_t line;
    bool created, implied_cut;
    bool power_on; /* close: the device was on */
};

struct au_reader {
    FILE *f;
    const char *path;
    char *buf;
    size_t cap;
    uint64_t lineno; /* of the record just read */
    uint64_t offset; /* byte offset of the record just read */
    uint64_t next_off;
    uint64_t last_seq; /* seq of the last good record, 0 before the first */
    uint64_t cur_seq;  /* seq of the record being read */
    struct jr_doc doc;
    struct pm_rangelist ranges[3];
    char err[512];
};

/* Opens path ("-" is stdin).  Returns 0, or -1 with r->err set. */
int au_open(struct au_reader *r, const char *path);
void au_close(struct au_reader *r);

/* Returns 1 with *rec filled, 0 at a clean end, -1 on damage (r->err says
 * where and what; nothing more can be read). */
int au_next(struct au_reader *r, struct au_rec *rec);

const char *au_ev_name(enum au_ev ev);

#endif
