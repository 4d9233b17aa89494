/* pmemcut — re-running a device history through the persistence model.
 *
 * The audit log says what happened and in which order; the data log holds
 * every write's payload.  pt_replay_apply feeds each record to the same model the
 * plugin runs (common/model), so the image at any seq, and the fates of a
 * cut with a given policy and seed, are the device's own, not an imitation.
 *
 * While it replays, it checks the model against the log: the lines each
 * write dirtied, cleaned and persisted, and each cut's lost/kept/torn
 * ranges must be what the device logged.  A difference means the log does
 * not describe this image (wrong data log, edited log, another base image)
 * and is reported with the seq where it starts.
 *
 * Restarts of nbdkit (an "open" record after the first) are replayed as
 * what they are: the new process starts a fresh model on the persisted
 * image, so whatever was unpersisted is lost, and labels, faults and
 * triggers are reset.
 */
#ifndef PMEMCUT_REPLAY_H
#define PMEMCUT_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "audit/auditlog.h"
#include "audit/dlog.h"
#include "model/model.h"

struct pt_replay {
    struct pm_audit_reader au;
    struct pm_dlog_reader dl;
    bool have_dlog;
    const char *base; /* image the history started from, if not created */

    uint8_t *p; /* persisted image P (anonymous mapping, size bytes) */
    uint64_t size;
    uint32_t line;
    struct pm_model *m;
    uint8_t *buf;
    size_t bufcap;

    struct pm_audit_rec rec; /* the record last read by pt_replay_next */
    uint64_t applied;        /* seq of the last applied record, 0 if none */
    /* set by the caller (may stay NULL): told, before a record is applied,
     * every range of P that the record may change (flush and cut: every
     * dirty range; FUA writes: the request), so that copies of P can be
     * kept up to date by rewriting only those */
    void (*p_change)(void *ctx, uint64_t off, uint64_t len);
    void *p_change_ctx;
    bool mismatch;
};

/* audit: the log; dlog: the data log (NULL: only histories without writes
 * can be replayed); base: the image at the first record when it was not
 * created by the device (NULL: an error in that case).  0, or -1
 * (pm_get_error says why); pt_replay_close is safe after either. */
int pt_replay_open(struct pt_replay *r, const char *audit, const char *dlog, const char *base);
void pt_replay_close(struct pt_replay *r);

/* Reads the next record into r->rec: 1, 0 at the end, -1 on damage
 * (pm_get_error names the line and byte offset). */
int pt_replay_next(struct pt_replay *r);
/* Applies r->rec to the model.  0, or -1 (pm_get_error says why). */
int pt_replay_apply(struct pt_replay *r);

/* Applies the write of record seq (its payload at data-log offset dlog)
 * without FUA: its lines become dirty, whatever the record said.  For a
 * state in which a persisted write had not reached persistence yet.  0, or
 * -1 (pm_get_error says why). */
int pt_replay_write_dirty(struct pt_replay *r, uint64_t seq, uint64_t dlog, uint64_t off,
                          uint64_t len);

/* Whether the device is on (reads would return V). */
bool pt_replay_is_on(const struct pt_replay *r);
/* Reads V (or P when off) at [off, off+len). */
void pt_replay_read(const struct pt_replay *r, void *buf, uint64_t len, uint64_t off);

/* Cuts now with cp (if the device is on) and leaves P as the image. */
int pt_replay_cut(struct pt_replay *r, const struct pm_cut_params *cp, const char *why);

/* Writes size bytes of img to path, leaving all-zero 64 KiB blocks as
 * holes.  0, or -1 (pm_get_error says why). */
int pt_write_image(const uint8_t *img, uint64_t size, const char *path);

#endif
