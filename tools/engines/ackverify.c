/* pmemcut — verify acknowledged records without a mount (see ackverify.h). */
#include "ackverify.h"

#include <errno.h>
#include <et/com_err.h>
#include <ext2fs/ext2fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/auditlog.h"
#include "utils/error.h"
#include "utils/vec.h"
#include "verify/judge.h"

#define MAX_FILE_BYTES (1ull << 30) /* as the agent: a larger workload file is refused */

static int ack_add(struct pt_ack_list *l, const struct pm_ack *a, uint64_t from)
{
    if (l->acks.len == PM_ACKS_MAX)
        return -1;
    return PM_VEC_PUSH(&l->acks, ((struct pt_ack){.a = *a, .from = from, .until = PT_ACK_FOREVER}));
}

void pt_ackverify_free(struct pt_ack_list *l)
{
    PM_VEC_FREE(&l->acks);
    memset(l, 0, sizeof *l);
}

/* An ack whose file no workload writes cannot be judged: the agent refuses
 * it too. */
static int known_file(const struct pm_ack *a, const char *where)
{
    if (pm_layout_of(a->file, NULL) != PM_LAYOUT_UNKNOWN)
        return 0;
    pm_set_error("%s: ack names '%s', which no workload writes", where, a->file);
    return -1;
}

/* A `cycle N` mark: where cycle N starts. */
struct cycle_mark {
    uint64_t seq;
    uint32_t cycle;
};
typedef PM_VEC(struct cycle_mark) cycle_marks;

static int by_record(const void *x, const void *y)
{
    const struct pm_ack *a = x, *b = y;
    int c = strcmp(a->file, b->file);
    return c ? c : a->seq < b->seq ? -1 : a->seq > b->seq;
}

typedef PM_VEC(struct pm_ack) plain_acks;

/* How many of the acks (all without a cycle) repeat a record acked before:
 * several cycles' marks without the cycle (sorts v). */
static size_t repeated(plain_acks *v)
{
    size_t n = 0;
    if (v->len)
        qsort(v->v, v->len, sizeof *v->v, by_record);
    for (size_t i = 1; i < v->len; i++)
        n += by_record(&v->v[i - 1], &v->v[i]) == 0;
    return n;
}

/* Calls fn for every mark of the log that is an ack line, keeps the
 * `cycle N` marks in *cycles (in log order) and sets *rep to the ack marks
 * without a cycle that repeat a record (see pt_ack_list).  A damaged log
 * ends the list where the damage starts (explore reports it itself when it
 * gets there).  0, or -1 with the message. */
static int each_ack_mark(const char *audit,
                         int (*fn)(void *arg, const struct pm_ack *a, uint64_t seq), void *arg,
                         cycle_marks *cycles, size_t *rep)
{
    plain_acks plain = {0};
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    int rc = 0;
    if (pm_audit_reader_open(&r, audit) == -1) {
        pm_set_error("%s", r.err);
        pm_audit_reader_close(&r);
        return -1;
    }
    while (rc == 0 && pm_audit_reader_next(&r, &rec) == 1) {
        struct pm_ack a;
        char why[200], where[64];
        uint32_t cycle;
        if (rec.ev != PM_AUDIT_MARK)
            continue;
        /* a malformed `cycle` mark would scope every ack wrongly, in silence:
         * refused like a malformed ack */
        int c = pm_cycle_mark_parse(rec.text, &cycle, why, sizeof why);
        if (c == 1 && PM_VEC_PUSH(cycles, ((struct cycle_mark){rec.seq, cycle})) == -1) {
            pm_set_error("%s: out of memory", audit);
            rc = -1;
            break;
        }
        if (c == 1)
            continue;
        if (c == -1 ||
            (strncmp(rec.text, "ack ", 4) == 0 && pm_ack_parse(rec.text, &a, why, sizeof why))) {
            pm_set_error("%s: seq %llu: mark \"%.100s\": %s", audit, (unsigned long long)rec.seq,
                         rec.text, why);
            rc = -1;
            break;
        }
        if (strncmp(rec.text, "ack ", 4) != 0)
            continue;
        snprintf(where, sizeof where, "seq %llu", (unsigned long long)rec.seq);
        if (known_file(&a, where) == -1)
            rc = -1;
        else if (fn(arg, &a, rec.seq) == -1)
            rc = -1, pm_set_error("%s: too many acks", audit);
        else if (a.cycle == 0 && PM_VEC_PUSH(&plain, a) == -1)
            rc = -1, pm_set_error("%s: out of memory", audit);
    }
    pm_audit_reader_close(&r);
    *rep = rc == 0 ? repeated(&plain) : 0;
    PM_VEC_FREE(&plain);
    return rc;
}

