/* pmemcut — explore: one state, in the child that checks it: the cut, the
 * image, the filesystem's own check, the verdict on the acknowledged
 * records, and the state's line of states.jsonl (see explore.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "utils/error.h"
#include "utils/spawn.h"
#include "explore-int.h"
#include "ext4mount.h"

/* The first problem line of fsck output, with numbers erased, as the
 * failure's signature. */
static void signature(const char *out, char *sig, size_t n)
{
    /* progress lines, and xfs_repair's warning that an image file has no
     * device geometry */
    static const char *const skip[] = {"Pass ",
                                       "e2fsck ",
                                       "Phase ",
                                       "        - ",
                                       "No modify",
                                       "Warning: ",
                                       "ERROR: ",
                                       "Cannot get host filesystem geometry",
                                       "Repair may fail if there is a sector size",
                                       "the image and the host filesystem",
                                       NULL};
    sig[0] = '\0';
    for (const char *l = out; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        bool skipit = len == 0 || l[0] == '/' || l[0] == ' ';
        for (int i = 0; !skipit && skip[i]; i++)
            skipit = strncmp(l, skip[i], strlen(skip[i])) == 0;
        if (!skipit) {
            size_t o = 0;
            for (size_t i = 0; i < len && o + 2 < n; i++) {
                char c = l[i];
                /* 0x2b4adf90 is one number too */
                if (c == '0' && i + 2 < len && l[i + 1] == 'x' && isxdigit((unsigned char)l[i + 2]))
                    for (i += 2; i + 1 < len && isxdigit((unsigned char)l[i + 1]);)
                        i++;
                if (c >= '0' && c <= '9') {
                    if (o == 0 || sig[o - 1] != '#')
                        sig[o++] = '#';
                } else if (c == '"' || c == '\\' || (unsigned char)c < 0x20) {
                    sig[o++] = '\'';
                } else {
                    sig[o++] = c;
                }
            }
            sig[o] = '\0';
            return;
        }
        l = e ? e + 1 : l + len;
    }
}

/* Runs argv with its output (stdout and stderr, the first outlen - 1
 * bytes; the rest is read and dropped) in out, for at most timeout
 * seconds (then its process group is killed and *timed_out set).  Exit
 * status (127: it could not be executed, 128 + N: killed by signal N), or
 * -1 if it could not be started (the message in pm_get_error). */
static int run_capture(char *const argv[], double timeout, char *out, size_t outlen,
                       bool *timed_out)
{
    struct pm_spawn sp = {.argv = argv, .capture = outlen, .keep_head = true, .timeout = timeout};
    struct pm_spawn_result res;
    int r = pm_spawn_run(&sp, &res);
    snprintf(out, outlen, "%s", res.output ? res.output : "");
    pm_spawn_result_free(&res);
    *timed_out = r == 0 && res.timed_out;
    if (r == -1 && !res.exec_failed)
        return -1;
    return res.status;
}

/* The first line of out, for a message. */
static void first_line(const char *out, char *line, size_t n)
{
    size_t len = strcspn(out, "\n");
    snprintf(line, n, "%.*s", (int)(len < n ? len : n - 1), out);
}

static void counts_json(FILE *f, const char *key, const struct pm_counts *c)
{
    fprintf(f, ",\"%s\":{\"meta\":%llu,\"data\":%llu,\"unknown\":%llu}", key,
            (unsigned long long)c->c[PM_META], (unsigned long long)c->c[PM_DATA],
            (unsigned long long)c->c[PM_UNKNOWN]);
}

/* What the kernel itself printed about the recovery, as e2fsck's copy of
 * its code prints it ("JBD2: Invalid checksum recovering data block 37 in
 * log"): the first such line, without "JBD2: ", or NULL. */
static const char *jbd2_line(const char *out, size_t *len)
{
    const char *l = strstr(out, "JBD2: ");
    if (!l)
        return NULL;
    l += 6;
    *len = strcspn(l, "\n");
    return l;
}

/* ext4: the kernel's mount first (ext4mount.h: the superblock, the group
 * descriptors and the journal as they are on the device, then the journal
 * replay, run by e2fsck's copy of the kernel's recovery code), then the
 * check of what the replay left.  A state the kernel would refuse is
 * "did not mount", its signature the kernel's reason; no checker judges
 * it further (the guest's verify would find nothing mounted to judge).
 * Sets *cause (empty: it mounts), *rc, *timed_out, tool, *replayed; out
 * holds the last checker's output. */
