/* pmemcut-audit — answers from the device's audit log.
 *
 *   pmemcut-audit summary LOG [--json]
 *   pmemcut-audit timeline LOG -o FILE.svg [--from SEQ] [--to SEQ]
 *   pmemcut-audit lost LOG --image IMG | --data DLOG [--fs ext4|xfs] [--extents EXT.json]
 *                          [--offset BYTES]
 *   pmemcut-audit classify --image IMG --socket SOCK [--fs ext4|xfs] [--extents EXT.json]
 *                          [--offset BYTES]
 *
 * ext4 is read with libext2fs; xfs's file data comes from the agent's
 * FIEMAP report (--extents) and the rest is metadata.  --offset: the
 * filesystem starts that many bytes into the device (an nvdimm namespace's
 * data offset, the agent's dev_offset); the ranges sent and printed are
 * device offsets all the same.  An extents report's dev_offset means the
 * same, and the two must agree.
 *
 * Exit: 0 done, 1 usage or I/O error, 2 damaged log (the message names the
 * line, byte offset and last good seq; what came before is still reported).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/auditlog.h"
#include "engines/auditsum.h"
#include "engines/ext4map.h"
#include "engines/replay.h"
#include "engines/timeline.h"
#include "engines/xfsmap.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pmemcut-audit summary LOG [--json]\n"
               "       pmemcut-audit timeline LOG -o FILE.svg [--from SEQ] [--to SEQ]\n"
               "       pmemcut-audit lost LOG --image IMG | --data DLOG [--fs ext4|xfs]\n"
               "                          [--extents EXT.json] [--offset BYTES]\n"
               "       pmemcut-audit classify --image IMG --socket SOCK [--fs ext4|xfs]\n"
               "                          [--extents EXT.json] [--offset BYTES]\n");
}

static const struct option lopts[] = {
    {"json", no_argument, 0, 'j'},
    {"output", required_argument, 0, 'o'},
    {"from", required_argument, 0, 'f'},
    {"to", required_argument, 0, 't'},
    {"image", required_argument, 0, 'i'},
    {"socket", required_argument, 0, 's'},
    {"max-lines", required_argument, 0, 'm'},
    {"data", required_argument, 0, 'd'},
    {"fs", required_argument, 0, 'F'},
    {"extents", required_argument, 0, 'e'},
    {"offset", required_argument, 0, 'O'},
    {0, 0, 0, 0},
};

struct args {
    const char *log, *out, *image, *socket, *data, *fs, *extents;
    bool json, have_offset;
    uint64_t from, to, max_lines, offset;
};

static int parse(int argc, char **argv, struct args *a, bool want_log)
{
    memset(a, 0, sizeof *a);
    a->to = UINT64_MAX;
    a->max_lines = 40;
    int c;
    while ((c = getopt_long(argc, argv, "o:", lopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'j':
            a->json = true;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'i':
            a->image = optarg;
            break;
        case 's':
            a->socket = optarg;
            break;
        case 'd':
            a->data = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "ext4") != 0 && strcmp(optarg, "xfs") != 0) {
                fprintf(stderr, "pmemcut-audit: --fs: ext4 or xfs, not %s\n", optarg);
                return -1;
            }
            a->fs = optarg;
            break;
        case 'e':
            a->extents = optarg;
            break;
        case 'f':
        case 't':
        case 'm':
        case 'O': {
            uint64_t v = strtoull(optarg, &end, 10);
            if (!*optarg || *end || *optarg == '-') {
                fprintf(stderr, "pmemcut-audit: not a number: %s\n", optarg);
                return -1;
            }
            if (c == 'O') {
                a->offset = v;
                a->have_offset = true;
                break;
            }
            *(c == 'f' ? &a->from : c == 't' ? &a->to : &a->max_lines) = v;
            break;
        }
        default:
            return -1;
        }
    }
    if (want_log) {
        if (optind != argc - 1)
            return -1;
        a->log = argv[optind];
    } else if (optind != argc) {
        return -1;
    }
    return 0;
}

/* --- lost ------------------------------------------------------------------------ */

