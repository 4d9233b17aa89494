/* ctl.h — the device's control socket for the host: common/utils'
 * ctlclient.h (the plugin's line protocol: one command per line, one reply
 * `ok <json>` or `error: <reason>`), with the reply parsed by jansson and
 * the waits cut short by ph_interrupted.  Open with ph_ctl_open, send a
 * command without waiting with pm_ctl_sendf, close with pm_ctl_close. */
#ifndef PH_CTL_H
#define PH_CTL_H

#include <jansson.h>

#include "utils/ctlclient.h"

/* Connects (waiting up to 10 s for the socket).  0, or -1 with
 * pm_set_error. */
int ph_ctl_open(struct pm_ctl *c, const char *path);

/* Send one command and wait for its reply (timeout seconds; wait-off needs
 * more than its own timeout). On `ok`, 0 and *reply (may be NULL if not
 * wanted; an empty reply is an empty object). On `error: ...`, -2 with
 * pm_get_error() "device: <command>: <reason>". On I/O trouble, timeout or
 * interrupt, -1. */
int ph_ctl_cmd(struct pm_ctl *c, json_t **reply, double timeout, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The reply to the command sent last with pm_ctl_sendf (so that a blocking
 * command, wait-off, can be waited for next to other work): returns like
 * ph_ctl_cmd, or 1 when no reply came within timeout. */
int ph_ctl_reply(struct pm_ctl *c, json_t **reply, double timeout);

#endif
