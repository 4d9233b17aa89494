/* pmemcut — the audit log writer (JSON Lines) and the data log.  The
 * record bodies come from format.h; this file adds seq and ns and writes.
 *
 * One record per line, written with a single write(2) under a mutex, so that
 * records never interleave and a killed process never leaves half a record.
 * seq continues from the last record already in the file.
 */
#ifndef PMEMCUT_AUDIT_H
#define PMEMCUT_AUDIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "schema.h"
#include "utils/jbuf.h"

/* lock guards every other field and the order of the writes to both
 * files; pm_audit_append* take it, and a reader of seq takes it too. */
struct pm_audit {
    int fd;
    int dfd;           /* data log, -1 if none */
    uint64_t seq;      /* seq of the last record written */
    uint64_t dlog_end; /* size of the data log */
    uint64_t end;      /* size of the audit log (we are its only writer) */
    struct jbuf *line; /* reused line buffer */
    pthread_mutex_t lock;
};

/* Opens (creating) the audit log and, if dlog_path is not NULL, the data log.
 * On error returns -1 with the message in pm_get_error() (utils/error.h). */
int pm_audit_open(struct pm_audit *a, const char *path, const char *dlog_path);
void pm_audit_close(struct pm_audit *a);

/* Appends {"seq":N,"ns":T,<body>} and a newline; body is the record's
 * fields without braces.  With sync, fdatasyncs the log (and the data log).
 * A failed write or sync leaves the file as it was: -1, errno set.
 * Returns the record's seq in *seq_out if not NULL. */
int pm_audit_append(struct pm_audit *a, const char *body, bool sync, uint64_t *seq_out);

/* Writes a data-log frame for the record that the next pm_audit_append will
 * write, then that record: the pair is all or nothing.  body_prefix gets
 * ",\"dlog\":OFFSET" appended by this function. */
int pm_audit_append_write(struct pm_audit *a, const char *body, const void *data, uint64_t off,
                          uint64_t len, bool sync, uint64_t *seq_out);

/* Formats rec (format.h) and appends it, synced as its kind says. */
int pm_audit_append_rec(struct pm_audit *a, const struct pm_audit_rec *rec, uint64_t *seq_out);

uint64_t pm_now_ns(void);

#endif
