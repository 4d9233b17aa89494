/* pmemcut — formatting audit records from the schema (see format.h).
 *
 * Every write of the device goes through pm_audit_format, so it stays on
 * jb_cat/jb_u64 (no printf) for everything a write record carries. */
#include "format.h"

#include "cpu.h"

#include <string.h>

void pm_audit_put_counts(struct jbuf *b, const char *key, const struct pm_counts *c)
{
    jb_cat(b, ",\"");
    jb_cat(b, key);
    jb_cat(b, "\":{\"meta\":");
    jb_u64(b, c->c[PM_META]);
    jb_cat(b, ",\"data\":");
    jb_u64(b, c->c[PM_DATA]);
    jb_cat(b, ",\"unknown\":");
    jb_u64(b, c->c[PM_UNKNOWN]);
    jb_cat(b, "}");
}

static void put_ranges(struct jbuf *b, const struct pm_rangelist *l)
{
    jb_cat(b, "[");
    for (size_t i = 0; i < l->n; i++) {
        jb_cat(b, i ? ",[" : "[");
        jb_u64(b, l->r[i].off);
        jb_cat(b, ",");
        jb_u64(b, l->r[i].len);
        jb_cat(b, "]");
    }
    jb_cat(b, "]");
}

/* Whether the writer leaves key k out of rec. */
static bool left_out(const struct pm_audit_rec *rec, const struct pm_audit_key *k, const void *v)
{
    if (k->flags & PM_AK_APPENDED)
        return true;
    if ((k->flags & PM_AK_IF_RANDOM) && rec->cut.policy != PM_RANDOM)
        return true;
    if (!(k->flags & PM_AK_SOMETIMES))
        return false;
    switch (k->type) {
    case PM_AT_BOOL:
    case PM_AT_MARKER:
        return !*(const bool *)v;
    case PM_AT_STR:
    case PM_AT_FLUSH_MODE:
        return !*(const char *const *)v;
    case PM_AT_U64:
        return !*(const uint64_t *)v;
    default:
        return false;
    }
}

/* Appends ,"name":value for key k of rec, unless the writer leaves it out. */
static void put_key(struct jbuf *b, const struct pm_audit_rec *rec, const struct pm_audit_key *k)
{
    const char *v = (const char *)rec + k->field;
    if (left_out(rec, k, v))
        return;
    if (k->type == PM_AT_COUNTS) {
        pm_audit_put_counts(b, k->name, (const struct pm_counts *)v);
        return;
    }
    jb_cat(b, ",\"");
    jb_cat(b, k->name);
    jb_cat(b, "\":");
    switch (k->type) {
    case PM_AT_U64:
        jb_u64(b, *(const uint64_t *)v);
        break;
    case PM_AT_U32:
        jb_u64(b, *(const uint32_t *)v);
        break;
    case PM_AT_BOOL:
        jb_cat(b, *(const bool *)v ? "true" : "false");
        break;
    case PM_AT_STR:
    case PM_AT_FLUSH_MODE: {
        const char *s = *(const char *const *)v;
        jb_str(b, s ? s : "");
        break;
    }
    case PM_AT_RANGES:
        put_ranges(b, (const struct pm_rangelist *)v);
        break;
    case PM_AT_POLICY:
        jb_str(b, pm_policy_name(*(const enum pm_policy *)v));
        break;
    case PM_AT_PROB:
        jb_printf(b, "%.17g", *(const double *)v);
        break;
    case PM_AT_CLASS:
        jb_str(b, pm_class_name(*(const enum pm_class *)v));
        break;
    case PM_AT_ON_OFF:
        jb_cat(b, *(const bool *)v ? "\"on\"" : "\"off\"");
        break;
    case PM_AT_MARKER:
        jb_str(b, k->value);
        break;
    case PM_AT_COUNTS:
        break;
    }
}

void pm_audit_format(struct jbuf *b, const struct pm_audit_rec *rec)
{
    const struct pm_audit_kind_def *kd = pm_audit_kind_def(rec->ev);
    jb_cat(b, "\"ev\":\"");
    jb_cat(b, kd->name);
    jb_cat(b, "\"");
    for (size_t i = 0; i < kd->nkeys; i++)
        put_key(b, rec, &kd->keys[i]);
}

void pm_audit_put_cut_params(struct jbuf *b, const struct pm_cut_params *cp)
{
    /* An arm record's keys after its trigger are exactly the parameters. */
    const struct pm_audit_kind_def *kd = pm_audit_kind_def(PM_AUDIT_ARM);
    const struct pm_audit_rec rec = {.ev = PM_AUDIT_ARM, .cut = *cp};
    for (size_t i = 1; i < kd->nkeys; i++)
        put_key(b, &rec, &kd->keys[i]);
}

void pm_audit_trigger_text(struct jbuf *b, const struct pm_trigger *t)
{
    switch (t->kind) {
    case PM_TRIG_AFTER_WRITES:
        jb_printf(b, "after-writes=%llu", (unsigned long long)t->n);
        break;
    case PM_TRIG_BEFORE_FLUSH:
        jb_printf(b, "before-flush=%llu", (unsigned long long)t->n);
        break;
    case PM_TRIG_AT_MARK:
        jb_printf(b, "at-mark=%s", t->mark);
        break;
    default:
        break;
    }
}

void pm_audit_format_effect(struct jbuf *b, const struct pm_effect *e, int cpu_insn, uint64_t fence)
{
    /* Only the keys of the record's kind are written: the fields that an
     * operation does not set are zero and unread. */
    struct pm_audit_rec rec = {
        .ev = pm_audit_kind_of_op(e->op),
        .off = e->off,
        .len = e->len,
        .fua = e->fua,
        .ignored = e->ignored,
        .dirtied = e->dirtied,
        .cleaned = e->cleaned,
        .persisted = e->persisted,
        .text = e->text,
        .cls = e->cls,
        .lines = e->lines,
    };
    if (e->op == PM_OP_WRITE && cpu_insn >= 0) {
        rec.src = "cpu";
        rec.insn = pm_cpu_insn_name((enum pm_cpu_insn)cpu_insn);
        rec.fence = fence;
    }
    if (e->op == PM_OP_CUT) {
        rec.trigger = e->cut->trigger;
        rec.cut = e->cut->params;
        rec.lost = e->cut->lost;
        rec.kept = e->cut->kept;
        rec.torn = e->cut->torn;
        rec.lost_r = e->cut->lost_r;
        rec.kept_r = e->cut->kept_r;
        rec.torn_r = e->cut->torn_r;
    }
    struct jbuf trigger;
    jb_init(&trigger);
    if (e->op == PM_OP_ARM) {
        pm_audit_trigger_text(&trigger, e->trigger);
        rec.trigger = trigger.s ? trigger.s : "";
        rec.cut = e->trigger->cut;
    }
    if (jb_ok(&trigger))
        pm_audit_format(b, &rec);
    else
        b->failed = true;
    jb_free(&trigger);
}

bool pm_audit_syncs(enum pm_audit_kind k, bool fua)
{
    unsigned f = pm_audit_kind_def(k)->flags;
    return (f & PM_AUDIT_SYNC) || ((f & PM_AUDIT_SYNC_FUA) && fua);
}
