/* pmemcut — `pmemcut-audit timeline` (see svg.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/auditlog.h"
#include "recfit.h"
#include "timeline.h"

#include "utils/error.h"
#include "utils/vec.h"

#define NX        400 /* time bins */
#define NY        160 /* offset bins */
#define MAX_MARKS 300 /* drawn one by one; more are binned */
#define MAX_CUTS  500

/* Layout (pixels). */
#define W       1200
#define LEFT    90
#define PLOT_W  1080
#define TOP     50
#define DEV_H   400
#define MARK_Y  (TOP + DEV_H + 16)
#define MARK_H  22
#define FLUSH_Y (MARK_Y + MARK_H + 10)
#define FLUSH_H 22
#define DIRTY_Y (FLUSH_Y + FLUSH_H + 14)
#define DIRTY_H 120
#define H       (DIRTY_Y + DIRTY_H + 60)

static const char *const class_color[PM_NCLASS] = {"#7f7f7f", "#1f5fbf", "#2ca02c"};

struct mark {
    uint64_t seq;
    int x;
    char *text;
};

struct cut {
    uint64_t seq;
    int x;
    char *what;
    uint8_t y[NY]; /* 0 nothing, 1 torn, 2 lost */
};

struct tl {
    uint64_t t0, t1, from, to, size, events, nmarks;
    uint64_t first_seq, last_seq; /* of the records drawn */
    uint64_t valid_seq;           /* of the last record that fits the device */
    uint32_t (*cells)[NY][PM_NCLASS];
    uint32_t flushes[NX], markbins[NX];
    uint32_t fences[NX];                   /* batches the CPU made persistent (ADR, "src":"cpu") */
    uint64_t last_fence;                   /* the batch of the last cpu write drawn */
    uint64_t dirty_max[NX], dirty_end[NX]; /* the highest in the bin, and the last */
    bool dirty_seen[NX];
    uint64_t log_first, log_last; /* seqs of the whole log (up to damage) */
    PM_VEC(struct mark) marks;
    PM_VEC(struct cut) cuts;
};

static int xbin(const struct tl *t, uint64_t ns)
{
    if (t->t1 <= t->t0)
        return 0;
    double f = (double)(ns - t->t0) / (double)(t->t1 - t->t0);
    int x = (int)(f * NX);
    return x < 0 ? 0 : x >= NX ? NX - 1 : x;
}

static int ybin(const struct tl *t, uint64_t off)
{
    if (!t->size || off >= t->size)
        return off ? NY - 1 : 0;
    /* off < size: the quotient is below NY, whatever double rounds */
    double y = (double)off / (double)t->size * NY;
    return y < 0 ? 0 : y >= NY ? NY - 1 : (int)y;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            /* control bytes are not allowed in XML 1.0 */
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
        }
    }
}

/* Pass 1: the time span of the chosen records, the device size.  0, or -1
 * with the message (a damaged log: what came before it is counted). */
static int scan(struct tl *t, const char *log)
{
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    if (pm_audit_reader_open(&r, log) == -1) {
        pm_set_error("%s", r.err);
        pm_audit_reader_close(&r);
        return -1;
    }
    uint64_t prev = 0;
    bool any = false;
    int n;
    bool bad = false;
    while ((n = pm_audit_reader_next(&r, &rec)) == 1) {
        uint64_t ns = rec.ns > prev ? rec.ns : prev;
        prev = ns;
        if (rec.ev == PM_AUDIT_OPEN)
            t->size = rec.size;
        if (pt_rec_check_fits(log, &rec, t->size) == -1) {
            bad = true;
            n = -1;
            break;
        }
        t->valid_seq = rec.seq;
        if (!t->log_first)
            t->log_first = rec.seq;
        t->log_last = rec.seq;
        if (rec.seq < t->from || rec.seq > t->to)
            continue;
        if (!any) {
            t->t0 = ns;
            t->first_seq = rec.seq;
        }
        t->last_seq = rec.seq;
        any = true;
        t->t1 = ns;
        t->events++;
        t->nmarks += rec.ev == PM_AUDIT_MARK;
    }
    if (n < 0 && !bad)
        pm_set_error("%s", r.err);
    pm_audit_reader_close(&r);
    return n < 0 ? -1 : 0;
}

