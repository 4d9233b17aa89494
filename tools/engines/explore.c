/* pmemcut — crash-state exploration (see explore.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ackverify.h"
#include "explore.h"
#include "utils/jsonr.h"
#include "verify/record.h"
#include "replay.h"

enum point_kind { PT_FLUSH = 1, PT_MARK = 2, PT_WRITE = 4 };

#define MAX_POLICIES 5
#define SIG_MAX      160

struct opts {
    const char *audit, *data, *base, *out, *fs;
    unsigned points;
    unsigned per_point;
    enum pm_policy policies[MAX_POLICIES];
    int npolicies;
    double p;
    int jobs;
    uint64_t from, to;
    const char *acks;       /* set by --acks: a file of ack lines, or "audit" */
    const char *verify_dir; /* set by --verify-dir: the workload directory in the fs */
    uint32_t record_size;   /* set by --record-size */
    enum pm_expect expect;  /* set by --expect */
    struct pt_ack_list al;  /* the acks, each with the seq it applies from */
    bool fresh;             /* set by --fresh-images: each state written whole, none skipped */
};

/* --- the set of states already done (for resume) ------------------------------ */

struct done_set {
    uint64_t *h; /* open addressing; 0 is empty */
    size_t cap, n;
};

static uint64_t mix(uint64_t x)
{
    return pm_rng_next(&x) | 1; /* never 0 */
}

static uint64_t state_key(uint64_t at, enum pm_policy pol, uint64_t seed)
{
    return mix(at * 1000003u ^ mix(seed) ^ ((uint64_t)pol << 56));
}

static int done_add(struct done_set *s, uint64_t k)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *h = calloc(cap, sizeof *h);
        if (!h)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->h[i])
                for (size_t j = s->h[i] & (cap - 1);; j = (j + 1) & (cap - 1))
                    if (!h[j]) {
                        h[j] = s->h[i];
                        break;
                    }
        free(s->h);
        s->h = h;
        s->cap = cap;
    }
    for (size_t j = k & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->h[j] == k)
            return 0;
        if (!s->h[j]) {
            s->h[j] = k;
            s->n++;
            return 0;
        }
    }
}

static bool done_has(const struct done_set *s, uint64_t k)
{
    if (!s->cap)
        return false;
    for (size_t j = k & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->h[j] == k)
            return true;
        if (!s->h[j])
            return false;
    }
}

/* --- results ------------------------------------------------------------------- */

struct result {
    uint64_t at, point;
    enum pm_policy policy;
    uint64_t seed;
    uint64_t lost; /* lost + torn lines */
    char fsck[16];
    char sig[SIG_MAX];
    char verify[8]; /* "PASS", "FAIL" or "" (not judged) */
    bool dup;       /* the same image as a state checked before */
    char vsig[SIG_MAX];
};

/* Parses one states.jsonl line.  0 or -1. */
static int parse_result(struct jr_doc *d, const char *line, size_t len, struct result *res)
{
    if (jr_parse(d, line, len) == -1)
        return -1;
    memset(res, 0, sizeof *res);
    const char *pol = jr_get_str(d, 0, "policy");
    const char *fsck = jr_get_str(d, 0, "fsck");
    const char *sig = jr_get_str(d, 0, "signature");
    const char *ver = jr_get_str(d, 0, "verify");
    const char *vsig = jr_get_str(d, 0, "verify_signature");
    uint64_t lost = 0, torn = 0;
    int l = jr_get(d, 0, "lost"), t = jr_get(d, 0, "torn");
    static const char *const cls[] = {"meta", "data", "unknown"};
    for (int i = 0; i < 3; i++) {
        uint64_t v;
        if (jr_get_u64(d, l, cls[i], &v) == 0)
            lost += v;
        if (jr_get_u64(d, t, cls[i], &v) == 0)
            torn += v;
    }
    if (!pol || pm_policy_parse(pol, &res->policy) == -1 || !fsck ||
        jr_get_u64(d, 0, "replay_to", &res->at) == -1 ||
        jr_get_u64(d, 0, "point", &res->point) == -1 || jr_get_u64(d, 0, "seed", &res->seed) == -1)
        return -1;
    res->lost = lost + torn;
    snprintf(res->fsck, sizeof res->fsck, "%s", fsck);
    snprintf(res->sig, sizeof res->sig, "%s", sig ? sig : "");
    snprintf(res->verify, sizeof res->verify, "%s", ver ? ver : "");
    jr_get_bool(d, 0, "dup", &res->dup);
    snprintf(res->vsig, sizeof res->vsig, "%s", vsig ? vsig : "");
    return 0;
}

/* Reads DIR/states.jsonl: every complete line into the done set.  A torn
 * last line (the run was killed while a child wrote it) is cut off. */
