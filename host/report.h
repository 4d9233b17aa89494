/* report.h — the summary table of results.jsonl files: one row per
 * (mode, fs, workload, sync, lying device). */
#ifndef PH_REPORT_H
#define PH_REPORT_H

#include <stdio.h>

/* Print the table for the listed files (NULL-terminated; a directory means
 * its results.jsonl). Returns the number of rows whose verdict is FAIL, or
 * -1 when a file cannot be read (ph_error set). */
int ph_report_print(FILE *f, const char *const paths[]);

#endif
