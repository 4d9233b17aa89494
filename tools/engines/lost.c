/* pmemcut — `pmemcut-audit lost`: what each cut of the history lost, by
 * what the lines belonged to (see lost.h). */
#include "lost.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/auditlog.h"
#include "utils/error.h"
#include "utils/spawn.h"
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

static void print_cut(const struct pt_layout *m, const struct pm_audit_rec *rec, uint64_t max_lines,
                      const char *note)
{
    printf("cut at seq %llu (%s, %s seed %llu): %llu lines lost (%llu meta), %llu torn\n",
           (unsigned long long)rec->seq, rec->trigger, pm_policy_name(rec->cut.policy),
           (unsigned long long)rec->cut.seed, (unsigned long long)pm_counts_total(&rec->lost),
           (unsigned long long)rec->lost.c[PM_META],
           (unsigned long long)pm_counts_total(&rec->torn));
    if (note)
        printf("    (%s)\n", note);
    if (m) {
        describe_ranges(m, "lost", &rec->lost_r, max_lines);
        describe_ranges(m, "torn", &rec->torn_r, max_lines);
    }
}

/* An ext4 with a journal still to replay (needs_recovery) has inodes and
 * extents that are only in the journal: a file made since the last
 * checkpoint (on an ADR nvdimm, where only the journal's commits reach
 * persistence, the common case) has blocks that read as free.  Its layout
 * is read as a mount would see it: fs (len bytes, the filesystem's part of
 * the device, which starts at device offset off) copied to tmp, its
 * journal replayed by e2fsck's copy of the kernel's recovery code.  1 with
 * m's ext4 layout open and *note set, 0 when there is no journal to
 * replay, or when it could not be replayed (*note says so: the caller
 * reads the image as it is). */
static int open_recovered(struct pt_layout *m, const char *tmp, const uint8_t *fs, uint64_t len,
                          uint64_t off, const char **note)
{
    *note = NULL;
    if (len < 2048 || fs[1024 + 0x38] != 0x53 || fs[1024 + 0x39] != 0xef ||
        !(fs[1024 + 0x60] & 0x04)) /* magic, EXT4_FEATURE_INCOMPAT_RECOVER */
        return 0;
    *note = "ext4's journal could not be replayed: the layout is the image's as it is";
    if (pt_write_image(fs, len, tmp) == -1)
        return 0;
    char *argv[] = {"e2fsck", "-E", "journal_only", "-y", (char *)tmp, NULL};
    struct pm_spawn sp = {.argv = argv, .capture = 4096, .timeout = 120};
    struct pm_spawn_result res;
    int r = pm_spawn_run(&sp, &res);
    bool ok = r == 0 && !res.timed_out && res.status < 4;
    pm_spawn_result_free(&res);
    if (!ok || pt_ext4map_open(&m->e, tmp, 0) == -1)
        return 0;
    m->e.offset = off; /* read at 0 of the copy; described as device offsets */
    m->xfs = false;
    *note = "the layout after replaying ext4's journal, as a mount would";
    return 1;
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
            const char *note = NULL;
            if (img) {
                /* what the filesystem saw (V); if that is no ext4 (its
                 * superblock was just overwritten), what was persisted (P) */
                pt_replay_read(&r, img, r.size, 0);
                uint64_t off = m.x.dev_offset;
                have = !pt_layout_is_xfs(&a->lay, &m, img, r.size) &&
                       open_recovered(&m, tmp, img + off, r.size - off, off, &note) == 1;
                if (!have)
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
            print_cut(have ? &m : NULL, &r.rec, a->max_lines, note);
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
    /* ext4 with a journal to replay: read from a copy with it replayed */
    const char *note = NULL;
    int recovered = 0;
    bool ext4 = !a->lay.fs || strcmp(a->lay.fs, "xfs") != 0;
    int ifd = ext4 ? open(a->image, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (ifd >= 0 && fstat(ifd, &st) == 0 && (uint64_t)st.st_size > m.x.dev_offset) {
        uint8_t *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, ifd, 0);
        char tmp[] = "/tmp/pmemcut-lost.XXXXXX";
        int tfd = map != MAP_FAILED ? mkstemp(tmp) : -1;
        if (tfd >= 0) {
            close(tfd);
            uint64_t off = m.x.dev_offset;
            recovered = open_recovered(&m, tmp, map + off, (uint64_t)st.st_size - off, off, &note);
            unlink(tmp);
        }
        if (map != MAP_FAILED)
            munmap(map, (size_t)st.st_size);
    }
    if (ifd >= 0)
        close(ifd);
    if (!recovered && pt_layout_open_file(&m, &a->lay, a->image) == -1) {
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
        print_cut(&m, &rec, a->max_lines, note);
    }
    if (cuts == 0 && n == 0)
        printf("no cuts in %s\n", a->log);
    if (n < 0 && !bad)
        pm_set_error("%s", r.err);
    pm_audit_reader_close(&r);
    pt_layout_free(&m);
    return n < 0 ? -1 : 0;
}