static void check_ext4(const struct pt_explore_opts *o, const char *img, char *cause, size_t n,
                       char *out, size_t outlen, char *tool, size_t toollen, int *rc,
                       bool *timed_out, bool *replayed)
{
    struct pt_ext4_mount m;
    cause[0] = '\0';
    *rc = 0;
    if (pt_ext4_mount_check(img, &m) == -1) {
        snprintf(tool, toollen, "libext2fs");
        snprintf(out, outlen, "%s", pm_get_error());
        *rc = -1;
        return;
    }
    if (m.refused) {
        snprintf(cause, n, "%s", m.cause);
        return;
    }
    if (m.needs_recovery) {
        /* what a mount would do first: replay the journal */
        char *jargv[] = {"e2fsck", "-E", "journal_only", "-y", (char *)img, NULL};
        snprintf(tool, toollen, "e2fsck -E journal_only -y");
        *rc = run_capture(jargv, o->check_timeout, out, outlen, timed_out);
        *replayed = true;
        if (*timed_out)
            return;
        if (pt_ext4_recovery_refused(out, cause, n)) {
            size_t len;
            const char *said = jbd2_line(out, &len);
            if (said) /* the kernel's own words are the better cause */
                snprintf(cause, n, "journal recovery failed: %.*s", (int)len, said);
            return;
        }
    }
    char *argv[] = {"e2fsck", "-fn", (char *)img, NULL};
    snprintf(tool, toollen, "e2fsck -fn");
    *rc = run_capture(argv, o->check_timeout, out, outlen, timed_out);
}

/* fsck, then verify: the part of the state's line after its counts, and the
 * exit status (PT_STATE_PASS, _FAIL, _TIMEOUT, or _ERROR after a message
 * naming the state, name). */
static int check_image(const struct pt_explore_opts *o, const char *img, uint64_t at, size_t nacks,
                       const char *name, bool *replayed, char **tail)
{
    static char out[16384];
    char sig[PT_SIG_MAX] = "", tool[32], cause[PT_SIG_MAX] = "";
    int rc = 0;
    bool timed_out = false;
    const char *verdict;
    *replayed = false;
    if (strcmp(o->fs, "ext4") == 0) {
        check_ext4(o, img, cause, sizeof cause, out, sizeof out, tool, sizeof tool, &rc, &timed_out,
                   replayed);
        verdict = cause[0]             ? "did not mount"
                  : rc == 0            ? "pass"
                  : rc < 0 || rc >= 16 ? "error"
                                       : "fail";
    } else {
        char *argv[] = {"xfs_repair", "-n", "-f", (char *)img, NULL};
        snprintf(tool, sizeof tool, "xfs_repair -n -f");
        rc = run_capture(argv, o->check_timeout, out, sizeof out, &timed_out);
        /* 2: a dirty log that only a mount can replay */
        verdict = rc == 0 ? "pass" : rc == 1 ? "fail" : rc == 2 ? "dirty-log" : "error";
    }
    bool unmounted = strcmp(verdict, "did not mount") == 0;
    if (timed_out) {
        /* killed at the limit: its own outcome, one signature for all */
        verdict = "timeout";
        unmounted = false;
        snprintf(sig, sizeof sig, "%s gave no answer in %g s", tool, o->check_timeout);
    } else if (unmounted) {
        pt_sig_erase_numbers(cause, sig, sizeof sig);
    } else if (strcmp(verdict, "pass") != 0) {
        /* the state's file name is no part of the failure: take it out */
        for (char *p; (p = strstr(out, img));)
            memmove(p + 3, p + strlen(img), strlen(p + strlen(img)) + 1), memcpy(p, "IMG", 3);
        signature(out, sig, sizeof sig);
    }
    if (strcmp(verdict, "error") == 0) {
        char line[200];
        first_line(rc < 0 && !out[0] ? pm_get_error() : out, line, sizeof line);
        fprintf(stderr, "explore: %s: %s %s: %s\n", name, tool,
                rc < 0      ? "could not be started"
                : rc == 127 ? "could not be run"
                : rc > 128  ? "was killed by a signal"
                            : "failed to check",
                line[0] ? line : "(no output)");
    }
    size_t len = 0;
    FILE *f = open_memstream(tail, &len);
    if (!f) {
        fprintf(stderr, "explore: %s: out of memory\n", name);
        return PT_STATE_ERROR;
    }
    fprintf(f, ",\"fsck\":\"%s\",\"fsck_rc\":%d,\"signature\":\"%s\"", verdict, rc, sig);
    int judged = timed_out ? 0 : pt_explore_judge(f, o, unmounted ? NULL : img, at, nacks);
    if (timed_out)
        fprintf(f, ",\"verify\":null");
    fclose(f);
    if (judged == -1) {
        fprintf(stderr, "explore: %s: its acknowledged records could not be judged\n", name);
        return PT_STATE_ERROR;
    }
    if (timed_out)
        return PT_STATE_TIMEOUT;
    if (unmounted)
        return PT_STATE_FAIL; /* whatever the method promised */
    if (judged == 1 && strcmp(verdict, "error") != 0)
        return PT_STATE_FAIL;
    return strcmp(verdict, "pass") == 0 || strcmp(verdict, "dirty-log") == 0 ? PT_STATE_PASS
           : strcmp(verdict, "fail") == 0                                    ? PT_STATE_FAIL
                                                                             : PT_STATE_ERROR;
}

