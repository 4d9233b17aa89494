/* common/utils/unixsock.h — Unix-socket clients that speak in lines: the
 * device's control socket (ctlclient.h) and the guest agent's channel.
 * Both are "one line, one message".  Errors are reported with pm_set_error
 * (error.h).
 */
#ifndef PM_UTILS_UNIXSOCK_H
#define PM_UTILS_UNIXSOCK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest line pm_lines_read accepts (without its newline). */
#define PM_LINE_MAX (1024 * 1024)

/* Connects a SOCK_STREAM socket (close-on-exec) to the Unix socket at path.
 * While the socket does not exist yet or nobody listens (ENOENT,
 * ECONNREFUSED) it retries every 50 ms until timeout seconds have passed
 * (timeout <= 0: one attempt).  Returns the fd, or -1 with pm_get_error()
 * = "connect PATH: REASON" (or "socket path too long: PATH"). */
int pm_unix_connect(const char *path, double timeout);

/* Writes all of buf to a socket with send(MSG_NOSIGNAL): a peer that went
 * away gives -1 with EPIPE instead of SIGPIPE.  Retries EINTR.  Returns 0,
 * or -1 with errno and pm_get_error() = "send: REASON". */
int pm_send_all(int fd, const void *buf, size_t len);

/* A buffered line reader on a socket or pipe. */
struct pm_lines {
    int fd;    /* owned: pm_lines_close closes it */
    char *buf; /* bytes read but not yet returned as lines */
    size_t len, cap;
    bool eof;    /* the peer closed (or reset) the stream */
    bool broken; /* a line was too long: the stream cannot be resynchronised */
    /* If not NULL, pm_lines_read returns -2 once *interrupted is non-zero
     * (checked before every wait, and at least every 0.2 s). */
    const volatile sig_atomic_t *interrupted;
};

/* Starts reading lines from fd (which l then owns); interrupted NULL. */
void pm_lines_init(struct pm_lines *l, int fd);

/* Lets the host's signal flag cut waits short (NULL: never). */
void pm_lines_set_interrupt(struct pm_lines *l, const volatile sig_atomic_t *interrupted);

/* Closes the fd (if >= 0) and frees the buffer; l is left with fd -1 and
 * may be closed again. */
void pm_lines_close(struct pm_lines *l);

/* The next line, without its "\n" (and without a "\r" before it), in *line
 * (malloc'd, the caller frees it).  A last line without a newline is
 * returned at end of stream.  Returns:
 *    1  a line;
 *    0  timeout seconds passed first (timeout < 0: wait forever; 0: only
 *       what is already there);
 *   -1  end of stream ("connection closed"), a read error, out of memory,
 *       or a line longer than PM_LINE_MAX bytes (the reader is then broken:
 *       every later call returns -1) — pm_get_error() says which;
 *   -2  *interrupted became non-zero.
 * *line is set only when 1 is returned. */
int pm_lines_read(struct pm_lines *l, char **line, double timeout);

#endif
