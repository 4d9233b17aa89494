/* ctl.c — see ctl.h. */
#include "ctl.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ph_ctl_open(struct ph_ctl *c, const char *path)
{
    int fd = ph_unix_connect(path, 10);
    if (fd < 0)
        return -1;
    ph_lines_init(&c->in, fd);
    c->path = ph_strf("%s", path);
    return 0;
}

void ph_ctl_close(struct ph_ctl *c)
{
    if (c->path)
        ph_lines_close(&c->in);
    free(c->path);
    free(c->last_cmd);
    c->path = c->last_cmd = NULL;
}

static int vsend(struct ph_ctl *c, const char *fmt, va_list ap)
{
    char *cmd;
    if (vasprintf(&cmd, fmt, ap) < 0)
        abort();
    free(c->last_cmd);
    c->last_cmd = cmd;
    char *line = ph_strf("%s\n", cmd);
    int r = ph_write_all(c->in.fd, line, strlen(line));
    free(line);
    if (r < 0)
        ph_error("control socket %s: %s: %s", c->path, cmd, ph_get_error());
    return r;
}

int ph_ctl_send(struct ph_ctl *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsend(c, fmt, ap);
    va_end(ap);
    return r;
}

int ph_ctl_reply(struct ph_ctl *c, json_t **reply, double timeout)
{
    char *line = NULL;
    int r = ph_lines_read(&c->in, &line, timeout);
    if (r == 0)
        return 1;
    if (r == -2) {
        ph_error("interrupted");
        return -1;
    }
    if (r < 0) {
        ph_error("control socket %s: %s: %s", c->path, c->last_cmd ? c->last_cmd : "",
                 "connection closed (did nbdkit die?)");
        return -1;
    }
    int ret = 0;
    if (strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
        const char *js = line + 2;
        while (*js == ' ')
            js++;
        if (reply) {
            json_error_t err;
            *reply = *js ? json_loads(js, JSON_DECODE_ANY, &err) : json_object();
            if (!*reply) {
                ph_error("control socket: %s: bad JSON in reply: %s", c->last_cmd, err.text);
                ret = -1;
            }
        }
    } else if (strncmp(line, "error:", 6) == 0) {
        const char *why = line + 6;
        while (*why == ' ')
            why++;
        ph_error("device: %s: %s", c->last_cmd, why);
        ret = -2;
    } else {
        ph_error("control socket: %s: unexpected reply: %.200s", c->last_cmd, line);
        ret = -1;
    }
    free(line);
    return ret;
}

int ph_ctl_cmd(struct ph_ctl *c, json_t **reply, double timeout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsend(c, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -1;
    r = ph_ctl_reply(c, reply, timeout);
    if (r == 1) {
        ph_error("control socket %s: no reply to '%s' within %.0f s", c->path, c->last_cmd,
                 timeout);
        return -1;
    }
    return r;
}

long long ph_json_int(json_t *o, const char *key, long long dflt)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return dflt;
}

const char *ph_json_str(json_t *o, const char *key, const char *dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}
