/* verify/judge.h — decide, from a file's bytes and the acknowledgements that
 * name it, what became of each acknowledged record.  Pure: no I/O, so the
 * rules are unit-tested on buffers.
 *
 * File layouts, known from the file name (each workload writes one kind):
 *   append.log, mmap.dat   linear: record seq at offset (seq - 1) * size
 *   ring.dat               ring of `slots` records: seq at slot (seq - 1) % slots
 *   rec-<seq>              one record per file, at offset 0
 */
#ifndef PMEMCUT_VERIFY_JUDGE_H
#define PMEMCUT_VERIFY_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "acks.h"
#include "verdict.h"

#define PM_FILE_APPEND "append.log"
#define PM_FILE_RING   "ring.dat"
#define PM_FILE_MMAP   "mmap.dat"
#define PM_FILE_SINGLE "rec-" /* followed by the seq, 8 digits or more */

enum pm_layout { PM_LAYOUT_UNKNOWN, PM_LAYOUT_LINEAR, PM_LAYOUT_RING, PM_LAYOUT_SINGLE };

/* The layout of a file by its name; for PM_LAYOUT_SINGLE also its seq. */
enum pm_layout pm_layout_of(const char *name, uint64_t *seq);

/* The name of the single-record file for seq ("rec-00000042"). */
void pm_single_name(char *buf, size_t len, uint64_t seq);

/* In all three: acks are those naming one file, sorted by seq without
 * duplicates (pm_acks_sort: the same seq of two cycles is two acks, each
 * judged); buf/len is the file's content; exists is 0 when the file is
 * absent (buf is then ignored). */
void pm_judge_linear(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists,
                     uint32_t size, const struct pm_ack *acks, size_t n);
void pm_judge_ring(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists, uint32_t size,
                   uint32_t slots, const struct pm_ack *acks, size_t n);
void pm_judge_single(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists,
                     uint32_t size, const struct pm_ack *ack);

#endif