static int add_mark(void *arg, const struct pm_ack *a, uint64_t seq)
{
    return ack_add(arg, a, seq);
}

/* The order of acks as marks match them: every field, the cycle included
 * (cycle 2's `ack append.log 1 fsync` is not cycle 1's). */
static int ack_key_cmp(const struct pm_ack *x, const struct pm_ack *y)
{
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->cycle != y->cycle)
        return x->cycle < y->cycle ? -1 : 1;
    return (x->method > y->method) - (x->method < y->method);
}

struct line_ref {
    const struct pm_ack *a;
    size_t i; /* the line's place in the list */
};

static int by_key_then_line(const void *x, const void *y)
{
    const struct line_ref *a = x, *b = y;
    int c = ack_key_cmp(a->a, b->a);
    return c ? c : a->i < b->i ? -1 : a->i > b->i;
}

/* The file's lines by ack, then by line: the lines of one ack are one run,
 * and a scan of every line for every mark is not needed (acks-2.txt against
 * the 80,000 marks of a cycle 1 it matches none of). */
struct matcher {
    struct pt_ack_list *l;
    struct line_ref *ref;
    size_t *taken; /* at each run's first place: how many of its lines have a mark */
};

/* A mark takes the first unmatched line of the file with the same ack. */
static int match_mark(void *arg, const struct pm_ack *a, uint64_t seq)
{
    struct matcher *m = arg;
    size_t lo = 0, hi = m->l->acks.len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ack_key_cmp(m->ref[mid].a, a) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = lo + (lo < m->l->acks.len ? m->taken[lo] : 0);
    if (k < m->l->acks.len && ack_key_cmp(m->ref[k].a, a) == 0) {
        m->l->acks.v[m->ref[k].i].from = seq;
        m->taken[lo]++;
    }
    return 0;
}

static int by_from(const void *x, const void *y)
{
    const struct pt_ack *a = x, *b = y;
    if (a->from != b->from)
        return a->from < b->from ? -1 : 1;
    return a->until < b->until ? -1 : a->until > b->until;
}

/* Each marked ack of cycle N ends at the first `cycle M` mark (M != N)
 * after its own mark; then the list in from order, and whether each
 * point's set is one range of it. */
static void scope(struct pt_ack_list *l, const cycle_marks *cm)
{
    l->cycles = cm->len;
    for (size_t i = 0; i < l->acks.len; i++) {
        struct pt_ack *k = &l->acks.v[i];
        if (k->from == 0 || k->a.cycle == 0)
            continue;
        size_t lo = 0, hi = cm->len; /* the first cycle mark after from */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cm->v[mid].seq <= k->from)
                lo = mid + 1;
            else
                hi = mid;
        }
        while (lo < cm->len && cm->v[lo].cycle == k->a.cycle)
            lo++;
        k->until = lo < cm->len ? cm->v[lo].seq : PT_ACK_FOREVER;
    }
    /* qsort is not stable, but acks with the same from and until are the
     * same mark's or unmatched ones: their order does not matter.  An empty
     * list has no array, and qsort's base must not be NULL. */
    if (l->acks.len)
        qsort(l->acks.v, l->acks.len, sizeof *l->acks.v, by_from);
    l->nested = true;
    for (size_t i = 1; i < l->acks.len; i++)
        if (l->acks.v[i].until < l->acks.v[i - 1].until)
            l->nested = false;
}

int pt_ackverify_load_audit(struct pt_ack_list *l, const char *audit)
{
    cycle_marks cm = {0};
    int rc = each_ack_mark(audit, add_mark, l, &cm, &l->repeated);
    if (rc == 0)
        scope(l, &cm);
    PM_VEC_FREE(&cm);
    return rc;
}