static int load_done(const char *path, struct done_set *done, uint64_t *nstates)
{
    FILE *f = fopen(path, "r+");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    off_t good = 0;
    struct jr_doc d;
    jr_init(&d);
    uint64_t lineno = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        struct result res;
        if (line[n - 1] != '\n' || parse_result(&d, line, (size_t)n - 1, &res) == -1) {
            fprintf(stderr,
                    "explore: %s: line %llu (byte offset %lld) is damaged; "
                    "it and what follows are redone\n",
                    path, (unsigned long long)lineno, (long long)good);
            break;
        }
        good += n;
        done_add(done, state_key(res.at, res.policy, res.seed));
        (*nstates)++;
    }
    free(line);
    jr_free(&d);
    int r = ftruncate(fileno(f), good);
    fclose(f);
    return r;
}

/* --- one state ------------------------------------------------------------------- */

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

/* Runs argv with output captured (first 16 KiB) into out.  Exit status, or
 * -1 if it could not run. */
static int run_capture(char *const argv[], char *out, size_t outlen)
{
    int pfd[2];
    if (pipe(pfd) == -1)
        return -1;
    pid_t pid = fork();
    if (pid == -1)
        return -1;
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t got = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(pfd[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t k = (size_t)r < outlen - 1 - got ? (size_t)r : outlen - 1 - got;
        memcpy(out + got, tmp, k);
        got += k;
    }
    out[got] = '\0';
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ext4: does the superblock say the journal needs recovery? */
static bool ext4_needs_recovery(const uint8_t *img, uint64_t size)
{
    if (size < 2048)
        return false;
    const uint8_t *sb = img + 1024;
    uint16_t magic = (uint16_t)(sb[0x38] | sb[0x39] << 8);
    uint32_t incompat = (uint32_t)sb[0x60] | (uint32_t)sb[0x61] << 8;
    return magic == 0xEF53 && (incompat & 0x4);
}

static void counts_json(FILE *f, const char *key, const struct pm_counts *c)
{
    fprintf(f, ",\"%s\":{\"meta\":%llu,\"data\":%llu,\"unknown\":%llu}", key,
            (unsigned long long)c->c[PM_META], (unsigned long long)c->c[PM_DATA],
            (unsigned long long)c->c[PM_UNKNOWN]);
}

/* --- state images: one file per worker slot, patched, not rewritten ------------
 *
 * Writing a whole image for every state costs more than checking it.  So
 * each worker slot keeps one image file (on /dev/shm when it can) that
 * holds P as it was at some epoch plus the lines the slot's last state put
 * over it.  The parent counts an epoch for every record that may change P
 * and notes, per 4 KiB block, the epoch of its last change (gen[]).  To turn
 * the file into a new state, a child rewrites only the blocks changed since
 * the slot's epoch, the blocks the previous state patched, and the blocks
 * this state patches (the lines its cut kept or tore).
 *
 *   P (parent)   epoch 7:  gen[] = 0 0 5 7 0 0 3 0 ...
 *   slot file    epoch 5 + patch {6}       -> rewrite blocks 3 (gen 7 > 5)
 *                                             and 6 (last patch), then
 *                                             this state's own patch
 *
 * A state identical to one already checked (same epoch of P, same kept and
 * torn lines with the same bytes, same acks) is not checked again: the
 * children share a table of state keys and results.
 */

#define BLK       4096u
#define MAX_PATCH 8192u /* blocks a state may patch and still be undone block by block */
#define DUP_CAP   16384u
#define TAIL_MAX  1024u

struct slot {   /* shared: the child using the slot updates it */
    bool valid; /* the file holds P at epoch plus patch[] */
    uint32_t epoch;
    uint32_t npatch;
    uint32_t patch[MAX_PATCH];
};

struct dup { /* shared: one checked (or being checked) state */
    uint64_t key;
    int state;   /* 0 free, 1 being checked, 2 done, 3 unusable */
    int code;    /* the child's exit status */
    pid_t owner; /* the child checking it */
    char tail[TAIL_MAX];
};

struct shared {
    struct slot *slots; /* jobs entries */
    struct dup *dups;   /* DUP_CAP entries */
    char dir[4096];     /* where the slot images are */
};

struct track { /* parent; each child inherits it as it was at the fork */
    const struct pt_replay *r;
    uint32_t *gen; /* per block: the epoch of its last change */
    uint64_t nblk;
    uint32_t epoch;
    uint64_t epoch_seq; /* the record that took the current epoch */
};

static struct shared sh;
static struct track tr;

static int track_ready(struct track *t)
{
    if (t->gen || !t->r->size)
        return 0;
    t->nblk = (t->r->size + BLK - 1) / BLK;
    t->gen = calloc(t->nblk, sizeof *t->gen);
    return t->gen ? 0 : -1;
}

static void p_changed(void *ctx, uint64_t off, uint64_t len)
{
    struct track *t = ctx;
    if (len == 0 || track_ready(t) == -1 || !t->gen)
        return;
    if (t->epoch_seq != t->r->rec.seq) {
        t->epoch++;
        t->epoch_seq = t->r->rec.seq;
    }
    uint64_t last = (off + len - 1) / BLK;
    for (uint64_t b = off / BLK; b <= last && b < t->nblk; b++)
        t->gen[b] = t->epoch;
}

static int write_block(int fd, const uint8_t *p, uint64_t size, uint64_t b)
{
    uint64_t off = b * BLK, n = size - off < BLK ? size - off : BLK;
    return pwrite(fd, p + off, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

static void mark_ranges(uint8_t *mark, const struct track *t, const struct pm_rangelist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!l->r[i].len)
            continue;
        uint64_t last = (l->r[i].off + l->r[i].len - 1) / BLK;
        for (uint64_t b = l->r[i].off / BLK; b <= last && b < t->nblk; b++)
            mark[b] |= 2;
    }
}

/* Makes the slot's file the image p (P after this state's cut).  0, or -1
 * with err. */
static int slot_sync(struct slot *s, const char *img, const uint8_t *p, uint64_t size,
                     const struct pm_cut_result *cr, char *err, size_t errlen)
{
    const struct track *t = &tr;
    uint8_t *mark = calloc(t->nblk ? t->nblk : 1, 1);
    if (!mark) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cr) {
        mark_ranges(mark, t, &cr->kept_r);
        mark_ranges(mark, t, &cr->torn_r);
    }
    bool was_valid = s->valid;
    s->valid = false; /* until the file is whole again */
    int rc = 0;
    if (!was_valid) {
        rc = pt_write_image(p, size, img, err, errlen);
    } else {
        for (uint32_t i = 0; i < s->npatch; i++)
            mark[s->patch[i]] |= 1;
        int fd = open(img, O_WRONLY | O_CLOEXEC);
        for (uint64_t b = 0; fd != -1 && rc == 0 && b < t->nblk; b++)
            if (mark[b] || t->gen[b] > s->epoch)
                rc = write_block(fd, p, size, b);
        if (fd == -1 || rc == -1 || close(fd) == -1) {
            snprintf(err, errlen, "%.500s: %s", img, strerror(errno));
            rc = -1;
        }
    }
    uint32_t n = 0;
    bool fits = true;
    for (uint64_t b = 0; b < t->nblk && fits; b++)
        if (mark[b] & 2) {
            if (n == MAX_PATCH)
                fits = false;
            else
                s->patch[n++] = (uint32_t)b;
        }
    free(mark);
    s->npatch = n;
    s->epoch = t->epoch;
    s->valid = rc == 0 && fits;
    return rc;
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h = mix(h ^ w);
    }
    return h;
}

