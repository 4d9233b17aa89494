/* guest/cpu.h — CPU cache-line write-back, for the methods that make stores
 * durable without a system call (map-sync, prealloc-flush). */
#ifndef PMEMCUT_GUEST_CPU_H
#define PMEMCUT_GUEST_CPU_H

#include <stddef.h>

enum pm_flush { PM_FLUSH_NONE, PM_FLUSH_CLFLUSH, PM_FLUSH_CLFLUSHOPT, PM_FLUSH_CLWB };

struct pm_cpu {
    int clflush, clflushopt, clwb; /* instructions the CPU has (cpuid) */
    unsigned line_size;            /* clflush line size, bytes */
    enum pm_flush best;            /* what pm_cpu_flush uses */
};

/* Fill in what this CPU offers. */
void pm_cpu_probe(struct pm_cpu *c);

/* "clwb", "clflushopt", "clflush" or "none". */
const char *pm_flush_name(enum pm_flush f);

/* Write back every cache line of [p, p + len) with the best instruction,
 * then sfence.  A no-op with PM_FLUSH_NONE. */
void pm_cpu_flush(const struct pm_cpu *c, const void *p, size_t len);

#endif
