/* jobs.c — see jobs.h.
 *
 * Why processes and not threads: a chain is a whole `run --shard` (its
 * nbdkit, nbdfuse, embedded libvirt driver and QEMU, all reached through
 * run.c's one static struct run and stopped by its teardown), so a fork per
 * chain reuses it as it is, and a chain that breaks or is stopped cleans up
 * after itself like any run. The parent starts nothing of its own: it forks
 * before any libvirt thread exists, and every process the run starts is
 * stopped by the chain that started it.
 *
 *   parent:  fork chain 1 .. chain n ----- wait (0.1 s polls) ----- merge
 *              |  SIGINT/SIGTERM here, or a chain that broke:
 *              |  SIGTERM to every chain still running, by its PID
 *   chain j:  prctl(PDEATHSIG) -> fn(j) -> status line on its pipe -> exit
 */
#include "jobs.h"
#include "host.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "utils/vec.h"

int ph_jobs_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

void ph_jobs_shard(uint64_t k, uint64_t n, uint64_t jobs, uint64_t j, uint64_t *chain_k,
                   uint64_t *chain_n)
{
    *chain_k = k + (j - 1) * n;
    *chain_n = n * jobs;
}

struct chain {
    pid_t pid; /* 0 once reaped */
    int fd;    /* the read end of its status pipe */
    int code;  /* its exit code (130 interrupted, 128 + S killed by S) */
    bool broke;
    char *msg; /* its error line, or NULL */
};

/* What a chain's process does: its run, then one status line for the
 * parent ("E MESSAGE" broke, "C MESSAGE" exit 2 at its end), then exit. */
static void chain_main(int j, ph_chain_fn *fn, void *arg, int wfd, pid_t parent)
{
    /* A parent that dies (SIGKILL) must not leave a chain, and its VM,
     * running: the chain is then stopped as if by Ctrl-C. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        ph_interrupted = 1;
    bool broke = false;
    int code = ph_interrupted ? PM_EXIT_USAGE : fn(j, arg, &broke);
    if (code != 0 && ph_interrupted)
        code = 130;
    else if (code == PM_EXIT_USAGE) {
        const char *e = *pm_get_error() ? pm_get_error() : "unknown error";
        char *line = ph_strf("%c %s", broke ? 'E' : 'C', e);
        for (char *p = line; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        if (pm_write_all(wfd, line, strlen(line)) < 0)
            code = PM_EXIT_USAGE;
        free(line);
    }
    close(wfd);
    fflush(NULL);
    exit(code);
}

/* Reads what chain c said (it has exited: the pipe holds all of it). */
static void read_status(struct chain *c)
{
    char buf[PM_ERROR_MAX + 4];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(c->fd, buf + len, sizeof buf - 1 - len)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(c->fd);
    c->fd = -1;
    if (len > 2) {
        c->broke = buf[0] == 'E';
        c->msg = ph_strf("%s", buf + 2);
    }
}

static void stop_all(struct chain *ch, int n)
{
    for (int i = 0; i < n; i++)
        if (ch[i].pid > 0)
            kill(ch[i].pid, SIGTERM);
}

int ph_jobs_run(int n, ph_chain_fn *fn, void *arg, bool *complete)
{
    struct chain *ch = calloc((size_t)n, sizeof *ch);
    if (!ch)
        abort();
    *complete = false;
    pid_t self = getpid();
    fflush(NULL); /* nothing buffered is written twice */
    int started = 0;
    for (int i = 0; i < n; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
            pm_set_error("run --jobs: pipe: %s", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            pm_set_error("run --jobs: fork: %s", strerror(errno));
            close(p[0]);
            close(p[1]);
            break;
        }
        if (pid == 0) {
            close(p[0]);
            for (int k = 0; k < i; k++)
                close(ch[k].fd);
            free(ch); /* the parent's */
            chain_main(i + 1, fn, arg, p[1], self);
        }
        close(p[1]);
        ch[i] = (struct chain){.pid = pid, .fd = p[0]};
        started++;
    }
    /* A chain that could not be started: the others stop, as at an error. */
    bool stopping = started < n, stopped_by_us = stopping, forwarded = false;
    if (stopping)
        stop_all(ch, started);
    int running = started;
    while (running > 0) {
        if (ph_interrupted && !forwarded) {
            stop_all(ch, started);
            forwarded = true;
        }
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) {
            if (pid < 0 && errno == ECHILD)
                break;
            /* once passed on, a stop no longer cuts the poll short */
            pm_sleep(0.1, forwarded ? NULL : &ph_interrupted);
            continue;
        }
        for (int i = 0; i < started; i++) {
            if (ch[i].pid != pid)
                continue;
            struct chain *c = &ch[i];
            c->pid = 0;
            running--;
            c->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            read_status(c);
            if (WIFSIGNALED(st) || (c->code != PM_EXIT_OK && c->code != PM_EXIT_FAIL &&
                                    c->code != PM_EXIT_USAGE && c->code != 130)) {
                /* not an end a run gives: a crash, a sanitizer's report */
                c->broke = true;
                free(c->msg);
                c->msg = WIFSIGNALED(st)
                             ? ph_strf("its process (pid %d) was killed by signal %d", (int)pid,
                                       WTERMSIG(st))
                             : ph_strf("its process (pid %d) exited %d", (int)pid, c->code);
            }
            ph_progress("chain %d: exit %d", i + 1, c->code);
            /* A chain that broke or was interrupted ends the run: one run
             * stops at its first error. */
            if (!stopping && (c->broke || c->code == 130)) {
                stopping = true;
                stopped_by_us = c->broke;
                stop_all(ch, started);
            }
        }
    }

    int code = PM_EXIT_OK;
    const struct chain *failed = NULL, *checker = NULL;
    bool fail = false, interrupted = false;
    for (int i = 0; i < started; i++) {
        const struct chain *c = &ch[i];
        if (c->broke && !failed)
            failed = c;
        else if (c->code == 130)
            interrupted = true;
        else if (c->code == PM_EXIT_FAIL)
            fail = true;
        else if (c->code != PM_EXIT_OK && !checker)
            checker = c;
    }
    if (ph_interrupted || (interrupted && !stopped_by_us)) {
        ph_interrupted = 1; /* main says "interrupted" and exits 130 */
        code = PM_EXIT_USAGE;
    } else if (failed || started < n) {
        if (failed)
            pm_set_error("chain %d: %s", (int)(failed - ch) + 1,
                         failed->msg ? failed->msg : "failed");
        code = PM_EXIT_USAGE;
    } else if (fail) {
        code = PM_EXIT_FAIL;
    } else if (checker) {
        pm_set_error("chain %d: %s", (int)(checker - ch) + 1,
                     checker->msg ? checker->msg : "exit status 2 and no message");
        code = PM_EXIT_USAGE;
    }
    *complete = started == n && !failed && !interrupted && !ph_interrupted;
    for (int i = 0; i < n; i++)
        free(ch[i].msg);
    free(ch);
    return code;
}