/* What the blocks of the device are: ext4 from libext2fs, or xfs from the
 * agent's extents report and the superblock. */
struct layout {
    bool xfs;
    struct pt_ext4map e;
    struct pt_xfsmap x; /* xfs; the extents also when given for ext4 */
    bool have_x;
};

static uint32_t lay_bsize(const struct layout *l)
{
    return l->xfs ? pt_xfsmap_bsize(&l->x) : l->e.bsize;
}

static void lay_describe(const struct layout *l, uint64_t off, uint64_t len, char *out, size_t n)
{
    if (l->xfs)
        pt_xfsmap_describe(&l->x, off, len, out, n);
    else
        pt_ext4map_describe(&l->e, off, len, out, n);
}

/* Loads --extents (if given) into l->x, and where the filesystem starts
 * (--offset, or the report's dev_offset) into l->x.dev_offset.  0, or -1
 * after a message. */
static int lay_load_extents(struct layout *l, const struct args *a)
{
    char err[600];
    memset(l, 0, sizeof *l);
    if (a->extents) {
        if (pt_xfsmap_load_extents(&l->x, a->extents, err, sizeof err) == -1) {
            fprintf(stderr, "pmemcut-audit: --extents: %s\n", err);
            return -1;
        }
        l->have_x = true;
        if (a->have_offset && l->x.dev_offset != a->offset) {
            fprintf(stderr,
                    "pmemcut-audit: --offset %llu, but the extents report says dev_offset %llu\n",
                    (unsigned long long)a->offset, (unsigned long long)l->x.dev_offset);
            pt_xfsmap_free(&l->x);
            return -1;
        }
    }
    if (a->have_offset)
        l->x.dev_offset = a->offset;
    return 0;
}

/* Where the block holding device offset off ends: blocks count from the
 * filesystem's start, and what lies before it is one piece. */
static uint64_t lay_block_end(const struct layout *l, uint64_t off)
{
    uint64_t start = l->x.dev_offset, bsize = lay_bsize(l);
    if (off < start)
        return start;
    return start + ((off - start) / bsize + 1) * bsize;
}

/* Whether the image (size bytes) is xfs: --fs, else its superblock. */
static bool lay_is_xfs(const struct args *a, const struct layout *l, const uint8_t *img,
                       uint64_t size)
{
    if (a->fs)
        return strcmp(a->fs, "xfs") == 0;
    return pt_xfsmap_is_xfs(img, size, l->x.dev_offset);
}

/* The layout of the image at path (also held in img when not NULL).
 * 0, or -1 with err. */
static int lay_open(struct layout *l, const struct args *a, const char *path, const uint8_t *img,
                    uint64_t size, char *err, size_t errlen)
{
    if (lay_is_xfs(a, l, img, size)) {
        l->xfs = true;
        pt_xfsmap_read_super(&l->x, img, size);
        return 0;
    }
    l->xfs = false;
    return pt_ext4map_open(&l->e, path, l->x.dev_offset, err, errlen);
}

static void lay_close(struct layout *l)
{
    if (!l->xfs)
        pt_ext4map_free(&l->e);
    memset(&l->e, 0, sizeof l->e);
}

/* The first bytes of a file (the superblocks live there), zero-padded. */
static uint8_t *read_head(const char *path, uint64_t want, uint64_t *got)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = f ? calloc(1, want) : NULL;
    *got = b ? fread(b, 1, want, f) : 0;
    if (f)
        fclose(f);
    return b;
}

/* Prints what a list of line ranges were: the bytes grouped by what they
 * belonged to, in order of first offset.  Returns the groups printed. */
struct group {
    char what[200];
    uint64_t first, bytes;
};

