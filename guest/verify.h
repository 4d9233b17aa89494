/* guest/verify.h — `pmemcut-agent verify`: after the cut and the reboot,
 * were the acknowledged records kept? */
#ifndef PMEMCUT_GUEST_VERIFY_H
#define PMEMCUT_GUEST_VERIFY_H

#include <stdint.h>

#include "verify/verdict.h"

struct ga_verify_opts {
    const char *dir;
    const char *acks; /* "channel", "-" (stdin) or a path */
    const char *dev;  /* with fs: check and mount it first */
    const char *fs;
    uint32_t size;  /* record size */
    uint32_t slots; /* ring slots; 0: read them from the ring's records */
    enum pm_expect expect;
    int ask; /* acks from the channel: send `want-acks` first (a restored guest's
              * host sends them only then, so that no earlier opener of the
              * port takes them to its close) */
};

/* Prints the verdict JSON; returns PM_EXIT_OK (PASS), PM_EXIT_FAIL or
 * PM_EXIT_USAGE. */
int ga_cmd_verify(const struct ga_verify_opts *o);

#endif
