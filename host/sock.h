/* sock.h — Unix-socket line I/O shared by the device's control protocol and
 * the guest agent's channel: both are "one line, one message". */
#ifndef PH_SOCK_H
#define PH_SOCK_H

#include <stdbool.h>
#include <stddef.h>

struct ph_lines {
    int fd;
    char *buf; /* bytes read but not yet returned as lines */
    size_t len, cap;
    bool eof;
};

/* Connect to a Unix socket, retrying until timeout seconds have passed (the
 * other side may still be creating it). Returns the fd or -1 (ph_error). */
int ph_unix_connect(const char *path, double timeout);

void ph_lines_init(struct ph_lines *l, int fd);
void ph_lines_close(struct ph_lines *l);

/* Next line without its newline, in *line (owned by the caller).
 * Returns 1 for a line, 0 when timeout passed first (timeout < 0: wait
 * forever), -1 at end of stream or on error (ph_error set), -2 if
 * interrupted. A last line without a newline is returned at end of stream. */
int ph_lines_read(struct ph_lines *l, char **line, double timeout);

/* Write a whole string; -1 with ph_error set. */
int ph_write_all(int fd, const char *s, size_t len);

#endif
