/* pmemcut — the control socket server (protocol in README.md). */
#ifndef PMEMCUT_CONTROL_H
#define PMEMCUT_CONTROL_H

#include <stddef.h>

/* Creates the socket (mode 0600) at start-up, so that a bad path stops
 * nbdkit before it serves anything. */
int pm_control_listen(const char *path, char *err, size_t errlen);
/* Starts the accepting thread (after nbdkit has forked). */
int pm_control_start(char *err, size_t errlen);
/* Stops accepting, disconnects every client and waits for their threads. */
void pm_control_stop(void);

#endif
