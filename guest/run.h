/* guest/run.h — the durability workloads (`pmemcut-agent run`). */
#ifndef PMEMCUT_GUEST_RUN_H
#define PMEMCUT_GUEST_RUN_H

#include <stdint.h>

#include "verify/acks.h"

#define GA_RUN_DEFAULT_RECORDS 100
#define GA_RUN_DEFAULT_SLOTS   8

struct ga_run_opts {
    const char *dir;
    enum pm_workload workload;
    enum pm_method method;
    uint64_t records;   /* how many records to write */
    uint32_t size;      /* bytes per record */
    uint32_t slots;     /* ring size of the overwrite workload */
    unsigned pause_ms;  /* sleep between records, to give the host time */
    const char *ack_to; /* "channel", "-" (stdout) or a path */
};

/* Run the workload, print the result JSON; returns an exit code
 * (PM_EXIT_OK, PM_EXIT_USAGE, PM_EXIT_REFUSED). */
int ga_cmd_run(const struct ga_run_opts *o);

#endif
