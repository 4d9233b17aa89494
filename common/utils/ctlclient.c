/* common/utils/ctlclient.c — see ctlclient.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ctlclient.h"
#include "error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pm_ctl_open(struct pm_ctl *c, const char *path, double connect_timeout)
{
    memset(c, 0, sizeof *c);
    c->in.fd = -1;
    char *p = strdup(path);
    if (!p) {
        pm_set_error("out of memory");
        return -1;
    }
    int fd = pm_unix_connect(path, connect_timeout);
    if (fd < 0) {
        free(p);
        return -1;
    }
    pm_lines_init(&c->in, fd);
    c->path = p;
    return 0;
}

void pm_ctl_close(struct pm_ctl *c)
{
    if (c->path) /* opened: in.fd is ours (a zeroed pm_ctl has fd 0) */
        pm_lines_close(&c->in);
    free(c->path);
    free(c->last_cmd);
    c->path = c->last_cmd = NULL;
}

void pm_ctl_set_interrupt(struct pm_ctl *c, const volatile sig_atomic_t *interrupted)
{
    pm_lines_set_interrupt(&c->in, interrupted);
}

static const char *cmd_text(const struct pm_ctl *c)
{
    return c->last_cmd ? c->last_cmd : "";
}

/* Sends cmd (which c takes over). */
static int send_owned(struct pm_ctl *c, char *cmd)
{
    if (!c->path) {
        pm_set_error("control socket: %s: not connected", cmd);
        free(cmd);
        return -1;
    }
    if (strchr(cmd, '\n')) {
        pm_set_error("control socket %s: command contains a newline: %.200s", c->path, cmd);
        free(cmd);
        return -1;
    }
    free(c->last_cmd);
    c->last_cmd = cmd;
    size_t n = strlen(cmd);
    char *line = malloc(n + 2);
    if (!line) {
        pm_set_error("out of memory");
        return -1;
    }
    memcpy(line, cmd, n);
    line[n] = '\n';
    int r = pm_send_all(c->in.fd, line, n + 1);
    free(line);
    if (r < 0)
        pm_set_error("control socket %s: %s: %s", c->path, cmd, pm_get_error());
    return r;
}

int pm_ctl_send(struct pm_ctl *c, const char *line)
{
    char *cmd = strdup(line);
    if (!cmd) {
        pm_set_error("out of memory");
        return -1;
    }
    return send_owned(c, cmd);
}

static int vsendf(struct pm_ctl *c, const char *fmt, va_list ap)
{
    char *cmd;
    if (vasprintf(&cmd, fmt, ap) < 0) {
        pm_set_error("out of memory");
        return -1;
    }
    return send_owned(c, cmd);
}

int pm_ctl_sendf(struct pm_ctl *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsendf(c, fmt, ap);
    va_end(ap);
    return r;
}

/* Reads one line: 1 with *line, or the reply code (2 timeout, -1). */
static int read_reply_line(struct pm_ctl *c, char **line, double timeout)
{
    if (!c->path) {
        pm_set_error("control socket: not connected");
        return -1;
    }
    int r = pm_lines_read(&c->in, line, timeout);
    if (r == 1)
        return 1;
    if (r == 0) {
        pm_set_error("control socket %s: no reply to '%s' within %g s", c->path, cmd_text(c),
                     timeout);
        return 2;
    }
    if (r == -2) {
        pm_set_error("interrupted");
        return -1;
    }
    if (c->in.eof && !c->in.broken)
        pm_set_error("control socket %s: %s: connection closed (did nbdkit die?)", c->path,
                     cmd_text(c));
    else
        pm_set_error("control socket %s: %s: %s", c->path, cmd_text(c), pm_get_error());
    return -1;
}

/* "ok" alone or followed by a space: the JSON after the spaces, else NULL. */
static const char *ok_json(const char *line)
{
    if (strncmp(line, "ok", 2) != 0 || (line[2] != '\0' && line[2] != ' '))
        return NULL;
    const char *js = line + 2;
    while (*js == ' ')
        js++;
    return js;
}

int pm_ctl_reply(struct pm_ctl *c, char **json, double timeout)
{
    char *line = NULL;
    int r = read_reply_line(c, &line, timeout);
    if (r != 1)
        return r;
    int ret;
    const char *js = ok_json(line);
    if (js) {
        ret = 0;
        if (json) {
            *json = strdup(*js ? js : "{}");
            if (!*json) {
                pm_set_error("out of memory");
                ret = -1;
            }
        }
    } else if (strncmp(line, "error:", 6) == 0) {
        const char *why = line + 6;
        while (*why == ' ')
            why++;
        pm_set_error("device: %s: %s", cmd_text(c), why);
        ret = 1;
    } else {
        pm_set_error("control socket %s: %s: unexpected reply: %.200s", c->path, cmd_text(c), line);
        ret = -1;
    }
    free(line);
    return ret;
}

int pm_ctl_reply_raw(struct pm_ctl *c, char **line, double timeout)
{
    char *l = NULL;
    int r = read_reply_line(c, &l, timeout);
    if (r != 1)
        return r;
    *line = l;
    if (ok_json(l))
        return 0;
    if (strncmp(l, "error:", 6) == 0) {
        const char *why = l + 6;
        while (*why == ' ')
            why++;
        pm_set_error("device: %s: %s", cmd_text(c), why);
    } else {
        pm_set_error("control socket %s: %s: unexpected reply: %.200s", c->path, cmd_text(c), l);
    }
    return 1;
}

int pm_ctl_cmd(struct pm_ctl *c, char **json, double timeout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsendf(c, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -1;
    return pm_ctl_reply(c, json, timeout);
}