void pt_explore_state_name(char *out, size_t n, uint64_t point, uint64_t at,
                           const struct pm_cut_params *cp)
{
    snprintf(out, n, "the state at point seq %llu (replay to %llu), %s seed %llu",
             (unsigned long long)point, (unsigned long long)at, pm_policy_name(cp->policy),
             (unsigned long long)cp->seed);
}

/* In the child, on worker slot `slot`: cut, make the image, check, append
 * the result.  Exit status: PT_STATE_*. */
int pt_explore_check_state(struct pt_replay *r, const struct pt_explore_opts *o, int slot,
                           uint64_t point, const char *kind, uint64_t at,
                           const struct pm_cut_params *cp)
{
    char img[4200], name[200];
    snprintf(img, sizeof img, "%.4000s/state-%d.img", pt_explore_dir, slot);
    pt_explore_state_name(name, sizeof name, point, at, cp);
    struct pm_counts lost = {0}, kept = {0}, torn = {0};
    const struct pm_cut_result *cr = NULL;
    /* a fence point: the batch written back, not yet fenced (explore-fence.c) */
    for (size_t i = 0; strcmp(kind, "fence") == 0 && pt_explore_batch && i < pt_explore_batch_len;
         i++) {
        const struct pt_batch_write *w = &pt_explore_batch[i];
        if (pt_replay_write_dirty(r, w->seq, w->dlog, w->off, w->len) == -1) {
            fprintf(stderr, "explore: %s: %s\n", name, pm_get_error());
            return PT_STATE_ERROR;
        }
    }
    if (pt_replay_is_on(r)) {
        if (pm_model_cut(r->m, cp, "explore", NULL, NULL) != PM_OK) {
            fprintf(stderr, "explore: %s: the model could not cut (out of memory)\n", name);
            return PT_STATE_ERROR;
        }
        cr = pm_model_last_cut(r->m);
        lost = cr->lost;
        kept = cr->kept;
        torn = cr->torn;
    }
    /* the acks that apply here (those of the cycle the point is in): the
     * state's key, and judged by pt_explore_judge */
    pt_ack_set as = {0};
    if (o->acks && pt_ackverify_at(&o->al, at, &as) == -1) {
        fprintf(stderr, "explore: %s: %s\n", name, pm_get_error());
        return PT_STATE_ERROR;
    }
    size_t nacks = as.len;
    uint64_t key = pt_explore_state_hash(r->p, cr, &as);
    PM_VEC_FREE(&as);
    bool mine = false;
    struct pt_dup *d = o->fresh ? NULL : pt_explore_dup_claim(key, &mine);
    if (o->fresh)
        pt_explore_slots[slot].valid = false;
    char *tail = NULL, seen[PT_TAIL_MAX];
    int code = -1;
    bool dup = false;
    if (d && !mine && (code = pt_explore_dup_wait(d, seen, sizeof seen)) >= 0) {
        tail = strdup(seen);
        dup = true;
    } else {
        if (pt_explore_slot_sync(&pt_explore_slots[slot], img, r->p, r->size, cr) == -1) {
            fprintf(stderr, "explore: %s: %s\n", name, pm_get_error());
            if (mine)
                pt_explore_dup_drop(d);
            return PT_STATE_ERROR;
        }
        bool replayed;
        code = check_image(o, img, at, nacks, name, &replayed, &tail);
        if (replayed) /* the journal replay wrote to the file */
            pt_explore_slots[slot].valid = false;
        if (mine && tail && code != PT_STATE_ERROR)
            pt_explore_dup_done(d, tail, code);
        else if (mine)
            pt_explore_dup_drop(d);
        mine = false;
    }
    if (!tail) {
        fprintf(stderr, "explore: %s: out of memory\n", name);
        return PT_STATE_ERROR;
    }

    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (!f) {
        fprintf(stderr, "explore: %s: out of memory\n", name);
        free(tail);
        return PT_STATE_ERROR;
    }
    fprintf(f, "{\"point\":%llu,\"ev\":\"%s\",\"replay_to\":%llu,\"policy\":\"%s\"",
            (unsigned long long)point, kind, (unsigned long long)at, pm_policy_name(cp->policy));
    if (cp->policy == PM_RANDOM)
        fprintf(f, ",\"p\":%.17g", cp->p);
    fprintf(f, ",\"seed\":%llu", (unsigned long long)cp->seed);
    counts_json(f, "lost", &lost);
    counts_json(f, "torn", &torn);
    counts_json(f, "kept", &kept);
    /* dup: the same image as a state checked before; its results */
    fprintf(f, "%s%s}\n", dup ? ",\"dup\":true" : "", tail);
    fclose(f);
    free(tail);
    char path[4096];
    snprintf(path, sizeof path, "%s/states.jsonl", o->out);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    ssize_t w = fd == -1 ? -1 : write(fd, line, len);
    int err = errno;
    if (fd != -1)
        close(fd);
    free(line);
    if (w != (ssize_t)len) {
        fprintf(stderr, "explore: %s: %s: %s\n", name, path,
                w == -1 ? strerror(err) : "short write");
        return PT_STATE_ERROR;
    }
    return code;
}
