/* pmemcut — `pmemcut-audit summary` (see auditsum.h). */
#include <stdlib.h>
#include <string.h>

#include "audit/auditlog.h"
#include "audit/cpu.h"
#include "auditsum.h"

#include "utils/error.h"
#include "utils/jbuf.h"
#include "utils/vec.h"

#define LAST_MARKS 5 /* ack texts shown per cut */

struct cut_info {
    uint64_t seq, ns;
    char *trigger;
    struct pm_cut_params cp;
    struct pm_counts lost, kept, torn;
    uint64_t marks;               /* marks since the previous cut or open */
    char *last_marks[LAST_MARKS]; /* the latest of them, oldest first */
    uint64_t last_mark_seq[LAST_MARKS];
    int nlast;
};

struct sum {
    uint64_t ev[PM_AUDIT_NKINDS];
    uint64_t first_seq, last_seq, first_ns, last_ns;
    uint64_t bytes[3]; /* written, zeroed, trimmed */
    uint64_t fua, ignored;
    struct pm_counts dirtied, cleaned, persisted, lost, torn, close_lost;
    struct cut_info *cuts;
    size_t ncuts, capcuts;
    /* marks since the last cut or open */
    uint64_t marks;
    char *last_marks[LAST_MARKS];
    uint64_t last_mark_seq[LAST_MARKS];
    int nlast;
    uint64_t size;
    uint32_t line;
    /* what the CPU made persistent (ADR, audit/cpu.h), by kind, and by
     * phase: before a boot's first ack (or "prepared" mark) the kernel's
     * own traffic as the guest boots, makes, mounts or recovers its
     * filesystem; after it, the workload's and the journal commits it
     * causes.  A boot starts at a "cycle N" mark, a power-on or an open. */
    struct cpu_sum {
        uint64_t writes, lines, bytes, batches;
    } cpu[PM_CPU_NINSNS], cpu_phase[2];
    uint64_t cpu_fence; /* the batch of the last cpu write (0: none yet) */
    bool workload;      /* this boot's first ack or "prepared" mark was seen */
};

/* A cpu write: lines it persisted, and a new batch when its fence number
 * changes (they start again at 1 after a restart: any change is one). */
static void account_cpu(struct sum *s, const struct pm_audit_rec *r)
{
    int k = pm_cpu_insn_parse(r->insn);
    if (k < 0)
        return;
    bool batch = r->fence != s->cpu_fence;
    s->cpu_fence = r->fence;
    struct cpu_sum *c[2] = {&s->cpu[k], &s->cpu_phase[s->workload]};
    /* the lines it made persistent: all it wrote (the model's "persisted"
     * leaves out lines that were not dirty, as most of mkfs's zeroing) */
    uint64_t line = s->line ? s->line : 64;
    uint64_t lines = r->len ? (r->off + r->len + line - 1) / line - r->off / line : 0;
    for (int i = 0; i < 2; i++) {
        c[i]->writes++;
        c[i]->lines += lines;
        c[i]->bytes += r->len;
        c[i]->batches += batch;
    }
}

static bool starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void add_counts(struct pm_counts *a, const struct pm_counts *b)
{
    for (int i = 0; i < PM_NCLASS; i++)
        a->c[i] += b->c[i];
}

static void reset_marks(struct sum *s)
{
    for (int i = 0; i < s->nlast; i++)
        free(s->last_marks[i]);
    s->nlast = 0;
    s->marks = 0;
}

static void add_mark(struct sum *s, uint64_t seq, const char *text)
{
    s->marks++;
    if (s->nlast == LAST_MARKS) {
        free(s->last_marks[0]);
        memmove(s->last_marks, s->last_marks + 1, (LAST_MARKS - 1) * sizeof *s->last_marks);
        memmove(s->last_mark_seq, s->last_mark_seq + 1,
                (LAST_MARKS - 1) * sizeof *s->last_mark_seq);
        s->nlast--;
    }
    s->last_marks[s->nlast] = strdup(text);
    s->last_mark_seq[s->nlast++] = seq;
}

