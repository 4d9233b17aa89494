/* pmemcut — what the parts of explore share (see explore.h for the parts).
 * Not for use outside tools/engines/explore*.c. */
#ifndef PMEMCUT_EXPLORE_INT_H
#define PMEMCUT_EXPLORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

#include "audit/auditlog.h"
#include "explore.h"
#include "replay.h"
#include "utils/jsonr.h"

#define PT_SIG_MAX 160 /* a failure's signature, NUL included */

/* --- explore-states.c: the states to check, and those done before ------- */

/* The set of states already in states.jsonl (for resume). */
struct pt_done_set {
    uint64_t *h; /* open addressing; 0 is empty */
    size_t cap, n;
};

/* splitmix64 of x, never 0: the one hash of explore. */
uint64_t pt_explore_mix(uint64_t x);

/* Reads DIR/states.jsonl: every complete line into the done set.  A torn
 * last line (the run was killed while a child wrote it) is cut off.  0, or
 * -1 with errno. */
int pt_explore_load_done(const char *path, struct pt_done_set *done, uint64_t *nstates);

/* The key of a state in the done set (and a shard's share). */
uint64_t pt_explore_state_key(uint64_t at, enum pm_policy pol, uint64_t seed, bool fence);

/* Whether rec is a point of the kinds in want, before it is applied
 * (flush, cut) or after (mark, write): the point's name, or NULL. */
const char *pt_explore_point_kind(const struct pm_audit_rec *rec, unsigned want, bool before);

/* Counts the points in the log first, for the progress line. */
uint64_t pt_explore_count_points(const struct pt_explore_opts *o);

struct pt_explore_workers;

/* All states of one point: the policies in order, seeds derived from the
 * point so that a resumed run asks for the same ones.  0, or -1 with the
 * message. */
int pt_explore_point(struct pt_explore_workers *u, struct pt_replay *r, struct pt_done_set *done,
                     uint64_t point, const char *kind, uint64_t at);

/* --- explore-fence.c: the CPU's fence batches (ADR, audit/cpu.h) --------- */

/* One write of a batch: where its payload is in the data log. */
struct pt_batch_write {
    uint64_t seq, off, len, dlog;
};

/* The batches of the log: the "src":"cpu" writes with one fence number, in
 * order; batch b is writes [first[b], first[b + 1]). */
struct pt_batches {
    PM_VEC(struct pt_batch_write) w;
    PM_VEC(size_t) first; /* one more than the batches: the end */
    size_t next;          /* the batch whose first write comes next in the replay */
};

/* Reads the log's batches (those whose first write is in [from, to]).  0,
 * or -1 with the message. */
int pt_explore_load_batches(const struct pt_explore_opts *o, struct pt_batches *b);
void pt_explore_free_batches(struct pt_batches *b);
/* Whether rec is the first write of the next batch: that batch, or NULL. */
const struct pt_batch_write *pt_explore_batch_at(struct pt_batches *b,
                                                 const struct pm_audit_rec *rec, size_t *n);

/* The batch of the fence point being spawned (NULL at other points): the
 * child makes its writes dirty, not persistent, before the cut, so that
 * the state holds any subset of them beside the other dirty lines. */
extern const struct pt_batch_write *pt_explore_batch;
extern size_t pt_explore_batch_len;

/* --- explore-workers.c: the parent's children ---------------------------- */

/* What a worker slot's child checks, for the parent's messages. */
struct pt_slot_state {
    uint64_t point, at;
    struct pm_cut_params cp;
};

struct pt_explore_workers {
    const struct pt_explore_opts *o;
    pid_t *slot_pid;                  /* jobs entries: the child on each worker slot, 0 if free */
    struct pt_slot_state *slot_state; /* jobs entries */
    int running;
    uint64_t started, finished, failed, timeouts, errors, resumed;
    sigset_t wait_mask; /* SIGCHLD blocked: the parent waits with sigtimedwait */
    sigset_t old_mask;  /* the mask before the run, the children's */
    uint64_t points_total, points_seen;
    struct timespec t0, last_draw;
    bool tty;
};

/* Seconds since t. */
double pt_explore_since(const struct timespec *t);
/* The progress line on a terminal (at most every 0.2 s unless force). */
void pt_explore_draw(struct pt_explore_workers *u, bool force);
/* Collects finished children (waits for one if block, drawing the
 * progress line meanwhile).  A child that could not check its state is
 * named on stderr. */
void pt_explore_reap(struct pt_explore_workers *u, bool block);
/* Checks one state in a child on a free worker slot (waiting for one).
 * 0, or -1 with the message. */
int pt_explore_spawn(struct pt_explore_workers *u, struct pt_replay *r, uint64_t point,
                     const char *kind, uint64_t at, const struct pm_cut_params *cp);

/* --- explore-images.c: one image file per worker slot -------------------- */

#define PT_BLK       4096u
#define PT_MAX_PATCH 8192u /* blocks a state may patch and still be undone block by block */

struct pt_slot { /* shared: the child using the slot updates it */
    bool valid;  /* the file holds P at epoch plus patch[] */
    uint32_t epoch;
    uint32_t npatch;
    uint32_t patch[PT_MAX_PATCH];
};

