/* pmemcut — reading the audit log (see auditlog.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "auditlog.h"

/* A record longer than this is damage, not a record (the longest real
 * ones are cuts with many ranges: 64 MiB allows millions of them). */
#define MAX_LINE (64u << 20)

static const char *const ev_names[AU_NEV] = {
    "open", "write",    "zero",  "trim", "flush",  "cut",      "power-on",
    "mark", "classify", "fault", "arm",  "disarm", "rejected", "close",
};

const char *au_ev_name(enum au_ev ev)
{
    return (unsigned)ev < AU_NEV ? ev_names[ev] : "?";
}

int au_open(struct au_reader *r, const char *path)
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

void au_close(struct au_reader *r)
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

__attribute__((format(printf, 2, 3))) static int damaged(struct au_reader *r, const char *fmt, ...)
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
static int read_line(struct au_reader *r, size_t *len)
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

static int get_counts(struct au_reader *r, int obj, const char *key, struct pm_counts *c,
                      bool required)
{
    memset(c, 0, sizeof *c);
    int n = jr_get(&r->doc, obj, key);
    if (n < 0)
        return required
                   ? damaged(r, "seq %llu: missing \"%s\"", (unsigned long long)r->cur_seq, key)
                   : 0;
    static const char *const names[PM_NCLASS] = {"unknown", "meta", "data"};
    for (int k = 0; k < PM_NCLASS; k++)
        if (jr_get_u64(&r->doc, n, names[k], &c->c[k]) == -1)
            return damaged(r, "seq %llu: \"%s\" lacks a count for %s",
                           (unsigned long long)r->cur_seq, key, names[k]);
    return 0;
}

