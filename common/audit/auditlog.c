/* pmemcut — reading the audit log (see auditlog.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"
#include "cpu.h"

/* A record longer than this is damage, not a record (the longest real
 * ones are cuts with many ranges: 64 MiB allows millions of them). */
#define MAX_LINE (64u << 20)

int pm_audit_reader_open(struct pm_audit_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    jr_init(&r->doc);
    r->path = path;
    r->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!r->f) {
        snprintf(r->err, sizeof r->err, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void pm_audit_reader_close(struct pm_audit_reader *r)
{
    if (r->f && r->f != stdin)
        fclose(r->f);
    r->f = NULL;
    free(r->buf);
    r->buf = NULL;
    jr_free(&r->doc);
    for (int i = 0; i < 3; i++)
        free(r->ranges[i].r);
    memset(r->ranges, 0, sizeof r->ranges);
}

__attribute__((format(printf, 2, 3))) static int damaged(struct pm_audit_reader *r, const char *fmt,
                                                         ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (r->last_seq)
        snprintf(r->err, sizeof r->err, "%s: line %llu (byte offset %llu, after seq %llu): %s",
                 r->path, (unsigned long long)r->lineno, (unsigned long long)r->offset,
                 (unsigned long long)r->last_seq, why);
    else
        snprintf(r->err, sizeof r->err,
                 "%s: line %llu (byte offset %llu, no good record before): %s", r->path,
                 (unsigned long long)r->lineno, (unsigned long long)r->offset, why);
    return -1;
}

/* Reads one line into r->buf without its newline.  1, 0 at EOF, -1. */
static int read_line(struct pm_audit_reader *r, size_t *len)
{
    size_t n = 0;
    r->offset = r->next_off;
    r->lineno++;
    for (;;) {
        if (n + 2 > r->cap) {
            if (r->cap >= MAX_LINE)
                return damaged(r, "record longer than %u bytes", MAX_LINE);
            size_t cap = r->cap ? r->cap * 2 : 4096;
            char *b = realloc(r->buf, cap);
            if (!b)
                return damaged(r, "out of memory");
            r->buf = b;
            r->cap = cap;
        }
        if (!fgets(r->buf + n, (int)(r->cap - n), r->f)) {
            if (ferror(r->f))
                return damaged(r, "read error: %s", strerror(errno));
            if (n == 0)
                return 0;
            r->next_off += n;
            return damaged(r, "truncated record (%zu bytes, no newline at the end of the log)", n);
        }
        size_t got = strlen(r->buf + n);
        /* fgets stops at NUL bytes too: a NUL inside a line is damage */
        if (got == 0)
            return damaged(r, "NUL byte in the log");
        n += got;
        if (r->buf[n - 1] == '\n') {
            r->next_off += n;
            r->buf[--n] = '\0';
            *len = n;
            if (memchr(r->buf, '\0', n))
                return damaged(r, "NUL byte in the log");
            return 1;
        }
        if (feof(r->f)) {
            r->next_off += n;
            return damaged(r, "truncated record (%zu bytes, no newline at the end of the log)", n);
        }
    }
}

static int get_counts(struct pm_audit_reader *r, int obj, const char *key, struct pm_counts *c,
                      bool required)
{
    memset(c, 0, sizeof *c);
    int n = jr_get(&r->doc, obj, key);
    if (n < 0)
        return required
                   ? damaged(r, "seq %llu: missing \"%s\"", (unsigned long long)r->cur_seq, key)
                   : 0;
    for (int k = 0; k < PM_NCLASS; k++)
        if (jr_get_u64(&r->doc, n, pm_class_name((enum pm_class)k), &c->c[k]) == -1)
            return damaged(r, "seq %llu: \"%s\" lacks a count for %s",
                           (unsigned long long)r->cur_seq, key, pm_class_name((enum pm_class)k));
    return 0;
}

/* Reads array key of the record into l: an array of [off,len] pairs.  An
 * absent key is damage only when needed. */
static int get_ranges(struct pm_audit_reader *r, const char *key, struct pm_rangelist *l,
                      bool required)
{
    l->n = 0;
    int a = jr_get(&r->doc, 0, key);
    if (a < 0 && !required)
        return 0;
    if (a < 0 || r->doc.n[a].type != JR_ARR)
        return damaged(r, "seq %llu: missing \"%s\"", (unsigned long long)r->cur_seq, key);
    size_t count = r->doc.n[a].count;
    if (count > l->cap) {
        struct pm_range *nr = realloc(l->r, count * sizeof *nr);
        if (!nr)
            return damaged(r, "out of memory");
        l->r = nr;
        l->cap = count;
    }
    for (int e = r->doc.n[a].child; e >= 0; e = r->doc.n[e].next) {
        int o = jr_at(&r->doc, e, 0), n = jr_at(&r->doc, e, 1);
        if (o < 0 || n < 0 || !r->doc.n[o].is_u64 || !r->doc.n[n].is_u64 || r->doc.n[e].count != 2)
            return damaged(r, "seq %llu: \"%s\" holds something other than [off,len]",
                           (unsigned long long)r->cur_seq, key);
        l->r[l->n++] = (struct pm_range){r->doc.n[o].u, r->doc.n[n].u};
    }
    return 0;
}

/* Reads key k of the schema into its field of rec.  A key the record needs
 * must be there with its type; any other key is taken when it is there and
 * has its type, and reads as zero otherwise.  *nranges counts the range
 * lists read so far, which live in r->ranges. */
static int get_key(struct pm_audit_reader *r, const struct pm_audit_kind_def *kd,
                   const struct pm_audit_key *k, struct pm_audit_rec *rec, int *nranges)
{
    const struct jr_doc *d = &r->doc;
    char *v = (char *)rec + k->field;
    bool needed = k->flags & PM_AK_NEEDED;
    unsigned long long seq = (unsigned long long)r->cur_seq;
    if (k->flags & PM_AK_APPENDED) { /* dlog, the only one */
        rec->has_dlog = jr_get_u64(d, 0, k->name, (uint64_t *)v) == 0;
        return 0;
    }
    switch (k->type) {
    case PM_AT_U64:
    case PM_AT_U32: {
        uint64_t u = 0;
        if (jr_get_u64(d, 0, k->name, &u) == -1 && needed)
            return damaged(r, "seq %llu: missing or bad \"%s\"", seq, k->name);
        if (k->type == PM_AT_U64)
            *(uint64_t *)v = u;
        else /* bounded by the kind's own check (open: line) */
            *(uint32_t *)v = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
        return 0;
    }
    case PM_AT_BOOL:
        if (jr_get_bool(d, 0, k->name, (bool *)v) == -1 && needed)
            return damaged(r, "seq %llu: missing \"%s\"", seq, k->name);
        return 0;
    case PM_AT_STR:
        *(const char **)v = jr_get_str(d, 0, k->name);
        if (!*(const char **)v && needed)
            return damaged(r, "seq %llu: %s without \"%s\"", seq, kd->name, k->name);
        return 0;
    case PM_AT_FLUSH_MODE: {
        const char *s = jr_get_str(d, 0, k->name);
        bool ok = s && (strcmp(s, "ignore") == 0 || strcmp(s, "honor") == 0);
        if (!ok && needed)
            return damaged(r, "seq %llu: %s without %s=ignore|honor", seq, kd->name, k->name);
        *(const char **)v = ok ? s : NULL;
        return 0;
    }
    case PM_AT_COUNTS:
        return get_counts(r, 0, k->name, (struct pm_counts *)v, needed);
    case PM_AT_RANGES: {
        struct pm_rangelist *l = &r->ranges[(*nranges)++];
        if (get_ranges(r, k->name, l, needed))
            return -1;
        *(struct pm_rangelist *)v = *l;
        return 0;
    }
    case PM_AT_POLICY: {
        const char *s = jr_get_str(d, 0, k->name);
        if ((!s || pm_policy_parse(s, (enum pm_policy *)v) == -1) && needed)
            return damaged(r, "seq %llu: missing or unknown \"%s\"", seq, k->name);
        return 0;
    }
    case PM_AT_PROB:
        /* p is the random policy's; the others read as the default 0.5 */
        *(double *)v = 0.5;
        if (rec->cut.policy == PM_RANDOM && jr_get_double(d, 0, k->name, (double *)v) == -1)
            return damaged(r, "seq %llu: random policy without \"%s\"", seq, k->name);
        return 0;
    case PM_AT_CLASS: {
        const char *s = jr_get_str(d, 0, k->name);
        if ((!s || pm_class_parse(s, (enum pm_class *)v) == -1) && needed)
            return damaged(r, "seq %llu: missing or unknown \"%s\"", seq, k->name);
        return 0;
    }
    case PM_AT_ON_OFF: {
        const char *s = jr_get_str(d, 0, k->name);
        *(bool *)v = s && strcmp(s, "on") == 0;
        return 0;
    }
    case PM_AT_MARKER:
        *(bool *)v = jr_get(d, 0, k->name) >= 0;
        return 0;
    }
    return 0;
}

/* Whether [off, off+len) lies in the device the last open record
 * describes (before any open: whether it does not wrap). */
static bool fits(const struct pm_audit_reader *r, uint64_t off, uint64_t len)
{
    if (len > UINT64_MAX - off)
        return false;
    return r->dev_size == 0 || off + len <= r->dev_size;
}

static int check_ranges(struct pm_audit_reader *r, const char *key, const struct pm_rangelist *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!fits(r, l->r[i].off, l->r[i].len))
            return damaged(r, "seq %llu: %s [%llu,%llu] is past the end of the device (size %llu)",
                           (unsigned long long)r->cur_seq, key, (unsigned long long)l->r[i].off,
                           (unsigned long long)l->r[i].len, (unsigned long long)r->dev_size);
    return 0;
}

/* What no single key says: spans that wrap or lie past the device, and an
 * open record's geometry.  A record that does not fit the device it
 * describes is damage: every reader downstream (replay, the timeline's
 * scales) may take a record's span as a place on the device. */
static int check_kind(struct pm_audit_reader *r, const struct pm_audit_kind_def *kd,
                      const struct pm_audit_rec *rec)
{
    if ((kd->flags & PM_AUDIT_SPAN) && rec->len > UINT64_MAX - rec->off)
        return damaged(r, "seq %llu: off+len overflows", (unsigned long long)rec->seq);
    if ((kd->flags & PM_AUDIT_SPAN) && !fits(r, rec->off, rec->len))
        return damaged(
            r, "seq %llu: %s at off %llu len %llu is past the end of the device (size %llu)",
            (unsigned long long)rec->seq, kd->name, (unsigned long long)rec->off,
            (unsigned long long)rec->len, (unsigned long long)r->dev_size);
    if (rec->ev == PM_AUDIT_CUT && (check_ranges(r, "lost_ranges", &rec->lost_r) ||
                                    check_ranges(r, "kept_ranges", &rec->kept_r) ||
                                    check_ranges(r, "torn_ranges", &rec->torn_r)))
        return -1;
    /* a CPU's write (audit/cpu.h): of a known kind, in a batch, and FUA (the
     * tracer persists; the device refuses anything else on its exports) */
    if (rec->ev == PM_AUDIT_WRITE && (rec->src || rec->insn || rec->fence)) {
        if (!rec->src || strcmp(rec->src, "cpu") != 0 || pm_cpu_insn_parse(rec->insn) < 0 ||
            !rec->fence || !rec->fua)
            return damaged(r,
                           "seq %llu: a write with \"src\" must be \"src\":\"cpu\", FUA, with "
                           "\"insn\" one of clflush, clwb+fence, nt+fence, wbinvd and a \"fence\"",
                           (unsigned long long)rec->seq);
    }
    if (rec->ev == PM_AUDIT_OPEN) {
        uint64_t line = 0;
        jr_get_u64(&r->doc, 0, "line", &line);
        if (line < 8 || line > 4096 || (line & (line - 1)) || rec->size == 0 || rec->size % line)
            return damaged(r, "seq %llu: open with size %llu and line %llu is impossible",
                           (unsigned long long)rec->seq, (unsigned long long)rec->size,
                           (unsigned long long)line);
        r->dev_size = rec->size;
    }
    return 0;
}

static int fill(struct pm_audit_reader *r, struct pm_audit_rec *rec)
{
    const char *ev = jr_get_str(&r->doc, 0, "ev");
    if (!ev || pm_audit_kind_parse(ev, &rec->ev) == -1)
        return damaged(r, "seq %llu: missing or unknown \"ev\"", (unsigned long long)rec->seq);
    const struct pm_audit_kind_def *kd = pm_audit_kind_def(rec->ev);
    int nranges = 0;
    for (size_t i = 0; i < kd->nkeys; i++)
        if (get_key(r, kd, &kd->keys[i], rec, &nranges) == -1)
            return -1;
    return check_kind(r, kd, rec);
}

int pm_audit_reader_next(struct pm_audit_reader *r, struct pm_audit_rec *rec)
{
    if (!r->f)
        return -1;
    size_t len = 0;
    int lr = read_line(r, &len);
    if (lr <= 0) {
        if (lr < 0)
            r->f = r->f == stdin ? NULL : (fclose(r->f), NULL);
        return lr;
    }
    memset(rec, 0, sizeof *rec);
    if (jr_parse(&r->doc, r->buf, len) == -1) {
        damaged(r, "not JSON: %s at column %zu", r->doc.err, r->doc.errpos + 1);
        goto bad;
    }
    if (r->doc.n[0].type != JR_OBJ) {
        damaged(r, "not a JSON object");
        goto bad;
    }
    if (jr_get_u64(&r->doc, 0, "seq", &rec->seq) == -1 ||
        jr_get_u64(&r->doc, 0, "ns", &rec->ns) == -1) {
        damaged(r, "record without \"seq\" and \"ns\"");
        goto bad;
    }
    r->cur_seq = rec->seq;
    if (r->last_seq && rec->seq != r->last_seq + 1) {
        damaged(r, "seq %llu where %llu was expected (records lost or reordered)",
                (unsigned long long)rec->seq, (unsigned long long)r->last_seq + 1);
        goto bad;
    }
    if (fill(r, rec) == -1)
        goto bad;
    r->last_seq = rec->seq;
    return 1;
bad:
    if (r->f != stdin)
        fclose(r->f);
    r->f = NULL;
    return -1;
}
