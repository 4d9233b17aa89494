/* common/utils/spawn.h — running helper programs (fsck, mkfs, fusermount,
 * nbdkit, nbdfuse) without hanging on them: a time limit that kills the
 * whole process group, bounded output capture, no zombies left behind.
 *
 * The child's stdin is /dev/null; SIGINT, SIGTERM, SIGPIPE and SIGCHLD are
 * back to their defaults in it and no signal is blocked.  argv[0] is
 * searched in PATH (execvp).  Works in a static binary (the guest agent).
 * Errors are reported with pm_set_error (error.h).
 */
#ifndef PM_UTILS_SPAWN_H
#define PM_UTILS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pm_spawn {
    char *const *argv; /* program and arguments, NULL-terminated */
    /* Where the child's stdout and stderr go, first match wins:
     *   capture > 0: into a pipe we read (see pm_spawn_result.output), and
     *                also appended to out_path when that is set;
     *   out_path:    appended to that file (created 0644);
     *   to_stderr:   stdout to our stderr, stderr to our stderr (so that
     *                our stdout carries only our own output);
     *   otherwise:   /dev/null. */
    const char *out_path;
    size_t capture; /* keep capture - 1 bytes of stdout+stderr (+ a NUL); 0 = none */
    bool keep_head; /* keep the FIRST capture - 1 bytes; default: the LAST */
    bool to_stderr;
    double timeout; /* seconds, 0 = none; when set the child gets its own
                     * process group, all of which is SIGKILLed at the limit */
    bool new_pgrp;  /* own process group even without a timeout (so that a
                     * terminal's Ctrl-C reaches only us) */
};

struct pm_spawn_result {
    int status;       /* exit code, or 128 + signal number; 127 if exec failed */
    bool timed_out;   /* killed at the time limit (status is then 128 + 9) */
    bool exec_failed; /* the program could not be run (not found, ...) */
    char *output;     /* capture > 0: NUL-terminated, malloc'd; else NULL */
    size_t output_len;
};

/* Runs s->argv and waits for it (and its output) up to s->timeout.
 * Returns 0 when the program ran, whatever its exit status (look at *r),
 * or -1 when it did not: r->exec_failed is then true if exec failed (and
 * r->status is 127), else fork, pipe or opening out_path failed;
 * pm_get_error() says why in both cases ("cannot run PROG: REASON").  On
 * exec failure the child writes that reason to its output (captured or
 * logged) before it exits 127.
 *
 * The output read ends when the child has exited and what it wrote is
 * read: a grandchild that keeps the pipe open (a daemon, `sleep &`) does
 * not keep pm_spawn_run waiting.  At the time limit the child's process
 * group is killed with SIGKILL, the child is reaped and the pipe closed.
 * r->output must be freed by the caller (pm_spawn_result_free). */
int pm_spawn_run(const struct pm_spawn *s, struct pm_spawn_result *r);

/* Frees r->output; r may be reused. */
void pm_spawn_result_free(struct pm_spawn_result *r);

/* Starts a long-lived process (nbdkit, nbdfuse) in its own process group,
 * with stdout and stderr appended to s->out_path (NULL: /dev/null; or our
 * stderr with to_stderr), and returns its pid without waiting for it.
 * capture and timeout must be 0.  Returns -1 with pm_set_error if it
 * could not be started, exec failure included (the child is then reaped;
 * the reason is also in the log).  Stop it with pm_stop_pid. */
pid_t pm_spawn_start(const struct pm_spawn *s);

/* Has child pid exited?  Reaps it without waiting.  Returns 1 when it has
 * (and *status, if not NULL, is its exit code or 128 + signal), 0 while it
 * runs, -1 on error (ECHILD: not our child, or already reaped) with errno
 * and pm_set_error. */
int pm_try_reap(pid_t pid, int *status);

/* Stops child pid: SIGTERM, up to grace seconds for it to exit, then
 * SIGKILL; always reaps it.  Only pid itself is signalled, not its group.
 * Returns its exit code or 128 + signal (143 for a SIGTERM it did not
 * handle, 137 for SIGKILL), or -1 if pid <= 0 or is not our child. */
int pm_stop_pid(pid_t pid, double grace);

#endif
