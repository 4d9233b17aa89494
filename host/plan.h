/* plan.h — where a cycle's power cut lands, and where it did land.
 *
 * A record is a sequence of device requests between two acks: for ext4
 * append/fsync on virtio-pmem the data write, the journal write that holds
 * the commit block, a flush, a flush.  With the agent waiting at each ack
 * until the host says go (pmemcut.ack_wait), the host sees record k - 1's
 * requests whole (the device's counters at ack k - 2 and at ack k - 1),
 * and arms a trigger for record k before record k starts.  Every boundary of
 * the sequence is a possible cut:
 *
 *   after write 1, ..., after write w      (after-writes=N)
 *   instead of flush 1, ..., of flush f    (before-flush=N)
 *   at the ack, when the record is durable (at-mark on the mark after the ack)
 *
 * w + f + 1 boundaries in all.  If record k makes fewer requests than record
 * k - 1 did, the trigger has not fired at ack k: the host disarms and cuts
 * there (the result says so).
 *
 * Where the cut landed is read back from the audit log: the requests the
 * device took between the mark that opened the record and the cut. */
#ifndef PH_PLAN_H
#define PH_PLAN_H

#include <jansson.h>
#include <stdint.h>

enum ph_cut_at { PH_CUT_AFTER_WRITE, PH_CUT_BEFORE_FLUSH, PH_CUT_AT_ACK };

struct ph_boundary {
    enum ph_cut_at at;
    uint64_t n; /* 1-based: the write after which, or the flush instead of which */
};

/* The boundaries of a record of w writes and f flushes: w + f + 1. */
uint64_t ph_plan_count(uint64_t w, uint64_t f);

/* Boundary b (taken modulo the count) of that record. */
struct ph_boundary ph_plan_boundary(uint64_t w, uint64_t f, uint64_t b);

/* Which boundary cycle n of a run takes: consecutive cycles take
 * consecutive boundaries from one the run's seed picks, so that a run of at
 * least w + f + 1 cycles reaches every one of them. */
uint64_t ph_plan_pick(uint64_t run_seed, uint64_t cycle, uint64_t w, uint64_t f);

/* The device trigger of a boundary ("after-writes=2", "before-flush=1";
 * at-mark=MARK for the ack); caller frees. */
char *ph_boundary_trigger(const struct ph_boundary *b, const char *mark);

/* A person's name for it: "after write 2 of 2", "before flush 1 of 2", "at the
 * ack"; caller frees. */
char *ph_boundary_name(const struct ph_boundary *b, uint64_t w, uint64_t f);

/* What the audit log says of the cut of a cycle: the requests the device
 * took after the mark with text `from` (the last one before the cut) and
 * before the cycle's first cut after it.  A JSON object
 *   {"requests": "WWF", "writes": 2, "flushes": 1, "cut_seq": S}
 * ("W" a write, zero or trim; "F" a flush), or NULL with pm_set_error when
 * the log cannot be read or has no such cut.  The log is read from byte
 * *resume (0: its start; a record's first byte) and *resume is left after
 * the cut, so that a run's cycles read their log once in all, not from its
 * start each time. */
json_t *ph_landing(const char *audit, const char *from, uint64_t *resume);

#endif
