/* pmemcut — `pmemcut-audit summary`: what happened to the device, by event
 * kind and by line class, and what each cut lost next to the acks (marks)
 * that preceded it. */
#ifndef PMEMCUT_AUDITSUM_H
#define PMEMCUT_AUDITSUM_H

#include <stdbool.h>
#include <stdio.h>

/* Reads the log at path and prints the summary (text, or one JSON object
 * with json).  Returns 0, or -1 with the message (pm_get_error): a damaged
 * log's summary of what was read before the damage is still printed. */
int pt_summary_print(const char *path, bool json, FILE *out);

#endif
