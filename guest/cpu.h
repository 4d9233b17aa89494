/* guest/cpu.h — CPU cache-line write-back, for the methods that make stores
 * durable without a system call (map-sync, prealloc-flush). */
#ifndef PMEMCUT_GUEST_CPU_H
#define PMEMCUT_GUEST_CPU_H

#include <stddef.h>

enum ga_flush { GA_FLUSH_NONE, GA_FLUSH_CLFLUSH, GA_FLUSH_CLFLUSHOPT, GA_FLUSH_CLWB };

struct ga_cpu {
    int clflush, clflushopt, clwb; /* instructions the CPU has (cpuid) */
    unsigned line_size;            /* clflush line size, bytes */
    enum ga_flush best;            /* what ga_cpu_flush uses */
};

/* Fill in what this CPU offers. */
void ga_cpu_probe(struct ga_cpu *c);

/* "clwb", "clflushopt", "clflush" or "none". */
const char *ga_flush_name(enum ga_flush f);

/* Write back every cache line of [p, p + len) with the best instruction,
 * then sfence.  A no-op with GA_FLUSH_NONE. */
void ga_cpu_flush(const struct ga_cpu *c, const void *p, size_t len);

/* The same with either half left out (the seeded bugs no-flush and
 * no-fence): writeback 0 skips the write-backs, fence 0 the sfence. */
void ga_cpu_flush_parts(const struct ga_cpu *c, const void *p, size_t len, int writeback,
                        int fence);

#endif
