/* pmemcut — `pmemcut-audit lost`: what each cut of the history lost, by
 * what the lines belonged to (see lost.h). */
#include "lost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/auditlog.h"
#include "utils/error.h"
#include "utils/vec.h"
#include "recfit.h"
#include "replay.h"

/* Prints what a list of line ranges were: the bytes grouped by what they
 * belonged to, in order of first offset.  Returns the groups printed. */
struct group {
    char what[200];
    uint64_t first, bytes;
};

static uint64_t describe_ranges(const struct pt_layout *m, const char *fate,
                                const struct pm_rangelist *l, uint64_t budget)
{
    PM_VEC(struct group) g = {0};
    char cur[200];
    for (size_t i = 0; i < l->n; i++) {
        uint64_t off = l->r[i].off, end = off + l->r[i].len;
        while (off < end) {
            uint64_t blk_end = pt_layout_block_end(m, off);
            uint64_t piece = (end < blk_end ? end : blk_end) - off;
            pt_layout_describe(m, off, piece, cur, sizeof cur);
            /* the latest group is the likeliest match */
            size_t k = g.len;
            while (k > 0 && strcmp(g.v[k - 1].what, cur) != 0)
                k--;
            if (k == 0) {
                struct group ng = {.first = off};
                snprintf(ng.what, sizeof ng.what, "%s", cur);
                if (PM_VEC_PUSH(&g, ng) == -1)
                    break;
                k = g.len;
            }
            g.v[k - 1].bytes += piece;
            off += piece;
        }
    }
    for (size_t k = 0; k < g.len && k < budget; k++)
        printf("    %-5s %8llu bytes from offset %-10llu %s\n", fate,
               (unsigned long long)g.v[k].bytes, (unsigned long long)g.v[k].first, g.v[k].what);
    if (g.len > budget)
        printf("    ... and %llu more\n", (unsigned long long)(g.len - budget));
    size_t n = g.len;
    PM_VEC_FREE(&g);
    return n;
}

static void print_cut(const struct pt_layout *m, const struct pm_audit_rec *rec, uint64_t max_lines)
{
    printf("cut at seq %llu (%s, %s seed %llu): %llu lines lost (%llu meta), %llu torn\n",
           (unsigned long long)rec->seq, rec->trigger, pm_policy_name(rec->cut.policy),
           (unsigned long long)rec->cut.seed, (unsigned long long)pm_counts_total(&rec->lost),
           (unsigned long long)rec->lost.c[PM_META],
           (unsigned long long)pm_counts_total(&rec->torn));
    if (m) {
        describe_ranges(m, "lost", &rec->lost_r, max_lines);
        describe_ranges(m, "torn", &rec->torn_r, max_lines);
    }
}

/* With --data: the filesystem layout at each cut is read from the image the
 * device held just before it (V), rebuilt by replay; a cut often destroys
 * exactly the structures that would be needed to read the image after it. */
static int lost_by_replay(const struct pt_lost_args *a)
{
    struct pt_replay r;
    char tmp[] = "/tmp/pmemcut-lost.XXXXXX";
    int fd = mkstemp(tmp);
    if (fd == -1) {
        pm_set_error("%s: %s", tmp, strerror(errno));
        return -1;
    }
    close(fd);
    int rc = 0, n, cuts = 0;
    struct pt_layout m;
    if (pt_layout_load_extents(&m, &a->lay) == -1) {
        unlink(tmp);
        return -1;
    }
    if (pt_replay_open(&r, a->log, a->data, NULL) == -1) {
        rc = -1;
        goto out;
    }
    while ((n = pt_replay_next(&r)) == 1) {
        if (r.rec.ev == PM_AUDIT_CUT && r.m) {
            if (pt_layout_check_offset(&m, r.size, "the device") == -1 ||
                pt_rec_check_fits(a->log, &r.rec, r.size) == -1) {
                n = -1;
                break;
            }
            cuts++;
            uint8_t *img = malloc(r.size);
            bool have = false;
            if (img) {
                /* what the filesystem saw (V); if that is no ext4 (its
                 * superblock was just overwritten), what was persisted (P) */
                pt_replay_read(&r, img, r.size, 0);
                have = (pt_layout_is_xfs(&a->lay, &m, img, r.size) ||
                        pt_write_image(img, r.size, tmp) == 0) &&
                       pt_layout_open(&m, &a->lay, tmp, img, r.size) == 0;
                if (m.xfs && !m.x.have_sb)
                    pt_xfsmap_read_super(&m.x, r.p, r.size);
                if (!have)
                    have = (pt_layout_is_xfs(&a->lay, &m, r.p, r.size) ||
                            pt_write_image(r.p, r.size, tmp) == 0) &&
                           pt_layout_open(&m, &a->lay, tmp, r.p, r.size) == 0;
                free(img);
            }
            print_cut(have ? &m : NULL, &r.rec, a->max_lines);
            if (!have)
                printf("    (no ext4 on the device before this cut)\n");
            else
                pt_layout_close(&m);
        }
        if (pt_replay_apply(&r) == -1) {
            n = -1;
            break;
        }
    }
    if (n < 0) {
        rc = -1;
    } else if (cuts == 0) {
        printf("no cuts in %s\n", a->log);
    }
out:
    pt_replay_close(&r);
    pt_xfsmap_free(&m.x);
    unlink(tmp);
    return rc;
}

int pt_lost_print(const struct pt_lost_args *a)
{
    if (a->data)
        return lost_by_replay(a);
    struct pt_layout m;
    if (pt_layout_load_extents(&m, &a->lay) == -1)
        return -1;
    if (pt_layout_open_file(&m, &a->lay, a->image) == -1) {
        pm_set_error("%s (an image after a cut may have lost its superblock: "
                     "give --data DLOG to read the layout from before each cut)",
                     pm_get_error());
        pt_xfsmap_free(&m.x);
        return -1;
    }
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    if (pm_audit_reader_open(&r, a->log) == -1) {
        pm_set_error("%s", r.err);
        pm_audit_reader_close(&r);
        pt_layout_free(&m);
        return -1;
    }
    int n, cuts = 0;
    uint64_t size = 0; /* the device's, from the open record */
    bool bad = false;
    while ((n = pm_audit_reader_next(&r, &rec)) == 1) {
        if (rec.ev == PM_AUDIT_OPEN)
            size = rec.size;
        if (pt_rec_check_fits(a->log, &rec, size) == -1) {
            bad = true;
            n = -1;
            break;
        }
        if (rec.ev != PM_AUDIT_CUT)
            continue;
        cuts++;
        print_cut(&m, &rec, a->max_lines);
    }
    if (cuts == 0 && n == 0)
        printf("no cuts in %s\n", a->log);
    if (n < 0 && !bad)
        pm_set_error("%s", r.err);
    pm_audit_reader_close(&r);
    pt_layout_free(&m);
    return n < 0 ? -1 : 0;
}
