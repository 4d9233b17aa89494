/* ctl.h — client of the device's control socket (the plugin's line protocol:
 * one command per line, one reply `ok <json>` or `error: <reason>`). */
#ifndef PH_CTL_H
#define PH_CTL_H

#include <jansson.h>

#include "sock.h"

struct ph_ctl {
    struct ph_lines in;
    char *path;
    char *last_cmd; /* for error messages */
};

int ph_ctl_open(struct ph_ctl *c, const char *path);
void ph_ctl_close(struct ph_ctl *c);

/* Send one command and wait for its reply (timeout seconds; wait-off needs
 * more than its own timeout). On `ok`, 0 and *reply (may be NULL if not
 * wanted; an empty reply is an empty object). On `error: ...`, -2 with
 * ph_error "device: <command>: <reason>". On I/O trouble or timeout, -1. */
int ph_ctl_cmd(struct ph_ctl *c, json_t **reply, double timeout, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Split sending and receiving, so that a blocking command (wait-off) can be
 * waited for with poll() next to other work. ph_ctl_reply returns like
 * ph_ctl_cmd, or 1 when no reply came within timeout. */
int ph_ctl_send(struct ph_ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ph_ctl_reply(struct ph_ctl *c, json_t **reply, double timeout);

/* Integer field of an object, or dflt when absent. */
long long ph_json_int(json_t *o, const char *key, long long dflt);
/* String field of an object, or dflt. */
const char *ph_json_str(json_t *o, const char *key, const char *dflt);

#endif
