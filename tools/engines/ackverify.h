/* pmemcut — verify acknowledged records in a crash state, without a mount.
 *
 * The guest agent's verify judges the records it acknowledged by reading
 * its files through a mounted filesystem.  On the host there is no loop
 * device, so explore reads the same files out of the state image with
 * libext2fs (ext2fs_open, ext2fs_namei, ext2fs_file_read) and judges them
 * with the agent's own code (common/verify: judge, verdict, record, acks,
 * verifyset), the same library the agent links: verifyset.c
 * decides which file holds which acks, the ring size and the unacknowledged
 * single-record files over a file reader, here libext2fs's.
 *
 * Every ack carries the audit seq from which it applies: the seq of its mark
 * in the audit log ("mark ack FILE SEQ METHOD [cycle=N]"), so that a crash
 * state at a point is judged only against the records promised before that
 * point.  An ack of cycle N also carries the seq until which it applies: the
 * host's next mark "cycle M" (M != N), where the next cycle starts and its
 * workload may rewrite the file (an append workload truncates it), so that
 * cycle N's promises are not held against cycle M's states.  An ack without
 * a cycle (a log from before the host marked cycles) applies to the end.
 */
#ifndef PMEMCUT_ACKVERIFY_H
#define PMEMCUT_ACKVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utils/vec.h"
#include "verify/acks.h"
#include "verify/verdict.h"
#include "verify/verifyset.h"

#define PT_ACK_FOREVER UINT64_MAX /* until: no end */

struct pt_ack {
    struct pm_ack a;
    uint64_t from;  /* audit seq of its mark; 0: applies from the start */
    uint64_t until; /* the seq of the mark `cycle M` (M != a.cycle) that ends it; PT_ACK_FOREVER:
                       no cycle, no mark, or no later cycle */
};

/* Acks in the order they were made (from ascending, then until). */
struct pt_ack_list {
    PM_VEC(struct pt_ack) acks;
    size_t unmatched;      /* from a file: lines with no mark (of their cycle) in the log */
    size_t unmarked_cycle; /* of those, lines of a cycle the log has no `cycle N` mark of */
    size_t cycles;         /* the log's `cycle N` marks */
    size_t repeated;       /* the log's ack marks without a cycle of a FILE SEQ marked before:
                              several cycles without cycle marks (acks outlive their cycle) */
    bool nested;           /* until ascends with from: every set of pt_ackverify_at is one
                              range (true of every log the host writes) */
};

/* The acks of the audit log: every mark whose text is an ack line, scoped by
 * the `cycle N` marks.  0, or -1 with the message (pm_get_error) (a damaged
 * log: the seq where it went wrong; a malformed ack or cycle mark). */
int pt_ackverify_load_audit(struct pt_ack_list *l, const char *audit);

/* The acks of a host file (lines `ack FILE SEQ METHOD [cycle=N]`, as
 * acks-N.txt).  Each line is matched, in order, with the next mark of the
 * same ack (file, seq, method and cycle alike) in the audit log and applies
 * from that mark's seq, until its cycle's end; a line without one applies to
 * every point (counted in l->unmatched).  0, or -1 with the message. */
int pt_ackverify_load_file(struct pt_ack_list *l, const char *path, const char *audit);

void pt_ackverify_free(struct pt_ack_list *l);

/* A set of acks of a list: indices into its acks, ascending. */
typedef PM_VEC(size_t) pt_ack_set;

/* The acks that apply at a state whose image is the history up to seq at:
 * from <= at < until.  s is emptied first (its memory kept).  0, or -1 (out
 * of memory, with the message). */
int pt_ackverify_at(const struct pt_ack_list *l, uint64_t at, pt_ack_set *s);

/* The file reader and the directory lister of guest/verifyset.h. */
typedef pm_read_fn pt_ack_read_fn;
typedef pm_each_fn pt_ack_each_fn;

/* Judges the acks s of l (each file's acks sorted, as the agent does)
 * with records of `size` bytes.  0, or -1 with the message (a file could not be
 * read: no verdict). */
int pt_ackverify_judge(struct pm_verdict *v, const struct pt_ack_list *l, const pt_ack_set *s,
                       uint32_t size, pt_ack_read_fn *rd, pt_ack_each_fn *each, void *ctx);

/* The same on an ext4 image file, the workload directory being dir inside
 * it ("/" for the root).  An image libext2fs cannot open, or without that
 * directory, is what the agent sees when the filesystem does not mount:
 * every ack is missing, "filesystem did not mount".  0, or -1 with the message. */
int pt_ackverify_ext4(struct pm_verdict *v, const char *img, const char *dir,
                      const struct pt_ack_list *l, const pt_ack_set *s, uint32_t size);

/* One line for a failing verdict, numbers erased, for grouping failures:
 * "verify: missing rec-#: zero-filled".  Empty for a pass. */
void pt_ackverify_signature(const struct pm_verdict *v, char *sig, size_t len);

/* text as a signature: every run of digits one '#', quotes, backslashes
 * and control characters a "'" (so it stays a plain JSON string), at most
 * len - 1 bytes. */
void pt_sig_erase_numbers(const char *text, char *sig, size_t len);

#endif
