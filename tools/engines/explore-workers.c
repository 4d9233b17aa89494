/* pmemcut — explore: the parent's children, one per worker slot, and the
 * progress line (see explore.h). */
#include <errno.h>
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
    fprintf(stderr, "\rexplore: point %llu/%llu, %llu states checked (%llu failing), %.1f/s  ",
            (unsigned long long)u->points_seen, (unsigned long long)u->points_total,
            (unsigned long long)u->finished, (unsigned long long)u->failed,
            t > 0 ? (double)u->finished / t : 0.0);
}

void pt_explore_reap(struct pt_explore_workers *u, bool block)
{
    int st;
    pid_t pid;
    while (u->running > 0 && (pid = waitpid(-1, &st, block ? 0 : WNOHANG)) > 0) {
        u->running--;
        u->finished++;
        for (int i = 0; i < u->o->jobs; i++)
            if (u->slot_pid[i] == pid)
                u->slot_pid[i] = 0;
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
        if (code == 1)
            u->failed++;
        else if (code != 0)
            u->errors++;
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
    if (pid == 0)
        _exit(pt_explore_check_state(r, u->o, slot, point, kind, at, cp));
    u->slot_pid[slot] = pid;
    u->running++;
    u->started++;
    return 0;
}
