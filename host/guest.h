/* guest.h — what the host tells the guest image's /init (the kernel command
 * line, pmemcut.* parameters) and what comes back on the agent channel. */
#ifndef PH_GUEST_H
#define PH_GUEST_H

#include <stdbool.h>

#include <jansson.h>

#include "virt.h"

struct ph_guest_job {
    enum ph_mode mode;
    const char *fs;
    bool verify; /* false: prepare + run; true: verify */
    bool mkfs;   /* prepare: make the filesystem (first boot of a device) */
    const char *workload, *sync;
    int records;
    int pause_ms;       /* between records, so that a host-side cut lands inside */
    int cycle;          /* names the per-cycle directory */
    const char *expect; /* verify: durable or none */
    bool handshake;     /* prepare: sync, send `prepared`, wait for the host's `go` */
    const char *inject; /* run: a seeded bug (no-sync, ack-early), or NULL */
};

/* The kernel command line for a job; caller frees. */
char *ph_guest_cmdline(const struct ph_guest_job *j);

enum ph_guest_msg {
    PH_MSG_ACK,      /* ack FILE SEQ METHOD */
    PH_MSG_RESULT,   /* a JSON object: the agent's result (run, verify, refusal) */
    PH_MSG_PREPARED, /* prepared <json>: the filesystem is ready and synced; send `go` */
    PH_MSG_EXTENTS,  /* extents <json>: file extents (FIEMAP) to label as data */
    PH_MSG_OTHER,
};

/* The guest's /init prints the agent's JSON on the console after markers;
 * the last PMEMCUT-RESULT's error (or the line itself), for an error
 * message when the channel said nothing. NULL if there is none. */
char *ph_guest_console_result(const char *console);

/* Classify one channel line; for PH_MSG_RESULT, *json is the parsed object. */
enum ph_guest_msg ph_guest_parse(const char *line, json_t **json);

#endif