static void add_range(struct tl *t, uint8_t *ys, const struct pm_rangelist *l, uint8_t v)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!l->r[i].len)
            continue;
        int a = ybin(t, l->r[i].off), b = ybin(t, l->r[i].off + l->r[i].len - 1);
        for (int y = a; y <= b; y++)
            if (ys[y] < v)
                ys[y] = v;
    }
}

/* Pass 2: bins. */
static int collect(struct tl *t, const char *log)
{
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    if (pm_audit_reader_open(&r, log) == -1) {
        pm_set_error("%s", r.err);
        pm_audit_reader_close(&r);
        return -1;
    }
    uint64_t prev = 0;
    int64_t dirty = 0;
    int n;
    while ((n = pm_audit_reader_next(&r, &rec)) == 1) {
        /* the records past the first that does not fit (scan) are not drawn */
        if (rec.seq > t->valid_seq)
            break;
        uint64_t ns = rec.ns > prev ? rec.ns : prev;
        prev = ns;
        /* the dirty count runs over the whole log, drawn in range only */
        switch (rec.ev) {
        case PM_AUDIT_WRITE:
        case PM_AUDIT_ZERO:
        case PM_AUDIT_TRIM:
            dirty += (int64_t)pm_counts_total(&rec.dirtied) -
                     (int64_t)pm_counts_total(&rec.cleaned) -
                     (int64_t)pm_counts_total(&rec.persisted);
            break;
        case PM_AUDIT_FLUSH:
            if (!rec.ignored)
                dirty = 0;
            break;
        case PM_AUDIT_CUT:
        case PM_AUDIT_OPEN:
            dirty = 0;
            break;
        default:
            break;
        }
        if (dirty < 0)
            dirty = 0;
        if (rec.seq < t->from || rec.seq > t->to)
            continue;
        int x = xbin(t, ns);
        if (!t->dirty_seen[x] || (uint64_t)dirty > t->dirty_max[x])
            t->dirty_max[x] = (uint64_t)dirty;
        t->dirty_end[x] = (uint64_t)dirty;
        t->dirty_seen[x] = true;
        switch (rec.ev) {
        case PM_AUDIT_WRITE:
        case PM_AUDIT_ZERO:
        case PM_AUDIT_TRIM: {
            if (!rec.len || !t->size)
                break;
            /* the class of the lines it changed; unlabelled if none */
            struct pm_counts c = rec.dirtied;
            for (int k = 0; k < PM_NCLASS; k++)
                c.c[k] += rec.persisted.c[k] + rec.cleaned.c[k];
            int cls = PM_UNKNOWN;
            if (c.c[PM_META] && c.c[PM_META] >= c.c[PM_DATA])
                cls = PM_META;
            else if (c.c[PM_DATA])
                cls = PM_DATA;
            int a = ybin(t, rec.off), b = ybin(t, rec.off + rec.len - 1);
            for (int y = a; y <= b; y++)
                t->cells[x][y][cls]++;
            /* what the CPU persisted: one fence's batch is one persist */
            if (rec.src && rec.fence != t->last_fence)
                t->fences[x]++;
            if (rec.src)
                t->last_fence = rec.fence;
            break;
        }
        case PM_AUDIT_FLUSH:
            t->flushes[x]++;
            break;
        case PM_AUDIT_MARK:
            t->markbins[x]++;
            if (t->nmarks <= MAX_MARKS) {
                struct mark m = {rec.seq, x, strdup(rec.text)};
                if (PM_VEC_PUSH(&t->marks, m) == -1)
                    free(m.text);
            }
            break;
        case PM_AUDIT_CUT: {
            if (t->cuts.len == MAX_CUTS || PM_VEC_PUSH(&t->cuts, (struct cut){0}) == -1)
                break;
            struct cut *c = &t->cuts.v[t->cuts.len - 1];
            c->seq = rec.seq;
            c->x = x;
            char what[400];
            snprintf(what, sizeof what,
                     "cut at seq %llu: %s, %s seed %llu: lost %llu, torn %llu, kept %llu lines",
                     (unsigned long long)rec.seq, rec.trigger, pm_policy_name(rec.cut.policy),
                     (unsigned long long)rec.cut.seed,
                     (unsigned long long)pm_counts_total(&rec.lost),
                     (unsigned long long)pm_counts_total(&rec.torn),
                     (unsigned long long)pm_counts_total(&rec.kept));
            c->what = strdup(what);
            add_range(t, c->y, &rec.torn_r, 1);
            add_range(t, c->y, &rec.lost_r, 2);
            break;
        }
        default:
            break;
        }
    }
    if (n < 0)
        pm_set_error("%s", r.err);
    pm_audit_reader_close(&r);
    return n < 0 ? -1 : 0;
}