struct pt_track { /* parent; each child inherits it as it was at the fork */
    const struct pt_replay *r;
    uint32_t *gen; /* per block: the epoch of its last change */
    uint64_t nblk;
    uint32_t epoch;
    uint64_t epoch_seq; /* the record that took the current epoch */
};

/* Where P changes: the replay's p_change hook (ctx: the track). */
extern struct pt_track pt_explore_track;
/* The worker slots (jobs entries, shared with the children). */
extern struct pt_slot *pt_explore_slots;
/* Where the slot images are. */
extern char pt_explore_dir[4096];
/* Where the filesystem starts on the device (--offset, a multiple of
 * PT_BLK): the slot images hold the device from there. */
extern uint64_t pt_explore_fs_offset;

int pt_explore_track_ready(struct pt_track *t);
void pt_explore_p_changed(void *ctx, uint64_t off, uint64_t len);
/* Makes the slot's file img the image p (P after this state's cut cr).  0,
 * or -1 with the message. */
int pt_explore_slot_sync(struct pt_slot *s, const char *img, const uint8_t *p, uint64_t size,
                         const struct pm_cut_result *cr);

/* --- explore-dedup.c: states identical to one checked before ------------- */

#define PT_DUP_CAP  16384u
#define PT_TAIL_MAX 1024u

struct pt_dup { /* shared: one checked (or being checked) state */
    uint64_t key;
    int state;   /* 0 free, 1 being checked, 2 done, 3 unusable */
    int code;    /* the child's exit status */
    pid_t owner; /* the child checking it */
    char tail[PT_TAIL_MAX];
};

/* The table (PT_DUP_CAP entries, shared with the children). */
extern struct pt_dup *pt_explore_dups;

/* What makes a state what it is: P's epoch, the bytes of the lines the cut
 * kept or tore (lost lines are P's), and which acks are judged (acks, from
 * pt_ackverify_at: the same image at two points of different cycles is two
 * states). */
uint64_t pt_explore_state_hash(const uint8_t *p, const struct pm_cut_result *cr,
                               const pt_ack_set *acks);
/* The entry for key: *mine is set when this child claimed it; NULL when
 * the table is full. */
struct pt_dup *pt_explore_dup_claim(uint64_t key, bool *mine);
/* Waits for another child to finish the same state; its tail and status,
 * or -1 (it could not: check it here). */
int pt_explore_dup_wait(struct pt_dup *d, char *tail, size_t n);
/* Publishes the result of a claimed state. */
void pt_explore_dup_done(struct pt_dup *d, const char *tail, int code);
/* Gives up a claimed state (it could not be checked). */
void pt_explore_dup_drop(struct pt_dup *d);

/* --- explore-check.c: one state, in the child ---------------------------- */

/* A state's outcome, the exit status of the child that checked it. */
enum { PT_STATE_PASS = 0, PT_STATE_FAIL = 1, PT_STATE_ERROR = 2, PT_STATE_TIMEOUT = 3 };

/* "the state at point seq P (replay to A), POLICY seed S": how messages
 * name a state. */
void pt_explore_state_name(char *out, size_t n, uint64_t point, uint64_t at,
                           const struct pm_cut_params *cp);

/* Cut, make the image, check, append the result line.  Exit status:
 * PT_STATE_PASS, _FAIL, _TIMEOUT (the checker was killed at the limit), or
 * _ERROR (could not check; a message naming the state is on stderr). */
int pt_explore_check_state(struct pt_replay *r, const struct pt_explore_opts *o, int slot,
                           uint64_t point, const char *kind, uint64_t at,
                           const struct pm_cut_params *cp);

/* --- explore-judge.c: the acknowledged records on a state ---------------- */

/* Judges the acks that apply at at (pt_ackverify_at: nacks of them) on the
 * image img (NULL: a state the kernel would not mount, where every one is
 * missing, "filesystem did not mount") and writes the verify keys of the
 * state's line to f.  Returns 1 for a FAIL verdict, 0
 * for a pass or when not judged, -1 when the records could not be read (a message on stderr; the
 * line says "verify":"error"). */
int pt_explore_judge(FILE *f, const struct pt_explore_opts *o, const char *img, uint64_t at,
                     size_t nacks);

/* --- explore-report.c: states.jsonl read back ---------------------------- */

/* One line of states.jsonl. */
struct pt_state_result {
    uint64_t at, point;
    enum pm_policy policy;
    uint64_t seed;
    uint64_t lost; /* lost + torn lines */
    char fsck[16];
    char sig[PT_SIG_MAX];
    char verify[8]; /* "PASS", "FAIL" or "" (not judged) */
    bool dup;       /* the same image as a state checked before */
    bool fence;     /* a fence point's state (its key differs from a write point's at the same
                       replay_to) */
    char vsig[PT_SIG_MAX];
};

/* Parses one states.jsonl line.  0 or -1. */
int pt_explore_parse_result(struct jr_doc *d, const char *line, size_t len,
                            struct pt_state_result *res);
/* The summary of o->out/states.jsonl to out: the number of failing states
 * (fsck or verify, and timeouts), or -1 with errno. */
int pt_explore_write_summary(const struct pt_explore_opts *o, FILE *out);

#endif