static int add_cut(struct sum *s, const struct pm_audit_rec *r)
{
    if (pm_vec_reserve_((void **)&s->cuts, &s->capcuts, s->ncuts + 1, sizeof *s->cuts) < 0)
        return -1;
    struct cut_info *c = &s->cuts[s->ncuts++];
    memset(c, 0, sizeof *c);
    c->seq = r->seq;
    c->ns = r->ns;
    c->trigger = strdup(r->trigger);
    c->cp = r->cut;
    c->lost = r->lost;
    c->kept = r->kept;
    c->torn = r->torn;
    c->marks = s->marks;
    c->nlast = s->nlast;
    memcpy(c->last_marks, s->last_marks, sizeof c->last_marks);
    memcpy(c->last_mark_seq, s->last_mark_seq, sizeof c->last_mark_seq);
    s->nlast = 0; /* the strings now belong to the cut */
    s->marks = 0;
    return 0;
}

static void account(struct sum *s, const struct pm_audit_rec *r)
{
    if (!s->first_seq) {
        s->first_seq = r->seq;
        s->first_ns = r->ns;
    }
    s->last_seq = r->seq;
    s->last_ns = r->ns;
    s->ev[r->ev]++;
    switch (r->ev) {
    case PM_AUDIT_OPEN:
        s->workload = false;
        s->size = r->size;
        s->line = r->line;
        reset_marks(s);
        break;
    case PM_AUDIT_WRITE:
    case PM_AUDIT_ZERO:
    case PM_AUDIT_TRIM:
        s->bytes[r->ev == PM_AUDIT_WRITE ? 0 : r->ev == PM_AUDIT_ZERO ? 1 : 2] += r->len;
        s->fua += r->fua;
        s->ignored += r->ignored;
        add_counts(&s->dirtied, &r->dirtied);
        add_counts(&s->cleaned, &r->cleaned);
        add_counts(&s->persisted, &r->persisted);
        if (r->src)
            account_cpu(s, r);
        break;
    case PM_AUDIT_FLUSH:
        s->ignored += r->ignored;
        add_counts(&s->persisted, &r->persisted);
        break;
    case PM_AUDIT_CUT:
        add_counts(&s->lost, &r->lost);
        add_counts(&s->torn, &r->torn);
        add_cut(s, r);
        break;
    case PM_AUDIT_CLOSE:
        add_counts(&s->close_lost, &r->lost);
        break;
    case PM_AUDIT_MARK:
        add_mark(s, r->seq, r->text);
        if (starts(r->text, "ack ") || starts(r->text, "user-ack ") || starts(r->text, "prepared"))
            s->workload = true;
        if (starts(r->text, "cycle "))
            s->workload = false;
        break;
    case PM_AUDIT_POWER_ON:
        s->workload = false;
        break;
    default:
        break;
    }
}

static void counts_text(FILE *out, const char *what, const struct pm_counts *c)
{
    fprintf(out, "  %-22s %10llu meta %10llu data %10llu unknown\n", what,
            (unsigned long long)c->c[PM_META], (unsigned long long)c->c[PM_DATA],
            (unsigned long long)c->c[PM_UNKNOWN]);
}

static void cpu_text(FILE *out, const char *what, const struct cpu_sum *c)
{
    fprintf(out, "  %-22s %10llu lines %10llu writes %10llu batches\n", what,
            (unsigned long long)c->lines, (unsigned long long)c->writes,
            (unsigned long long)c->batches);
}

static void cpu_json(struct jbuf *b, const char *key, const struct cpu_sum *c)
{
    jb_printf(b, "\"%s\":{\"lines\":%llu,\"writes\":%llu,\"bytes\":%llu,\"batches\":%llu}", key,
              (unsigned long long)c->lines, (unsigned long long)c->writes,
              (unsigned long long)c->bytes, (unsigned long long)c->batches);
}