static double px_x(int x)
{
    return LEFT + (double)x * PLOT_W / NX;
}

/* One bar per bin of the flushes lane, its height by the bin's count of
 * the lane's largest (class, title "N NOUN[PLURAL]NOTE", colour). */
static void flush_bars(FILE *f, const uint32_t *count, const char *cls, const char *noun,
                       const char *plural, const char *note, const char *colour, double cw)
{
    uint32_t max = 1;
    for (int x = 0; x < NX; x++)
        if (count[x] > max)
            max = count[x];
    for (int x = 0; x < NX; x++)
        if (count[x]) {
            double h = 4 + (FLUSH_H - 4) * (double)count[x] / max;
            fprintf(f,
                    "<g class=\"%s\"><title>%u %s%s%s</title><rect x=\"%.1f\" y=\"%.1f\" "
                    "width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/></g>\n",
                    cls, count[x], noun, count[x] > 1 ? plural : "", note, px_x(x),
                    FLUSH_Y + FLUSH_H - h, cw > 1.5 ? cw - 0.5 : cw, h, colour);
        }
}

static void human_bytes(char *out, size_t n, uint64_t v)
{
    if (v >= (1ull << 30) && v % (1ull << 30) == 0)
        snprintf(out, n, "%llu GiB", (unsigned long long)(v >> 30));
    else if (v >= (1ull << 20))
        snprintf(out, n, "%.1f MiB", (double)v / (1 << 20));
    else if (v >= 1024)
        snprintf(out, n, "%.1f KiB", (double)v / 1024);
    else
        snprintf(out, n, "%llu B", (unsigned long long)v);
}

