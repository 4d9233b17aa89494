/* tests/fuzz/fuzz-control.c — libFuzzer harness of the control command
 * parser (plugin/commands.c) on a real device (plugin/device.c with the
 * model and the audit writer), the code a control client reaches.
 *
 * The image and the audit log live in memory (memfds, opened by the device
 * through /proc/self/fd/N like any file).  Every input starts from the same
 * device: both are emptied, the device is opened afresh and two writes give
 * it dirty lines, so a crash input replays the same way alone.
 *
 * Input: lines split on '\n' (a '\r' before it is dropped, as the control
 * server does).  A line that starts with '!' is an NBD request made by the
 * harness, not a command: "!w OFF LEN" (write), "!W OFF LEN" (FUA write),
 * "!z OFF LEN", "!t OFF LEN" (zero, trim), "!f" (flush).  Every other line is
 * run as a command, and when the command is refused (an "error:" reply) the
 * device's observable state — the status reply, the dirty ranges and the
 * bytes of the audit log — must be byte-identical to what it was before;
 * abort() if not.
 *
 * wait-off: the harness makes the device's wake-all flag (the one the
 * control server sets when it stops) true at every open, so wait-off is
 * parsed and run to its end but never waits: with the device on it is
 * refused at once ("plugin is shutting down"), with the device off it
 * returns the cut as always.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../plugin/commands.h"
#include "../../plugin/device.h"
#include "utils/jbuf.h"

#define IMAGE_SIZE (8u * 1024)

static uint8_t pattern[IMAGE_SIZE]; /* what the harness's writes write */
static int img_fd = -1, audit_fd = -1;
static char img_path[64], audit_path[64];

static void die(const char *what)
{
    perror(what);
    abort();
}

static void setup_once(void)
{
    if (img_fd != -1)
        return;
    img_fd = memfd_create("fuzz-control-image", MFD_CLOEXEC);
    audit_fd = memfd_create("fuzz-control-audit", MFD_CLOEXEC);
    if (img_fd == -1 || audit_fd == -1)
        die("memfd_create");
    snprintf(img_path, sizeof img_path, "/proc/self/fd/%d", img_fd);
    snprintf(audit_path, sizeof audit_path, "/proc/self/fd/%d", audit_fd);
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (uint8_t)(i * 7 + 1);
}

/* The same device for every input: an image of zeroes, an empty log. */
static void device_start(void)
{
    if (ftruncate(img_fd, 0) == -1 || ftruncate(img_fd, IMAGE_SIZE) == -1 ||
        ftruncate(audit_fd, 0) == -1)
        die("ftruncate");
    struct pd_config cfg = {
        .file = img_path,
        .control = "/nonexistent/fuzz-control.ctl", /* never listened on */
        .audit = audit_path,
        .line = 64,
        .cut = {.policy = PM_LOSE_ALL, .p = 0.5, .seed = 1},
    };
    /* The device is opened once per plugin process; the harness opens it
     * once per input, so it clears what pd_dev_close leaves behind. */
    pd_dev.off = false;
    pd_dev.stopping = false;
    if (pd_dev_open(&cfg) == -1)
        abort();
    pd_commands_wake_all();
}

static void nbd_request(const char *s)
{
    const char *why;
    char op = s[1];
    if (op == 'f') {
        pd_dev_flush(&why);
        return;
    }
    char *end;
    unsigned long long off = strtoull(s + 2, &end, 10);
    unsigned long long len = strtoull(end, NULL, 10);
    /* nbdkit checks a request against the size before the plugin sees it */
    if (off > IMAGE_SIZE || len > IMAGE_SIZE - off)
        return;
    switch (op) {
    case 'w':
    case 'W':
        pd_dev_write(pattern + off, (uint32_t)len, off, op == 'W', &why);
        break;
    case 'z':
        pd_dev_zero(PM_OP_ZERO, (uint32_t)len, off, false, &why);
        break;
    case 't':
        pd_dev_zero(PM_OP_TRIM, (uint32_t)len, off, false, &why);
        break;
    }
}

/* What a client can see of the device: the replies of status and dirty,
 * and the audit log's bytes. */
struct view {
    char *status, *dirty;
    char *log;
    size_t loglen;
};

static char *reply_of(const char *cmd)
{
    char line[16];
    snprintf(line, sizeof line, "%s", cmd);
    struct jbuf r;
    jb_init(&r);
    if (pd_command_run(line, &r) != 0 || !jb_ok(&r))
        abort();
    char *s = jb_take(&r);
    return s ? s : strdup("");
}

static void view_free(struct view *v)
{
    free(v->status);
    free(v->dirty);
    free(v->log);
    memset(v, 0, sizeof *v);
}

static void observe(struct view *v)
{
    v->status = reply_of("status");
    v->dirty = reply_of("dirty");
    off_t n = lseek(audit_fd, 0, SEEK_END);
    if (n < 0)
        die("lseek");
    v->loglen = (size_t)n;
    v->log = malloc(v->loglen + 1);
    if (!v->log || pread(audit_fd, v->log, v->loglen, 0) != n)
        die("pread");
    /* the log is text without NUL bytes (the reader refuses them) */
    if (memchr(v->log, '\0', v->loglen))
        abort();
    v->log[v->loglen] = '\0';
}

static bool view_equal(const struct view *a, const struct view *b)
{
    return strcmp(a->status, b->status) == 0 && strcmp(a->dirty, b->dirty) == 0 &&
           a->loglen == b->loglen && memcmp(a->log, b->log, a->loglen) == 0;
}

/* The view before the next command: the one after the last command, as
 * long as no NBD request came between (cur.status == NULL: take it anew). */
static struct view cur;

static void command(char *line)
{
    if (!cur.status)
        observe(&cur);
    struct jbuf out;
    jb_init(&out);
    int r = pd_command_run(line, &out);
    bool refused = r != 0 || !jb_ok(&out);
    jb_free(&out);
    struct view after;
    observe(&after);
    if (refused && !view_equal(&cur, &after)) {
        fprintf(stderr,
                "refused command changed the device:\n--- before\n%s\n%s\n%s--- after\n%s\n%s\n%s",
                cur.status, cur.dirty, cur.log, after.status, after.dirty, after.log);
        abort();
    }
    view_free(&cur);
    cur = after;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    device_start();
    const char *why;
    pd_dev_write(pattern, 2048, 0, false, &why);
    pd_dev_write(pattern, 300, 4196, false, &why);

    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *s = text, *end = text + size; s < end;) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *next = nl ? nl + 1 : end;
        if (nl) {
            *nl = '\0';
            if (nl > s && nl[-1] == '\r')
                nl[-1] = '\0';
        }
        /* as the control server does, a NUL ends the command early */
        if (s[0] == '!') {
            nbd_request(s);
            view_free(&cur);
        } else
            command(s);
        s = next;
    }
    free(text);
    view_free(&cur);
    pd_dev_close();
    return 0;
}