static void print_text(const struct sum *s, const char *path, FILE *out)
{
    fprintf(out, "audit log %s: seq %llu..%llu, %.3f s", path, (unsigned long long)s->first_seq,
            (unsigned long long)s->last_seq, (double)(s->last_ns - s->first_ns) / 1e9);
    if (s->size)
        fprintf(out, ", device %llu bytes, line %u", (unsigned long long)s->size, s->line);
    fprintf(out, "\nevents:");
    for (int i = 0; i < PM_AUDIT_NKINDS; i++)
        if (s->ev[i])
            fprintf(out, " %s %llu", pm_audit_kind_name((enum pm_audit_kind)i),
                    (unsigned long long)s->ev[i]);
    fprintf(out, "\nbytes: written %llu, zeroed %llu, trimmed %llu; FUA requests %llu",
            (unsigned long long)s->bytes[0], (unsigned long long)s->bytes[1],
            (unsigned long long)s->bytes[2], (unsigned long long)s->fua);
    if (s->ignored)
        fprintf(out, "; flushes/FUA ignored by the lying device %llu",
                (unsigned long long)s->ignored);
    fprintf(out, "\nlines:\n");
    counts_text(out, "dirtied", &s->dirtied);
    counts_text(out, "cleaned by rewrite", &s->cleaned);
    counts_text(out, "persisted", &s->persisted);
    counts_text(out, "lost at cuts", &s->lost);
    counts_text(out, "torn at cuts", &s->torn);
    counts_text(out, "lost at close", &s->close_lost);
    if (s->cpu_phase[0].writes + s->cpu_phase[1].writes) {
        fprintf(out, "persisted by the CPU (src cpu):\n");
        for (int k = 0; k < PM_CPU_NINSNS; k++)
            if (s->cpu[k].writes)
                cpu_text(out, pm_cpu_insn_name((enum pm_cpu_insn)k), &s->cpu[k]);
        cpu_text(out, "boot, before an ack", &s->cpu_phase[0]);
        cpu_text(out, "after an ack", &s->cpu_phase[1]);
    }
    fprintf(out, "cuts: %zu\n", s->ncuts);
    for (size_t i = 0; i < s->ncuts; i++) {
        const struct cut_info *c = &s->cuts[i];
        fprintf(out, "  cut at seq %llu (+%.3f s): trigger %s, policy %s",
                (unsigned long long)c->seq, (double)(c->ns - s->first_ns) / 1e9, c->trigger,
                pm_policy_name(c->cp.policy));
        if (c->cp.policy == PM_RANDOM)
            fprintf(out, " p=%g", c->cp.p);
        fprintf(out, ", seed %llu\n", (unsigned long long)c->cp.seed);
        fprintf(
            out, "    lost %llu (meta %llu), kept %llu, torn %llu (meta %llu) lines\n",
            (unsigned long long)pm_counts_total(&c->lost), (unsigned long long)c->lost.c[PM_META],
            (unsigned long long)pm_counts_total(&c->kept),
            (unsigned long long)pm_counts_total(&c->torn), (unsigned long long)c->torn.c[PM_META]);
        fprintf(out, "    acks (marks) before it: %llu", (unsigned long long)c->marks);
        for (int k = 0; k < c->nlast; k++)
            fprintf(out, "%s seq %llu \"%s\"",
                    k ? "," : (c->marks > (uint64_t)c->nlast ? "; last:" : ":"),
                    (unsigned long long)c->last_mark_seq[k], c->last_marks[k]);
        fputc('\n', out);
    }
}

static void counts_json(struct jbuf *b, const char *key, const struct pm_counts *c)
{
    jb_printf(b, "\"%s\":{\"meta\":%llu,\"data\":%llu,\"unknown\":%llu}", key,
              (unsigned long long)c->c[PM_META], (unsigned long long)c->c[PM_DATA],
              (unsigned long long)c->c[PM_UNKNOWN]);
}

