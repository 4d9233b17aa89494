/* pmemcut — the writes that a CPU made persistent (the ADR cache model).
 *
 * On an ADR platform a line reaches persistence by one of a few
 * instruction kinds; the tracer (host/tcg) sends each persisted run to the
 * device as a FUA write on an NBD connection whose export name says which
 * kind, "pmemcut-cpu/" followed by the kind's name, and the device writes
 * the kind into the write's audit record ("src":"cpu","insn":NAME).  One
 * table for the three of them, header-only so that the tracer, a QEMU
 * plugin, needs no library.
 *
 * A fence's runs go back to back, then an NBD cache request on any cpu
 * export ends the fence's batch: the records of one batch carry the same
 * "fence" number (the device's count of batches, from 1 in each nbdkit
 * process), so that offline tools can take each batch as a point.
 */
#ifndef PMEMCUT_AUDIT_CPU_H
#define PMEMCUT_AUDIT_CPU_H

#include <string.h>

#define PM_CPU_EXPORT_PREFIX "pmemcut-cpu/"

/* In the order of the tracer's enum ph_adr_src (host/tcg/adr.h). */
enum pm_cpu_insn {
    PM_CPU_CLFLUSH,  /* clflush: persistent when it executes */
    PM_CPU_WB_FENCE, /* clwb or clflushopt, then a fence on the same vCPU */
    PM_CPU_NT_FENCE, /* a non-temporal store, then a fence */
    PM_CPU_WBINVD,   /* wbinvd: every dirty line */
    PM_CPU_NINSNS
};

static inline const char *pm_cpu_insn_name(enum pm_cpu_insn i)
{
    static const char *const n[PM_CPU_NINSNS] = {"clflush", "clwb+fence", "nt+fence", "wbinvd"};
    return (unsigned)i < PM_CPU_NINSNS ? n[i] : "?";
}

/* The kind named s, or -1. */
static inline int pm_cpu_insn_parse(const char *s)
{
    for (int i = 0; i < PM_CPU_NINSNS; i++)
        if (s && strcmp(s, pm_cpu_insn_name((enum pm_cpu_insn)i)) == 0)
            return i;
    return -1;
}

/* An NBD export name: -1 the default export "" (block clients), the kind of
 * a "pmemcut-cpu/KIND" export, or -2 for any other name (refused). */
static inline int pm_cpu_export_parse(const char *name)
{
    if (!name || !*name)
        return -1;
    size_t n = strlen(PM_CPU_EXPORT_PREFIX);
    if (strncmp(name, PM_CPU_EXPORT_PREFIX, n) != 0)
        return -2;
    int k = pm_cpu_insn_parse(name + n);
    return k < 0 ? -2 : k;
}

#endif