static void draw(const struct tl *t, const char *log, const char *damage, FILE *f)
{
    const double cw = (double)PLOT_W / NX, ch = (double)DEV_H / NY;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, H, W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"14\">pmemcut timeline: ", LEFT);
    xml_text(f, log);
    fprintf(f, " (seq %llu..%llu, %llu events, %.3f s)</text>\n", (unsigned long long)t->first_seq,
            (unsigned long long)t->last_seq, (unsigned long long)t->events,
            (double)(t->t1 - t->t0) / 1e9);
    if (damage) {
        fprintf(f, "<text class=\"damage\" x=\"%d\" y=\"38\" fill=\"#c00000\">damaged log: ", LEFT);
        xml_text(f, damage);
        fprintf(f, "</text>\n");
    }
    /* device panel frame and offset axis */
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
            "stroke=\"#999\"/>\n",
            LEFT, TOP, PLOT_W, DEV_H);
    for (int k = 0; k <= 4; k++) {
        char b[32];
        human_bytes(b, sizeof b, t->size / 4 * (uint64_t)k);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", LEFT - 4,
                TOP + DEV_H * k / 4 + 4, b);
    }
    fprintf(f,
            "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" text-anchor=\"middle\">"
            "device offset</text>\n",
            TOP + DEV_H / 2, TOP + DEV_H / 2);

    /* write cells: runs of equal class and shade along x are merged */
    uint32_t maxc = 1;
    for (int x = 0; x < NX; x++)
        for (int y = 0; y < NY; y++)
            for (int k = 0; k < PM_NCLASS; k++)
                if (t->cells[x][y][k] > maxc)
                    maxc = t->cells[x][y][k];
    fprintf(f, "<g class=\"writes\">\n");
    for (int y = 0; y < NY; y++) {
        int run_start = -1, run_cls = -1, run_shade = -1;
        for (int x = 0; x <= NX; x++) {
            int cls = -1, shade = -1;
            if (x < NX) {
                const uint32_t *c = t->cells[x][y];
                uint32_t tot = c[0] + c[1] + c[2];
                if (tot) {
                    cls = c[PM_META] && c[PM_META] >= c[PM_DATA] ? PM_META
                          : c[PM_DATA]                           ? PM_DATA
                                                                 : PM_UNKNOWN;
                    /* 4 shades on a log scale */
                    shade = (int)(3.999 * log1p(tot) / log1p(maxc));
                }
            }
            if (cls != run_cls || shade != run_shade) {
                if (run_cls >= 0)
                    fprintf(f,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"%s\" fill-opacity=\"%.2f\"/>\n",
                            px_x(run_start), TOP + y * ch, (x - run_start) * cw, ch,
                            class_color[run_cls], 0.35 + 0.65 * run_shade / 3.0);
                run_start = x;
                run_cls = cls;
                run_shade = shade;
            }
        }
    }
    fprintf(f, "</g>\n");

    /* cuts: a line, and the lost (red) and torn (orange) offsets */
    for (size_t i = 0; i < t->cuts.len; i++) {
        const struct cut *c = &t->cuts.v[i];
        double x = px_x(c->x) + cw / 2;
        fprintf(f, "<g class=\"cut\" data-seq=\"%llu\"><title>", (unsigned long long)c->seq);
        xml_text(f, c->what ? c->what : "cut");
        fprintf(f,
                "</title>\n<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" "
                "stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>\n",
                x, TOP, x, DIRTY_Y + DIRTY_H);
        for (int y = 0; y < NY;) {
            if (!c->y[y]) {
                y++;
                continue;
            }
            int v = c->y[y], y0 = y;
            while (y < NY && c->y[y] == v)
                y++;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"%.1f\" fill=\"%s\"/>\n",
                    x - 3, TOP + y0 * ch, (y - y0) * ch, v == 2 ? "#d62728" : "#ff7f0e");
        }
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" fill=\"#d62728\" text-anchor=\"middle\">cut %llu"
                "</text></g>\n",
                x, TOP - 4, (unsigned long long)c->seq);
    }

    /* marks lane */
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">marks</text>\n", LEFT - 4, MARK_Y + 15);
    if (t->nmarks <= MAX_MARKS) {
        for (size_t i = 0; i < t->marks.len; i++) {
            double x = px_x(t->marks.v[i].x) + cw / 2;
            fprintf(f, "<g class=\"mark\" data-seq=\"%llu\"><title>seq %llu: ",
                    (unsigned long long)t->marks.v[i].seq, (unsigned long long)t->marks.v[i].seq);
            xml_text(f, t->marks.v[i].text ? t->marks.v[i].text : "");
            fprintf(f,
                    "</title><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                    "stroke=\"#9467bd\" stroke-width=\"1.5\"/></g>\n",
                    x, MARK_Y, x, MARK_Y + MARK_H);
        }
    } else {
        for (int x = 0; x < NX; x++)
            if (t->markbins[x])
                fprintf(f,
                        "<g class=\"marks\"><title>%u marks</title><rect x=\"%.1f\" y=\"%d\" "
                        "width=\"%.1f\" height=\"%d\" fill=\"#9467bd\"/></g>\n",
                        t->markbins[x], px_x(x), MARK_Y, cw, MARK_H);
    }

    /* flushes lane: bar height by count; the CPU's fences (ADR) beside
     * the block flushes, in a colour of their own */
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">flushes</text>\n", LEFT - 4,
            FLUSH_Y + 15);
    flush_bars(f, t->fences, "fence", "CPU fence", "s", " (src cpu)", "#17becf", cw);
    flush_bars(f, t->flushes, "flush", "flush", "es", "", "#444", cw);

    /* dirty lines: a step curve of the highest count in each bin */
    uint64_t maxd = 1;
    for (int x = 0; x < NX; x++)
        if (t->dirty_max[x] > maxd)
            maxd = t->dirty_max[x];
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
            LEFT, DIRTY_Y, PLOT_W, DIRTY_H);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">dirty lines</text>\n", LEFT - 4,
            DIRTY_Y + DIRTY_H / 2);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%llu</text>\n", LEFT - 4, DIRTY_Y + 10,
            (unsigned long long)maxd);
    fprintf(f, "<polyline class=\"dirty\" fill=\"none\" stroke=\"#8c564b\" stroke-width=\"1.2\" "
               "points=\"");
    /* a bin with records shows its highest count; the bins after it, until
     * the next record, the count its last record left (0 after a cut: the
     * device is off until power-on, and nothing is dirty) */
    uint64_t last = 0;
    for (int x = 0; x < NX; x++) {
        uint64_t v = t->dirty_seen[x] ? t->dirty_max[x] : last;
        if (t->dirty_seen[x])
            last = t->dirty_end[x];
        double y = DIRTY_Y + DIRTY_H - (double)DIRTY_H * (double)v / (double)maxd;
        fprintf(f, "%.1f,%.1f %.1f,%.1f ", px_x(x), y, px_x(x + 1), y);
    }
    fprintf(f, "\"/>\n");

    /* time axis and legend */
    for (int k = 0; k <= 5; k++)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3f s</text>\n",
                LEFT + PLOT_W * k / 5.0, DIRTY_Y + DIRTY_H + 16,
                (double)(t->t1 - t->t0) / 1e9 * k / 5);
    int ly = H - 18, lx = LEFT;
    const char *names[] = {"metadata write", "data write",  "unlabelled write",
                           "lost at cut",    "torn at cut", "mark",
                           "flush",          "CPU fence"};
    const char *colors[] = {class_color[PM_META],
                            class_color[PM_DATA],
                            class_color[PM_UNKNOWN],
                            "#d62728",
                            "#ff7f0e",
                            "#9467bd",
                            "#444",
                            "#17becf"};
    for (int i = 0; i < 8; i++) {
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\">%s</text>\n",
                lx, ly - 10, colors[i], lx + 16, ly, names[i]);
        lx += 135;
    }
    fprintf(f, "</svg>\n");
}