int pt_ackverify_load_file(struct pt_ack_list *l, const char *path, const char *audit)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        pm_set_error("%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0;
    int rc = 0;
    while (getline(&line, &cap, f) > 0) {
        struct pm_ack a;
        char why[200], where[600];
        lineno++;
        int r = pm_ack_parse(line, &a, why, sizeof why);
        if (r == 1)
            break;
        if (r == 2)
            continue;
        snprintf(where, sizeof where, "%.500s: line %llu", path, (unsigned long long)lineno);
        if (r == -1) {
            pm_set_error("%s: %s", where, why);
            rc = -1;
            break;
        }
        if (known_file(&a, where) == -1) {
            rc = -1;
            break;
        }
        if (ack_add(l, &a, 0) == -1) {
            pm_set_error("%s: out of memory", where);
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    cycle_marks cm = {0};
    struct matcher m = {.l = l};
    size_t n = l->acks.len ? l->acks.len : 1;
    if (rc == 0 &&
        (!(m.ref = malloc(n * sizeof *m.ref)) || !(m.taken = calloc(n, sizeof *m.taken))))
        rc = -1, pm_set_error("%s: out of memory", path);
    if (rc == 0) {
        for (size_t i = 0; i < l->acks.len; i++)
            m.ref[i] = (struct line_ref){.a = &l->acks.v[i].a, .i = i};
        if (l->acks.len)
            qsort(m.ref, l->acks.len, sizeof *m.ref, by_key_then_line);
        rc = each_ack_mark(audit, match_mark, &m, &cm, &l->repeated);
    }
    free(m.ref);
    free(m.taken);
    if (rc == 0) {
        for (size_t i = 0; i < l->acks.len; i++) {
            const struct pt_ack *k = &l->acks.v[i];
            if (k->from)
                continue;
            l->unmatched++;
            size_t c = 0;
            while (k->a.cycle && c < cm.len && cm.v[c].cycle != k->a.cycle)
                c++;
            l->unmarked_cycle += k->a.cycle && c == cm.len;
        }
        scope(l, &cm);
    }
    PM_VEC_FREE(&cm);
    return rc;
}

int pt_ackverify_at(const struct pt_ack_list *l, uint64_t at, pt_ack_set *s)
{
    PM_VEC_RESET(s);
    size_t lo = 0, hi = l->acks.len; /* hi: the first ack made after at */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->acks.v[mid].from <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    hi = lo;
    lo = 0;
    if (l->nested) { /* the first of them that still applies: the rest do too */
        size_t h = hi;
        while (lo < h) {
            size_t mid = lo + (h - lo) / 2;
            if (l->acks.v[mid].until <= at)
                lo = mid + 1;
            else
                h = mid;
        }
    }
    if (PM_VEC_RESERVE(s, hi - lo) == -1) {
        pm_set_error("out of memory");
        return -1;
    }
    for (size_t i = lo; i < hi; i++)
        if (l->acks.v[i].until > at)
            s->v[s->len++] = i;
    return 0;
}

/* --- judging: the agent's own, guest/verifyset.c ---------------------------- */

int pt_ackverify_judge(struct pm_verdict *v, const struct pt_ack_list *al, const pt_ack_set *s,
                       uint32_t size, pt_ack_read_fn *rd, pt_ack_each_fn *each, void *ctx)
{
    struct pm_ack_list l = {0};
    int rc = 0;
    for (size_t i = 0; i < s->len && rc == 0; i++)
        rc = pm_acks_add(&l, &al->acks.v[s->v[i]].a);
    if (rc == -1) {
        pm_set_error("out of memory");
        pm_acks_free(&l);
        return -1;
    }
    pm_acks_sort(&l);
    char err[1024] = "";
    rc = pm_verify_set(v, &l, size, 0, rd, each, ctx, err, sizeof err);
    if (rc == -1)
        pm_set_error("%s", err);
    pm_acks_free(&l);
    return rc;
}

/* --- the files, read out of an ext4 image with libext2fs ---------------------- */

struct ext4_dir {
    ext2_filsys fs;
    ext2_ino_t dir;
};

static int ext4_read(void *ctx, const char *name, uint8_t **buf, size_t *len, int *exists,
                     char *err, size_t errlen)
{
    struct ext4_dir *d = ctx;
    ext2_ino_t ino;
    struct ext2_inode inode;
    *buf = NULL;
    *len = 0;
    *exists = 0;
    errcode_t e = ext2fs_namei(d->fs, EXT2_ROOT_INO, d->dir, name, &ino);
    if (e == EXT2_ET_FILE_NOT_FOUND)
        return 0;
    if (!e)
        e = ext2fs_read_inode(d->fs, ino, &inode);
    if (e) {
        /* a damaged directory or inode: the file cannot be opened */
        return 0;
    }
    if (!LINUX_S_ISREG(inode.i_mode))
        return 0;
    uint64_t size = EXT2_I_SIZE(&inode);
    if (size > MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: %llu bytes, more than a workload writes", name,
                 (unsigned long long)size);
        return -1;
    }
    ext2_file_t f;
    if ((e = ext2fs_file_open(d->fs, ino, 0, &f))) {
        snprintf(err, errlen, "ext2fs_file_open %s: %s", name, error_message(e));
        return -1;
    }
    uint8_t *b = malloc(size ? size : 1);
    size_t got = 0;
    while (b && got < size) {
        unsigned int n = 0;
        unsigned int want = size - got > (1u << 24) ? (1u << 24) : (unsigned int)(size - got);
        if (ext2fs_file_read(f, b + got, want, &n) || n == 0)
            break; /* unreadable blocks: judge what was read */
        got += n;
    }
    ext2fs_file_close(f);
    if (!b) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    *buf = b;
    *len = got;
    *exists = 1;
    return 0;
}

struct dir_walk {
    void (*fn)(void *arg, const char *name);
    void *arg;
};

static int dir_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
                     int blocksize, char *buf, void *priv)
{
    (void)dir, (void)entry, (void)offset, (void)blocksize, (void)buf;
    struct dir_walk *w = priv;
    char name[EXT2_NAME_LEN + 1];
    int n = ext2fs_dirent_name_len(de);
    memcpy(name, de->name, (size_t)n);
    name[n] = '\0';
    w->fn(w->arg, name);
    return 0;
}

