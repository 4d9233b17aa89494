/* ctl.c — see ctl.h. */
#include "ctl.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int ph_ctl_open(struct pm_ctl *c, const char *path)
{
    if (pm_ctl_open(c, path, 10) < 0)
        return -1;
    pm_ctl_set_interrupt(c, &ph_interrupted);
    return 0;
}

int ph_ctl_reply(struct pm_ctl *c, json_t **reply, double timeout)
{
    char *js = NULL;
    int r = pm_ctl_reply(c, reply ? &js : NULL, timeout);
    if (r == 1)
        return -2; /* the device said error: */
    if (r == 2)
        return 1; /* no reply yet */
    if (r < 0 || !reply)
        return r;
    json_error_t err;
    *reply = json_loads(js, JSON_DECODE_ANY, &err);
    free(js);
    if (!*reply) {
        pm_set_error("control socket: %s: bad JSON in reply: %s", c->last_cmd, err.text);
        return -1;
    }
    return 0;
}

int ph_ctl_cmd(struct pm_ctl *c, json_t **reply, double timeout, const char *fmt, ...)
{
    char *cmd;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&cmd, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    int r = pm_ctl_send(c, cmd);
    free(cmd);
    if (r < 0)
        return -1;
    r = ph_ctl_reply(c, reply, timeout);
    return r == 1 ? -1 : r; /* a timeout: pm_get_error() says so */
}
