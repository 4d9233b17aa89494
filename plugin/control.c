/* pmemcut — the control socket: one command per line, one reply line,
 * "ok <json>" or "error: <reason>".  Each client has its own thread, so a
 * client blocked in wait-off does not hold up the others.
 *
 * Parsing never changes anything: a command is fully parsed and checked
 * before the device is called, and the device itself changes nothing when
 * it refuses.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "device.h"

#define MAX_LINE 65536

static struct {
    int lfd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    pthread_t acceptor;
    bool started;
    pthread_mutex_t mu; /* guards clients, nclients, stopping */
    pthread_cond_t cv;
    int clients[64];
    int nclients;
    bool stopping;
} c = {.lfd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* --- argument parsing -------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* policy=, p=, seed= shared by cut and arm.  Returns 0 if the word was one
 * of them (and valid), 1 if it was not one of them, -1 with a message. */
static int parse_cut_word(const char *w, struct pm_cut_params *cp, bool *have_seed, bool *have_p,
                          struct jbuf *err)
{
    if (strncmp(w, "policy=", 7) == 0) {
        if (pm_policy_parse(w + 7, &cp->policy) == 0)
            return 0;
        jb_printf(err, "policy: unknown policy '%s' (lose-all, keep-all, random, torn, prefix)",
                  w + 7);
        return -1;
    }
    if (strncmp(w, "p=", 2) == 0) {
        if (parse_double(w + 2, &cp->p) == 0 && cp->p >= 0 && cp->p <= 1) {
            *have_p = true;
            return 0;
        }
        jb_printf(err, "p: '%s' is not a probability between 0 and 1", w + 2);
        return -1;
    }
    if (strncmp(w, "seed=", 5) == 0) {
        if (parse_u64(w + 5, &cp->seed) == 0 && cp->seed <= PM_SEED_MAX) {
            *have_seed = true;
            return 0;
        }
        jb_printf(err, "seed: '%s' is not an integer from 0 to 2^53-1", w + 5);
        return -1;
    }
    return 1;
}

static int check_p(const struct pm_cut_params *cp, bool have_p, struct jbuf *err)
{
    if (have_p && cp->policy != PM_RANDOM) {
        jb_printf(err, "p: only the random policy takes p=");
        return -1;
    }
    return 0;
}

#define MAX_WORDS 16

static int split(char *s, char **w)
{
    int n = 0;
    for (char *tok = strtok(s, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (n == MAX_WORDS)
            return -1;
        w[n++] = tok;
    }
    return n;
}

/* Executes one command line; the reply (JSON or reason) goes to out. */
static int execute(char *line, struct jbuf *out)
{
    while (*line == ' ' || *line == '\t')
        line++;
    char *rest = line + strcspn(line, " \t");
    char cmd[32];
    size_t cl = (size_t)(rest - line);
    if (cl == 0) {
        jb_printf(out, "empty command");
        return -1;
    }
    if (cl >= sizeof cmd) {
        jb_printf(out, "unknown command");
        return -1;
    }
    memcpy(cmd, line, cl);
    cmd[cl] = '\0';
    while (*rest == ' ' || *rest == '\t')
        rest++;

    /* mark takes the rest of the line verbatim. */
    if (strcmp(cmd, "mark") == 0) {
        if (!*rest) {
            jb_printf(out, "mark: needs a text");
            return -1;
        }
        return pm_dev_mark(rest, out);
    }

    /* at-mark=TEXT takes the rest of the line: mark texts have spaces. */
    char *at_mark = NULL;
    if (strcmp(cmd, "arm") == 0) {
        char *a = strstr(rest, "at-mark=");
        while (a && a != rest && a[-1] != ' ' && a[-1] != '\t')
            a = strstr(a + 1, "at-mark=");
        if (a) {
            at_mark = a + 8;
            *a = '\0';
        }
    }

    char *w[MAX_WORDS];
    int n = split(rest, w);
    if (n < 0) {
        jb_printf(out, "%s: too many arguments", cmd);
        return -1;
    }

    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "power-on") == 0 || strcmp(cmd, "disarm") == 0) {
        if (n) {
            jb_printf(out, "%s: takes no arguments (got '%s')", cmd, w[0]);
            return -1;
        }
        return cmd[0] == 's'   ? pm_dev_status(out)
               : cmd[0] == 'p' ? pm_dev_power_on(out)
                               : pm_dev_disarm(out);
    }

    if (strcmp(cmd, "cut") == 0) {
        struct pm_cut_params cp;
        pm_dev_default_cut(&cp);
        bool have_seed = false, have_p = false;
        for (int i = 0; i < n; i++) {
            int r = parse_cut_word(w[i], &cp, &have_seed, &have_p, out);
            if (r == 1)
                jb_printf(out, "cut: unknown argument '%s'", w[i]);
            if (r)
                return -1;
        }
        if (check_p(&cp, have_p, out))
            return -1;
        return pm_dev_cut(&cp, out);
    }

    if (strcmp(cmd, "arm") == 0) {
        struct pm_trigger t = {0};
        pm_dev_default_cut(&t.cut);
        bool have_seed = false, have_p = false;
        for (int i = 0; i < n; i++) {
            int r = parse_cut_word(w[i], &t.cut, &have_seed, &have_p, out);
            if (r == -1)
                return -1;
            if (r == 0)
                continue;
            enum pm_trigger_kind k = PM_TRIG_NONE;
            const char *v = NULL;
            if (strncmp(w[i], "after-writes=", 13) == 0)
                k = PM_TRIG_AFTER_WRITES, v = w[i] + 13;
            else if (strncmp(w[i], "before-flush=", 13) == 0)
                k = PM_TRIG_BEFORE_FLUSH, v = w[i] + 13;
            if (k == PM_TRIG_NONE) {
                jb_printf(out, "arm: unknown argument '%s'", w[i]);
                return -1;
            }
            if (t.kind != PM_TRIG_NONE) {
                jb_printf(out, "arm: give exactly one of after-writes=, before-flush=, at-mark=");
                return -1;
            }
            t.kind = k;
            if (parse_u64(v, &t.n) || t.n == 0) {
                jb_printf(out, "%.*s: '%s' is not a positive integer", 12, w[i], v);
                return -1;
            }
        }
        if (at_mark) {
            if (t.kind != PM_TRIG_NONE) {
                jb_printf(out, "arm: give exactly one of after-writes=, before-flush=, at-mark=");
                return -1;
            }
            if (!*at_mark) {
                jb_printf(out, "at-mark: needs a text");
                return -1;
            }
            t.kind = PM_TRIG_AT_MARK;
            t.mark = at_mark;
        }
        if (t.kind == PM_TRIG_NONE) {
            jb_printf(out, "arm: needs after-writes=N, before-flush=N or at-mark=TEXT");
            return -1;
        }
        if (check_p(&t.cut, have_p, out))
            return -1;
        return pm_dev_arm(&t, have_seed, out);
    }

    if (strcmp(cmd, "wait-off") == 0) {
        double timeout = -1;
        for (int i = 0; i < n; i++) {
            if (strncmp(w[i], "timeout=", 8) == 0 && parse_double(w[i] + 8, &timeout) == 0 &&
                timeout >= 0)
                continue;
            jb_printf(out, "wait-off: bad argument '%s' (timeout=SECONDS)", w[i]);
            return -1;
        }
        return pm_dev_wait_off(timeout, out);
    }

    if (strcmp(cmd, "classify") == 0) {
        enum pm_class cls;
        uint64_t off, len;
        if (n != 3) {
            jb_printf(out, "classify: needs CLASS OFFSET LENGTH");
            return -1;
        }
        if (pm_class_parse(w[0], &cls)) {
            jb_printf(out, "classify: unknown class '%s' (meta, data, unknown)", w[0]);
            return -1;
        }
        if (parse_u64(w[1], &off) || parse_u64(w[2], &len) || len == 0) {
            jb_printf(out, "classify: OFFSET and LENGTH must be unsigned integers, LENGTH > 0");
            return -1;
        }
        return pm_dev_classify(cls, off, len, out);
    }

    if (strcmp(cmd, "dirty") == 0) {
        uint64_t max = 0;
        for (int i = 0; i < n; i++) {
            if (strncmp(w[i], "max=", 4) == 0 && parse_u64(w[i] + 4, &max) == 0)
                continue;
            jb_printf(out, "dirty: bad argument '%s' (max=N)", w[i]);
            return -1;
        }
        return pm_dev_dirty(max, out);
    }

    if (strcmp(cmd, "fault") == 0) {
        if (n == 1 && strcmp(w[0], "flush=ignore") == 0)
            return pm_dev_fault(true, out);
        if (n == 1 && strcmp(w[0], "flush=honor") == 0)
            return pm_dev_fault(false, out);
        jb_printf(out, "fault: needs flush=ignore or flush=honor");
        return -1;
    }

    jb_printf(out, "unknown command '%s'", cmd);
    return -1;
}

