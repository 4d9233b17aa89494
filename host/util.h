/* util.h — small shared helpers of pmemcut-host: the error message kept for
 * main(), the interrupt flag, seeded random numbers, time, paths. */
#ifndef PH_UTIL_H
#define PH_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Set by the SIGINT/SIGTERM handler; every wait loop checks it. */
extern volatile sig_atomic_t ph_interrupted;

/* Keep one error line for the caller (printf-style). Functions that fail
 * set it and return -1 or NULL; main() prints it and exits 2. */
void ph_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *ph_get_error(void);

/* Progress lines go to stderr, only when it is a terminal (or when
 * PMEMCUT_PROGRESS=1, so that tests can see them). */
void ph_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* asprintf that cannot fail (aborts on out-of-memory). */
char *ph_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic seconds. */
double ph_now(void);

/* Sleep, returning early (-1) if interrupted. */
int ph_sleep(double seconds);

/* splitmix64: every random choice in a run derives from one logged seed. */
uint64_t ph_rand_next(uint64_t *state);
/* Uniform in [lo, hi] (inclusive); hi >= lo. */
uint64_t ph_rand_range(uint64_t *state, uint64_t lo, uint64_t hi);

/* Parse "256M", "1G", "4096" into bytes; -1 on a bad size. */
int64_t ph_parse_size(const char *s);

/* Absolute form of a path (the file need not exist; its directory must). */
char *ph_abspath(const char *path);

/* mkdir -p for one directory and its parents; -1 with ph_error set. */
int ph_mkdirs(const char *dir, int mode);

/* Write a whole buffer to a path (truncating). */
int ph_write_file(const char *path, const char *data, size_t len);

/* Read a whole file into a NUL-terminated buffer; NULL with ph_error set. */
char *ph_read_file(const char *path, size_t *len);

/* Copy a file (best effort for logs); -1 on failure. */
int ph_copy_file(const char *from, const char *to);

/* rm -rf of a directory we created (no symlink following). */
void ph_remove_tree(const char *dir);

#endif