static void print_json(const struct sum *s, const char *path, const char *damage, FILE *out)
{
    struct jbuf b;
    jb_init(&b);
    jb_printf(&b, "{\"log\":");
    jb_str(&b, path);
    jb_printf(&b,
              ",\"first_seq\":%llu,\"last_seq\":%llu,\"seconds\":%.6f,\"size\":%llu,\"line\":%u",
              (unsigned long long)s->first_seq, (unsigned long long)s->last_seq,
              (double)(s->last_ns - s->first_ns) / 1e9, (unsigned long long)s->size, s->line);
    jb_printf(&b, ",\"events\":{");
    int k = 0;
    for (int i = 0; i < PM_AUDIT_NKINDS; i++)
        if (s->ev[i])
            jb_printf(&b, "%s\"%s\":%llu", k++ ? "," : "",
                      pm_audit_kind_name((enum pm_audit_kind)i), (unsigned long long)s->ev[i]);
    jb_printf(&b,
              "},\"bytes\":{\"written\":%llu,\"zeroed\":%llu,\"trimmed\":%llu},\"fua\":%llu,"
              "\"ignored\":%llu,\"lines\":{",
              (unsigned long long)s->bytes[0], (unsigned long long)s->bytes[1],
              (unsigned long long)s->bytes[2], (unsigned long long)s->fua,
              (unsigned long long)s->ignored);
    counts_json(&b, "dirtied", &s->dirtied);
    jb_printf(&b, ",");
    counts_json(&b, "cleaned", &s->cleaned);
    jb_printf(&b, ",");
    counts_json(&b, "persisted", &s->persisted);
    jb_printf(&b, ",");
    counts_json(&b, "lost", &s->lost);
    jb_printf(&b, ",");
    counts_json(&b, "torn", &s->torn);
    jb_printf(&b, ",");
    counts_json(&b, "lost_at_close", &s->close_lost);
    jb_printf(&b, "},\"cpu\":{");
    for (int i = 0; i < PM_CPU_NINSNS; i++) {
        cpu_json(&b, pm_cpu_insn_name((enum pm_cpu_insn)i), &s->cpu[i]);
        jb_printf(&b, ",");
    }
    cpu_json(&b, "before_ack", &s->cpu_phase[0]);
    jb_printf(&b, ",");
    cpu_json(&b, "after_ack", &s->cpu_phase[1]);
    jb_printf(&b, "},\"cuts\":[");
    for (size_t i = 0; i < s->ncuts; i++) {
        const struct cut_info *c = &s->cuts[i];
        jb_printf(&b, "%s{\"seq\":%llu,\"trigger\":", i ? "," : "", (unsigned long long)c->seq);
        jb_str(&b, c->trigger);
        jb_printf(&b, ",\"policy\":\"%s\"", pm_policy_name(c->cp.policy));
        if (c->cp.policy == PM_RANDOM)
            jb_printf(&b, ",\"p\":%.17g", c->cp.p);
        jb_printf(&b, ",\"seed\":%llu,", (unsigned long long)c->cp.seed);
        counts_json(&b, "lost", &c->lost);
        jb_printf(&b, ",");
        counts_json(&b, "kept", &c->kept);
        jb_printf(&b, ",");
        counts_json(&b, "torn", &c->torn);
        jb_printf(&b, ",\"marks_before\":%llu,\"last_marks\":[", (unsigned long long)c->marks);
        for (int m = 0; m < c->nlast; m++) {
            jb_printf(&b, "%s{\"seq\":%llu,\"text\":", m ? "," : "",
                      (unsigned long long)c->last_mark_seq[m]);
            jb_str(&b, c->last_marks[m]);
            jb_printf(&b, "}");
        }
        jb_printf(&b, "]}");
    }
    jb_printf(&b, "]");
    if (damage) {
        jb_printf(&b, ",\"damage\":");
        jb_str(&b, damage);
    }
    jb_printf(&b, "}\n");
    if (jb_ok(&b))
        fputs(b.s, out);
    jb_free(&b);
}

int pt_summary_print(const char *path, bool json, FILE *out)
{
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    struct sum s;
    memset(&s, 0, sizeof s);
    if (pm_audit_reader_open(&r, path) == -1) {
        pm_set_error("%s", r.err);
        pm_audit_reader_close(&r);
        return -1;
    }
    int n;
    while ((n = pm_audit_reader_next(&r, &rec)) == 1)
        account(&s, &rec);
    const char *damage = n < 0 ? r.err : NULL;
    if (json)
        print_json(&s, path, damage, out);
    else
        print_text(&s, path, out);
    if (damage)
        pm_set_error("%s", damage);
    pm_audit_reader_close(&r);
    reset_marks(&s);
    for (size_t i = 0; i < s.ncuts; i++) {
        free(s.cuts[i].trigger);
        for (int k = 0; k < s.cuts[i].nlast; k++)
            free(s.cuts[i].last_marks[k]);
    }
    free(s.cuts);
    return damage ? -1 : 0;
}