static void ext4_each(void *ctx, void (*fn)(void *arg, const char *name), void *arg)
{
    struct ext4_dir *d = ctx;
    struct dir_walk w = {.fn = fn, .arg = arg};
    ext2fs_dir_iterate2(d->fs, d->dir, 0, NULL, dir_entry, &w);
}

int pt_ackverify_ext4(struct pm_verdict *v, const char *img, const char *dir,
                      const struct pt_ack_list *l, const pt_ack_set *s, uint32_t size)
{
    struct ext4_dir d = {0};
    errcode_t e = ext2fs_open(img, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &d.fs);
    if (!e)
        e = ext2fs_namei(d.fs, EXT2_ROOT_INO, EXT2_ROOT_INO, dir, &d.dir);
    if (e) {
        for (size_t i = 0; i < s->len; i++)
            pm_verdict_missing(v, &l->acks.v[s->v[i]].a, "filesystem did not mount");
        if (d.fs)
            ext2fs_close_free(&d.fs);
        return 0;
    }
    int rc = pt_ackverify_judge(v, l, s, size, ext4_read, ext4_each, &d);
    ext2fs_close_free(&d.fs);
    return rc;
}

void pt_ackverify_signature(const struct pm_verdict *v, char *sig, size_t len)
{
    char raw[400];
    sig[0] = '\0';
    if (pm_verdict_pass(v))
        return;
    if (v->missing.n)
        snprintf(raw, sizeof raw, "verify: missing %s: %s", v->missing.v[0].file,
                 v->missing.v[0].what);
    else if (v->corrupt.n)
        snprintf(raw, sizeof raw, "verify: corrupt %s: %s", v->corrupt.v[0].file,
                 v->corrupt.v[0].what);
    else
        snprintf(raw, sizeof raw, "verify: FAIL");
    pt_sig_erase_numbers(raw, sig, len);
}

void pt_sig_erase_numbers(const char *text, char *sig, size_t len)
{
    size_t o = 0;
    for (const char *c = text; *c && o + 2 < len; c++) {
        if (*c >= '0' && *c <= '9') {
            if (o == 0 || sig[o - 1] != '#')
                sig[o++] = '#';
        } else {
            sig[o++] = *c == '"' || *c == '\\' || (unsigned char)*c < 0x20 ? '\'' : *c;
        }
    }
    sig[o] = '\0';
}