/* What makes a state what it is: P's epoch, the bytes of the lines the cut
 * kept or tore (lost lines are P's), and how many acks are judged. */
static uint64_t state_hash(const uint8_t *p, const struct pm_cut_result *cr, size_t nacks)
{
    uint64_t h = mix(tr.epoch ^ mix(nacks + 1));
    const struct pm_rangelist *ls[2] = {cr ? &cr->kept_r : NULL, cr ? &cr->torn_r : NULL};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; ls[k] && i < ls[k]->n; i++) {
            h = mix(h ^ mix(ls[k]->r[i].off + (uint64_t)k));
            h = mix(h ^ ls[k]->r[i].len);
            h = hash_bytes(h, p + ls[k]->r[i].off, ls[k]->r[i].len);
        }
    return h;
}

/* The entry for key: *mine is set when this child claimed it. */
static struct dup *dup_claim(uint64_t key, bool *mine)
{
    *mine = false;
    for (uint32_t i = 0, j = (uint32_t)(key % DUP_CAP); i < DUP_CAP / 2;
         i++, j = (j + 1) % DUP_CAP) {
        struct dup *d = &sh.dups[j];
        uint64_t cur = __atomic_load_n(&d->key, __ATOMIC_ACQUIRE);
        if (cur == key)
            return d;
        if (cur == 0) {
            uint64_t zero = 0;
            if (__atomic_compare_exchange_n(&d->key, &zero, key, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                d->owner = getpid();
                __atomic_store_n(&d->state, 1, __ATOMIC_RELEASE);
                *mine = true;
                return d;
            }
            if (zero == key)
                return d;
        }
    }
    return NULL; /* full: check it */
}

/* Waits for another child to finish the same state; its tail and status,
 * or -1 (it could not: check it here). */
static int dup_wait(struct dup *d, char *tail, size_t n)
{
    for (int i = 0; i < 600000; i++) { /* 5 minutes */
        int st = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
        if (st == 2) {
            snprintf(tail, n, "%s", d->tail);
            return d->code;
        }
        /* a child that died before finishing leaves it unfinished */
        if (st == 3 || (st == 1 && d->owner && kill(d->owner, 0) == -1 && errno == ESRCH))
            return -1;
        usleep(500);
    }
    return -1;
}

static void dup_done(struct dup *d, const char *tail, int code)
{
    if (!d)
        return;
    if (strlen(tail) >= TAIL_MAX) {
        __atomic_store_n(&d->state, 3, __ATOMIC_RELEASE);
        return;
    }
    strcpy(d->tail, tail);
    d->code = code;
    __atomic_store_n(&d->state, 2, __ATOMIC_RELEASE);
}

/* fsck, then verify: the part of the state's line after its counts, and the
 * exit status (0 pass, 1 fail, 2 could not check). */
static int check_image(const struct opts *o, const char *img, uint64_t at, size_t nacks,
                       bool *replayed, char **tail)
{
    static char out[16384];
    char sig[SIG_MAX] = "", err[700];
    int rc;
    const char *verdict;
    *replayed = false;
    if (strcmp(o->fs, "ext4") == 0) {
        if (ext4_needs_recovery(tr.r->p, tr.r->size)) {
            /* what a mount would do first: replay the journal */
            char *jargv[] = {"e2fsck", "-E", "journal_only", "-y", (char *)img, NULL};
            run_capture(jargv, out, sizeof out);
            *replayed = true;
        }
        char *argv[] = {"e2fsck", "-fn", (char *)img, NULL};
        rc = run_capture(argv, out, sizeof out);
        verdict = rc == 0 ? "pass" : rc < 0 || rc >= 16 ? "error" : "fail";
    } else {
        char *argv[] = {"xfs_repair", "-n", "-f", (char *)img, NULL};
        rc = run_capture(argv, out, sizeof out);
        /* 2: a dirty log that only a mount can replay */
        verdict = rc == 0 ? "pass" : rc == 1 ? "fail" : rc == 2 ? "dirty-log" : "error";
    }
    if (strcmp(verdict, "pass") != 0) {
        /* the state's file name is no part of the failure: take it out */
        for (char *p; (p = strstr(out, img));)
            memmove(p + 3, p + strlen(img), strlen(p + strlen(img)) + 1), memcpy(p, "IMG", 3);
        signature(out, sig, sizeof sig);
    }
    /* The acknowledged records promised before this state, judged on the
     * image as the journal replay left it (what a mount would show). */
    struct pm_verdict v;
    int vrc = 1;
    bool judged = o->acks && strcmp(o->fs, "ext4") == 0;
    pm_verdict_init(&v, o->expect);
    if (judged) {
        vrc = pt_ackverify_ext4(&v, img, o->verify_dir, &o->al, nacks, o->record_size, err,
                                sizeof err);
        if (vrc == -1)
            fprintf(stderr, "explore: verify at seq %llu: %s\n", (unsigned long long)at, err);
    }
    size_t len = 0;
    FILE *f = open_memstream(tail, &len);
    if (!f) {
        pm_verdict_free(&v);
        return 2;
    }
    fprintf(f, ",\"fsck\":\"%s\",\"fsck_rc\":%d,\"signature\":\"%s\"", verdict, rc, sig);
    bool vfail = false;
    if (judged && vrc == 0) {
        char vsig[SIG_MAX];
        pt_ackverify_signature(&v, vsig, sizeof vsig);
        vfail = !pm_verdict_pass(&v);
        fprintf(f,
                ",\"verify\":\"%s\",\"verify_signature\":\"%s\",\"acked\":%llu,\"present\":%llu,"
                "\"superseded\":%llu,\"missing\":%zu,\"corrupt\":%zu,\"unacked_present\":%llu",
                vfail ? "FAIL" : "PASS", vsig, (unsigned long long)v.acked,
                (unsigned long long)v.present, (unsigned long long)v.superseded, v.missing.n,
                v.corrupt.n, (unsigned long long)v.unacked_present);
    } else {
        fputs(judged ? ",\"verify\":\"error\"" : ",\"verify\":null", f);
    }
    pm_verdict_free(&v);
    fclose(f);
    if (judged && vrc == -1)
        return 2;
    if (vfail && strcmp(verdict, "error") != 0)
        return 1;
    return strcmp(verdict, "pass") == 0 || strcmp(verdict, "dirty-log") == 0 ? 0
           : strcmp(verdict, "fail") == 0                                    ? 1
                                                                             : 2;
}

/* In the child, on worker slot `slot`: cut, make the image, check, append
 * the result.  Exit status: 0 pass, 1 fail, 2 could not check. */
static int check_state(struct pt_replay *r, const struct opts *o, int slot, uint64_t point,
                       const char *kind, uint64_t at, const struct pm_cut_params *cp)
{
    char img[4200], err[700];
    snprintf(img, sizeof img, "%.4000s/state-%d.img", sh.dir, slot);
    struct pm_counts lost = {0}, kept = {0}, torn = {0};
    const struct pm_cut_result *cr = NULL;
    if (pt_replay_is_on(r)) {
        if (pm_model_cut(r->m, cp, "explore", NULL, NULL) != PM_OK)
            return 2;
        cr = pm_model_last_cut(r->m);
        lost = cr->lost;
        kept = cr->kept;
        torn = cr->torn;
    }
    size_t nacks = o->acks ? pt_ackverify_count_at(&o->al, at) : 0;
    bool mine = false;
    struct dup *d = o->fresh ? NULL : dup_claim(state_hash(r->p, cr, nacks), &mine);
    if (o->fresh)
        sh.slots[slot].valid = false;
    char *tail = NULL, seen[TAIL_MAX];
    int code = -1;
    bool dup = false;
    if (d && !mine && (code = dup_wait(d, seen, sizeof seen)) >= 0) {
        tail = strdup(seen);
        dup = true;
    } else {
        if (slot_sync(&sh.slots[slot], img, r->p, r->size, cr, err, sizeof err) == -1) {
            fprintf(stderr, "explore: %s\n", err);
            if (mine)
                __atomic_store_n(&d->state, 3, __ATOMIC_RELEASE);
            return 2;
        }
        bool replayed;
        code = check_image(o, img, at, nacks, &replayed, &tail);
        if (replayed) /* the journal replay wrote to the file */
            sh.slots[slot].valid = false;
        if (mine && tail && code != 2)
            dup_done(d, tail, code);
        else if (mine)
            __atomic_store_n(&d->state, 3, __ATOMIC_RELEASE);
        mine = false;
    }
    if (!tail)
        return 2;

    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (!f) {
        free(tail);
        return 2;
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
    if (fd != -1)
        close(fd);
    free(line);
    return w != (ssize_t)len ? 2 : code;
}

/* --- the parent: workers and progress ------------------------------------------- */

struct run {
    const struct opts *o;
    pid_t *slot_pid; /* jobs entries: the child on each worker slot, 0 if free */
    int running;
    uint64_t started, finished, failed, errors, resumed;
    uint64_t points_total, points_seen;
    struct timespec t0, last_draw;
    bool tty;
};

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void draw(struct run *u, bool force)
{
    if (!u->tty || (!force && since(&u->last_draw) < 0.2))
        return;
    clock_gettime(CLOCK_MONOTONIC, &u->last_draw);
    double t = since(&u->t0);
    fprintf(stderr, "\rexplore: point %llu/%llu, %llu states checked (%llu failing), %.1f/s  ",
            (unsigned long long)u->points_seen, (unsigned long long)u->points_total,
            (unsigned long long)u->finished, (unsigned long long)u->failed,
            t > 0 ? (double)u->finished / t : 0.0);
}

static void reap(struct run *u, bool block)
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
        draw(u, false);
    }
}