static int get_ranges(struct au_reader *r, int obj, const char *key, struct pm_rangelist *l)
{
    l->n = 0;
    int a = jr_get(&r->doc, obj, key);
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

static int need_u64(struct au_reader *r, const char *key, uint64_t *out)
{
    if (jr_get_u64(&r->doc, 0, key, out) == -1)
        return damaged(r, "seq %llu: missing or bad \"%s\"", (unsigned long long)r->cur_seq, key);
    return 0;
}

static int get_cut_params(struct au_reader *r, struct pm_cut_params *cp)
{
    const char *pol = jr_get_str(&r->doc, 0, "policy");
    memset(cp, 0, sizeof *cp);
    cp->p = 0.5;
    if (!pol || pm_policy_parse(pol, &cp->policy) == -1)
        return damaged(r, "seq %llu: missing or unknown \"policy\"",
                       (unsigned long long)r->cur_seq);
    if (cp->policy == PM_RANDOM && jr_get_double(&r->doc, 0, "p", &cp->p) == -1)
        return damaged(r, "seq %llu: random policy without \"p\"", (unsigned long long)r->cur_seq);
    return need_u64(r, "seed", &cp->seed);
}

static int fill(struct au_reader *r, struct au_rec *rec)
{
    struct jr_doc *d = &r->doc;
    const char *ev = jr_get_str(d, 0, "ev");
    rec->ev = AU_NEV;
    for (int i = 0; ev && i < AU_NEV; i++)
        if (strcmp(ev, ev_names[i]) == 0)
            rec->ev = (enum au_ev)i;
    if (rec->ev == AU_NEV)
        return damaged(r, "seq %llu: missing or unknown \"ev\"", (unsigned long long)rec->seq);
    switch (rec->ev) {
    case AU_WRITE:
    case AU_ZERO:
    case AU_TRIM:
        if (need_u64(r, "off", &rec->off) || need_u64(r, "len", &rec->len))
            return -1;
        if (rec->len > UINT64_MAX - rec->off)
            return damaged(r, "seq %llu: off+len overflows", (unsigned long long)rec->seq);
        if (jr_get_bool(d, 0, "fua", &rec->fua) == -1)
            return damaged(r, "seq %llu: missing \"fua\"", (unsigned long long)rec->seq);
        jr_get_bool(d, 0, "ignored", &rec->ignored);
        if (get_counts(r, 0, "dirtied", &rec->dirtied, true) ||
            get_counts(r, 0, "cleaned", &rec->cleaned, true) ||
            get_counts(r, 0, "persisted", &rec->persisted, true))
            return -1;
        rec->has_dlog = jr_get_u64(d, 0, "dlog", &rec->dlog) == 0;
        break;
    case AU_FLUSH:
        jr_get_bool(d, 0, "ignored", &rec->ignored);
        if (get_counts(r, 0, "persisted", &rec->persisted, true))
            return -1;
        break;
    case AU_CUT:
        rec->trigger = jr_get_str(d, 0, "trigger");
        if (!rec->trigger)
            return damaged(r, "seq %llu: cut without \"trigger\"", (unsigned long long)rec->seq);
        if (get_cut_params(r, &rec->cut) || get_counts(r, 0, "lost", &rec->lost, true) ||
            get_counts(r, 0, "kept", &rec->kept, true) ||
            get_counts(r, 0, "torn", &rec->torn, true) ||
            get_ranges(r, 0, "lost_ranges", &r->ranges[0]) ||
            get_ranges(r, 0, "kept_ranges", &r->ranges[1]) ||
            get_ranges(r, 0, "torn_ranges", &r->ranges[2]))
            return -1;
        rec->lost_r = r->ranges[0];
        rec->kept_r = r->ranges[1];
        rec->torn_r = r->ranges[2];
        break;
    case AU_MARK:
        rec->text = jr_get_str(d, 0, "text");
        if (!rec->text)
            return damaged(r, "seq %llu: mark without \"text\"", (unsigned long long)rec->seq);
        break;
    case AU_CLASSIFY: {
        const char *c = jr_get_str(d, 0, "class");
        if (!c || pm_class_parse(c, &rec->cls) == -1)
            return damaged(r, "seq %llu: missing or unknown \"class\"",
                           (unsigned long long)rec->seq);
        if (need_u64(r, "off", &rec->off) || need_u64(r, "len", &rec->len))
            return -1;
        if (rec->len > UINT64_MAX - rec->off)
            return damaged(r, "seq %llu: off+len overflows", (unsigned long long)rec->seq);
        jr_get_u64(d, 0, "lines", &rec->lines);
        break;
    }
    case AU_FAULT:
        rec->text = jr_get_str(d, 0, "flush");
        if (!rec->text || (strcmp(rec->text, "ignore") && strcmp(rec->text, "honor")))
            return damaged(r, "seq %llu: fault without flush=ignore|honor",
                           (unsigned long long)rec->seq);
        break;
    case AU_ARM:
        rec->trigger = jr_get_str(d, 0, "trigger");
        if (!rec->trigger)
            return damaged(r, "seq %llu: arm without \"trigger\"", (unsigned long long)rec->seq);
        if (get_cut_params(r, &rec->cut))
            return -1;
        break;
    case AU_REJECTED:
        rec->op = jr_get_str(d, 0, "op");
        jr_get_u64(d, 0, "off", &rec->off);
        jr_get_u64(d, 0, "len", &rec->len);
        break;
    case AU_OPEN: {
        uint64_t line;
        rec->file = jr_get_str(d, 0, "file");
        rec->data_log = jr_get_str(d, 0, "data_log");
        if (need_u64(r, "size", &rec->size) || need_u64(r, "line", &line))
            return -1;
        if (line < 8 || line > 4096 || (line & (line - 1)) || rec->size == 0 || rec->size % line)
            return damaged(r, "seq %llu: open with size %llu and line %llu is impossible",
                           (unsigned long long)rec->seq, (unsigned long long)rec->size,
                           (unsigned long long)line);
        rec->line = (uint32_t)line;
        jr_get_bool(d, 0, "created", &rec->created);
        rec->implied_cut = jr_get(d, 0, "implied_cut") >= 0;
        if (get_cut_params(r, &rec->cut))
            return -1;
        break;
    }
    case AU_CLOSE: {
        const char *p = jr_get_str(d, 0, "power");
        rec->power_on = p && strcmp(p, "on") == 0;
        if (get_counts(r, 0, "lost", &rec->lost, false))
            return -1;
        break;
    }
    case AU_POWER_ON:
    case AU_DISARM:
    case AU_NEV:
        break;
    }
    return 0;
}

int au_next(struct au_reader *r, struct au_rec *rec)
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
