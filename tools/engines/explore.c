/* pmemcut — explore: the run (see explore.h for what it does and its
 * parts). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/error.h"
#include "explore-int.h"
#include "verify/record.h"

void pt_explore_defaults(struct pt_explore_opts *o)
{
    memset(o, 0, sizeof *o);
    o->points = PT_POINT_FLUSH;
    o->per_point = 4;
    o->p = 0.5;
    o->to = UINT64_MAX;
    o->verify_dir = "/";
    o->record_size = PM_REC_DEFAULT_SIZE;
    o->expect = PM_EXPECT_DURABLE;
    o->check_timeout = PT_CHECK_TIMEOUT_DEFAULT;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = nproc > 0 ? (int)nproc : 1;
}

/* The acks of --acks, with a word on what they cannot do.  0, or -1 with
 * the message. */
static int load_acks(struct pt_explore_opts *o)
{
    int r = strcmp(o->acks, "audit") == 0 ? pt_ackverify_load_audit(&o->al, o->audit)
                                          : pt_ackverify_load_file(&o->al, o->acks, o->audit);
    if (r == -1) {
        pm_set_error("--acks: %s", pm_get_error());
        return -1;
    }
    if (strcmp(o->fs, "ext4") != 0)
        fprintf(stderr,
                "explore: --acks: records are verified on ext4 only (libext2fs); "
                "%s states get \"verify\":null\n",
                o->fs);
    if (o->al.unmatched)
        fprintf(stderr,
                "explore: --acks: %zu of %zu acks have no mark in the audit log: they "
                "apply to every point\n",
                o->al.unmatched, o->al.acks.len);
    if (o->al.unmarked_cycle)
        fprintf(stderr,
                "explore: --acks: %zu of them name a cycle the audit log never starts (no "
                "'cycle N' mark): the acks of another run?\n",
                o->al.unmarked_cycle);
    /* The same record acked twice without a cycle: a history of several
     * cycles from before the host marked them, where an ack outlives its
     * cycle and the next cycle's rewrite of the file looks like a loss. */
    if (o->al.repeated)
        fprintf(stderr,
                "explore: --acks: %zu ack marks without a cycle repeat a record marked before, "
                "as in a history of several cycles without 'cycle N' marks: each ack applies "
                "to the end, also after a later cycle rewrote its file\n",
                o->al.repeated);
    return 0;
}