int pt_timeline_write(const char *log, const char *out, uint64_t from, uint64_t to)
{
    struct tl t;
    memset(&t, 0, sizeof t);
    t.from = from;
    t.to = to;
    /* the first damage found is drawn into the picture, and reported */
    char damage[PM_ERROR_MAX] = "";
    int rc = 0;
    bool damaged = scan(&t, log) == -1;
    if (damaged && !t.events)
        return -1;
    if (!t.events) {
        /* an empty picture would hide a --from/--to that misses the log */
        if (!t.log_first)
            pm_set_error("%s: no records", log);
        else if (to == UINT64_MAX)
            pm_set_error("--from %llu is past the end of %s (seq %llu..%llu)",
                         (unsigned long long)from, log, (unsigned long long)t.log_first,
                         (unsigned long long)t.log_last);
        else
            pm_set_error("--from %llu --to %llu select no record of %s (seq %llu..%llu)",
                         (unsigned long long)from, (unsigned long long)to, log,
                         (unsigned long long)t.log_first, (unsigned long long)t.log_last);
        return -1;
    }
    if (damaged)
        snprintf(damage, sizeof damage, "%s", pm_get_error());
    t.cells = calloc(NX, sizeof *t.cells);
    if (!t.cells) {
        pm_set_error("out of memory");
        return -1;
    }
    if (collect(&t, log) == -1 && !damaged) {
        damaged = true;
        snprintf(damage, sizeof damage, "%s", pm_get_error());
    }
    if (damaged)
        pm_set_error("%s", damage);
    FILE *f = fopen(out, "w");
    if (!f) {
        pm_set_error("%s: %s", out, strerror(errno));
        rc = -1;
    } else {
        draw(&t, log, damaged ? damage : NULL, f);
        if (fclose(f) != 0) {
            pm_set_error("%s: %s", out, strerror(errno));
            rc = -1;
        }
    }
    for (size_t i = 0; i < t.marks.len; i++)
        free(t.marks.v[i].text);
    for (size_t i = 0; i < t.cuts.len; i++)
        free(t.cuts.v[i].what);
    PM_VEC_FREE(&t.marks);
    PM_VEC_FREE(&t.cuts);
    free(t.cells);
    return rc || damaged ? -1 : 0;
}
