/* common/utils/spawn.c — see spawn.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "spawn.h"
#include "error.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Read at most this much at a time: a child (or, after the child has gone,
 * a grandchild) that keeps writing must not keep us from the clock. */
#define DRAIN_MAX (1024 * 1024)

static int status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

/* Blocking waitpid that retries EINTR: 0 with *st, or -1. */
static int reap(pid_t pid, int *st)
{
    while (waitpid(pid, st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static void closep(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* An fd that is not 0, 1 or 2, so that dup2 onto those cannot clobber it. */
static int above_stdio(int fd)
{
    return fd >= 0 && fd <= 2 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : fd;
}

static void put(const char *s)
{
    ssize_t n = write(2, s, strlen(s));
    (void)n;
}

/* In the child: set up and exec; on failure report errno through ep and
 * exit 127.  Only async-signal-safe calls (plus strerror for the message). */
static void __attribute__((noreturn)) child(const struct pm_spawn *s, int outfd, int ep, bool pgrp)
{
    if (pgrp)
        setpgid(0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    outfd = above_stdio(outfd);
    int nul = above_stdio(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (nul >= 0)
        dup2(nul, 0);
    if (outfd >= 0) {
        dup2(outfd, 1);
        dup2(outfd, 2);
    } else if (s->to_stderr) {
        dup2(2, 1);
    } else if (nul >= 0) {
        dup2(nul, 1);
        dup2(nul, 2);
    }
    execvp(s->argv[0], s->argv);
    int e = errno;
    put("pmemcut: cannot run ");
    put(s->argv[0]);
    put(": ");
    put(strerror(e));
    put("\n");
    ssize_t n = write(ep, &e, sizeof e);
    (void)n;
    _exit(127);
}

/* The output kept: the first or the last keep bytes seen. */
struct keeper {
    char *ring;
    size_t keep, head, filled;
    bool keep_head;
};

static void keeper_add(struct keeper *k, const char *p, size_t n)
{
    if (k->keep == 0)
        return;
    if (k->keep_head) {
        size_t room = k->keep - k->filled;
        if (n > room)
            n = room;
        memcpy(k->ring + k->filled, p, n);
        k->filled += n;
        return;
    }
    if (n >= k->keep) {
        memcpy(k->ring, p + n - k->keep, k->keep);
        k->head = 0;
        k->filled = k->keep;
        return;
    }
    size_t first = k->keep - k->head < n ? k->keep - k->head : n;
    memcpy(k->ring + k->head, p, first);
    memcpy(k->ring, p + first, n - first);
    k->head = (k->head + n) % k->keep;
    k->filled = k->filled + n > k->keep ? k->keep : k->filled + n;
}

/* The kept bytes in order, NUL-terminated, into a new buffer. */
static char *keeper_take(struct keeper *k, size_t *len)
{
    char *out = malloc(k->filled + 1);
    if (!out)
        return NULL;
    if (k->filled == 0) {
        /* nothing kept (ring may be NULL) */
    } else if (k->keep_head || k->filled < k->keep) {
        memcpy(out, k->ring, k->filled); /* head == filled while not wrapped */
    } else {
        memcpy(out, k->ring + k->head, k->keep - k->head);
        memcpy(out + k->keep - k->head, k->ring, k->head);
    }
    out[k->filled] = '\0';
    *len = k->filled;
    return out;
}

/* Reads what the non-blocking pipe *fd has, at most max bytes: closes it
 * at EOF or on error.  Returns the number of bytes read. */
static size_t drain(int *fd, struct keeper *k, int tee, size_t max)
{
    char buf[16384];
    size_t got = 0;
    while (*fd >= 0 && got < max) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            closep(fd);
            break;
        }
        keeper_add(k, buf, (size_t)n);
        if (tee >= 0)
            (void)pm_write_all(tee, buf, (size_t)n);
        got += (size_t)n;
    }
    return got;
}

/* Reads the exec report: closes *fd once known.  Returns the child's exec
 * errno, 0 if exec succeeded (or the child died first), -1 if not known
 * yet (only when nonblocking). */
static int exec_report(int *fd)
{
    int e = 0;
    ssize_t n;
    do
        n = read(*fd, &e, sizeof e);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return -1;
    closep(fd);
    return n == (ssize_t)sizeof e ? e : 0;
}

static int open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        pm_set_error_errno(errno, "%s", path);
    return fd;
}

int pm_spawn_run(const struct pm_spawn *s, struct pm_spawn_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    if (!s->argv || !s->argv[0]) {
        pm_set_error("pm_spawn_run: no program");
        errno = EINVAL;
        return -1;
    }
    const char *prog = s->argv[0];
    int logfd = -1, pfd[2] = {-1, -1}, epfd[2] = {-1, -1}, ret = -1;
    struct keeper k = {.keep = s->capture ? s->capture - 1 : 0, .keep_head = s->keep_head};

    if (s->out_path && (logfd = open_log(s->out_path)) < 0)
        return -1;
    if (s->capture) {
        if (pipe2(pfd, O_CLOEXEC) < 0) {
            pm_set_error_errno(errno, "pipe");
            goto out;
        }
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        if (k.keep && !(k.ring = malloc(k.keep))) {
            pm_set_error("out of memory for %zu bytes of output", k.keep);
            goto out;
        }
    }
    if (pipe2(epfd, O_CLOEXEC) < 0) {
        pm_set_error_errno(errno, "pipe");
        goto out;
    }
    fcntl(epfd[0], F_SETFL, O_NONBLOCK);
    bool pgrp = s->new_pgrp || s->timeout > 0;
    pid_t pid = fork();
    if (pid < 0) {
        pm_set_error_errno(errno, "fork %s", prog);
        goto out;
    }
    if (pid == 0)
        child(s, s->capture ? pfd[1] : logfd, epfd[1], pgrp);
    if (pgrp)
        setpgid(pid, pid); /* both sides, so that a kill of the group cannot miss */
    closep(&pfd[1]);
    closep(&epfd[1]);

    double deadline = s->timeout > 0 ? pm_now() + s->timeout : 0;
    int st = 0, exec_errno = 0, nap = 1;
    bool done = false;
    for (;;) {
        if (epfd[0] >= 0) {
            int e = exec_report(&epfd[0]);
            if (e > 0)
                exec_errno = e;
        }
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w < 0 && errno != EINTR) {
            pm_set_error_errno(errno, "waitpid %s", prog);
            goto out; /* e.g. SIGCHLD ignored: the kernel reaped it */
        }
        if (w == pid) {
            done = true;
            break;
        }
        if (deadline && pm_now() >= deadline)
            break;
        /* wait for output, or nap a little before looking at the child again */
        int ms = pfd[0] >= 0 ? 50 : nap;
        if (nap < 50)
            nap *= 2;
        if (deadline) {
            double left = (deadline - pm_now()) * 1000;
            if (left < ms)
                ms = left < 0 ? 0 : (int)left + 1;
        }
        if (pfd[0] >= 0) {
            struct pollfd p = {.fd = pfd[0], .events = POLLIN};
            if (poll(&p, 1, ms) > 0)
                drain(&pfd[0], &k, logfd, DRAIN_MAX); /* then look at the clock again */
        } else if (!deadline && epfd[0] < 0) {
            if (reap(pid, &st) < 0) {
                pm_set_error_errno(errno, "waitpid %s", prog);
                goto out;
            }
            done = true;
            break;
        } else {
            poll(NULL, 0, ms);
        }
    }
    if (!done) { /* the time limit: the whole group goes */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        if (reap(pid, &st) < 0) {
            pm_set_error_errno(errno, "waitpid %s", prog);
            goto out;
        }
        r->timed_out = true;
    }
    /* What the child wrote before it went is in the pipe; anything from a
     * surviving grandchild after that is not waited for. */
    drain(&pfd[0], &k, logfd, DRAIN_MAX);
    closep(&pfd[0]);
    if (epfd[0] >= 0) { /* the child is gone: the report is complete */
        int e = exec_report(&epfd[0]);
        if (e > 0)
            exec_errno = e;
    }
    r->status = status_code(st);
    if (s->capture && !(r->output = keeper_take(&k, &r->output_len))) {
        pm_set_error("out of memory");
        goto out;
    }
    if (exec_errno && !r->timed_out) {
        r->exec_failed = true;
        pm_set_error_errno(exec_errno, "cannot run %s", prog);
        goto out;
    }
    ret = 0;
out:
    closep(&logfd);
    closep(&pfd[0]);
    closep(&pfd[1]);
    closep(&epfd[0]);
    closep(&epfd[1]);
    free(k.ring);
    return ret;
}

void pm_spawn_result_free(struct pm_spawn_result *r)
{
    free(r->output);
    r->output = NULL;
    r->output_len = 0;
}

pid_t pm_spawn_start(const struct pm_spawn *s)
{
    if (!s->argv || !s->argv[0] || s->capture || s->timeout > 0) {
        pm_set_error("pm_spawn_start: %s",
                     !s->argv || !s->argv[0] ? "no program" : "no capture or timeout here");
        errno = EINVAL;
        return -1;
    }
    const char *prog = s->argv[0];
    int logfd = -1, epfd[2] = {-1, -1};
    if (s->out_path && (logfd = open_log(s->out_path)) < 0)
        return -1;
    if (pipe2(epfd, O_CLOEXEC) < 0) {
        pm_set_error_errno(errno, "pipe");
        closep(&logfd);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        pm_set_error_errno(errno, "fork %s", prog);
    } else if (pid == 0) {
        child(s, logfd, epfd[1], true);
    } else {
        setpgid(pid, pid);
        closep(&epfd[1]);
        int e = exec_report(&epfd[0]); /* blocking: EOF at exec */
        if (e > 0) {
            int st;
            reap(pid, &st);
            pm_set_error_errno(e, "cannot run %s", prog);
            pid = -1;
        }
    }
    closep(&logfd);
    closep(&epfd[0]);
    closep(&epfd[1]);
    return pid;
}

int pm_try_reap(pid_t pid, int *status)
{
    int st;
    pid_t w;
    do
        w = waitpid(pid, &st, WNOHANG);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        pm_set_error_errno(errno, "waitpid %d", (int)pid);
        return -1;
    }
    if (w == 0)
        return 0;
    if (status)
        *status = status_code(st);
    return 1;
}

int pm_stop_pid(pid_t pid, double grace)
{
    int code;
    if (pid <= 0) {
        pm_set_error("pm_stop_pid: no process (pid %d)", (int)pid);
        errno = EINVAL;
        return -1;
    }
    int r = pm_try_reap(pid, &code);
    if (r != 0)
        return r < 0 ? -1 : code;
    kill(pid, SIGTERM);
    double end = pm_now() + grace;
    while (pm_now() < end) {
        r = pm_try_reap(pid, &code);
        if (r != 0)
            return r < 0 ? -1 : code;
        poll(NULL, 0, 20);
    }
    kill(pid, SIGKILL);
    int st;
    if (reap(pid, &st) < 0) {
        pm_set_error_errno(errno, "waitpid %d", (int)pid);
        return -1;
    }
    return status_code(st);
}