int pt_explore_run(struct pt_explore_opts *op, uint64_t *failed)
{
    struct pt_explore_opts o = *op;
    *failed = 0;
    if (o.acks && load_acks(&o) == -1) {
        pt_ackverify_free(&o.al);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/work", o.out);
    if ((mkdir(o.out, 0755) == -1 && errno != EEXIST) ||
        (mkdir(path, 0755) == -1 && errno != EEXIST)) {
        pm_set_error("%s: %s", path, strerror(errno));
        pt_ackverify_free(&o.al);
        return -1;
    }
    struct pt_done_set done = {0};
    struct pt_explore_workers u = {.o = &o, .tty = isatty(2)};
    snprintf(path, sizeof path, "%s/states.jsonl", o.out);
    if (pt_explore_load_done(path, &done, &u.resumed) == -1) {
        pm_set_error("%s: %s", path, strerror(errno));
        pt_ackverify_free(&o.al);
        free(done.h);
        return -1;
    }
    if (u.resumed)
        fprintf(stderr, "explore: resuming: %llu states already in %s\n",
                (unsigned long long)u.resumed, path);
    /* there even when no state is checked (a shard with none): it is the
     * run's result, and --merge reads it */
    int sfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (sfd >= 0)
        close(sfd);
    u.points_total = pt_explore_count_points(&o);
    struct pt_batches batches = {0};
    if ((o.points & PT_POINT_FENCE) && pt_explore_load_batches(&o, &batches) == -1) {
        pt_ackverify_free(&o.al);
        free(done.h);
        return -1;
    }
    if (o.points & PT_POINT_FENCE)
        u.points_total += batches.first.len - 1;
    clock_gettime(CLOCK_MONOTONIC, &u.t0);

    struct pt_replay r;
    int rc = 0, n;
    pt_explore_fs_offset = o.fs_offset;
    if (pt_replay_open(&r, o.audit, o.data, o.base) == -1) {
        pt_replay_close(&r);
        pt_explore_free_batches(&batches);
        free(done.h);
        pt_ackverify_free(&o.al);
        return -1;
    }
    /* the worker slots' images and the table of checked states, shared
     * with the children; the images on /dev/shm when it is there */
    pt_explore_track.r = &r;
    r.p_change = pt_explore_p_changed;
    r.p_change_ctx = &pt_explore_track;
    u.slot_pid = calloc((size_t)o.jobs, sizeof *u.slot_pid);
    u.slot_state = calloc((size_t)o.jobs, sizeof *u.slot_state);
    sigemptyset(&u.wait_mask);
    sigaddset(&u.wait_mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &u.wait_mask, &u.old_mask);
    pt_explore_slots = mmap(NULL, (size_t)o.jobs * sizeof *pt_explore_slots, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pt_explore_dups = mmap(NULL, PT_DUP_CAP * sizeof *pt_explore_dups, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    snprintf(pt_explore_dir, sizeof pt_explore_dir, "/dev/shm/pmemcut-explore.XXXXXX");
    if (!mkdtemp(pt_explore_dir))
        snprintf(pt_explore_dir, sizeof pt_explore_dir, "%s/work", o.out);
    if (!u.slot_pid || !u.slot_state || pt_explore_slots == MAP_FAILED ||
        pt_explore_dups == MAP_FAILED) {
        pm_set_error("out of memory");
        n = 0;
        rc = -1;
    }
    while (rc == 0 && (n = pt_replay_next(&r)) == 1) {
        const struct pm_audit_rec *rec = &r.rec;
        if (rec->ev == PM_AUDIT_OPEN && o.fs_offset >= rec->size) {
            pm_set_error("--offset %llu is not inside the device (%llu bytes)",
                         (unsigned long long)o.fs_offset, (unsigned long long)rec->size);
            rc = -1;
            break;
        }
        if (rec->seq > o.to)
            break;
        bool in = rec->seq >= o.from && pt_replay_is_on(&r);
        size_t nb = 0;
        const struct pt_batch_write *bw =
            (o.points & PT_POINT_FENCE) ? pt_explore_batch_at(&batches, rec, &nb) : NULL;
        if (bw && in) {
            pt_explore_batch = bw;
            pt_explore_batch_len = nb;
            int e = pt_explore_point(&u, &r, &done, rec->seq, "fence", r.applied);
            pt_explore_batch = NULL;
            if (e == -1) {
                rc = -1;
                break;
            }
        }
        const char *kind = in ? pt_explore_point_kind(rec, o.points, true) : NULL;
        if (kind && pt_explore_point(&u, &r, &done, rec->seq, kind, r.applied) == -1) {
            rc = -1;
            break;
        }
        if (pt_replay_apply(&r) == -1) {
            n = -1;
            break;
        }
        kind = in && pt_replay_is_on(&r) ? pt_explore_point_kind(rec, o.points, false) : NULL;
        if (kind && pt_explore_point(&u, &r, &done, rec->seq, kind, r.applied) == -1) {
            rc = -1;
            break;
        }
    }
    while (u.running > 0)
        pt_explore_reap(&u, true);
    pt_explore_draw(&u, true);
    if (u.tty)
        fputc('\n', stderr);
    /* the summary below is written all the same: keep the message */
    char why[1200] = "";
    if (n < 0) {
        snprintf(why, sizeof why, "%s (states before it were checked)", pm_get_error());
        rc = -1;
    } else if (rc == -1) {
        snprintf(why, sizeof why, "%s", pm_get_error());
    }
    double t = pt_explore_since(&u.t0);
    printf("explore: %llu states checked in %.1f s (%.1f states/s, %d jobs), %llu from an "
           "earlier run\n",
           (unsigned long long)u.finished, t, t > 0 ? (double)u.finished / t : 0.0, o.jobs,
           (unsigned long long)u.resumed);
    sigprocmask(SIG_SETMASK, &u.old_mask, NULL);
    if (u.timeouts)
        printf("explore: %llu states whose checker gave no answer in %g s (\"fsck\":\"timeout\", "
               "listed below)\n",
               (unsigned long long)u.timeouts, o.check_timeout);
    if (u.errors)
        printf("explore: %llu states could not be checked (each named on stderr)\n",
               (unsigned long long)u.errors);
    snprintf(path, sizeof path, "%s/summary.txt", o.out);
    FILE *sf = fopen(path, "w");
    if (sf) {
        pt_explore_write_summary(&o, sf);
        fclose(sf);
    }
    pt_explore_write_summary(&o, stdout);
    for (int i = 0; i < o.jobs; i++) {
        snprintf(path, sizeof path, "%.4000s/state-%d.img", pt_explore_dir, i);
        unlink(path);
    }
    rmdir(pt_explore_dir);
    snprintf(path, sizeof path, "%s/work", o.out);
    rmdir(path);
    if (pt_explore_slots != MAP_FAILED)
        munmap(pt_explore_slots, (size_t)o.jobs * sizeof *pt_explore_slots);
    if (pt_explore_dups != MAP_FAILED)
        munmap(pt_explore_dups, PT_DUP_CAP * sizeof *pt_explore_dups);
    free(u.slot_pid);
    free(u.slot_state);
    free(pt_explore_track.gen);
    pt_explore_track.gen = NULL;
    pt_replay_close(&r);
    pt_explore_free_batches(&batches);
    free(done.h);
    pt_ackverify_free(&o.al);
    *failed = u.failed + u.timeouts;
    if (rc == -1)
        pm_set_error("%s", why);
    return rc;
}