static int spawn_state(struct run *u, struct pt_replay *r, uint64_t point, const char *kind,
                       uint64_t at, const struct pm_cut_params *cp)
{
    while (u->running >= u->o->jobs)
        reap(u, true);
    int slot = 0;
    while (u->slot_pid[slot])
        slot++;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == -1) {
        fprintf(stderr, "explore: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0)
        _exit(check_state(r, u->o, slot, point, kind, at, cp));
    u->slot_pid[slot] = pid;
    u->running++;
    u->started++;
    return 0;
}

static const char *point_kind(const struct au_rec *rec, unsigned want, bool before)
{
    if (before && (want & PT_FLUSH) && rec->ev == AU_FLUSH)
        return "flush";
    if (before && (want & PT_FLUSH) && rec->ev == AU_CUT)
        return "cut";
    if (!before && (want & PT_MARK) && rec->ev == AU_MARK)
        return "mark";
    if (!before && (want & PT_WRITE) &&
        (rec->ev == AU_WRITE || rec->ev == AU_ZERO || rec->ev == AU_TRIM))
        return "write";
    return NULL;
}

/* All states of one point: the policies in order, seeds derived from the
 * point so that a resumed run asks for the same ones. */
static int explore_point(struct run *u, struct pt_replay *r, struct done_set *done, uint64_t point,
                         const char *kind, uint64_t at)
{
    const struct opts *o = u->o;
    u->points_seen++;
    if (track_ready(&tr) == -1) {
        fprintf(stderr, "explore: out of memory\n");
        return -1;
    }
    /* Nothing dirty: every policy and seed gives the same state, P. */
    struct pm_stats st;
    pm_model_stats(r->m, &st);
    bool clean = pm_counts_total(&st.dirty) == 0;
    for (int k = 0; k < (clean ? 1 : o->npolicies); k++) {
        enum pm_policy pol = clean ? PM_LOSE_ALL : o->policies[k];
        unsigned n = pol == PM_LOSE_ALL || pol == PM_KEEP_ALL ? 1 : o->per_point;
        for (unsigned i = 0; i < n; i++) {
            struct pm_cut_params cp = {.policy = pol, .p = o->p};
            uint64_t s = at * 131u + (uint64_t)pol * 7919u + i;
            cp.seed = n == 1 ? 0 : pm_rng_next(&s);
            uint64_t key = state_key(at, pol, cp.seed);
            if (done_has(done, key))
                continue;
            done_add(done, key);
            if (spawn_state(u, r, point, kind, at, &cp) == -1)
                return -1;
        }
    }
    reap(u, false);
    draw(u, false);
    return 0;
}

/* Counts the points in the log first, for the progress line. */
static uint64_t count_points(const struct opts *o)
{
    struct au_reader a;
    struct au_rec rec;
    uint64_t n = 0;
    if (au_open(&a, o->audit) == -1)
        return 0;
    while (au_next(&a, &rec) == 1)
        if (rec.seq >= o->from && rec.seq <= o->to &&
            (point_kind(&rec, o->points, true) || point_kind(&rec, o->points, false)))
            n++;
    au_close(&a);
    return n;
}

/* --- summary -------------------------------------------------------------------- */

struct failure {
    char sig[SIG_MAX];
    uint64_t count;
    struct result smallest;
};

/* Adds res to the group of its signature (or starts one), keeping the
 * smallest state: fewest lines lost or torn, then the earliest. */
static int group_add(struct failure **fl, size_t *nf, const char *sig, const struct result *res)
{
    size_t i;
    for (i = 0; i < *nf; i++)
        if (strcmp((*fl)[i].sig, sig) == 0)
            break;
    if (i == *nf) {
        struct failure *g = realloc(*fl, (*nf + 1) * sizeof *g);
        if (!g)
            return -1;
        *fl = g;
        memset(&g[i], 0, sizeof *g);
        snprintf(g[i].sig, sizeof g[i].sig, "%s", sig);
        g[i].smallest = *res;
        (*nf)++;
    }
    struct failure *g = &(*fl)[i];
    g->count++;
    if (res->lost < g->smallest.lost || (res->lost == g->smallest.lost && res->at < g->smallest.at))
        g->smallest = *res;
    return 0;
}

static void print_groups(const struct opts *o, FILE *out, const struct failure *fl, size_t nf)
{
    for (size_t i = 0; i < nf; i++) {
        const struct result *s = &fl[i].smallest;
        fprintf(out, "  [%zu] %llu states: %s\n", i + 1, (unsigned long long)fl[i].count,
                fl[i].sig[0] ? fl[i].sig : "(no message)");
        fprintf(out,
                "      smallest: point seq %llu, %s seed %llu, %llu lines lost or torn\n"
                "      rebuild:  pmemcut-replay replay --audit %s --data %s --to %llu "
                "--policy %s --seed %llu -o state.img\n",
                (unsigned long long)s->point, pm_policy_name(s->policy),
                (unsigned long long)s->seed, (unsigned long long)s->lost, o->audit,
                o->data ? o->data : "DLOG", (unsigned long long)s->at, pm_policy_name(s->policy),
                (unsigned long long)s->seed);
    }
}

static int write_summary(const struct opts *o, FILE *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/states.jsonl", o->out);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    struct failure *fl = NULL, *vfl = NULL;
    size_t nf = 0, nvf = 0;
    uint64_t total = 0, pass = 0, fail = 0, other = 0, vpass = 0, vfail = 0, verr = 0, dups = 0;
    uint64_t by_pol[MAX_POLICIES][2] = {{0}};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct jr_doc d;
    jr_init(&d);
    uint64_t last_point = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        struct result res;
        if (n < 2 || parse_result(&d, line, (size_t)n - 1, &res) == -1)
            continue;
        total++;
        dups += res.dup;
        if (res.point > last_point)
            last_point = res.point;
        bool failed = strcmp(res.fsck, "fail") == 0 || strcmp(res.fsck, "error") == 0;
        if (strcmp(res.fsck, "pass") == 0)
            pass++;
        else if (failed)
            fail++;
        else
            other++;
        bool vfailed = strcmp(res.verify, "FAIL") == 0;
        vpass += strcmp(res.verify, "PASS") == 0;
        vfail += vfailed;
        verr += strcmp(res.verify, "error") == 0;
        by_pol[res.policy][failed || vfailed]++;
        if ((failed && group_add(&fl, &nf, res.sig, &res) == -1) ||
            (vfailed && group_add(&vfl, &nvf, res.vsig, &res) == -1))
            break;
    }
    free(line);
    jr_free(&d);
    fclose(f);
    fprintf(out, "states: %llu checked, %llu pass, %llu fail, %llu other (dirty log)\n",
            (unsigned long long)total, (unsigned long long)pass, (unsigned long long)fail,
            (unsigned long long)other);
    if (dups)
        fprintf(out,
                "  %llu of them the same image as a state checked before (not checked again)\n",
                (unsigned long long)dups);
    for (int k = 0; k < MAX_POLICIES; k++)
        if (by_pol[k][0] + by_pol[k][1])
            fprintf(out, "  %-8s %6llu states, %6llu failing\n", pm_policy_name((enum pm_policy)k),
                    (unsigned long long)(by_pol[k][0] + by_pol[k][1]),
                    (unsigned long long)by_pol[k][1]);
    fprintf(out, "distinct failures: %zu\n", nf);
    print_groups(o, out, fl, nf);
    if (vpass + vfail + verr) {
        fprintf(out, "verify (acknowledged records): %llu PASS, %llu FAIL, %llu not judged\n",
                (unsigned long long)vpass, (unsigned long long)vfail, (unsigned long long)verr);
        fprintf(out, "distinct verify failures: %zu\n", nvf);
        print_groups(o, out, vfl, nvf);
    }
    free(fl);
    free(vfl);
    return 0;
}