struct line {
    long long cycle;
    size_t order; /* keeps a stable sort */
    char *text;
};

static int by_cycle(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    if (x->cycle != y->cycle)
        return x->cycle < y->cycle ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

int ph_jobs_merge(const char *outdir, int n)
{
    PM_VEC(struct line) lines = {0};
    PM_VEC(char *) texts = {0};
    int ret = -1;
    for (int j = 1; j <= n; j++) {
        char *path = ph_strf("%s/chain-%d/results.jsonl", outdir, j);
        char *text = access(path, F_OK) == 0 ? ph_read_file(path, NULL) : NULL;
        if (!text && access(path, F_OK) == 0) {
            free(path);
            goto out;
        }
        if (text && PM_VEC_PUSH(&texts, text) < 0)
            abort();
        int lineno = 0;
        for (char *l = text, *next; l && *l; l = next) {
            next = strchr(l, '\n');
            if (next)
                *next++ = '\0';
            lineno++;
            json_error_t e;
            json_t *o = json_loads(l, 0, &e);
            json_t *cy = json_object_get(o, "cycle");
            long long cycle = json_is_integer(cy) ? json_integer_value(cy) : -1;
            json_decref(o);
            if (cycle < 0) {
                pm_set_error("%s:%d: not a result row with a cycle", path, lineno);
                free(path);
                goto out;
            }
            if (PM_VEC_PUSH(&lines, ((struct line){cycle, lines.len, l})) < 0)
                abort();
        }
        free(path);
    }
    if (lines.len)
        qsort(lines.v, lines.len, sizeof *lines.v, by_cycle);
    char *out = ph_strf("%s/results.jsonl", outdir);
    FILE *f = fopen(out, "we");
    if (!f) {
        pm_set_error("%s: %s", out, strerror(errno));
        free(out);
        goto out;
    }
    for (size_t i = 0; i < lines.len; i++)
        fprintf(f, "%s\n", lines.v[i].text);
    if (fclose(f) != 0) {
        pm_set_error("%s: write failed", out);
        free(out);
        goto out;
    }
    free(out);
    ret = 0;
out:
    for (size_t i = 0; i < texts.len; i++)
        free(texts.v[i]);
    PM_VEC_FREE(&texts);
    PM_VEC_FREE(&lines);
    return ret;
}
