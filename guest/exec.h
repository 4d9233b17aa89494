/* guest/exec.h — a workload of the user's own: `pmemcut-agent ack TEXT`
 * (its promises, one line each on the channel) and `pmemcut-agent check`
 * (after the cut: fsck and mount as verify does, then the user's checker
 * with the promises in a file).
 *
 * On the channel a user's promise is `user-ack TEXT`: TEXT is free text, one
 * line (pm_user_ack_ok, verify/acks.h), and is never parsed.  The host marks it on the device and
 * keeps it in acks-N.txt, one TEXT per line; at the verify boot it sends the same `user-ack TEXT`
 * lines back, then `end`, and check writes the TEXTs, one per line, to the file it names in
 * PMEMCUT_ACKS. */
#ifndef PMEMCUT_GUEST_EXEC_H
#define PMEMCUT_GUEST_EXEC_H

#include <stdint.h>

#include "verify/verdict.h"

/* pmemcut-agent ack TEXT...: the words joined by single spaces.  Sends
 * `user-ack TEXT` on the channel; with PMEMCUT_ACK_WAIT=1 in the
 * environment, waits for the host's `go` before it returns.  Exit 0, or 2
 * with one line on stderr. */
int ga_cmd_ack(int argc, char **argv);

struct ga_check_opts {
    const char *dir;  /* the workload's directory: the checker runs there */
    const char *acks; /* "channel", "-" (stdin) or a path: `user-ack TEXT` lines */
    const char *dev;  /* with fs: fsck and mount it first, as verify does */
    const char *fs;
    enum pm_expect expect;
    int ask;           /* acks from the channel: say `want-acks` first (a restored guest) */
    double timeout;    /* seconds the checker may take */
    char *const *argv; /* the checker and its arguments */
};

/* Prints the verdict JSON (and sends it on the channel when the acks came
 * from there): {"command":"check","verdict":"PASS"|"FAIL"|"ERROR",...}.
 * The checker's exit status is the verdict: 0 PASS, 1 FAIL, anything else
 * (a signal, the time limit, 127: it could not be run) ERROR, never PASS.
 * Returns PM_EXIT_OK, PM_EXIT_FAIL, or PM_EXIT_USAGE (an error, the
 * checker's included). */
int ga_cmd_check(const struct ga_check_opts *o);

#endif
