/* guest/run.h — the durability workloads (`pmemcut-agent run`). */
#ifndef PMEMCUT_GUEST_RUN_H
#define PMEMCUT_GUEST_RUN_H

#include <stdint.h>

#include "verify/acks.h"

#define GA_RUN_DEFAULT_RECORDS 100
#define GA_RUN_DEFAULT_SLOTS   8
#define GA_ACK_WAIT_MS         120000 /* longest wait for the host's `go` after an ack */

/* Seeded bugs (`--inject`), to show that the verifier catches a method
 * that breaks its promise: no-sync makes no durability call at all and acks
 * anyway; ack-early acks a record before storing it (then stores it and
 * makes it durable as the method says). */
enum ga_inject {
    GA_INJECT_NONE,
    GA_INJECT_NO_SYNC,
    GA_INJECT_ACK_EARLY,
    GA_INJECT_NO_FLUSH, /* the cache-line write-back left out (the fence kept) */
    GA_INJECT_NO_FENCE, /* the fence after the write-backs left out */
};

/* The name of a seeded bug ("no-sync", "ack-early"; NULL for none), and
 * the bug of a name (-1 if unknown). */
const char *ga_inject_name(enum ga_inject i);
int ga_inject_parse(const char *s);

struct ga_run_opts {
    const char *dir;
    enum pm_workload workload;
    enum pm_method method;
    uint64_t records;   /* how many records to write */
    uint32_t size;      /* bytes per record */
    uint32_t slots;     /* ring size of the overwrite workload */
    unsigned pause_ms;  /* sleep between records, to give the host time */
    const char *ack_to; /* "channel", "-" (stdout) or a path */
    int ack_wait;       /* after each ack, wait for the host's `go` on the channel */
    uint32_t epoch;     /* in every record: the host's cycle (0: none) */
    enum ga_inject inject;
};

/* Run the workload, print the result JSON; returns an exit code
 * (PM_EXIT_OK, PM_EXIT_USAGE, PM_EXIT_REFUSED). */
int ga_cmd_run(const struct ga_run_opts *o);

#endif
