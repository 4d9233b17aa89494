/* pmemcut — `pmemcut-audit summary`: what happened to the device, by event
 * kind and by line class, and what each cut lost next to the acks (marks)
 * that preceded it. */
#ifndef PMEMCUT_AUDITSUM_H
#define PMEMCUT_AUDITSUM_H

#include <stdbool.h>
#include <stdio.h>

/* Reads the log at path and prints the summary (text, or one JSON object
 * with json).  Returns 0, or 2 when the log is damaged (what was read
 * before the damage is still printed, and the damage is named on stderr). */
int pt_summary_print(const char *path, bool json, FILE *out);

#endif
