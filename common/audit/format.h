/* pmemcut — formatting audit records from the schema (schema.h).
 *
 * The plugin hands the model's effects (or an open, close or rejected
 * request) to these functions and appends the result with pm_audit_append
 * (audit.h), which adds seq and ns in front and the data-log offset behind.
 * The control socket's replies use the same pieces (counts, cut parameters,
 * trigger texts), so a reply and its record spell a value the same way.
 *
 * Pure functions of their arguments: no locks, no I/O.  An allocation
 * failure is left in the jbuf (jb_ok).
 */
#ifndef PMEMCUT_AUDIT_FORMAT_H
#define PMEMCUT_AUDIT_FORMAT_H

#include "model/model.h"
#include "schema.h"
#include "utils/jbuf.h"

/* Appends the body of rec: "ev":"<name>" and the kind's keys in schema
 * order (no seq, no ns, no braces, no appended keys). */
void pm_audit_format(struct jbuf *b, const struct pm_audit_rec *rec);

/* The body of the record that the model's effect e is logged as.  A write
 * the CPU made persistent carries cpu_insn (enum pm_cpu_insn, audit/cpu.h)
 * and its fence batch; -1 and 0 for every other record. */
void pm_audit_format_effect(struct jbuf *b, const struct pm_effect *e, int cpu_insn,
                            uint64_t fence);

/* Whether a record of kind k is fdatasynced (fua: its request had FUA). */
bool pm_audit_syncs(enum pm_audit_kind k, bool fua);

/* ,"key":{"meta":N,"data":N,"unknown":N} */
void pm_audit_put_counts(struct jbuf *b, const char *key, const struct pm_counts *c);
/* ,"policy":"...",["p":P,]"seed":N */
void pm_audit_put_cut_params(struct jbuf *b, const struct pm_cut_params *cp);
/* A trigger as the arm command spells it: after-writes=N, before-flush=N,
 * at-mark=TEXT (nothing for PM_TRIG_NONE). */
void pm_audit_trigger_text(struct jbuf *b, const struct pm_trigger *t);

#endif
