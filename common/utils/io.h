/* common/utils/io.h — whole-buffer writes and the monotonic clock.
 *
 * For sockets prefer pm_send_all (unixsock.h): it cannot raise SIGPIPE.
 */
#ifndef PM_UTILS_IO_H
#define PM_UTILS_IO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes all len bytes of buf to fd at its file position, retrying short
 * writes and EINTR.  Returns 0, or -1 with errno set (EIO if write returned
 * 0).  Sets no pm_set_error message: the caller knows what fd is. */
int pm_write_all(int fd, const void *buf, size_t len);

/* Same with pwrite at offset off (off < 0: -1 with EINVAL); the file
 * position does not move. */
int pm_pwrite_all(int fd, const void *buf, size_t len, off_t off);

/* Seconds on CLOCK_MONOTONIC (for deadlines and durations, not dates). */
double pm_now(void);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t pm_now_ms(void);

/* Sleeps seconds (<= 0: not at all), resuming after signals.  Returns 0, or
 * -1 early when interrupted is not NULL and *interrupted became non-zero
 * (checked at least every 0.1 s). */
int pm_sleep(double seconds, const volatile sig_atomic_t *interrupted);

#endif