/* --- server -------------------------------------------------------------------- */

static int send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void reply(int fd, char *line)
{
    struct jbuf out;
    jb_init(&out);
    int r = execute(line, &out);
    struct jbuf msg;
    jb_init(&msg);
    if (!jb_ok(&out))
        jb_printf(&msg, "error: out of memory\n");
    else if (r == 0)
        jb_printf(&msg, "ok %s\n", out.s ? out.s : "{}");
    else
        jb_printf(&msg, "error: %s\n", out.s ? out.s : "failed");
    if (jb_ok(&msg))
        send_all(fd, msg.s, msg.len);
    jb_free(&msg);
    jb_free(&out);
}

static void client_remove(int fd)
{
    pthread_mutex_lock(&c.mu);
    for (int i = 0; i < c.nclients; i++)
        if (c.clients[i] == fd) {
            c.clients[i] = c.clients[--c.nclients];
            break;
        }
    close(fd);
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
}

static void *client_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(MAX_LINE + 1);
    size_t have = 0;
    bool discarding = false;
    while (buf) {
        ssize_t r = recv(fd, buf + have, MAX_LINE - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
            *nl = '\0';
            if (nl > start && nl[-1] == '\r')
                nl[-1] = '\0';
            if (discarding) {
                discarding = false;
                send_all(fd, "error: line too long\n", 21);
            } else {
                reply(fd, start);
            }
            start = nl + 1;
        }
        have -= (size_t)(start - buf);
        memmove(buf, start, have);
        if (have == MAX_LINE) {
            discarding = true; /* drop until the next newline */
            have = 0;
        }
    }
    free(buf);
    client_remove(fd);
    return NULL;
}

