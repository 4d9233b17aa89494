/* pmemcut — the control commands: status, cut, arm, disarm, wait-off,
 * power-on, mark, classify, dirty, fault (protocol in README.md). */
#ifndef PMEMCUT_PLUGIN_COMMANDS_H
#define PMEMCUT_PLUGIN_COMMANDS_H

#include "utils/jbuf.h"

/* Runs one command line (changed in place).  0 with the reply JSON in out,
 * or -1 with the reason (one line, no prefix); a refused command changes
 * nothing.  Safe to call from several threads at once. */
int pd_command_run(char *line, struct jbuf *out);

/* Makes every wait-off return (and every later one at once), so that the
 * control server can stop. */
void pd_commands_wake_all(void);

#endif