static uint64_t describe_ranges(const struct layout *m, const char *fate,
                                const struct pm_rangelist *l, uint64_t budget)
{
    struct group *g = NULL;
    size_t ng = 0, cap = 0;
    char cur[200];
    for (size_t i = 0; i < l->n; i++) {
        uint64_t off = l->r[i].off, end = off + l->r[i].len;
        while (off < end) {
            uint64_t blk_end = lay_block_end(m, off);
            uint64_t piece = (end < blk_end ? end : blk_end) - off;
            lay_describe(m, off, piece, cur, sizeof cur);
            /* the latest group is the likeliest match */
            size_t k = ng;
            while (k > 0 && strcmp(g[k - 1].what, cur) != 0)
                k--;
            if (k == 0) {
                if (ng == cap) {
                    cap = cap ? cap * 2 : 64;
                    struct group *ng2 = realloc(g, cap * sizeof *g);
                    if (!ng2)
                        break;
                    g = ng2;
                }
                snprintf(g[ng].what, sizeof g[ng].what, "%s", cur);
                g[ng].first = off;
                g[ng].bytes = 0;
                k = ++ng;
            }
            g[k - 1].bytes += piece;
            off += piece;
        }
    }
    for (size_t k = 0; k < ng && k < budget; k++)
        printf("    %-5s %8llu bytes from offset %-10llu %s\n", fate,
               (unsigned long long)g[k].bytes, (unsigned long long)g[k].first, g[k].what);
    if (ng > budget)
        printf("    ... and %llu more\n", (unsigned long long)(ng - budget));
    free(g);
    return ng;
}

