/* guest/job.c — see job.h. */
#include "job.h"
#include "sys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "utils/crc32c.h"
#include "utils/exitcode.h"
#include "utils/io.h"
#include "utils/json.h"

#define JOB_LINE_MAX 4096
#define ENTROPY_MAX  64

/* One line from the port, byte by byte (nothing after the newline is
 * taken). read() gives 0 while no host is connected, and the host of a
 * restored guest connects only after the restore: retry until a line comes.
 * No deadline: the monotonic clock of a restored guest continues from the
 * save, whatever the host's time did meanwhile; the host has the limit. */
static int read_line(int fd, const char *port, char *buf, size_t len)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ga_error("job", "read %s: %s", port, strerror(errno));
        if (r == 0) {
            pm_sleep(0.02, NULL);
            continue;
        }
        if (c == '\n')
            break;
        if (n + 1 >= len)
            return ga_error("job", "the host's job line is longer than %zu bytes", len - 1);
        buf[n++] = c;
    }
    buf[n] = '\0';
    return 0;
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The host's random bytes into the guest's pool, credited, then a reseed:
 * without it every restore of one saved state draws the same numbers. */
static int add_entropy(const char *hex)
{
    size_t n = strlen(hex) / 2;
    if (strlen(hex) % 2 || n == 0 || n > ENTROPY_MAX)
        return ga_error("job", "entropy= takes 2 to %d hex digits", 2 * ENTROPY_MAX);
    struct {
        struct rand_pool_info info;
        unsigned char buf[ENTROPY_MAX];
    } e;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)hex[2 * i]), lo = hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ga_error("job", "entropy=: '%s' is not lower-case hex", hex);
        e.buf[i] = (unsigned char)(hi << 4 | lo);
    }
    e.info.entropy_count = (int)(8 * n);
    e.info.buf_size = (int)n;
    int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
    int ok = fd >= 0 && ioctl(fd, RNDADDENTROPY, &e.info) == 0 && ioctl(fd, RNDRESEEDCRNG) == 0;
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return ga_error("job", "cannot seed the guest's random pool: %s", strerror(err));
    return 0;
}

static int set_clock(const char *s)
{
    char *end;
    errno = 0;
    long long t = strtoll(s, &end, 10);
    if (errno || *end || t <= 0)
        return ga_error("job", "time= takes seconds since the epoch, not '%s'", s);
    struct timespec ts = {.tv_sec = (time_t)t};
    if (clock_settime(CLOCK_REALTIME, &ts) < 0)
        return ga_error("job", "clock_settime: %s", strerror(errno));
    return 0;
}

/* pmemcut.KEY=VALUE with no character a shell would make anything of. */
static int param_ok(const char *tok)
{
    const char *eq = strchr(tok, '=');
    if (strncmp(tok, "pmemcut.", 8) != 0 || !eq || eq == tok + 8)
        return 0;
    for (const char *p = tok; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._=,/:+-", *p))
            return 0;
    return 1;
}

int ga_cmd_job(void)
{
    char port[256], line[JOB_LINE_MAX];
    if (ga_channel_find(GA_CHANNEL_NAME, port, sizeof port) < 0)
        return ga_error("job", "no virtio-serial port named %s", GA_CHANNEL_NAME);
    int fd = open(port, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return ga_error("job", "open %s: %s", port, strerror(errno));
    int rc = pm_write_all(fd, "job?\n", 5) < 0
                 ? ga_error("job", "write %s: %s", port, strerror(errno))
                 : read_line(fd, port, line, sizeof line);
    close(fd);
    if (rc)
        return rc;
    if (strncmp(line, "job ", 4) != 0)
        return ga_error("job", "expected 'job ...' from the host, got '%.80s'", line);
    /* Check every token before acting on any. */
    char *save = NULL, *params[256];
    size_t np = 0;
    const char *time_s = NULL, *entropy = NULL;
    for (char *t = strtok_r(line + 4, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (strncmp(t, "time=", 5) == 0)
            time_s = t + 5;
        else if (strncmp(t, "entropy=", 8) == 0)
            entropy = t + 8;
        else if (param_ok(t) && np < sizeof params / sizeof *params)
            params[np++] = t;
        else
            return ga_error("job", "not a pmemcut.KEY=VALUE parameter: '%.80s'", t);
    }
    if ((time_s && (rc = set_clock(time_s))) || (entropy && (rc = add_entropy(entropy))))
        return rc;
    for (size_t i = 0; i < np; i++)
        printf("%s\n", params[i]);
    fflush(stdout);
    return 0;
}

int ga_cmd_digest(const char *dev, uint64_t bytes)
{
    int fd = open(dev, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ga_error("digest", "open %s: %s", dev, strerror(errno));
    uint32_t crc;
    uint64_t at;
    if (pm_crc32c_fd(fd, bytes, &crc, &at) < 0) {
        int e = errno;
        close(fd);
        return ga_error("digest", "read %s at %llu: %s", dev, (unsigned long long)at,
                        e ? strerror(e) : "end of device");
    }
    close(fd);
    struct ga_json j;
    if (ga_json_open(&j) < 0)
        return ga_error("digest", "out of memory");
    fprintf(j.f, "{\"command\":\"digest\",\"dev\":");
    pm_json_str(j.f, dev);
    fprintf(j.f, ",\"bytes\":%llu,\"crc32c\":%u}", (unsigned long long)bytes, crc);
    ga_json_close(&j);
    char port[256];
    int chan = ga_channel_find(GA_CHANNEL_NAME, port, sizeof port) == 0
                   ? open(port, O_RDWR | O_CLOEXEC)
                   : -1;
    int rc;
    if (chan < 0)
        rc = ga_error("digest", "no virtio-serial port named %s to send it on", GA_CHANNEL_NAME);
    else if (ga_emit(j.s, chan, "digest") < 0)
        rc = ga_error("digest", "write %s: %s", port, strerror(errno));
    else
        rc = 0;
    if (chan >= 0)
        close(chan);
    free(j.s);
    return rc;
}
