/* pmemcut — the control socket server (protocol in README.md).
 *
 * One thread accepts, one thread per client reads lines and runs them
 * (commands.h).  The server's own mutex guards its list of client sockets
 * and its stopping flag; the commands take the device's locks. */
#ifndef PMEMCUT_CONTROL_H
#define PMEMCUT_CONTROL_H

/* Creates the socket (mode 0600) at start-up, so that a bad path stops
 * nbdkit before it serves anything.  Both: -1 with pm_get_error() set. */
int pd_control_listen(const char *path);
/* Starts the accepting thread (after nbdkit has forked). */
int pd_control_start(void);
/* Stops accepting, disconnects every client and waits for their threads. */
void pd_control_stop(void);

#endif
