/* common/utils/ctlclient.h — client of the device's control socket (the
 * plugin's line protocol, plugin/control.c): one command line, one reply
 * line, either "ok <json>" or "error: <reason>".  No JSON library: the
 * reply's JSON is handed back as text for the caller's own parser.
 *
 * Return codes of the reply functions:
 *    0  "ok": *json is the text after "ok " ("{}" when there is none);
 *    1  "error: REASON": pm_get_error() = "device: COMMAND: REASON";
 *    2  no reply within the timeout (the reply may still come: read it
 *       with another pm_ctl_reply before sending anything else);
 *   -1  I/O error, the connection closed (did nbdkit die?), a malformed
 *       reply, or interrupted (pm_get_error() = "interrupted").
 */
#ifndef PM_UTILS_CTLCLIENT_H
#define PM_UTILS_CTLCLIENT_H

#include <signal.h>

#include "unixsock.h"

struct pm_ctl {
    struct pm_lines in; /* the connection */
    char *path;         /* the socket's path, for messages; NULL when closed */
    char *last_cmd;     /* the command last sent, for messages */
};

/* Connects to the control socket at path, retrying up to connect_timeout
 * seconds while it does not exist or nobody listens (<= 0: one attempt).
 * 0, or -1 with pm_set_error; c is then closed (pm_ctl_close is harmless).
 */
int pm_ctl_open(struct pm_ctl *c, const char *path, double connect_timeout);

/* Closes the connection.  Safe on a closed pm_ctl, and on one that was
 * zeroed (= {0}) but never opened; safe to call twice. */
void pm_ctl_close(struct pm_ctl *c);

/* Lets the host's signal flag cut reply waits short (they return -1 with
 * "interrupted"). */
void pm_ctl_set_interrupt(struct pm_ctl *c, const volatile sig_atomic_t *interrupted);

/* Sends one command (line without its newline).  0, or -1 with pm_set_error:
 * a line containing '\n' is refused (nothing is sent), or the write failed
 * ("control socket PATH: COMMAND: send: REASON"). */
int pm_ctl_send(struct pm_ctl *c, const char *line);
/* The same with the command formatted printf-style. */
int pm_ctl_sendf(struct pm_ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Waits up to timeout seconds (< 0: forever) for the reply to the command
 * last sent.  Returns as described above; on 0, *json (if json is not
 * NULL) is a malloc'd string the caller frees. */
int pm_ctl_reply(struct pm_ctl *c, char **json, double timeout);

/* The reply line as it came ("ok ..." or "error: ..." or anything else),
 * for pmemcutctl's "-" mode.  Returns 0 for a line starting with "ok"
 * (as pm_ctl_reply reads it), 1 for any other line (error or malformed),
 * with *line malloc'd (the caller frees it); 2 for a timeout; -1 on I/O
 * trouble or end of stream (pm_get_error set). */
int pm_ctl_reply_raw(struct pm_ctl *c, char **line, double timeout);

/* pm_ctl_sendf, then pm_ctl_reply: returns like pm_ctl_reply (-1 also when
 * sending failed). */
int pm_ctl_cmd(struct pm_ctl *c, char **json, double timeout, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