static void print_cut(const struct layout *m, const struct au_rec *rec, uint64_t max_lines)
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
static int lost_by_replay(const struct args *a)
{
    struct pt_replay r;
    char tmp[] = "/tmp/pmemcut-lost.XXXXXX", err[600];
    int fd = mkstemp(tmp);
    if (fd == -1) {
        fprintf(stderr, "pmemcut-audit: %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    close(fd);
    int rc = 0, n, cuts = 0;
    struct layout m;
    if (lay_load_extents(&m, a) == -1) {
        unlink(tmp);
        return 2;
    }
    if (pt_replay_open(&r, a->log, a->data, NULL) == -1) {
        fprintf(stderr, "pmemcut-audit: %s\n", r.err);
        rc = 2;
        goto out;
    }
    while ((n = pt_replay_next(&r)) == 1) {
        if (r.rec.ev == AU_CUT && r.m) {
            cuts++;
            uint8_t *img = malloc(r.size);
            bool have = false;
            if (img) {
                /* what the filesystem saw (V); if that is no ext4 (its
                 * superblock was just overwritten), what was persisted (P) */
                pt_replay_read(&r, img, r.size, 0);
                have = (lay_is_xfs(a, &m, img, r.size) ||
                        pt_write_image(img, r.size, tmp, err, sizeof err) == 0) &&
                       lay_open(&m, a, tmp, img, r.size, err, sizeof err) == 0;
                if (m.xfs && !m.x.have_sb)
                    pt_xfsmap_read_super(&m.x, r.p, r.size);
                if (!have)
                    have = (lay_is_xfs(a, &m, r.p, r.size) ||
                            pt_write_image(r.p, r.size, tmp, err, sizeof err) == 0) &&
                           lay_open(&m, a, tmp, r.p, r.size, err, sizeof err) == 0;
                free(img);
            }
            print_cut(have ? &m : NULL, &r.rec, a->max_lines);
            if (!have)
                printf("    (no ext4 on the device before this cut)\n");
            else
                lay_close(&m);
        }
        if (pt_replay_apply(&r) == -1) {
            n = -1;
            break;
        }
    }
    if (n < 0) {
        fprintf(stderr, "pmemcut-audit: %s\n", r.err);
        rc = 2;
    } else if (cuts == 0) {
        printf("no cuts in %s\n", a->log);
    }
out:
    pt_replay_close(&r);
    pt_xfsmap_free(&m.x);
    unlink(tmp);
    return rc;
}

static int cmd_lost(const struct args *a)
{
    if (a->data)
        return lost_by_replay(a);
    if (!a->image) {
        fprintf(stderr, "pmemcut-audit: lost: --image IMG or --data DLOG is required\n");
        return 1;
    }
    struct layout m;
    char err[600];
    if (lay_load_extents(&m, a) == -1)
        return 2;
    uint64_t got;
    uint8_t *head = read_head(a->image, m.x.dev_offset + 4096, &got);
    if (!head || lay_open(&m, a, a->image, head, got, err, sizeof err) == -1) {
        if (!head)
            snprintf(err, sizeof err, "%s: %s", a->image, strerror(errno));
        fprintf(stderr,
                "pmemcut-audit: %s (an image after a cut may have lost its superblock: "
                "give --data DLOG to read the layout from before each cut)\n",
                err);
        free(head);
        pt_xfsmap_free(&m.x);
        return 1;
    }
    free(head);
    struct au_reader r;
    struct au_rec rec;
    if (au_open(&r, a->log) == -1) {
        fprintf(stderr, "pmemcut-audit: %s\n", r.err);
        lay_close(&m);
        pt_xfsmap_free(&m.x);
        return 2;
    }
    int n, cuts = 0;
    while ((n = au_next(&r, &rec)) == 1) {
        if (rec.ev != AU_CUT)
            continue;
        cuts++;
        print_cut(&m, &rec, a->max_lines);
    }
    if (cuts == 0 && n == 0)
        printf("no cuts in %s\n", a->log);
    if (n < 0)
        fprintf(stderr, "pmemcut-audit: %s\n", r.err);
    au_close(&r);
    lay_close(&m);
    pt_xfsmap_free(&m.x);
    return n < 0 ? 2 : 0;
}

/* --- classify --------------------------------------------------------------------- */

static int ctl_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one command and reads its one reply line.  0 for "ok", -1. */
static int ctl_cmd(int fd, FILE *in, const char *cmd, char *reply, size_t n)
{
    size_t len = strlen(cmd);
    if (write(fd, cmd, len) != (ssize_t)len || !fgets(reply, (int)n, in))
        return -1;
    return strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

static int cmd_classify(const struct args *a)
{
    if (!a->image || !a->socket) {
        fprintf(stderr, "pmemcut-audit: classify: --image and --socket are required\n");
        return 1;
    }
    struct layout l;
    char err[600];
    if (lay_load_extents(&l, a) == -1)
        return 2;
    uint64_t got;
    uint8_t *head = read_head(a->image, l.x.dev_offset + 4096, &got);
    if (!head || lay_open(&l, a, a->image, head, got, err, sizeof err) == -1) {
        if (!head)
            snprintf(err, sizeof err, "%s: %s", a->image, strerror(errno));
        fprintf(stderr, "pmemcut-audit: %s\n", err);
        free(head);
        pt_xfsmap_free(&l.x);
        return 1;
    }
    free(head);
    if (l.xfs && !l.have_x) {
        fprintf(stderr, "pmemcut-audit: classify: xfs needs --extents EXT.json (the agent's "
                        "FIEMAP report) to tell data from metadata\n");
        pt_xfsmap_free(&l.x);
        return 1;
    }
    struct pt_ext4map m = l.e;
    int fd = ctl_connect(a->socket);
    FILE *in = fd >= 0 ? fdopen(dup(fd), "r") : NULL;
    if (!in) {
        fprintf(stderr, "pmemcut-audit: %s: %s\n", a->socket, strerror(errno));
        lay_close(&l);
        pt_xfsmap_free(&l.x);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    uint64_t sent[3] = {0}, bytes[3] = {0};
    int rc = 0;
    uint64_t b = 0;
    /* xfs: the whole block device is metadata, then the files' extents are
     * data over it (a later classify of a range replaces the earlier) */
    if (l.xfs) {
        struct stat st;
        char cmd[128], reply[512];
        uint64_t size = stat(a->image, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (size > l.x.dev_offset) {
            snprintf(cmd, sizeof cmd, "classify meta %llu %llu\n",
                     (unsigned long long)l.x.dev_offset,
                     (unsigned long long)(size - l.x.dev_offset));
            if (ctl_cmd(fd, in, cmd, reply, sizeof reply) == -1) {
                fprintf(stderr, "pmemcut-audit: %s: %s -> %s", a->socket, cmd, reply);
                rc = 1;
            }
            sent[1]++;
            bytes[1] += size - l.x.dev_offset;
        }
    }
    /* ext4: runs of blocks of one class (meta/data); free blocks are left
     * alone */
    while (!l.xfs && b < m.nblocks && rc == 0) {
        int cls = m.own[b].kind == EK_NONE ? 0 : pt_ext4map_is_meta(m.own[b].kind) ? 1 : 2;
        uint64_t e = b + 1;
        while (e < m.nblocks && (m.own[e].kind == EK_NONE            ? 0
                                 : pt_ext4map_is_meta(m.own[e].kind) ? 1
                                                                     : 2) == cls)
            e++;
        if (cls) {
            char cmd[128], reply[512];
            snprintf(cmd, sizeof cmd, "classify %s %llu %llu\n", cls == 1 ? "meta" : "data",
                     (unsigned long long)(m.offset + b * m.bsize),
                     (unsigned long long)((e - b) * m.bsize));
            if (ctl_cmd(fd, in, cmd, reply, sizeof reply) == -1) {
                fprintf(stderr, "pmemcut-audit: %s: %s -> %s", a->socket, cmd, reply);
                rc = 1;
            }
            sent[cls]++;
            bytes[cls] += (e - b) * m.bsize;
        }
        b = e;
    }
    /* the agent's extents: data, on either filesystem */
    for (size_t i = 0; l.have_x && i < l.x.next && rc == 0; i++) {
        char cmd[128], reply[512];
        snprintf(cmd, sizeof cmd, "classify data %llu %llu\n", (unsigned long long)l.x.ext[i].off,
                 (unsigned long long)l.x.ext[i].len);
        if (ctl_cmd(fd, in, cmd, reply, sizeof reply) == -1) {
            fprintf(stderr, "pmemcut-audit: %s: %s -> %s", a->socket, cmd, reply);
            rc = 1;
        }
        sent[2]++;
        bytes[2] += l.x.ext[i].len;
    }
    if (rc == 0)
        printf("classified %llu bytes as meta (%llu ranges), %llu bytes as data (%llu ranges)\n",
               (unsigned long long)bytes[1], (unsigned long long)sent[1],
               (unsigned long long)bytes[2], (unsigned long long)sent[2]);
    fclose(in);
    close(fd);
    lay_close(&l);
    pt_xfsmap_free(&l.x);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    struct args a;
    bool want_log = strcmp(cmd, "classify") != 0;
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (parse(argc - 1, argv + 1, &a, want_log) == -1) {
        usage(stderr);
        return 1;
    }
    if (strcmp(cmd, "summary") == 0)
        return pt_summary_print(a.log, a.json, stdout);
    if (strcmp(cmd, "timeline") == 0) {
        if (!a.out) {
            fprintf(stderr, "pmemcut-audit: timeline: -o FILE.svg is required\n");
            return 1;
        }
        return pt_timeline_write(a.log, a.out, a.from, a.to);
    }
    if (strcmp(cmd, "lost") == 0)
        return cmd_lost(&a);
    if (strcmp(cmd, "classify") == 0)
        return cmd_classify(&a);
    fprintf(stderr, "pmemcut-audit: unknown command %s\n", cmd);
    usage(stderr);
    return 1;
}
