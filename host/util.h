/* util.h — small shared helpers of pmemcut-host: the interrupt flag,
 * progress lines, strings, files and paths.  The last error, kept for
 * main(), is utils/error.h's (pm_set_error, pm_get_error); the clock, sleep
 * and whole writes are utils/io.h, the seeded random numbers utils/rng.h. */
#ifndef PH_UTIL_H
#define PH_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "utils/error.h"
#include "utils/io.h"

/* Set by the SIGINT/SIGTERM handler; every wait loop checks it (pm_sleep,
 * pm_lines_read and pm_ctl_reply are given it). */
extern volatile sig_atomic_t ph_interrupted;

/* Progress lines go to stderr, only when it is a terminal (or when
 * PMEMCUT_PROGRESS=1, so that tests can see them). */
void ph_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Written after "pmemcut-host: " on every progress line: "chain 2: " in
 * the processes of run --jobs. */
extern const char *ph_progress_prefix;

/* asprintf that cannot fail (aborts on out-of-memory). */
char *ph_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Absolute form of a path (the file need not exist; its directory must). */
char *ph_abspath(const char *path);

/* mkdir -p for one directory and its parents; -1 with pm_set_error. */
int ph_mkdirs(const char *dir, int mode);

/* Write a whole buffer to a path (truncating); -1 with pm_set_error. */
int ph_write_file(const char *path, const char *data, size_t len);

/* Read a whole file into a NUL-terminated buffer; NULL with pm_set_error. */
char *ph_read_file(const char *path, size_t *len);

/* Copy a file (best effort for logs); -1 on failure. */
int ph_copy_file(const char *from, const char *to);

/* rm -rf of a directory we created (no symlink following). */
void ph_remove_tree(const char *dir);

#endif