/* --- options and the main loop ---------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lopts[] = {
        {"audit", required_argument, 0, 'a'},
        {"data", required_argument, 0, 'd'},
        {"base", required_argument, 0, 'b'},
        {"out", required_argument, 0, 'o'},
        {"fs", required_argument, 0, 'f'},
        {"points", required_argument, 0, 'P'},
        {"states-per-point", required_argument, 0, 'n'},
        {"policies", required_argument, 0, 'y'},
        {"p", required_argument, 0, 'p'},
        {"jobs", required_argument, 0, 'j'},
        {"from", required_argument, 0, 'F'},
        {"to", required_argument, 0, 'T'},
        {"acks", required_argument, 0, 'A'},
        {"verify-dir", required_argument, 0, 'D'},
        {"record-size", required_argument, 0, 'R'},
        {"expect", required_argument, 0, 'E'},
        {"fresh-images", no_argument, 0, 'W'},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->points = PT_FLUSH;
    o->per_point = 4;
    o->p = 0.5;
    o->to = UINT64_MAX;
    o->verify_dir = "/";
    o->record_size = PM_REC_DEFAULT_SIZE;
    o->expect = PM_EXPECT_DURABLE;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = nproc > 0 ? (int)nproc : 1;
    const char *pols = "lose-all,keep-all,random,torn,prefix";
    int c;
    while ((c = getopt_long(argc, argv, "o:j:", lopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'a':
            o->audit = optarg;
            break;
        case 'd':
            o->data = optarg;
            break;
        case 'b':
            o->base = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'f':
            o->fs = optarg;
            break;
        case 'y':
            pols = optarg;
            break;
        case 'P': {
            o->points = 0;
            char *s = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "flush") == 0)
                    o->points |= PT_FLUSH;
                else if (strcmp(t, "mark") == 0)
                    o->points |= PT_MARK;
                else if (strcmp(t, "write") == 0)
                    o->points |= PT_WRITE;
                else {
                    fprintf(stderr, "explore: --points: unknown kind %s (flush, mark, write)\n", t);
                    free(s);
                    return -1;
                }
            }
            free(s);
            break;
        }
        case 'n':
            o->per_point = (unsigned)strtoul(optarg, &end, 10);
            if (*end || o->per_point > 100000) {
                fprintf(stderr, "explore: --states-per-point: bad number %s\n", optarg);
                return -1;
            }
            break;
        case 'p':
            o->p = strtod(optarg, &end);
            if (*end || !(o->p >= 0 && o->p <= 1)) {
                fprintf(stderr, "explore: --p: not a probability: %s\n", optarg);
                return -1;
            }
            break;
        case 'j':
            o->jobs = (int)strtol(optarg, &end, 10);
            if (*end || o->jobs < 1 || o->jobs > 1024) {
                fprintf(stderr, "explore: --jobs: bad number %s\n", optarg);
                return -1;
            }
            break;
        case 'F':
            o->from = strtoull(optarg, &end, 10);
            break;
        case 'T':
            o->to = strtoull(optarg, &end, 10);
            break;
        case 'A':
            o->acks = optarg;
            break;
        case 'W':
            o->fresh = true;
            break;
        case 'D':
            o->verify_dir = optarg;
            break;
        case 'R': {
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || pm_rec_size_ok(v) == -1) {
                fprintf(stderr, "explore: --record-size: not a record size: %s\n", optarg);
                return -1;
            }
            o->record_size = (uint32_t)v;
            break;
        }
        case 'E': {
            int e = pm_expect_parse(optarg);
            if (e == -1) {
                fprintf(stderr, "explore: --expect: durable or none, not %s\n", optarg);
                return -1;
            }
            o->expect = (enum pm_expect)e;
            break;
        }
        default:
            return -1;
        }
    }
    char *s = strdup(pols), *save = NULL;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->npolicies == MAX_POLICIES || pm_policy_parse(t, &o->policies[o->npolicies]) == -1) {
            fprintf(stderr, "explore: --policies: unknown or repeated policy %s\n", t);
            free(s);
            return -1;
        }
        o->npolicies++;
    }
    free(s);
    if (!o->audit || !o->out || !o->fs || optind != argc) {
        fprintf(stderr, "explore: --audit, --fs and --out are required\n");
        return -1;
    }
    if (strcmp(o->fs, "ext4") != 0 && strcmp(o->fs, "xfs") != 0) {
        fprintf(stderr, "explore: --fs: ext4 or xfs, not %s\n", o->fs);
        return -1;
    }
    return 0;
}

int pt_explore_main(int argc, char **argv)
{
    struct opts o;
    if (parse_opts(argc, argv, &o) == -1)
        return 1;
    if (o.acks) {
        char err[1024];
        int r = strcmp(o.acks, "audit") == 0
                    ? pt_ackverify_load_audit(&o.al, o.audit, err, sizeof err)
                    : pt_ackverify_load_file(&o.al, o.acks, o.audit, err, sizeof err);
        if (r == -1) {
            fprintf(stderr, "explore: --acks: %s\n", err);
            pt_ackverify_free(&o.al);
            return 2;
        }
        if (strcmp(o.fs, "ext4") != 0)
            fprintf(stderr,
                    "explore: --acks: records are verified on ext4 only (libext2fs); "
                    "%s states get \"verify\":null\n",
                    o.fs);
        if (o.al.unmatched)
            fprintf(stderr,
                    "explore: --acks: %zu of %zu acks have no mark in the audit log: they "
                    "apply to every point\n",
                    o.al.unmatched, o.al.n);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/work", o.out);
    if ((mkdir(o.out, 0755) == -1 && errno != EEXIST) ||
        (mkdir(path, 0755) == -1 && errno != EEXIST)) {
        fprintf(stderr, "explore: %s: %s\n", path, strerror(errno));
        pt_ackverify_free(&o.al);
        return 1;
    }
    struct done_set done = {0};
    struct run u = {.o = &o, .tty = isatty(2)};
    snprintf(path, sizeof path, "%s/states.jsonl", o.out);
    if (load_done(path, &done, &u.resumed) == -1) {
        fprintf(stderr, "explore: %s: %s\n", path, strerror(errno));
        pt_ackverify_free(&o.al);
        free(done.h);
        return 1;
    }
    if (u.resumed)
        fprintf(stderr, "explore: resuming: %llu states already in %s\n",
                (unsigned long long)u.resumed, path);
    u.points_total = count_points(&o);
    clock_gettime(CLOCK_MONOTONIC, &u.t0);

    struct pt_replay r;
    int rc = 0, n;
    if (pt_replay_open(&r, o.audit, o.data, o.base) == -1) {
        fprintf(stderr, "explore: %s\n", r.err);
        pt_replay_close(&r);
        free(done.h);
        pt_ackverify_free(&o.al);
        return 2;
    }
    /* the worker slots' images and the table of checked states, shared
     * with the children; the images on /dev/shm when it is there */
    tr.r = &r;
    r.p_change = p_changed;
    r.p_change_ctx = &tr;
    u.slot_pid = calloc((size_t)o.jobs, sizeof *u.slot_pid);
    sh.slots = mmap(NULL, (size_t)o.jobs * sizeof *sh.slots, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sh.dups = mmap(NULL, DUP_CAP * sizeof *sh.dups, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    snprintf(sh.dir, sizeof sh.dir, "/dev/shm/pmemcut-explore.XXXXXX");
    if (!mkdtemp(sh.dir))
        snprintf(sh.dir, sizeof sh.dir, "%s/work", o.out);
    if (!u.slot_pid || sh.slots == MAP_FAILED || sh.dups == MAP_FAILED) {
        fprintf(stderr, "explore: out of memory\n");
        n = 0;
        rc = 1;
    }
    while (rc == 0 && (n = pt_replay_next(&r)) == 1) {
        const struct au_rec *rec = &r.rec;
        if (rec->seq > o.to)
            break;
        bool in = rec->seq >= o.from && pt_replay_is_on(&r);
        const char *kind = in ? point_kind(rec, o.points, true) : NULL;
        if (kind && explore_point(&u, &r, &done, rec->seq, kind, r.applied) == -1) {
            rc = 1;
            break;
        }
        if (pt_replay_apply(&r) == -1) {
            n = -1;
            break;
        }
        kind = in && pt_replay_is_on(&r) ? point_kind(rec, o.points, false) : NULL;
        if (kind && explore_point(&u, &r, &done, rec->seq, kind, r.applied) == -1) {
            rc = 1;
            break;
        }
    }
    while (u.running > 0)
        reap(&u, true);
    draw(&u, true);
    if (u.tty)
        fputc('\n', stderr);
    if (n < 0) {
        fprintf(stderr, "explore: %s (states before it were checked)\n", r.err);
        rc = 2;
    }
    double t = since(&u.t0);
    printf("explore: %llu states checked in %.1f s (%.1f states/s, %d jobs), %llu from an "
           "earlier run\n",
           (unsigned long long)u.finished, t, t > 0 ? (double)u.finished / t : 0.0, o.jobs,
           (unsigned long long)u.resumed);
    if (u.errors)
        printf("explore: %llu states could not be checked (see messages above)\n",
               (unsigned long long)u.errors);
    snprintf(path, sizeof path, "%s/summary.txt", o.out);
    FILE *sf = fopen(path, "w");
    if (sf) {
        write_summary(&o, sf);
        fclose(sf);
    }
    write_summary(&o, stdout);
    for (int i = 0; i < o.jobs; i++) {
        snprintf(path, sizeof path, "%.4000s/state-%d.img", sh.dir, i);
        unlink(path);
    }
    rmdir(sh.dir);
    snprintf(path, sizeof path, "%s/work", o.out);
    rmdir(path);
    if (sh.slots != MAP_FAILED)
        munmap(sh.slots, (size_t)o.jobs * sizeof *sh.slots);
    if (sh.dups != MAP_FAILED)
        munmap(sh.dups, DUP_CAP * sizeof *sh.dups);
    free(u.slot_pid);
    free(tr.gen);
    tr.gen = NULL;
    pt_replay_close(&r);
    free(done.h);
    pt_ackverify_free(&o.al);
    if (rc == 0 && u.failed)
        rc = 3;
    return rc;
}
