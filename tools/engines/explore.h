/* pmemcut — crash-state exploration over a replayed history.
 *
 * At each chosen point of the history (every flush and cut, every mark, or
 * every write), the replay is forked: the child inherits the whole device
 * state copy-on-write, cuts it with one policy and seed through the model,
 * writes the persisted image and runs the filesystem's own read-only check
 * on it.  The parent keeps replaying and keeps one child per core busy.
 *
 * Every state's result is one line of DIR/states.jsonl (written whole, with
 * one write(2) by the child that checked it); a second run skips the states
 * already there, so an interrupted exploration resumes.  At the end the
 * distinct failures (by the first problem fsck reports, numbers erased) are
 * listed with the smallest state that shows each, in DIR/summary.txt.
 *
 * The parts, one file each:
 *   explore.c          the run: replay, points, setup and teardown
 *   explore-states.c   which crash states to enumerate, and resuming
 *   explore-workers.c  the children: one per worker slot, progress line
 *   explore-images.c   the state images, patched rather than rewritten
 *   explore-dedup.c    states identical to one already checked
 *   explore-check.c    one state: cut, image, fsck, its line of states.jsonl
 *   explore-judge.c    the acknowledged records judged on a state
 *   explore-report.c   the summary of distinct failures
 */
#ifndef PMEMCUT_EXPLORE_H
#define PMEMCUT_EXPLORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ackverify.h"
#include "model/model.h"
#include "verify/verdict.h"

/* Which records are points (--points).  fence: the first write of each
 * batch the CPU made persistent (an ADR history, "src":"cpu" records of
 * one "fence"), before it: its writes are made dirty rather than
 * persistent, so that the states hold any subset of the batch (written
 * back, not yet fenced) and of the lines then dirty, as Vinter takes. */
enum pt_point_kind {
    PT_POINT_FLUSH = 1,
    PT_POINT_MARK = 2,
    PT_POINT_WRITE = 4,
    PT_POINT_FENCE = 8
};

#define PT_EXPLORE_MAX_POLICIES 5

/* Each run of a state's checker (e2fsck, xfs_repair) is killed after
 * --check-timeout seconds (default, bounds): a checker that hangs on a
 * crash state is a finding ("fsck":"timeout"), not a reason to wait. */
#define PT_CHECK_TIMEOUT_DEFAULT 10.0
#define PT_CHECK_TIMEOUT_MIN     0.1
#define PT_CHECK_TIMEOUT_MAX     3600.0

/* What to explore: the front end fills it from the command line. */
struct pt_explore_opts {
    const char *audit, *data, *base, *out, *fs;
    unsigned points; /* enum pt_point_kind bits */
    unsigned per_point;
    enum pm_policy policies[PT_EXPLORE_MAX_POLICIES];
    int npolicies;
    double p;
    int jobs;
    uint64_t from, to;
    const char *acks;          /* set by --acks: a file of ack lines, or "audit" */
    const char *verify_dir;    /* set by --verify-dir: the workload directory in the fs */
    uint32_t record_size;      /* set by --record-size */
    enum pm_expect expect;     /* set by --expect */
    bool fresh;                /* set by --fresh-images: each state written whole, none skipped */
    double check_timeout;      /* set by --check-timeout: seconds per checker run */
    unsigned shard_k, shard_n; /* set by --shard K/N: this run's share of the states (0/0: all) */
    uint64_t fs_offset;        /* set by --offset: where the filesystem starts on the device (an
                                  nvdimm's fsdax namespace); the state images start there */
    struct pt_ack_list
        al; /* the acks, each with the seqs it applies from and until (loaded by the run) */
};

struct pt_replay;

/* A fence point's state, rebuilt (replay --unfence SEQ): the batch of CPU
 * writes whose first record is seq is made dirty in r, which has been
 * replayed to before it, from its data-log frames.  0, or -1 with the
 * message (seq starts no batch; the logs do not agree). */
int pt_explore_unfence(struct pt_replay *r, const char *audit, uint64_t seq);

/* The defaults of every option (jobs: one per online core). */
void pt_explore_defaults(struct pt_explore_opts *o);

/* Explores o (o->al is filled and freed by the run).  0 with *failed set
 * to the number of failing states and of states whose checker timed out,
 * or -1 (pm_get_error says why; with a
 * damaged log the states before the damage were checked and summarised). */
int pt_explore_run(struct pt_explore_opts *o, uint64_t *failed);

/* Merges the states.jsonl of shard runs (--shard K/N of the same history
 * and options) into o->out/states.jsonl, each state once, and writes the
 * summary a single run would have given (stdout and o->out/summary.txt).
 * 0 with *failed set as pt_explore_run does, or -1 with pm_get_error. */
int pt_explore_merge(struct pt_explore_opts *o, char *const *dirs, int ndirs, uint64_t *failed);

#endif