static void *accept_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(c.lfd, NULL, NULL, SOCK_CLOEXEC);
        pthread_mutex_lock(&c.mu);
        bool stop = c.stopping;
        pthread_mutex_unlock(&c.mu);
        if (stop) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
                continue;
            return NULL;
        }
        pthread_mutex_lock(&c.mu);
        if (c.nclients == (int)(sizeof c.clients / sizeof *c.clients)) {
            pthread_mutex_unlock(&c.mu);
            send_all(fd, "error: too many control clients\n", 32);
            close(fd);
            continue;
        }
        c.clients[c.nclients++] = fd;
        pthread_mutex_unlock(&c.mu);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, client_thread, (void *)(intptr_t)fd) != 0)
            client_remove(fd);
        pthread_attr_destroy(&attr);
    }
}

int pm_control_listen(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "control=%s: path longer than %zu bytes", path,
                 sizeof sa.sun_path - 1);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "control: socket: %s", strerror(errno));
        return -1;
    }
    /* A socket file left by a dead process is replaced; a live one is not. */
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "control=%s: exists and is not a socket", path);
            close(fd);
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            snprintf(err, errlen, "control=%s: another process is serving it", path);
            close(fd);
            return -1;
        }
        unlink(path);
    }
    mode_t old = umask(0177); /* the socket is created mode 0600 */
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "control=%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    chmod(path, 0600);
    c.lfd = fd;
    strcpy(c.path, path);
    return 0;
}

int pm_control_start(char *err, size_t errlen)
{
    int r = pthread_create(&c.acceptor, NULL, accept_thread, NULL);
    if (r) {
        snprintf(err, errlen, "control: cannot start thread: %s", strerror(r));
        return -1;
    }
    c.started = true;
    return 0;
}

void pm_control_stop(void)
{
    if (c.lfd < 0)
        return;
    pthread_mutex_lock(&c.mu);
    c.stopping = true;
    pthread_mutex_unlock(&c.mu);
    shutdown(c.lfd, SHUT_RDWR);
    if (c.started)
        pthread_join(c.acceptor, NULL);
    close(c.lfd);
    c.lfd = -1;
    unlink(c.path);
    /* Wake clients: blocked readers see EOF, wait-off returns. */
    pm_dev_wake_all();
    pthread_mutex_lock(&c.mu);
    for (int i = 0; i < c.nclients; i++)
        shutdown(c.clients[i], SHUT_RDWR);
    while (c.nclients > 0)
        pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);
}
