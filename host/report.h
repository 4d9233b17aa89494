/* report.h — the summary table of results.jsonl files: one row per
 * (mode, fs, workload, sync, policy, lying device); and the counts of one
 * cut, for the progress line. */
#ifndef PH_REPORT_H
#define PH_REPORT_H

#include <stdio.h>

#include <jansson.h>

/* Print the table for the listed files (NULL-terminated; a directory means
 * its results.jsonl). Returns the number of rows whose verdict is FAIL, or
 * -1, printing nothing, when a file cannot be read, has no row or a line
 * that is not one (pm_set_error). */
int ph_report_print(FILE *f, const char *const paths[]);

/* "lost L meta, L data, L other lines; torn T meta, T data, T other lines"
 * of a cut record (the device's "lost" and "torn" objects by class; absent
 * counts are 0). Caller frees. */
char *ph_cut_lines(json_t *cut);

#endif
