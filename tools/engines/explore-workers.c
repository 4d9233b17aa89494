/* pmemcut — explore: the parent's children, one per worker slot, and the
 * progress line (see explore.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "utils/error.h"
#include "explore-int.h"

double pt_explore_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

void pt_explore_draw(struct pt_explore_workers *u, bool force)
{
    if (!u->tty || (!force && pt_explore_since(&u->last_draw) < 0.2))
        return;
    clock_gettime(CLOCK_MONOTONIC, &u->last_draw);
    double t = pt_explore_since(&u->t0);
    fprintf(stderr,
            "\rexplore: point %llu/%llu, %llu states checked (%llu failing, %llu timed out), "
            "%.1f states/s, %.0f s  ",
            (unsigned long long)u->points_seen, (unsigned long long)u->points_total,
            (unsigned long long)u->finished, (unsigned long long)u->failed,
            (unsigned long long)u->timeouts, t > 0 ? (double)u->finished / t : 0.0, t);
}

/* A child that ended without a result and without saying so (killed, or a
 * crash): the state is named here. */
static void tell_unchecked(struct pt_explore_workers *u, int slot, int st)
{
    char name[200] = "a state";
    if (slot >= 0)
        pt_explore_state_name(name, sizeof name, u->slot_state[slot].point, u->slot_state[slot].at,
                              &u->slot_state[slot].cp);
    char how[64];
    if (WIFSIGNALED(st))
        snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(how, sizeof how, "exit %d", WEXITSTATUS(st));
    fprintf(stderr, "%sexplore: %s could not be checked (%s)\n", u->tty ? "\r\n" : "", name, how);
}

void pt_explore_reap(struct pt_explore_workers *u, bool block)
{
    while (u->running > 0) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) {
            if (!block || pid == -1)
                return;
            /* none finished yet: wait for SIGCHLD (blocked, so none is
             * missed), and keep the progress line moving */
            struct timespec tick = {0, 250 * 1000 * 1000};
            sigtimedwait(&u->wait_mask, NULL, &tick);
            pt_explore_draw(u, false);
            continue;
        }
        u->running--;
        u->finished++;
        int slot = -1;
        for (int i = 0; i < u->o->jobs; i++)
            if (u->slot_pid[i] == pid) {
                u->slot_pid[i] = 0;
                slot = i;
            }
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : PT_STATE_ERROR;
        if (code == PT_STATE_FAIL)
            u->failed++;
        else if (code == PT_STATE_TIMEOUT)
            u->timeouts++;
        else if (code != PT_STATE_PASS) {
            u->errors++;
            /* PT_STATE_ERROR: the child named the state and why */
            if (!WIFEXITED(st) || code != PT_STATE_ERROR)
                tell_unchecked(u, slot, st);
        }
        block = false;
        pt_explore_draw(u, false);
    }
}
int pt_explore_spawn(struct pt_explore_workers *u, struct pt_replay *r, uint64_t point,
                     const char *kind, uint64_t at, const struct pm_cut_params *cp)
{
    while (u->running >= u->o->jobs)
        pt_explore_reap(u, true);
    int slot = 0;
    while (u->slot_pid[slot])
        slot++;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1) {
        pm_set_error("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &u->old_mask, NULL);
        _exit(pt_explore_check_state(r, u->o, slot, point, kind, at, cp));
    }
    u->slot_pid[slot] = pid;
    u->slot_state[slot] = (struct pt_slot_state){point, at, *cp};
    u->running++;
    u->started++;
    return 0;
}
