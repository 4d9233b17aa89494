/* guest.h — what the host tells the guest image's /init (the kernel command
 * line, pmemcut.* parameters); what comes back on the agent channel is
 * channel.h's. */
#ifndef PH_GUEST_H
#define PH_GUEST_H

#include <stdbool.h>

#include "channel.h"
#include "virt.h"

struct ph_guest_job {
    enum ph_mode mode;
    const char *fs;
    bool verify; /* false: prepare + run; true: verify */
    bool mkfs;   /* prepare: make the filesystem (first boot of a device) */
    const char *workload, *sync;
    int records;
    int pause_ms;       /* between records, so that a host-side cut lands inside */
    int cycle;          /* run: the host's cycle, each record's epoch (0: none) */
    const char *expect; /* verify: durable or none */
    bool handshake;     /* prepare: sync, send `prepared`, wait for the host's `go` */
    bool ack_wait;      /* run: after each ack, wait for the host's `go` */
    const char *inject; /* run: a seeded bug (no-sync, ack-early), or NULL */
    bool exec;          /* the user's own workload: /pmemcut/exec, then /pmemcut/check */
};

/* The kernel command line for a job; caller frees. */
char *ph_guest_cmdline(const struct ph_guest_job *j);

/* The kernel command line of the base boot of a saved state (run --boot
 * saved): /init loads the modules for mode and fs, then waits for its job
 * on the channel (pmemcut.boot=saved); caller frees. */
char *ph_guest_base_cmdline(enum ph_mode mode, const char *fs);

/* The job's pmemcut.KEY=VALUE parameters alone, space-separated, as the
 * host sends them to a restored guest (`job ...`): the same keys, values
 * and order as on the kernel command line of a cold boot; caller frees. */
char *ph_guest_job_params(const struct ph_guest_job *j);

#endif
