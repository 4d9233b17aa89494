/* common/utils/error.h — the last error of the calling thread, as libnbd
 * keeps it.  A function that fails sets one line with pm_set_error() and
 * returns -1 (or NULL); whoever decides what to do with the failure reads it
 * with pm_get_error() — usually main(), which prints it and exits with
 * PM_EXIT_USAGE (exitcode.h).
 *
 * Messages are at most PM_ERROR_MAX - 1 bytes; a longer one is cut and ends
 * in "...".  Every function here keeps errno as it was on entry, so that
 * `pm_set_error(...); return -1;` leaves the caller's errno alone.
 */
#ifndef PM_UTILS_ERROR_H
#define PM_UTILS_ERROR_H

#include <stdarg.h>

#define PM_ERROR_MAX 1024

/* Sets the thread's error message (printf format; %m is strerror(errno) as
 * in glibc).  Safe when an argument is pm_get_error() itself — the message
 * is formatted into a temporary first — so context can be added with
 * pm_set_error("%s: %s", path, pm_get_error()). */
void pm_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pm_set_verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Same, followed by ": " and strerror(errnum).  errnum 0 adds nothing. */
void pm_set_error_errno(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The thread's last error message: never NULL, "" when there is none.  The
 * pointer stays valid until the thread's next pm_set_error*() or
 * pm_clear_error(); copy it to keep it longer. */
const char *pm_get_error(void);

/* Forget the thread's error message (pm_get_error() then returns ""). */
void pm_clear_error(void);

#endif
