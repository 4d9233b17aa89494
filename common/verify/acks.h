/* verify/acks.h — sync methods, workloads and acknowledgement lines.
 *
 * An acknowledgement is one text line `ack FILE SEQ METHOD [cycle=N]`: record
 * SEQ of FILE (a name inside the workload directory) was made durable by
 * METHOD.  The agent sends it without a cycle; the host, which runs cycle
 * after cycle over the same device, adds `cycle=N` to its device mark and to
 * its acks-N.txt, because the same FILE SEQ is acked again by the next cycle
 * after its workload rewrote the file: only the cycle tells the two apart.
 * The host keeps the list; verify reads it back, until a line `end` (or the
 * end of the file).  Lines the agent itself sends that are not acks
 * (`result ...`, `verdict ...`) and blank lines are skipped, so a raw capture
 * of the channel can be fed back as it is.
 */
#ifndef PMEMCUT_VERIFY_ACKS_H
#define PMEMCUT_VERIFY_ACKS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum pm_method {
    PM_SYNC_NONE,
    PM_SYNC_FSYNC,
    PM_SYNC_FDATASYNC,
    PM_SYNC_MSYNC,
    PM_SYNC_ODSYNC,
    PM_SYNC_MAP_SYNC,
    PM_SYNC_PREALLOC_FLUSH,
    PM_SYNC_PREWRITE_FLUSH,
    PM_SYNC_COUNT
};

enum pm_workload { PM_WL_APPEND, PM_WL_OVERWRITE, PM_WL_CREATE, PM_WL_MMAP, PM_WL_COUNT };

/* Names as written on the command line and in ack lines; parse returns -1
 * for an unknown name. */
const char *pm_method_name(enum pm_method m);
int pm_method_parse(const char *s);
const char *pm_workload_name(enum pm_workload w);
int pm_workload_parse(const char *s);

/* Does the method store through a shared mapping (rather than write(2))? */
int pm_method_maps(enum pm_method m);

#define PM_ACK_FILE_MAX 128
#define PM_CYCLE_MAX    2147483647u /* 2^31 - 1: what the host's int counts to */

struct pm_ack {
    char file[PM_ACK_FILE_MAX];
    uint64_t seq;
    enum pm_method method;
    uint32_t cycle; /* the host's cycle (`cycle=N`), 1..PM_CYCLE_MAX; 0: none given */
};

/* Is name acceptable as FILE: 1..PM_ACK_FILE_MAX-1 characters, no '/', no
 * whitespace or control characters, not "." or ".."?  0 or -1. */
int pm_ack_name_ok(const char *name);

/* A cycle number as the host writes it: decimal digits, no sign, no leading
 * zero, 1..PM_CYCLE_MAX, nothing else.  0 (*cycle set), or -1. */
int pm_cycle_parse(const char *s, uint32_t *cycle);

/* Is text (a device mark's) the host's `cycle N`?  1 (*cycle set), 0 when
 * its first word is not `cycle`, -1 when it is but the rest is not one
 * number N (err says why). */
int pm_cycle_mark_parse(const char *text, uint32_t *cycle, char *err, size_t errlen);

/* Parse one line (trailing newline allowed).  Returns 0 for an ack (filled
 * in; cycle 0 without `cycle=N`), 1 for `end`, 2 for a line to skip, -1 for
 * a malformed line (err says why). */
int pm_ack_parse(const char *line, struct pm_ack *ack, char *err, size_t errlen);

/* Format an ack line, newline included, into buf: without a cycle, as the
 * agent sends it; pm_ack_format_cycle adds ` cycle=N` unless cycle is 0.
 * Returns its length. */
int pm_ack_format(char *buf, size_t len, const char *file, uint64_t seq, enum pm_method m);
int pm_ack_format_cycle(char *buf, size_t len, const char *file, uint64_t seq, enum pm_method m,
                        uint32_t cycle);

/* A PM_VEC (utils/vec.h) of acks. */
struct pm_ack_list {
    struct pm_ack *v;
    size_t len, cap;
};

#define PM_ACKS_MAX 10000000 /* bound on a list read from outside */

/* Append one ack.  0, or -1 on allocation failure or past PM_ACKS_MAX. */
int pm_acks_add(struct pm_ack_list *l, const struct pm_ack *a);

/* Read ack lines from f until `end` or EOF.  need_end: EOF before `end` is
 * an error.  Returns 0, or -1 with err saying which line was wrong. */
int pm_acks_read(struct pm_ack_list *l, FILE *f, int need_end, char *err, size_t errlen);

/* Sort by (file, seq, cycle) and drop duplicates: the same record acked in
 * two cycles is two acks. */
void pm_acks_sort(struct pm_ack_list *l);

void pm_acks_free(struct pm_ack_list *l);

/* A promise of the user's own workload (`pmemcut-agent ack TEXT`, on the
 * channel `user-ack TEXT`): free text, never parsed, one line of
 * 1..PM_USER_ACK_MAX bytes without control characters.  0, or -1 with
 * why. */
#define PM_USER_ACK_MAX 1000
int pm_user_ack_ok(const char *text, char *why, size_t whylen);

#endif
